import { Inject, Injectable } from '@nestjs/common';
import {
  CAMPAIGN_LEAD_MEMBERS,
  CAMPAIGN_LEADS,
  CAMPAIGN_OPPORTUNITIES,
  CampaignLeadDocument,
  CampaignLeadMemberDocument,
  CampaignOpportunityDocument,
  READ_STORE,
  ReadDocument,
  ReadStore,
  withoutInternalFields,
} from '@crm/read-models';
import { ReadModels } from '../read-side/read-models';

/** Queries over the campaigns read model that other records' routes join in. */
@Injectable()
export class CampaignQueries {
  constructor(
    @Inject(READ_STORE) private readonly store: ReadStore,
    private readonly readModels: ReadModels,
  ) {}

  /** A page of the campaign's lead members (Sent or Responded), newest lead first: `GET /leads?campaignId=`. */
  async leadIdsOf(campaignId: string, limit: number, cursor?: string): Promise<{ leadIds: string[]; nextCursor: string | null }> {
    const page = await this.store.find(CAMPAIGN_LEAD_MEMBERS, await this.readModels.versionOf('campaigns'), { filter: { _campaignId: campaignId }, limit, cursor });
    return { leadIds: page.items.map((entry) => (entry as CampaignLeadMemberDocument).leadId), nextCursor: page.nextCursor ?? null };
  }

  /** The leads' documents, in the order of the ids. */
  async leads(ids: string[]): Promise<ReadDocument[]> {
    if (ids.length === 0) return [];
    const leads = await this.store.getMany('leads', await this.readModels.versionOf('leads'), ids);
    return ids.flatMap((id) => {
      const lead = leads.get(id);
      return lead ? [withoutInternalFields(lead)] : [];
    });
  }

  /**
   * Opportunities with `primaryCampaignId`: for one a conversion opened, the primary campaign of its
   * lead (the last campaign the lead responded to at or before the conversion), else null.
   */
  async withPrimaryCampaign<D extends ReadDocument>(opportunities: D[]): Promise<(D & { primaryCampaignId: string | null })[]> {
    if (opportunities.length === 0) return [];
    const version = await this.readModels.versionOf('campaigns');
    const converted = await this.store.getMany(CAMPAIGN_OPPORTUNITIES, version, opportunities.map((o) => o.id));
    const leadIds = [...converted.values()].map((o) => (o as CampaignOpportunityDocument).leadId);
    const leads = await this.store.getMany(CAMPAIGN_LEADS, version, leadIds);
    return opportunities.map((opportunity) => {
      const leadId = (converted.get(opportunity.id) as CampaignOpportunityDocument | undefined)?.leadId;
      const lead = leadId === undefined ? undefined : (leads.get(leadId) as CampaignLeadDocument | undefined);
      return { ...opportunity, primaryCampaignId: lead?.primaryCampaignId ?? null };
    });
  }
}
