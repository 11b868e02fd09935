import {
  accountDecider,
  AccountCommand,
  AccountEvent,
  AccountState,
  contactDecider,
  ContactCommand,
  ContactEvent,
  ContactState,
  Decider,
  DomainEvent,
  LeadCommand,
  leadDecider,
  LeadEvent,
  LeadState,
  opportunityDecider,
  OpportunityCommand,
  OpportunityEvent,
  OpportunityState,
  ParentFacts,
} from '@crm/domain';
import { matchKey } from '@crm/read-models';

/** Loads a record's current state (the decider's initial state when it does not exist). */
export type LoadState = <S>(aggregate: AggregateType<any, any, S>, id: string) => Promise<S>;

/** What a handler can look up about other records before deciding. */
export interface Facts {
  load: LoadState;
  /** Ids of read-model documents matching a filter (duplicate checks; eventually consistent). */
  findIds(readModel: string, filter: Record<string, string | null>): Promise<string[]>;
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
}

export const LEAD: AggregateType<LeadCommand, LeadEvent, LeadState> = {
  name: 'Lead',
  streamPrefix: 'lead',
  readModel: 'leads',
  decider: leadDecider,
  async resolveFacts(command, facts) {
    // Capture refuses an email that an open lead has (unless duplicateLeadIds was set to [] by an allowDuplicate caller).
    if (command.type !== 'CaptureLead' || command.duplicateLeadIds !== undefined || !command.details.email) return command;
    const duplicates = await facts.findIds('leads', { _openEmail: matchKey(command.details.email) });
    return { ...command, duplicateLeadIds: duplicates.filter((id) => id !== command.leadId) };
  },
};

export const ACCOUNT: AggregateType<AccountCommand, AccountEvent, AccountState> = {
  name: 'Account',
  streamPrefix: 'account',
  readModel: 'accounts',
  decider: accountDecider,
  async resolveFacts(command, { load }) {
    const parentId = command.type === 'OpenAccount' ? command.details.parentId : command.type === 'ChangeAccountDetails' ? command.changes.parentId : undefined;
    return parentId ? { ...command, parent: await parentFacts(parentId, load) } : command;
  },
};

export const CONTACT: AggregateType<ContactCommand, ContactEvent, ContactState> = {
  name: 'Contact',
  streamPrefix: 'contact',
  readModel: 'contacts',
  decider: contactDecider,
  async resolveFacts(command, { load }) {
    if (command.type !== 'AddContact') return command;
    return { ...command, accountExists: (await load(ACCOUNT, command.accountId)) !== null };
  },
};

export const OPPORTUNITY: AggregateType<OpportunityCommand, OpportunityEvent, OpportunityState> = {
  name: 'Opportunity',
  streamPrefix: 'opportunity',
  readModel: 'opportunities',
  decider: opportunityDecider,
  async resolveFacts(command, { load }) {
    if (command.type === 'OpenOpportunity') return { ...command, accountExists: (await load(ACCOUNT, command.accountId)) !== null };
    if (command.type === 'AddOpportunityContactRole') return { ...command, contactExists: (await load(CONTACT, command.contactId)) !== null };
    return command;
  },
};

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
