import { Module } from '@nestjs/common';
import { AccountsController } from './accounts/accounts.controller';
import { AuditController } from './audit/audit.controller';
import { CampaignsModule } from './campaigns/campaigns.module';
import { ContactsController } from './contacts/contacts.controller';
import { ImportsModule } from './imports/imports.module';
import { OpportunitiesController } from './opportunities/opportunities.controller';
import { ProcessesModule } from './processes/processes.module';
import { ReportsController } from './reports/reports.controller';
import { LeadsController } from './leads/leads.controller';
import { WorkingLeadsModule } from './working-leads/working-leads.module';

/** The HTTP routes of the four records. */
@Module({
  imports: [ProcessesModule, WorkingLeadsModule, ImportsModule, CampaignsModule],
  controllers: [LeadsController, AccountsController, ContactsController, OpportunitiesController, ReportsController, AuditController],
  // The reactors' runner (CompletionRecovery), for readiness and metrics.
  exports: [ProcessesModule],
})
export class RecordsHttpModule {}
