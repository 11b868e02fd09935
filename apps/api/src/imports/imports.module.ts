import { Module } from '@nestjs/common';
import { LeadCapture } from '../leads/lead-capture';
import { WorkingLeadsModule } from '../working-leads/working-leads.module';
import { ImportChunkCapture } from './import-chunk-capture';
import { ImportFiles } from './import-files';
import { LeadImportRunner } from './lead-import-runner';
import { LeadImportsController } from './lead-imports.controller';

/** Bulk work on leads: `POST /leads/import` and `GET /imports/:id`; it provides the one capture path (LeadCapture) the leads controller uses too. */
@Module({
  imports: [WorkingLeadsModule],
  controllers: [LeadImportsController],
  providers: [LeadCapture, ImportChunkCapture, ImportFiles, LeadImportRunner],
  exports: [LeadCapture, LeadImportRunner],
})
export class ImportsModule {}
