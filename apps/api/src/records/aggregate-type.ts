import {
  CampaignCommand,
  campaignDecider,
  CampaignEvent,
  CampaignMember,
  CampaignMemberFacts,
  campaignMembershipOf,
  CampaignMemberRef,
  CampaignState,
  AccountNameTaken,
  accountDecider,
  AccountCommand,
  AccountEvent,
  AccountState,
  contactDecider,
  ContactCommand,
  ContactEvent,
  ContactState,
  Decider,
  DomainError,
  DomainEvent,
  DuplicateAccountName,
  DuplicateLeadEmail,
  heldAccountName,
  heldLeadEmail,
  AggregateNotFound,
  ClaimHolder,
  LeadCommand,
  leadDecider,
  LeadEvent,
  LeadState,
  opportunityDecider,
  OpportunityCommand,
  OpportunityEvent,
  OpportunityState,
  normalizedForMatch,
  ParentFacts,
  READ_MODELS,
  STREAM_PREFIXES,
} from '@crm/domain';
import { deterministicUuid } from '@crm/event-store';

/** Loads a record's current state (the decider's initial state when it does not exist). */
export type LoadState = <S>(aggregate: AggregateType<any, any, S>, id: string) => Promise<S>;

/** What a handler can look up about other records before deciding (on every attempt: never stale). */
export interface Facts {
  load: LoadState;
}

/**
 * A value that at most one record holds (API.md, "Duplicates"), unless a caller allows a
 * duplicate knowingly. It is kept by a claim stream per value (see UniquenessClaims).
 */
export interface UniqueRule<S = any> {
  /** Names the claim streams: `unique-<name>-<sha256 of the value>`. */
  name: string;
  /** The kind of record that holds the value, and the normalized value a state of it holds (null for none). */
  holder: AggregateType<any, any, S>;
  valueOf(state: S): string | null;
  /** For a holder named with the decision that will open it (`decidedBy`): whether that decision stands. */
  decidedHolderStands?(holder: ClaimHolder, load: LoadState): Promise<boolean>;
}

/** A value a command makes a record hold, claimed with the command's events (UniquenessClaims.appendClaimed). */
export interface UniqueClaim {
  rule: UniqueRule;
  value: string;
  claimant: { id: string; decidedBy?: string };
  /** The command takes the value even while others hold it (a merge's survivor filled with a duplicate's email, which already was one). */
  allowDuplicate?: boolean;
  refusal(duplicates: string[]): DomainError;
}

/** What the generic command and audit machinery needs to know of an aggregate. */
export interface AggregateType<Command = unknown, Event extends DomainEvent = DomainEvent, State = unknown> {
  /** Name used in messages: "Lead 42 does not exist". */
  name: string;
  /** Streams are named `<streamPrefix>-<id>`. */
  streamPrefix: string;
  /** The read model serving `GET /<records>` and `GET /<records>/:id`. */
  readModel: string;
  decider: Decider<Command, Event, State>;
  /**
   * Looks up what the decider must know of other records (does the account exist, what are
   * the parent's ancestors) and returns the command with those facts filled in.
   */
  resolveFacts?(command: Command, facts: Facts): Promise<Command>;
  /** The unique values the command makes the record hold that it did not hold before (its state before and after the events). */
  claimsOf?(command: Command, before: State, after: State): UniqueClaim[];
}

export const LEAD: AggregateType<LeadCommand, LeadEvent, LeadState> = {
  name: 'Lead',
  streamPrefix: STREAM_PREFIXES.lead,
  readModel: READ_MODELS.leads,
  decider: leadDecider,
  async resolveFacts(command, { load }) {
    if (command.type === 'CaptureLead' && command.details.campaignId !== undefined) {
      // campaignId at capture must name a campaign (404 naming the field); campaigns are never removed.
      return { ...command, campaignExists: (await load(CAMPAIGN, command.details.campaignId)) !== null };
    }
    if (command.type === 'ConvertLead') {
      // An account or contact the caller named is loaded (404 when missing); the ids derived from the lead name new ones.
      const { leadId, account, contact } = command;
      const existingAccount = account.id === convertedRecordId(leadId, 'account') ? null : await requireExisting(load, ACCOUNT, account.id, 'accountId');
      const existingContact = contact.id === convertedRecordId(leadId, 'contact') ? null : await requireExisting(load, CONTACT, contact.id, 'contactId');
      return { ...command, account: { id: account.id, existing: existingAccount }, contact: { id: contact.id, existing: existingContact } };
    }
    if (command.type === 'MergeLeads') {
      const duplicates = [];
      for (const id of command.duplicateIds) duplicates.push(await requireExisting(load, LEAD, id, 'duplicateIds'));
      return { ...command, duplicates };
    }
    return command;
  },
  claimsOf(command, before, after) {
    const claims: UniqueClaim[] = [];
    const email = heldLeadEmail(after);
    if (after && email !== null && email !== heldLeadEmail(before)) {
      // Captured or given a new email; or filled by a merge with a duplicate's, which the merge closes: never refused over it.
      const allowDuplicate = command.type === 'MergeLeads';
      claims.push({ rule: LEAD_EMAIL, value: email, claimant: { id: after.id }, allowDuplicate, refusal: (ids) => new DuplicateLeadEmail(after.email!, ids) });
    }
    if (after && command.type === 'ConvertLead' && !command.account.existing) {
      // The account opens a moment later, from the decision: the claim names the lead that decided it.
      const claimant = { id: command.account.id, decidedBy: after.id };
      claims.push({ rule: ACCOUNT_NAME, value: normalizedForMatch(after.company), claimant, refusal: (ids) => new DuplicateAccountName(after.company, ids) });
    }
    return claims;
  },
};

export const ACCOUNT: AggregateType<AccountCommand, AccountEvent, AccountState> = {
  name: 'Account',
  streamPrefix: STREAM_PREFIXES.account,
  readModel: READ_MODELS.accounts,
  decider: accountDecider,
  async resolveFacts(command, { load }) {
    const parentId = command.type === 'OpenAccount' ? command.details.parentId : command.type === 'ChangeAccountDetails' ? command.changes.parentId : undefined;
    return parentId ? { ...command, parent: await parentFacts(parentId, load) } : command;
  },
  claimsOf(_command, before, after) {
    const name = heldAccountName(after);
    if (!after || name === null || name === heldAccountName(before)) return [];
    return [{ rule: ACCOUNT_NAME, value: name, claimant: { id: after.id }, refusal: (ids) => new AccountNameTaken(after.name, ids) }];
  },
};

export const CONTACT: AggregateType<ContactCommand, ContactEvent, ContactState> = {
  name: 'Contact',
  streamPrefix: STREAM_PREFIXES.contact,
  readModel: READ_MODELS.contacts,
  decider: contactDecider,
  async resolveFacts(command, { load }) {
    if (command.type !== 'AddContact') return command;
    return { ...command, accountExists: (await load(ACCOUNT, command.accountId)) !== null };
  },
};

export const OPPORTUNITY: AggregateType<OpportunityCommand, OpportunityEvent, OpportunityState> = {
  name: 'Opportunity',
  streamPrefix: STREAM_PREFIXES.opportunity,
  readModel: READ_MODELS.opportunities,
  decider: opportunityDecider,
  async resolveFacts(command, { load }) {
    if (command.type === 'OpenOpportunity') return { ...command, accountExists: (await load(ACCOUNT, command.accountId)) !== null };
    if (command.type === 'AddOpportunityContactRole') return { ...command, contactExists: (await load(CONTACT, command.contactId)) !== null };
    return command;
  },
};

export const CAMPAIGN: AggregateType<CampaignCommand, CampaignEvent, CampaignState> = {
  name: 'Campaign',
  streamPrefix: STREAM_PREFIXES.campaign,
  readModel: READ_MODELS.campaigns,
  decider: campaignDecider,
  async resolveFacts(command, { load }) {
    return command.type === 'AddCampaignMember' ? { ...command, memberFacts: await campaignMemberFacts(command.campaignId, command.member, load) } : command;
  },
};

/** What a membership must know of its lead or contact: does it exist, is the lead closed, did it respond to this campaign at capture. */
async function campaignMemberFacts(campaignId: string, member: CampaignMemberRef, load: LoadState): Promise<CampaignMemberFacts> {
  // The member's own membership, folded from the campaign's stream (one small fold, whatever the campaign's size).
  const membershipView: AggregateType<never, CampaignEvent, CampaignMember | null> = {
    name: CAMPAIGN.name,
    streamPrefix: CAMPAIGN.streamPrefix,
    readModel: CAMPAIGN.readModel,
    decider: { ...campaignMembershipOf(member), decide: () => [] },
  };
  const membership = await load(membershipView, campaignId);
  if (member.type === 'contact') return { exists: (await load(CONTACT, member.id)) !== null, membership };
  const lead = await load(LEAD, member.id);
  if (!lead) return { exists: false, membership };
  const respondedAtCapture = lead.campaignId === campaignId;
  if (lead.status === 'Converted') return { exists: true, membership, respondedAtCapture, closedLead: { status: 'Converted', becameId: lead.convertedContactId } };
  if (lead.status === 'Merged') return { exists: true, membership, respondedAtCapture, closedLead: { status: 'Merged', becameId: lead.mergedIntoId } };
  return { exists: true, membership, respondedAtCapture };
}

/** An email is held by at most one open lead (neither Converted nor Merged). */
export const LEAD_EMAIL: UniqueRule<LeadState> = { name: 'lead-email', holder: LEAD, valueOf: heldLeadEmail };

/** An account name (trimmed, case-insensitive) by at most one account, counting those a conversion has decided to open. */
export const ACCOUNT_NAME: UniqueRule<AccountState> = {
  name: 'account-name',
  holder: ACCOUNT,
  valueOf: heldAccountName,
  async decidedHolderStands(holder, load) {
    const lead = holder.decidedBy ? await load(LEAD, holder.decidedBy) : null;
    // LeadConverted is recorded: the account it names opens when the conversion completes (inline, or by recovery).
    return lead?.status === 'Converted' && lead.convertedAccountId === holder.id;
  },
};

/** The ids of the records a conversion opens, derived from the lead: a lead converts once, and every racing attempt names the same ids. */
export function convertedRecordId(leadId: string, record: 'account' | 'contact' | 'opportunity'): string {
  return deterministicUuid(leadId, `converted-${record}`);
}

async function requireExisting<S>(load: LoadState, aggregate: AggregateType<any, any, S | null>, id: string, field: string): Promise<S> {
  const state = await load(aggregate, id);
  if (state === null) throw new AggregateNotFound(aggregate.name, id, field);
  return state;
}

/** Hierarchies are shallow; this bounds the walk should stored data ever hold a loop. */
const MAX_HIERARCHY_DEPTH = 100;

/** The proposed parent and its ancestors, walked up from the parent's own parentId. */
async function parentFacts(parentId: string, load: LoadState): Promise<ParentFacts> {
  const parent = await load(ACCOUNT, parentId);
  const ancestorIds: string[] = [];
  for (let next = parent?.parentId; next && ancestorIds.length < MAX_HIERARCHY_DEPTH && !ancestorIds.includes(next); ) {
    ancestorIds.push(next);
    next = (await load(ACCOUNT, next))?.parentId;
  }
  return { id: parentId, exists: parent !== null, ancestorIds };
}

export function streamIdOf(aggregate: AggregateType<any, any, any>, id: string): string {
  return `${aggregate.streamPrefix}-${id}`;
}
