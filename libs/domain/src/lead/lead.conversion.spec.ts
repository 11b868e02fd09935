import type { Account } from '../account/account.decider';
import type { Contact } from '../contact/contact.decider';
import { fold } from '../shared/decider';
import { given } from '../testing/given';
import { ConvertLead, LeadCommand } from './lead.commands';
import { leadDecider } from './lead.decider';
import { ContactNotInAccount, DuplicateNotMergeable, LeadIsClosed, LeadTransitionRefused } from './lead.errors';
import { LeadConverted, LeadEvent } from './lead.events';
import { Lead } from './lead.types';

const leadId = 'lead-1';
const at = '2026-02-01T10:00:00.000Z';
const captured: LeadEvent = {
  type: 'LeadCaptured',
  data: {
    leadId,
    lastName: 'Lovelace',
    firstName: 'Ada',
    company: 'Analytical Engines',
    email: 'ada@example.com',
    phone: '+44 1',
    title: 'CTO',
    industry: 'Machinery',
    annualRevenue: 1_000_000,
    numberOfEmployees: 40,
    source: 'Event',
    ownerId: 'rep-1',
  },
};
const working: LeadEvent = { type: 'LeadStatusChanged', data: { leadId, status: 'Working', previousStatus: 'New' } };
const nurturing: LeadEvent = { type: 'LeadStatusChanged', data: { leadId, status: 'Nurturing', previousStatus: 'New' } };
const qualified: LeadEvent = { type: 'LeadQualified', data: { leadId, previousStatus: 'Working' } };
const disqualified: LeadEvent = { type: 'LeadDisqualified', data: { leadId, reason: 'No budget', previousStatus: 'Working' } };
const converted: LeadConverted = {
  type: 'LeadConverted',
  data: {
    leadId,
    leadSource: 'Event',
    accountId: 'account-1',
    newAccount: { name: 'Analytical Engines' },
    accountFill: null,
    contactId: 'contact-1',
    newContact: { lastName: 'Lovelace' },
    opportunityId: null,
    opportunity: null,
  },
};
const mergedInto: LeadEvent = { type: 'LeadMergedInto', data: { leadId, survivorId: 'lead-0' } };

const historyFor = {
  New: [captured],
  Working: [captured, working],
  Nurturing: [captured, nurturing],
  Qualified: [captured, working, qualified],
  Unqualified: [captured, working, disqualified],
  Converted: [captured, working, qualified, converted],
  Merged: [captured, mergedInto],
} satisfies Record<Lead['status'], LeadEvent[]>;

const lead = (history: LeadEvent[]) => given(leadDecider, history);
const cmd = <T extends LeadCommand['type']>(type: T, fields: Omit<Extract<LeadCommand, { type: T }>, 'type' | 'leadId' | 'occurredAt'>) =>
  ({ type, leadId, occurredAt: at, ...fields }) as Extract<LeadCommand, { type: T }>;

const existingAccount: Account = { id: 'account-9', name: 'Analytical Engines Ltd', openedAt: '2025-01-01T00:00:00.000Z', lastModifiedAt: '2025-01-01T00:00:00.000Z' };
const existingContact = (accountId: string): Contact => ({
  id: 'contact-9',
  accountId,
  lastName: 'Lovelace',
  addedAt: '2025-01-01T00:00:00.000Z',
  lastModifiedAt: '2025-01-01T00:00:00.000Z',
});
const deal = { id: 'opp-1', name: 'Difference Engine', closeDate: '2026-06-30', stage: 'Prospecting' as const, amount: 50_000 };
const convert = (fields: Partial<Omit<ConvertLead, 'type' | 'leadId' | 'occurredAt'>> = {}) =>
  cmd('ConvertLead', { account: { id: 'account-1', existing: null }, contact: { id: 'contact-1', existing: null }, opportunity: null, ...fields });
/** The LeadConverted that `convert()` decides for the qualified lead, with `data` overridden. */
const convertedAs = (data: Partial<LeadConverted['data']>): LeadConverted => ({
  type: 'LeadConverted',
  data: {
    leadId,
    leadSource: 'Event',
    accountId: 'account-1',
    newAccount: { name: 'Analytical Engines', industry: 'Machinery', annualRevenue: 1_000_000, numberOfEmployees: 40, ownerId: 'rep-1' },
    accountFill: null,
    contactId: 'contact-1',
    newContact: { lastName: 'Lovelace', firstName: 'Ada', email: 'ada@example.com', phone: '+44 1', title: 'CTO', ownerId: 'rep-1' },
    opportunityId: null,
    opportunity: null,
    ...data,
  },
});

/** A lead's state as the handler loads it for a merge. */
const leadState = (id: string, fields: Partial<Lead>, ...after: LeadEvent[]): Lead =>
  fold(leadDecider, [
    { type: 'LeadCaptured', data: { leadId: id, lastName: 'Lovelace', company: 'Analytical Engines', source: 'Other', ...fields }, occurredAt: at },
    ...after.map((e) => ({ ...e, data: { ...e.data, leadId: id }, occurredAt: at }) as typeof e & { occurredAt: string }),
  ])!;

/** A merge whose duplicates' states the handler has resolved. */
const merge = (duplicates: Lead[]) => cmd('MergeLeads', { duplicateIds: duplicates.map((d) => d.id), duplicates });

const everyCommand = [
  cmd('ChangeLeadDetails', { changes: { title: 'x' } }),
  cmd('AssignLead', { ownerId: 'rep-2' }),
  cmd('WorkLead', { status: 'Working' }),
  cmd('QualifyLead', {}),
  cmd('DisqualifyLead', { reason: 'x' }),
  cmd('ReopenLead', {}),
  convert(),
  merge([leadState('lead-2', {})]),
];

describe('lead conversion and merge', () => {
  describe('ConvertLead', () => {
    it('converts a qualified lead into a new account and contact named after the lead, without an opportunity', () => {
      lead(historyFor.Qualified).when(convert()).then([convertedAs({})]);
    });
    it.each(['New', 'Working', 'Nurturing', 'Unqualified'] as const)('refuses to convert a %s lead, naming its status', (status) => {
      lead(historyFor[status]).when(convert()).thenRefuses(LeadTransitionRefused, { status, kind: 'conflict', message: expect.stringContaining(status) });
    });
    it.each(['Converted', 'Merged'] as const)('refuses to convert a %s lead as closed (e.g. a second conversion)', (status) => {
      lead(historyFor[status]).when(convert()).thenRefuses(LeadIsClosed, { status, kind: 'conflict' });
    });
    it("links an existing account and offers it the lead's company fields", () => {
      lead(historyFor.Qualified)
        .when(convert({ account: { id: 'account-9', existing: existingAccount } }))
        .then([
          convertedAs({ accountId: 'account-9', newAccount: null, accountFill: { industry: 'Machinery', annualRevenue: 1_000_000, numberOfEmployees: 40 } }),
        ]);
    });
    it('links an existing contact of the account', () => {
      lead(historyFor.Qualified)
        .when(convert({ account: { id: 'account-9', existing: existingAccount }, contact: { id: 'contact-9', existing: existingContact('account-9') } }))
        .then([
          convertedAs({
            accountId: 'account-9',
            newAccount: null,
            accountFill: { industry: 'Machinery', annualRevenue: 1_000_000, numberOfEmployees: 40 },
            contactId: 'contact-9',
            newContact: null,
          }),
        ]);
    });
    it.each([
      ['an existing account', { id: 'account-9', existing: existingAccount }],
      ['a new account', { id: 'account-1', existing: null }],
    ])('refuses an existing contact of another account than %s', (_, account) => {
      lead(historyFor.Qualified)
        .when(convert({ account, contact: { id: 'contact-9', existing: existingContact('account-other') } }))
        .thenRefuses(ContactNotInAccount, { kind: 'conflict', field: 'contactId' });
    });
    it('opens an opportunity owned by the lead owner', () => {
      const { id: _id, ...opportunity } = deal;
      lead(historyFor.Qualified)
        .when(convert({ opportunity: deal }))
        .then([convertedAs({ opportunityId: 'opp-1', opportunity: { ...opportunity, ownerId: 'rep-1' } })]);
    });
    it('gives every new record the explicit owner over the lead owner', () => {
      const { id: _id, ...opportunity } = deal;
      const base = convertedAs({}).data;
      lead(historyFor.Qualified)
        .when(convert({ opportunity: deal, ownerId: 'rep-2' }))
        .then([
          convertedAs({
            newAccount: { ...base.newAccount!, ownerId: 'rep-2' },
            newContact: { ...base.newContact!, ownerId: 'rep-2' },
            opportunityId: 'opp-1',
            opportunity: { ...opportunity, ownerId: 'rep-2' },
          }),
        ]);
    });
    it('carries only the fields an unowned lead has', () => {
      const sparse: LeadEvent = { type: 'LeadCaptured', data: { leadId, lastName: 'Lovelace', company: 'Analytical Engines', source: 'Web' } };
      lead([sparse, qualified])
        .when(convert())
        .then([convertedAs({ leadSource: 'Web', newAccount: { name: 'Analytical Engines' }, newContact: { lastName: 'Lovelace' } })]);
    });
    it('closes the lead as Converted, naming the records', () => {
      const withDeal = convertedAs({ opportunityId: 'opp-1' });
      const state = fold(leadDecider, [...historyFor.Qualified.map((e) => ({ ...e, occurredAt: '2026-01-01T00:00:00.000Z' })), { ...withDeal, occurredAt: at }]);
      expect(state).toMatchObject({
        status: 'Converted',
        isConverted: true,
        convertedAt: at,
        lastModifiedAt: at,
        convertedAccountId: 'account-1',
        convertedContactId: 'contact-1',
        convertedOpportunityId: 'opp-1',
      });
    });
    it('names no opportunity when the conversion opened none', () => {
      expect(lead([...historyFor.Qualified, convertedAs({})]).state).toMatchObject({ convertedOpportunityId: null });
    });
    it.each([...everyCommand, cmd('MarkLeadMergedInto', { survivorId: 'lead-0' })])('refuses $type on a converted lead', (command) => {
      lead(historyFor.Converted).when(command).thenRefuses(LeadIsClosed, { status: 'Converted' });
    });
  });

  describe('MergeLeads', () => {
    const survivorHistory: LeadEvent[] = [
      { type: 'LeadCaptured', data: { leadId, lastName: 'Lovelace', company: 'Analytical Engines', email: 'ada@example.com', source: 'Web' } },
    ];
    const first = leadState('lead-2', { email: 'other@example.com', phone: '+44 2', title: 'CTO' });
    const second = leadState('lead-3', { phone: '+44 3', industry: 'Machinery', numberOfEmployees: 40, rating: 'Hot' });
    const filled = { phone: '+44 2', title: 'CTO', industry: 'Machinery', numberOfEmployees: 40, rating: 'Hot' as const };

    it('fills each blank field from the first duplicate that has it, keeping its own values', () => {
      lead(survivorHistory)
        .when(merge([first, second]))
        .then([{ type: 'LeadMerged', data: { leadId, duplicateIds: ['lead-2', 'lead-3'], filled } }]);
    });
    it('keeps the filled fields in the state', () => {
      const state = lead([...survivorHistory, { type: 'LeadMerged', data: { leadId, duplicateIds: ['lead-2', 'lead-3'], filled } }]).state;
      expect(state).toMatchObject({ ...filled, email: 'ada@example.com', status: 'New' });
    });
    it('records the merge even when nothing is blank', () => {
      lead(survivorHistory)
        .when(merge([leadState('lead-2', {})]))
        .then([{ type: 'LeadMerged', data: { leadId, duplicateIds: ['lead-2'], filled: {} } }]);
    });
    it.each([
      ['a converted', leadState('lead-2', {}, working, qualified, converted)],
      ['a merged', leadState('lead-2', {}, mergedInto)],
      ['the survivor itself as', leadState(leadId, {})],
    ])('refuses %s duplicate', (_, duplicate) => {
      lead(survivorHistory)
        .when(merge([first, duplicate]))
        .thenRefuses(DuplicateNotMergeable, { kind: 'conflict', field: 'duplicateIds', message: expect.stringContaining(duplicate.id) });
    });
    it('will not decide without the duplicates\' states, or with states of other leads', () => {
      const unresolved = cmd('MergeLeads', { duplicateIds: ['lead-2'] });
      expect(() => lead(survivorHistory).when(unresolved).then([])).toThrow(/No facts were resolved/);
      expect(() => lead(survivorHistory).when({ ...merge([second]), duplicateIds: ['lead-2'] }).then([])).toThrow(/No facts were resolved/);
    });
    it.each(['Converted', 'Merged'] as const)('refuses a %s survivor as closed', (status) => {
      lead(historyFor[status]).when(merge([first])).thenRefuses(LeadIsClosed, { status });
    });
  });

  describe('MarkLeadMergedInto', () => {
    it('closes the lead as merged into the survivor', () => {
      lead(historyFor.Working)
        .when(cmd('MarkLeadMergedInto', { survivorId: 'lead-0' }))
        .then([{ type: 'LeadMergedInto', data: { leadId, survivorId: 'lead-0' } }]);
      expect(lead(historyFor.Merged).state).toMatchObject({ status: 'Merged', mergedIntoId: 'lead-0', isConverted: false });
    });
    it('appends nothing when repeated for the same survivor', () => {
      lead(historyFor.Merged).when(cmd('MarkLeadMergedInto', { survivorId: 'lead-0' })).then([]);
    });
    it('refuses a converted lead', () => {
      lead(historyFor.Converted).when(cmd('MarkLeadMergedInto', { survivorId: 'lead-0' })).thenRefuses(LeadIsClosed, { status: 'Converted' });
    });
    it.each([...everyCommand, cmd('MarkLeadMergedInto', { survivorId: 'lead-other' })])('refuses $type on a merged lead', (command) => {
      lead(historyFor.Merged).when(command).thenRefuses(LeadIsClosed, { status: 'Merged' });
    });
  });
});
