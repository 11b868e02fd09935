import { CampaignEvent, CampaignLaunched, CampaignMemberAdded, CampaignMemberRef, CampaignMemberResponded, LeadEvent, OpportunityEvent, READ_MODELS, STREAM_PREFIXES } from '@crm/domain';
import type { ReadDocument } from '../../read-store.port';
import { defineProjection, IGNORED, Recorded } from '../define-projection';
import type { DocumentKey, DocumentSet, Projection } from '../projection';

/** Each campaign with its member counts (`GET /campaigns`, `/campaigns/:id`), newest launch first. */
export const CAMPAIGNS = 'campaigns';
/** Per lead, what attribution needs: capture time (the sort key), its campaign responses, its conversion. */
export const CAMPAIGN_LEADS = 'campaign-leads';
/** One line per lead member of a campaign (`GET /leads?campaignId=`): id `<campaignId>:<leadId>`, newest lead first. */
export const CAMPAIGN_LEAD_MEMBERS = 'campaign-lead-members';
/** Per opportunity a conversion opened: its lead and, once won, the amount won. */
export const CAMPAIGN_OPPORTUNITIES = 'campaign-opportunities';

export interface CampaignDocument extends ReadDocument {
  name: string;
  type: CampaignLaunched['data']['type'];
  startDate: string;
  endDate?: string;
  budget?: number;
  launchedAt: string;
  /** Members whose status is Sent (not responded yet). */
  sent: number;
  /** Members who responded, leads captured with the campaign included. */
  responded: number;
  revision: number;
}

export interface CampaignResponse {
  campaignId: string;
  /** Business time of the response. */
  at: string;
}

export interface CampaignLeadDocument extends ReadDocument {
  capturedAt: string;
  /** In log order; a merge's survivor also takes those of the duplicates it absorbed. */
  responses: CampaignResponse[];
  /** The campaigns it is a member of (Sent or Responded), its merged duplicates' included. */
  campaignIds: string[];
  convertedAt?: string;
  /** The opportunity its conversion opened (null: converted without one). */
  opportunityId?: string | null;
  /** Merged into another lead: it counts nowhere. */
  merged?: boolean;
  /** The last campaign it responded to at or before its conversion (by now, when not converted); null for none. */
  primaryCampaignId: string | null;
}

export interface CampaignLeadMemberDocument extends ReadDocument {
  _campaignId: string;
  leadId: string;
}

export interface CampaignOpportunityDocument extends ReadDocument {
  leadId: string;
  /** Set once the opportunity is won: its amount at the close (0 without one). */
  wonAmount?: number;
}

const memberEntryId = (campaignId: string, leadId: string) => `${campaignId}:${leadId}`;
const isLead = (member: CampaignMemberRef) => member.type === 'lead';

/**
 * The primary campaign (API.md, campaign-influence): the last response at or before the
 * conversion (business time; of two at the same time, the one recorded later), or the last by
 * now when the lead is not converted.
 */
export function primaryCampaignOf(responses: CampaignResponse[], convertedAt: string | undefined): string | null {
  const until = convertedAt === undefined ? Infinity : Date.parse(convertedAt);
  let primary: CampaignResponse | null = null;
  for (const response of responses) {
    const at = Date.parse(response.at);
    if (at <= until && (primary === null || at >= Date.parse(primary.at))) primary = response;
  }
  return primary?.campaignId ?? null;
}

type Handled = CampaignEvent | LeadEvent | OpportunityEvent;

/**
 * Campaigns with their member counts, and per lead what campaign attribution needs (its
 * responses, its conversion and the opportunity it opened, that opportunity's win).
 */
export const campaignsProjection: Projection = defineProjection<Handled>({
  name: READ_MODELS.campaigns,
  collections: [
    { name: CAMPAIGNS, filters: [] },
    { name: CAMPAIGN_LEADS, filters: [], listed: false },
    { name: CAMPAIGN_LEAD_MEMBERS, filters: ['_campaignId'], listed: false },
    { name: CAMPAIGN_OPPORTUNITIES, filters: [], listed: false },
  ],
  streams: [STREAM_PREFIXES.campaign, STREAM_PREFIXES.lead, STREAM_PREFIXES.opportunity],
  documentsOf(event): DocumentKey[] {
    switch (event.type) {
      case 'CampaignLaunched':
        return [{ collection: CAMPAIGNS, id: event.data.campaignId }];
      case 'CampaignMemberAdded':
      case 'CampaignMemberResponded': {
        const { campaignId, member } = event.data;
        const campaign = { collection: CAMPAIGNS, id: campaignId };
        return isLead(member) ? [campaign, { collection: CAMPAIGN_LEADS, id: member.id }] : [campaign];
      }
      case 'LeadCaptured': {
        const { leadId, campaignId } = event.data;
        return [{ collection: CAMPAIGN_LEADS, id: leadId }, ...(campaignId !== undefined ? [{ collection: CAMPAIGNS, id: campaignId }] : [])];
      }
      case 'LeadConverted':
      case 'LeadMergedInto':
        return [{ collection: CAMPAIGN_LEADS, id: event.data.leadId }];
      case 'LeadMerged':
        return [event.data.leadId, ...event.data.duplicateIds].map((id) => ({ collection: CAMPAIGN_LEADS, id }));
      case 'OpportunityWon':
        return [{ collection: CAMPAIGN_OPPORTUNITIES, id: event.data.opportunityId }];
      default:
        return []; // not reached: the other types are IGNORED below
    }
  },
  handlers: {
    CampaignLaunched: (event, docs) => {
      const { campaignId, ...details } = event.data;
      const doc: CampaignDocument = { ...details, id: campaignId, launchedAt: event.metadata.occurredAt, sent: 0, responded: 0, revision: event.revision };
      docs.put(CAMPAIGNS, doc, Date.parse(doc.launchedAt));
    },
    CampaignMemberAdded: (event, docs) => addMember(docs, event, event.data.status),
    CampaignMemberResponded: (event, docs) => addMember(docs, event, null),
    LeadCaptured: (event, docs) => {
      const { leadId, campaignId } = event.data;
      const at = event.metadata.occurredAt;
      const lead: CampaignLeadDocument = {
        id: leadId,
        capturedAt: at,
        responses: campaignId !== undefined ? [{ campaignId, at }] : [],
        campaignIds: campaignId !== undefined ? [campaignId] : [],
        primaryCampaignId: null,
      };
      putLead(docs, lead);
      if (campaignId !== undefined) {
        // campaignId at capture counts as a response at capture; the campaign's revision is its own stream's.
        updateCampaign(docs, campaignId, undefined, { sent: 0, responded: 1 });
        listMember(docs, campaignId, lead);
      }
    },
    LeadConverted: (event, docs) => {
      const { leadId, opportunityId } = event.data;
      const lead = docs.get(CAMPAIGN_LEADS, leadId) as CampaignLeadDocument | null;
      if (!lead) return;
      putLead(docs, { ...lead, convertedAt: event.metadata.occurredAt, opportunityId });
      if (opportunityId !== null) {
        const opportunity: CampaignOpportunityDocument = { id: opportunityId, leadId };
        docs.put(CAMPAIGN_OPPORTUNITIES, opportunity, 0);
      }
    },
    LeadMerged: (event, docs) => {
      // The survivor takes the duplicates' campaign history (as their activities): their responses count for its primary campaign.
      const { leadId, duplicateIds } = event.data;
      let survivor = docs.get(CAMPAIGN_LEADS, leadId) as CampaignLeadDocument | null;
      if (!survivor) return;
      for (const duplicateId of duplicateIds) {
        const duplicate = docs.get(CAMPAIGN_LEADS, duplicateId) as CampaignLeadDocument | null;
        if (!duplicate) continue;
        survivor = { ...survivor, responses: [...survivor.responses, ...duplicate.responses], campaignIds: duplicate.campaignIds.reduce(withCampaign, survivor.campaignIds) };
      }
      putLead(docs, survivor);
      for (const campaignId of survivor.campaignIds) listMember(docs, campaignId, survivor);
    },
    LeadMergedInto: (event, docs) => {
      const lead = docs.get(CAMPAIGN_LEADS, event.data.leadId) as CampaignLeadDocument | null;
      if (lead) putLead(docs, { ...lead, merged: true });
    },
    LeadEngaged: IGNORED,
    LeadDetailsChanged: IGNORED,
    LeadAssigned: IGNORED,
    LeadStatusChanged: IGNORED,
    LeadQualified: IGNORED,
    LeadDisqualified: IGNORED,
    LeadReopened: IGNORED,
    PersonalDataErased: IGNORED, // attribution keeps no personal field
    OpportunityWon: (event, docs) => {
      const { opportunityId, amount } = event.data;
      const opportunity = docs.get(CAMPAIGN_OPPORTUNITIES, opportunityId) as CampaignOpportunityDocument | null;
      // Only opportunities a conversion opened are attributed to campaigns.
      if (opportunity) docs.put(CAMPAIGN_OPPORTUNITIES, { ...opportunity, wonAmount: amount ?? 0 }, 0);
    },
    OpportunityOpened: IGNORED, // its conversion's LeadConverted names it
    OpportunityStageChanged: IGNORED,
    OpportunityDetailsChanged: IGNORED,
    OpportunityContactRoleAdded: IGNORED,
    OpportunityLost: IGNORED,
  },
});

/** A member added (`addedAs` its status) or, `addedAs` null, a Sent member that responded. */
function addMember(docs: DocumentSet, event: Recorded<CampaignMemberAdded | CampaignMemberResponded>, addedAs: CampaignMemberAdded['data']['status'] | null): void {
  const { campaignId, member } = event.data;
  // Responded moves a Sent member over; Added counts it under its status.
  const moves = addedAs === null ? { sent: -1, responded: 1 } : addedAs === 'Sent' ? { sent: 1, responded: 0 } : { sent: 0, responded: 1 };
  updateCampaign(docs, campaignId, event.revision, moves);
  if (!isLead(member)) return;
  const lead = docs.get(CAMPAIGN_LEADS, member.id) as CampaignLeadDocument | null;
  if (!lead) return;
  const responses = addedAs === 'Sent' ? lead.responses : [...lead.responses, { campaignId, at: event.metadata.occurredAt }];
  putLead(docs, { ...lead, responses, campaignIds: addedAs === null ? lead.campaignIds : withCampaign(lead.campaignIds, campaignId) });
  if (addedAs !== null) listMember(docs, campaignId, lead);
}

function updateCampaign(docs: DocumentSet, campaignId: string, revision: number | undefined, moves: { sent: number; responded: number }): void {
  const campaign = docs.get(CAMPAIGNS, campaignId) as CampaignDocument | null;
  if (!campaign) return;
  const next: CampaignDocument = { ...campaign, sent: campaign.sent + moves.sent, responded: campaign.responded + moves.responded, revision: revision ?? campaign.revision };
  docs.put(CAMPAIGNS, next, Date.parse(campaign.launchedAt));
}

function withCampaign(campaignIds: string[], campaignId: string): string[] {
  return campaignIds.includes(campaignId) ? campaignIds : [...campaignIds, campaignId];
}

function putLead(docs: DocumentSet, lead: CampaignLeadDocument): void {
  docs.put(CAMPAIGN_LEADS, { ...lead, primaryCampaignId: primaryCampaignOf(lead.responses, lead.convertedAt) }, Date.parse(lead.capturedAt));
}

function listMember(docs: DocumentSet, campaignId: string, lead: CampaignLeadDocument): void {
  const entry: CampaignLeadMemberDocument = { id: memberEntryId(campaignId, lead.id), _campaignId: campaignId, leadId: lead.id };
  docs.put(CAMPAIGN_LEAD_MEMBERS, entry, Date.parse(lead.capturedAt));
}
