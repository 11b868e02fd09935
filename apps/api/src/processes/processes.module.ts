import { Module } from '@nestjs/common';
import { BulkConversion } from './bulk-conversion';
import { BulkConversionController } from './bulk-conversion.controller';
import { CompletionRecovery } from './completion-recovery';
import { ConversionCompleter, ConvertLeadHandler } from './lead-conversion';
import { MergeCompleter, MergeLeadsHandler } from './lead-merge';
import { InlineCompletions } from './inline-completions';
import { RecoveryLedger } from './parked-decisions';
import { ProcessesController } from './processes.controller';

/** Commands that span several streams: a decision on one, idempotent completion on the others, the completion reactor, and its parked decisions. */
@Module({
  controllers: [ProcessesController, BulkConversionController],
  providers: [BulkConversion, ConversionCompleter, ConvertLeadHandler, MergeCompleter, MergeLeadsHandler, CompletionRecovery, RecoveryLedger, InlineCompletions],
  exports: [CompletionRecovery],
})
export class ProcessesModule {}
