import { AggregateAlreadyExists, AggregateNotFound, DomainError } from '../shared/domain-error';
import type { Decider, DomainEvent, Occurred } from '../shared/decider';
import { applyFieldChanges, changedFields, FieldChanges, withMembers, withoutUndefined } from '../shared/record-fields';
import type { LeadSource } from '../lead/lead.types';

export const ACCOUNT_TYPES = ['Prospect', 'Customer', 'Partner', 'Vendor'] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];

export interface AccountDetails {
  name: string;
  industry?: string;
  annualRevenue?: number;
  numberOfEmployees?: number;
  parentId?: string;
  ownerId?: string;
  type?: AccountType;
  /** ISO 3166-1 alpha-2; set from a converted lead's country. */
  country?: string;
}

export interface Account extends AccountDetails {
  id: string;
  /** Set when the account was opened by a lead conversion. */
  leadSource?: LeadSource;
  openedAt: string;
  lastModifiedAt: string;
}

/**
 * What the handler found of a proposed parent: whether it exists, and its ancestors
 * (parent first, root last), so that the decider can refuse a cycle without any I/O.
 */
export interface ParentFacts {
  id: string;
  exists: boolean;
  ancestorIds: string[];
}

export type AccountOpened = DomainEvent<'AccountOpened', { accountId: string; leadSource?: LeadSource } & AccountDetails>;
export type AccountDetailsChanged = DomainEvent<'AccountDetailsChanged', { accountId: string; changes: FieldChanges<AccountDetails> }>;
export type AccountEvent = AccountOpened | AccountDetailsChanged;

interface AccountCommandBase {
  accountId: string;
  occurredAt: string;
}
export interface OpenAccount extends AccountCommandBase {
  type: 'OpenAccount';
  details: AccountDetails;
  leadSource?: LeadSource;
  parent?: ParentFacts;
}
export interface ChangeAccountDetails extends AccountCommandBase {
  type: 'ChangeAccountDetails';
  changes: FieldChanges<AccountDetails>;
  parent?: ParentFacts;
}
/** Conversion into an existing account fills only the fields it has blank (as Salesforce does). */
export interface FillAccountBlanks extends AccountCommandBase {
  type: 'FillAccountBlanks';
  offered: Partial<AccountDetails>;
}
export type AccountCommand = OpenAccount | ChangeAccountDetails | FillAccountBlanks;

export class ParentAccountNotFound extends AggregateNotFound {
  constructor(parentId: string) {
    super('Account', parentId, 'parentId');
  }
}

export class AccountHierarchyCycle extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'account-hierarchy-cycle';
  override readonly field = 'parentId';
  constructor(accountId: string, parentId: string) {
    super(`Account ${parentId} cannot be the parent of ${accountId}: the hierarchy would form a cycle`);
  }
}

/** Opening an account, or renaming one, to a name another account has (trimmed, case-insensitive), sent without allowDuplicate. */
export class AccountNameTaken extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'duplicate-account';
  override readonly field = 'name';
  override readonly extensions: { duplicates: string[] };
  constructor(name: string, duplicates: string[]) {
    super(`An account named ${name} exists; send ?allowDuplicate=true to have another account of that name`);
    this.extensions = { duplicates };
  }
}

export type AccountState = Account | null;

function evolve(state: AccountState, event: Occurred<AccountEvent>): AccountState {
  switch (event.type) {
    case 'AccountOpened': {
      const { accountId, ...fields } = event.data;
      return withMembers(fields, { id: accountId, openedAt: event.occurredAt, lastModifiedAt: event.occurredAt });
    }
    case 'AccountDetailsChanged':
      return state && applyFieldChanges({ ...state, lastModifiedAt: event.occurredAt }, event.data.changes);
  }
}

function decide(command: AccountCommand, state: AccountState): AccountEvent[] {
  const { accountId } = command;
  if (command.type === 'OpenAccount') {
    if (state) throw new AggregateAlreadyExists('Account', accountId);
    if (command.details.parentId) checkParent(accountId, command.details.parentId, command.parent);
    return [{ type: 'AccountOpened', data: withoutUndefined({ accountId, ...command.details, leadSource: command.leadSource }) }];
  }
  if (!state) throw new AggregateNotFound('Account', accountId);
  switch (command.type) {
    case 'ChangeAccountDetails': {
      const changes = changedFields(state, command.changes);
      if (changes.parentId) checkParent(accountId, changes.parentId, command.parent);
      return Object.keys(changes).length === 0 ? [] : [{ type: 'AccountDetailsChanged', data: { accountId, changes } }];
    }
    case 'FillAccountBlanks': {
      const blanks = Object.fromEntries(
        Object.entries(command.offered).filter(([key, value]) => value !== undefined && state[key as keyof AccountDetails] === undefined),
      );
      return Object.keys(blanks).length === 0 ? [] : [{ type: 'AccountDetailsChanged', data: { accountId, changes: blanks } }];
    }
  }
}

function checkParent(accountId: string, parentId: string, parent: ParentFacts | undefined): void {
  // The handler must look the parent up; deciding without those facts would let a cycle through.
  if (parent?.id !== parentId) throw new Error(`No facts were resolved for parent account ${parentId}`);
  if (!parent.exists) throw new ParentAccountNotFound(parent.id);
  if (parent.id === accountId || parent.ancestorIds.includes(accountId)) throw new AccountHierarchyCycle(accountId, parent.id);
}

export const accountDecider: Decider<AccountCommand, AccountEvent, AccountState> = { initialState: null, evolve, decide };
