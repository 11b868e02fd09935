import { Module } from '@nestjs/common';
import { CompletionRecovery } from './completion-recovery';
import { ConversionCompleter, ConvertLeadHandler } from './lead-conversion';
import { MergeCompleter, MergeLeadsHandler } from './lead-merge';

/** Commands that span several streams: a decision on one, idempotent completion on the others, and recovery. */
@Module({
  providers: [ConversionCompleter, ConvertLeadHandler, MergeCompleter, MergeLeadsHandler, CompletionRecovery],
  exports: [CompletionRecovery],
})
export class ProcessesModule {}
