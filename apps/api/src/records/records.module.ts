import { Global, Module } from '@nestjs/common';
import { CommandExecutor } from './command-executor';
import { RecordReader } from './record-reader';
import { ErasePersonalDataHandler } from './personal-data-erasure';
import { RECORD_HANDLERS } from './record.messages';

/** The write and audit machinery every aggregate shares. */
@Global()
@Module({
  providers: [CommandExecutor, RecordReader, ...RECORD_HANDLERS, ErasePersonalDataHandler],
  exports: [CommandExecutor, RecordReader],
})
export class RecordsModule {}
