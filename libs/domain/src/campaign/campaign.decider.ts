import { AggregateAlreadyExists, AggregateNotFound, DomainError } from '../shared/domain-error';
import type { Decider, DomainEvent, Occurred } from '../shared/decider';
import { withMembers, withoutUndefined } from '../shared/record-fields';

export const CAMPAIGN_TYPES = ['Webinar', 'Email', 'Event', 'Advertisement', 'Other'] as const;
export type CampaignType = (typeof CAMPAIGN_TYPES)[number];

export const CAMPAIGN_MEMBER_STATUSES = ['Sent', 'Responded'] as const;
export type CampaignMemberStatus = (typeof CAMPAIGN_MEMBER_STATUSES)[number];

export const CAMPAIGN_MEMBER_TYPES = ['lead', 'contact'] as const;
export type CampaignMemberType = (typeof CAMPAIGN_MEMBER_TYPES)[number];

/** A member is named by its record only: campaign events carry no personal data (erasure has nothing to do here). */
export interface CampaignMemberRef {
  type: CampaignMemberType;
  id: string;
}

export interface CampaignDetails {
  name: string;
  type: CampaignType;
  /** Calendar dates, YYYY-MM-DD. */
  startDate: string;
  endDate?: string;
  /** Money, in the organisation's currency: the cost per lead of the campaign-influence report is budget / leads. */
  budget?: number;
}

export interface CampaignMember {
  status: CampaignMemberStatus;
  addedAt: string;
  /** Business time of the response (the first: a member responds once). */
  respondedAt?: string;
}

/**
 * The campaign as its events make it. Its members are not kept here: folding thousands of them
 * into one object per event made every command quadratic in the campaign's size; the handler
 * folds the one member a command names (`campaignMembershipDecider`) and passes it as a fact.
 */
export interface Campaign extends CampaignDetails {
  id: string;
  launchedAt: string;
}

export type CampaignLaunched = DomainEvent<'CampaignLaunched', { campaignId: string } & CampaignDetails>;
export type CampaignMemberAdded = DomainEvent<'CampaignMemberAdded', { campaignId: string; member: CampaignMemberRef; status: CampaignMemberStatus }>;
/** A member added as Sent responded. */
export type CampaignMemberResponded = DomainEvent<'CampaignMemberResponded', { campaignId: string; member: CampaignMemberRef }>;
export type CampaignEvent = CampaignLaunched | CampaignMemberAdded | CampaignMemberResponded;

/** What the handler found about the record a membership names. */
export interface CampaignMemberFacts {
  exists: boolean;
  /** The member's membership of this campaign, folded from the campaign's stream; null when it is not a member. */
  membership?: CampaignMember | null;
  /** A lead that is Converted (what it became: the contact) or Merged (the survivor). */
  closedLead?: { status: 'Converted' | 'Merged'; becameId?: string };
  /** The lead was captured with this campaign's `campaignId`: it responded at capture. */
  respondedAtCapture?: boolean;
}

export interface LaunchCampaign {
  type: 'LaunchCampaign';
  campaignId: string;
  occurredAt: string;
  details: CampaignDetails;
}
export interface AddCampaignMember {
  type: 'AddCampaignMember';
  campaignId: string;
  occurredAt: string;
  member: CampaignMemberRef;
  status: CampaignMemberStatus;
  /** Filled in by the handler. */
  memberFacts: CampaignMemberFacts;
}
export type CampaignCommand = LaunchCampaign | AddCampaignMember;

export type CampaignState = Campaign | null;

export const campaignMemberKey = (member: CampaignMemberRef) => `${member.type}:${member.id}`;
/** The body field that names a member: `leadId` or `contactId`. */
export const campaignMemberField = (member: CampaignMemberRef) => (member.type === 'lead' ? 'leadId' : 'contactId');

/** A converted or merged lead is permanent: its campaign responses belong on the contact or lead it became. */
export class CampaignMemberLeadIsClosed extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'campaign-member-lead-closed';
  override readonly field = 'leadId';
  constructor(leadId: string, closed: NonNullable<CampaignMemberFacts['closedLead']>) {
    const target = closed.status === 'Converted' ? `contact ${closed.becameId} (contactId)` : `lead ${closed.becameId}`;
    super(`Lead ${leadId} is ${closed.status}; add ${target} to the campaign instead`);
  }
}

function evolve(state: CampaignState, event: Occurred<CampaignEvent>): CampaignState {
  if (event.type !== 'CampaignLaunched') return state;
  const { campaignId, ...details } = event.data;
  return withMembers(details, { id: campaignId, launchedAt: event.occurredAt });
}

/** One member's membership of a campaign, folded from the campaign's stream: what AddCampaignMember decides on. */
export function campaignMembershipOf(member: CampaignMemberRef) {
  const key = campaignMemberKey(member);
  return {
    initialState: null as CampaignMember | null,
    evolve(membership: CampaignMember | null, event: Occurred<CampaignEvent>): CampaignMember | null {
      if (event.type === 'CampaignLaunched' || campaignMemberKey(event.data.member) !== key) return membership;
      if (event.type === 'CampaignMemberAdded') {
        return { status: event.data.status, addedAt: event.occurredAt, ...(event.data.status === 'Responded' && { respondedAt: event.occurredAt }) };
      }
      return membership && { ...membership, status: 'Responded', respondedAt: event.occurredAt };
    },
  };
}

/**
 * Membership moves one way, Sent → Responded, once. Adding a member again with the status it
 * has (or Sent for one who responded) changes nothing: a response is not taken back, and its
 * time stays the first one (the primary campaign of a lead is the last one it responded to).
 */
function decide(command: CampaignCommand, state: CampaignState): CampaignEvent[] {
  switch (command.type) {
    case 'LaunchCampaign':
      if (state) throw new AggregateAlreadyExists('Campaign', command.campaignId);
      return [{ type: 'CampaignLaunched', data: withoutUndefined({ campaignId: command.campaignId, ...command.details }) }];
    case 'AddCampaignMember': {
      if (!state) throw new AggregateNotFound('Campaign', command.campaignId);
      const { member, memberFacts: facts } = command;
      if (!facts.exists) throw new AggregateNotFound(member.type === 'lead' ? 'Lead' : 'Contact', member.id, campaignMemberField(member));
      const current = facts.membership ?? null;
      const responded = current?.status === 'Responded' || facts.respondedAtCapture === true;
      if (responded || (current && command.status === 'Sent')) return [];
      // A closed lead takes no new membership or response; one that already responded above is answered as unchanged.
      if (member.type === 'lead' && facts.closedLead) throw new CampaignMemberLeadIsClosed(member.id, facts.closedLead);
      if (current) return [{ type: 'CampaignMemberResponded', data: { campaignId: state.id, member } }];
      return [{ type: 'CampaignMemberAdded', data: { campaignId: state.id, member, status: command.status } }];
    }
  }
}

export const campaignDecider: Decider<CampaignCommand, CampaignEvent, CampaignState> = { initialState: null, evolve, decide };
