import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import type { Decider, DomainEvent, Occurred } from '../shared/decider';
import { applyFieldChanges, changedFields, FieldChanges, withMembers, withoutUndefined } from '../shared/record-fields';
import type { LeadSource } from '../lead/lead.types';
import { CONTACT_PERSONAL_FIELDS, PersonalDataAlreadyErased, withPersonalFieldsErased } from '../shared/personal-data';

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
  /** When the person's personal data was erased (its fields then read "[erased]"). */
  personalDataErasedAt?: string;
}

export type ContactAdded = DomainEvent<'ContactAdded', { contactId: string; accountId: string; leadSource?: LeadSource } & ContactDetails>;
export type ContactDetailsChanged = DomainEvent<'ContactDetailsChanged', { contactId: string; changes: FieldChanges<ContactDetails> }>;
/** The person's key was destroyed: every personal field of the contact reads "[erased]" from now on. No personal data in it. */
export type ContactPersonalDataErased = DomainEvent<'PersonalDataErased', { contactId: string; reason: string }>;
export type ContactEvent = ContactAdded | ContactDetailsChanged | ContactPersonalDataErased;

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
/** Records that the person's personal data was erased (the key is destroyed by the handler, beforehand). */
export interface EraseContactPersonalData {
  type: 'EraseContactPersonalData';
  contactId: string;
  occurredAt: string;
  reason: string;
}
export type ContactCommand = AddContact | ChangeContactDetails | EraseContactPersonalData;

export type ContactState = Contact | null;

function evolve(state: ContactState, event: Occurred<ContactEvent>): ContactState {
  switch (event.type) {
    case 'ContactAdded': {
      const { contactId, ...fields } = event.data;
      return withMembers(fields, { id: contactId, addedAt: event.occurredAt, lastModifiedAt: event.occurredAt });
    }
    case 'ContactDetailsChanged':
      return state && applyFieldChanges({ ...state, lastModifiedAt: event.occurredAt }, event.data.changes);
    case 'PersonalDataErased':
      return state && { ...withPersonalFieldsErased(state, CONTACT_PERSONAL_FIELDS), lastModifiedAt: event.occurredAt, personalDataErasedAt: event.occurredAt };
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
    case 'EraseContactPersonalData': {
      if (!state) throw new AggregateNotFound('Contact', contactId);
      if (state.personalDataErasedAt) throw new PersonalDataAlreadyErased('Contact', contactId, state.personalDataErasedAt);
      return [{ type: 'PersonalDataErased', data: { contactId, reason: command.reason } }];
    }
  }
}

export const contactDecider: Decider<ContactCommand, ContactEvent, ContactState> = { initialState: null, evolve, decide };
