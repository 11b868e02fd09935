import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import { fold } from '../shared/decider';
import { given } from '../testing/given';
import { ERASED, PersonalDataAlreadyErased } from '../shared/personal-data';
import { ContactCommand, contactDecider, ContactEvent } from './contact.decider';

const contactId = 'contact-1';
const accountId = 'account-1';
const at = '2026-02-01T10:00:00.000Z';
const added: ContactEvent = { type: 'ContactAdded', data: { contactId, accountId, lastName: 'Lovelace', email: 'ada@example.com', ownerId: 'rep-1' } };

const contact = (history: ContactEvent[]) => given(contactDecider, history);
const cmd = <T extends ContactCommand['type']>(type: T, fields: Omit<Extract<ContactCommand, { type: T }>, 'type' | 'contactId' | 'occurredAt'>) =>
  ({ type, contactId, occurredAt: at, ...fields }) as Extract<ContactCommand, { type: T }>;

describe('contact decider', () => {
  describe('AddContact', () => {
    it('adds a contact under an existing account', () => {
      contact([])
        .when(cmd('AddContact', { accountId, accountExists: true, details: { lastName: 'Lovelace', firstName: 'Ada', title: 'CTO' } }))
        .then([{ type: 'ContactAdded', data: { contactId, accountId, lastName: 'Lovelace', firstName: 'Ada', title: 'CTO' } }]);
    });
    it('keeps the lead source of a conversion', () => {
      contact([])
        .when(cmd('AddContact', { accountId, accountExists: true, details: { lastName: 'Lovelace' }, leadSource: 'Event' }))
        .then([{ type: 'ContactAdded', data: { contactId, accountId, lastName: 'Lovelace', leadSource: 'Event' } }]);
    });
    it('refuses an account that does not exist, naming accountId', () => {
      contact([])
        .when(cmd('AddContact', { accountId: 'ghost', accountExists: false, details: { lastName: 'Lovelace' } }))
        .thenRefuses(AggregateNotFound, { kind: 'not-found', id: 'ghost', field: 'accountId' });
    });
    it('refuses to add a contact that exists', () => {
      contact([added]).when(cmd('AddContact', { accountId, accountExists: true, details: { lastName: 'X' } })).thenRefuses(AggregateAlreadyExists, { id: contactId });
    });
    it('starts with its account and the time it was added', () => {
      expect(contact([added]).state).toEqual({
        id: contactId,
        accountId,
        lastName: 'Lovelace',
        email: 'ada@example.com',
        ownerId: 'rep-1',
        addedAt: '2026-01-01T00:00:00.000Z',
        lastModifiedAt: '2026-01-01T00:00:00.000Z',
      });
    });
  });

  describe('ChangeContactDetails', () => {
    it('records only the fields that differ', () => {
      contact([added])
        .when(cmd('ChangeContactDetails', { changes: { lastName: 'Lovelace', phone: '+44 1', ownerId: 'rep-2' } }))
        .then([{ type: 'ContactDetailsChanged', data: { contactId, changes: { phone: '+44 1', ownerId: 'rep-2' } } }]);
    });
    it('clears a field with null, and the state drops it', () => {
      const changed: ContactEvent = { type: 'ContactDetailsChanged', data: { contactId, changes: { email: null } } };
      contact([added]).when(cmd('ChangeContactDetails', { changes: { email: null } })).then([changed]);
      expect(contact([added, changed]).state).not.toHaveProperty('email');
    });
    it('appends nothing when nothing changes', () => {
      contact([added]).when(cmd('ChangeContactDetails', { changes: { email: 'ada@example.com', title: null } })).then([]);
    });
    it('keeps the time of the last change', () => {
      const state = fold(contactDecider, [
        { ...added, occurredAt: '2026-01-01T00:00:00.000Z' },
        { type: 'ContactDetailsChanged', data: { contactId, changes: { title: 'CTO' } }, occurredAt: at },
      ]);
      expect(state).toMatchObject({ title: 'CTO', addedAt: '2026-01-01T00:00:00.000Z', lastModifiedAt: at });
    });
    it('refuses a contact that does not exist', () => {
      contact([]).when(cmd('ChangeContactDetails', { changes: { title: 'x' } })).thenRefuses(AggregateNotFound, { id: contactId });
    });
  });

  describe('EraseContactPersonalData', () => {
    const erased: ContactEvent = { type: 'PersonalDataErased', data: { contactId, reason: 'Request #1' } };
    it('records the erasure, and the contact then shows its personal fields as erased', () => {
      contact([added]).when(cmd('EraseContactPersonalData', { reason: 'Request #1' })).then([erased]);
      expect(contact([added, erased]).state).toMatchObject({ lastName: ERASED, email: ERASED, accountId, ownerId: 'rep-1', personalDataErasedAt: expect.any(String) });
    });
    it('refuses a second erasure, and a contact that does not exist', () => {
      contact([added, erased]).when(cmd('EraseContactPersonalData', { reason: 'again' })).thenRefuses(PersonalDataAlreadyErased, { kind: 'conflict' });
      contact([]).when(cmd('EraseContactPersonalData', { reason: 'x' })).thenRefuses(AggregateNotFound, { id: contactId });
    });
  });
});
