import { AggregateAlreadyExists, AggregateNotFound, DomainError } from '../shared/domain-error';
import type { Decider, DomainEvent, Occurred } from '../shared/decider';
import { applyFieldChanges, changedFields, FieldChanges, withMembers, withoutUndefined } from '../shared/record-fields';
import type { LeadSource } from '../lead/lead.types';

/** Open stages and their default probability (%), in pipeline order. */
export const STAGE_PROBABILITY = {
  Prospecting: 10,
  Qualification: 10,
  'Needs Analysis': 20,
  'Value Proposition': 50,
  'Id. Decision Makers': 60,
  'Perception Analysis': 70,
  'Proposal/Price Quote': 75,
  'Negotiation/Review': 90,
} as const;
export type OpenStage = keyof typeof STAGE_PROBABILITY;
export const OPEN_STAGES = Object.keys(STAGE_PROBABILITY) as OpenStage[];
export type OpportunityStage = OpenStage | 'Closed Won' | 'Closed Lost';

export const CONTACT_ROLES = [
  'Business User',
  'Decision Maker',
  'Economic Buyer',
  'Economic Decision Maker',
  'Evaluator',
  'Executive Sponsor',
  'Influencer',
  'Technical Buyer',
  'Other',
] as const;
export type ContactRoleName = (typeof CONTACT_ROLES)[number];

export interface ContactRole {
  contactId: string;
  role: ContactRoleName;
  isPrimary: boolean;
}

/** What PATCH /opportunities/:id may change. */
export interface OpportunityDetails {
  name: string;
  closeDate: string;
  amount?: number;
  probability: number;
  ownerId?: string;
}

export interface Opportunity extends OpportunityDetails {
  id: string;
  accountId: string;
  stage: OpportunityStage;
  /** True while an explicit probability overrides the stage default (until the next stage change). */
  probabilityOverridden: boolean;
  leadSource?: LeadSource;
  /** The converted lead's productInterest. */
  productInterest?: string;
  contactRoles: ContactRole[];
  isClosed: boolean;
  isWon: boolean;
  lossReason?: string;
  openedAt: string;
  closedAt?: string;
  lastModifiedAt: string;
}

type Id = { opportunityId: string };
export type OpportunityOpened = DomainEvent<
  'OpportunityOpened',
  Id & { accountId: string; name: string; closeDate: string; stage: OpenStage; probability: number; amount?: number; ownerId?: string; leadSource?: LeadSource; productInterest?: string }
>;
export type OpportunityStageChanged = DomainEvent<'OpportunityStageChanged', Id & { stage: OpenStage; previousStage: OpenStage; probability: number }>;
export type OpportunityDetailsChanged = DomainEvent<'OpportunityDetailsChanged', Id & { changes: FieldChanges<OpportunityDetails> }>;
export type OpportunityContactRoleAdded = DomainEvent<'OpportunityContactRoleAdded', Id & ContactRole>;
export type OpportunityWon = DomainEvent<'OpportunityWon', Id & { amount?: number }>;
export type OpportunityLost = DomainEvent<'OpportunityLost', Id & { reason: string; amount?: number }>;
export type OpportunityEvent =
  | OpportunityOpened
  | OpportunityStageChanged
  | OpportunityDetailsChanged
  | OpportunityContactRoleAdded
  | OpportunityWon
  | OpportunityLost;

interface OpportunityCommandBase {
  opportunityId: string;
  occurredAt: string;
}
export interface OpenOpportunity extends OpportunityCommandBase {
  type: 'OpenOpportunity';
  accountId: string;
  accountExists: boolean;
  name: string;
  closeDate: string;
  stage: OpenStage;
  amount?: number;
  probability?: number;
  ownerId?: string;
  leadSource?: LeadSource;
  /** From the lead at conversion. */
  productInterest?: string;
}
export interface ChangeOpportunityStage extends OpportunityCommandBase {
  type: 'ChangeOpportunityStage';
  stage: OpenStage;
  probability?: number;
}
export interface ChangeOpportunityDetails extends OpportunityCommandBase {
  type: 'ChangeOpportunityDetails';
  changes: FieldChanges<OpportunityDetails>;
}
export interface AddOpportunityContactRole extends OpportunityCommandBase, ContactRole {
  type: 'AddOpportunityContactRole';
  contactExists: boolean;
}
export type CloseOpportunity = OpportunityCommandBase & { type: 'CloseOpportunity' } & ({ won: true } | { won: false; reason: string });
export type OpportunityCommand = OpenOpportunity | ChangeOpportunityStage | ChangeOpportunityDetails | AddOpportunityContactRole | CloseOpportunity;

/** Closed Won and Closed Lost are final. */
export class OpportunityIsClosed extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'opportunity-closed';
  constructor(opportunityId: string, stage: OpportunityStage) {
    super(`Opportunity ${opportunityId} is ${stage}, which is final; it accepts no further commands`);
  }
}

export class ContactRoleExists extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'contact-role-exists';
  override readonly field = 'contactId';
  constructor(opportunityId: string, contactId: string) {
    super(`Contact ${contactId} already has a role on opportunity ${opportunityId}`);
  }
}

export type OpportunityState = Opportunity | null;

function evolve(state: OpportunityState, event: Occurred<OpportunityEvent>): OpportunityState {
  if (event.type === 'OpportunityOpened') {
    const { opportunityId, ...fields } = event.data;
    return withMembers(fields, {
      id: opportunityId,
      probabilityOverridden: fields.probability !== STAGE_PROBABILITY[fields.stage],
      contactRoles: [],
      isClosed: false,
      isWon: false,
      openedAt: event.occurredAt,
      lastModifiedAt: event.occurredAt,
    });
  }
  if (!state) return state;
  const opportunity = { ...state, lastModifiedAt: event.occurredAt };
  switch (event.type) {
    case 'OpportunityStageChanged': {
      const { stage, probability } = event.data;
      return { ...opportunity, stage, probability, probabilityOverridden: probability !== STAGE_PROBABILITY[stage] };
    }
    case 'OpportunityDetailsChanged': {
      const overridden = event.data.changes.probability !== undefined ? { probabilityOverridden: true } : {};
      return { ...applyFieldChanges(opportunity, event.data.changes), ...overridden };
    }
    case 'OpportunityContactRoleAdded': {
      const { opportunityId: _id, ...role } = event.data;
      const others = role.isPrimary ? opportunity.contactRoles.map((r) => ({ ...r, isPrimary: false })) : opportunity.contactRoles;
      return { ...opportunity, contactRoles: [...others, role] };
    }
    case 'OpportunityWon':
      return { ...opportunity, stage: 'Closed Won', probability: 100, isClosed: true, isWon: true, closedAt: event.occurredAt };
    case 'OpportunityLost':
      return { ...opportunity, stage: 'Closed Lost', probability: 0, isClosed: true, isWon: false, lossReason: event.data.reason, closedAt: event.occurredAt };
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

function decide(command: OpportunityCommand, state: OpportunityState): OpportunityEvent[] {
  const { opportunityId } = command;
  if (command.type === 'OpenOpportunity') {
    if (state) throw new AggregateAlreadyExists('Opportunity', opportunityId);
    if (!command.accountExists) throw new AggregateNotFound('Account', command.accountId, 'accountId');
    const { type: _t, occurredAt: _at, accountExists: _e, probability, ...fields } = command;
    return [{ type: 'OpportunityOpened', data: { ...withoutUndefined(fields), probability: probability ?? STAGE_PROBABILITY[command.stage] } }];
  }
  if (!state) throw new AggregateNotFound('Opportunity', opportunityId);
  if (state.isClosed) throw new OpportunityIsClosed(opportunityId, state.stage);
  const openStage = state.stage as OpenStage;
  switch (command.type) {
    case 'ChangeOpportunityStage': {
      // Re-sending the current stage is no stage change: an overridden probability holds.
      if (command.stage === openStage && (command.probability === undefined || command.probability === state.probability)) return [];
      const probability = command.probability ?? STAGE_PROBABILITY[command.stage];
      return [{ type: 'OpportunityStageChanged', data: { opportunityId, stage: command.stage, previousStage: openStage, probability } }];
    }
    case 'ChangeOpportunityDetails': {
      const changes = changedFields(state, command.changes);
      return Object.keys(changes).length === 0 ? [] : [{ type: 'OpportunityDetailsChanged', data: { opportunityId, changes } }];
    }
    case 'AddOpportunityContactRole': {
      if (!command.contactExists) throw new AggregateNotFound('Contact', command.contactId, 'contactId');
      if (state.contactRoles.some((r) => r.contactId === command.contactId)) throw new ContactRoleExists(opportunityId, command.contactId);
      const { contactId, role, isPrimary } = command;
      return [{ type: 'OpportunityContactRoleAdded', data: { opportunityId, contactId, role, isPrimary } }];
    }
    case 'CloseOpportunity': {
      const amount = state.amount === undefined ? {} : { amount: state.amount };
      return command.won
        ? [{ type: 'OpportunityWon', data: { opportunityId, ...amount } }]
        : [{ type: 'OpportunityLost', data: { opportunityId, reason: command.reason, ...amount } }];
    }
  }
}

export const opportunityDecider: Decider<OpportunityCommand, OpportunityEvent, OpportunityState> = { initialState: null, evolve, decide };
