import { Module } from '@nestjs/common';
import { CampaignQueries } from './campaign.queries';
import { CampaignsController } from './campaigns.controller';

/** Campaigns and their members (API.md v2, "Working leads"); the campaign-influence report is with the other reports. */
@Module({ controllers: [CampaignsController], providers: [CampaignQueries], exports: [CampaignQueries] })
export class CampaignsModule {}
