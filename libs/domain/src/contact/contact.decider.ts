import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import type { Decider, DomainEvent, Occurred } from '../shared/decider';
import { applyFieldChanges, changedFields, FieldChanges, withoutUndefined } from '../shared/record-fields';
import type { LeadSource } from '../lead/lead.types';

export interface ContactDetails {
  lastName: string;
  firstName?: string;
  email?: string;
  phone?: string;
  title?: string;
  ownerId?: string;
}

export interface Contact extends ContactDetails {
  id: string;
  accountId: string;
  leadSource?: LeadSource;
  addedAt: string;
  lastModifiedAt: string;
}

export type ContactAdded = DomainEvent<'ContactAdded', { contactId: string; accountId: string; leadSource?: LeadSource } & ContactDetails>;
export type ContactDetailsChanged = DomainEvent<'ContactDetailsChanged', { contactId: string; changes: FieldChanges<ContactDetails> }>;
export type ContactEvent = ContactAdded | ContactDetailsChanged;

export interface AddContact {
  type: 'AddContact';
  contactId: string;
  occurredAt: string;
  accountId: string;
  /** Whether the handler found the account: a contact always belongs to an existing account. */
  accountExists: boolean;
  details: ContactDetails;
  leadSource?: LeadSource;
}
export interface ChangeContactDetails {
  type: 'ChangeContactDetails';
  contactId: string;
  occurredAt: string;
  changes: FieldChanges<ContactDetails>;
}
export type ContactCommand = AddContact | ChangeContactDetails;

export type ContactState = Contact | null;

function evolve(state: ContactState, event: Occurred<ContactEvent>): ContactState {
  switch (event.type) {
    case 'ContactAdded': {
      const { contactId, ...fields } = event.data;
      return { ...fields, id: contactId, addedAt: event.occurredAt, lastModifiedAt: event.occurredAt };
    }
    case 'ContactDetailsChanged':
      return state && applyFieldChanges({ ...state, lastModifiedAt: event.occurredAt }, event.data.changes);
  }
}

function decide(command: ContactCommand, state: ContactState): ContactEvent[] {
  const { contactId } = command;
  switch (command.type) {
    case 'AddContact': {
      if (state) throw new AggregateAlreadyExists('Contact', contactId);
      if (!command.accountExists) throw new AggregateNotFound('Account', command.accountId, 'accountId');
      return [{ type: 'ContactAdded', data: withoutUndefined({ contactId, accountId: command.accountId, ...command.details, leadSource: command.leadSource }) }];
    }
    case 'ChangeContactDetails': {
      if (!state) throw new AggregateNotFound('Contact', contactId);
      const changes = changedFields(state, command.changes);
      return Object.keys(changes).length === 0 ? [] : [{ type: 'ContactDetailsChanged', data: { contactId, changes } }];
    }
  }
}

export const contactDecider: Decider<ContactCommand, ContactEvent, ContactState> = { initialState: null, evolve, decide };
