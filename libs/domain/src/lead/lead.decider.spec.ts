import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import { fold } from '../shared/decider';
import { given } from '../testing/given';
import { LeadCommand } from './lead.commands';
import { leadDecider } from './lead.decider';
import { LeadTransitionRefused } from './lead.errors';
import { LeadEvent } from './lead.events';
import { LeadStatus } from './lead.types';
import { ERASED, PersonalDataAlreadyErased } from '../shared/personal-data';

const leadId = 'lead-1';
const at = '2026-02-01T10:00:00.000Z';
const captured: LeadEvent = {
  type: 'LeadCaptured',
  data: { leadId, lastName: 'Lovelace', company: 'Analytical Engines', email: 'ada@example.com', source: 'Web', ownerId: 'rep-1' },
};
const working: LeadEvent = { type: 'LeadStatusChanged', data: { leadId, status: 'Working', previousStatus: 'New' } };
const nurturing: LeadEvent = { type: 'LeadStatusChanged', data: { leadId, status: 'Nurturing', previousStatus: 'New' } };
const qualified: LeadEvent = { type: 'LeadQualified', data: { leadId, previousStatus: 'Working' } };
const disqualified: LeadEvent = { type: 'LeadDisqualified', data: { leadId, reason: 'No budget', previousStatus: 'Working' } };

/** A history that leaves the lead in each status the lead decider itself can reach. */
const historyFor: Record<Exclude<LeadStatus, 'Converted' | 'Merged'>, LeadEvent[]> = {
  New: [captured],
  Working: [captured, working],
  Nurturing: [captured, nurturing],
  Qualified: [captured, working, qualified],
  Unqualified: [captured, working, disqualified],
};

const lead = (history: LeadEvent[]) => given(leadDecider, history);
const cmd = <T extends LeadCommand['type']>(type: T, fields: Omit<Extract<LeadCommand, { type: T }>, 'type' | 'leadId' | 'occurredAt'>) =>
  ({ type, leadId, occurredAt: at, ...fields }) as Extract<LeadCommand, { type: T }>;

describe('lead decider', () => {
  describe('CaptureLead', () => {
    it('captures a new lead', () => {
      lead([])
        .when(cmd('CaptureLead', { details: { lastName: 'Lovelace', company: 'Analytical Engines', source: 'Web' }, ownerId: 'rep-1' }))
        .then([{ type: 'LeadCaptured', data: { leadId, lastName: 'Lovelace', company: 'Analytical Engines', source: 'Web', ownerId: 'rep-1' } }]);
    });
    it('refuses to capture a lead that exists', () => {
      lead([captured]).when(cmd('CaptureLead', { details: { lastName: 'X', company: 'Y', source: 'Other' } })).thenRefuses(AggregateAlreadyExists);
    });
    it('starts New, with the capture time and not converted', () => {
      expect(lead([captured]).state).toMatchObject({ id: leadId, status: 'New', isConverted: false, capturedAt: '2026-01-01T00:00:00.000Z', ownerId: 'rep-1' });
    });
  });

  describe('ChangeLeadDetails', () => {
    it('records only the fields that differ', () => {
      lead([captured])
        .when(cmd('ChangeLeadDetails', { changes: { lastName: 'Lovelace', company: 'Babbage & Co', phone: '+44 1' } }))
        .then([{ type: 'LeadDetailsChanged', data: { leadId, changes: { company: 'Babbage & Co', phone: '+44 1' } } }]);
    });
    it('clears a field with null, and the state drops it', () => {
      const changed: LeadEvent = { type: 'LeadDetailsChanged', data: { leadId, changes: { email: null } } };
      lead([captured]).when(cmd('ChangeLeadDetails', { changes: { email: null } })).then([changed]);
      expect(lead([captured, changed]).state).not.toHaveProperty('email');
    });
    it('appends nothing when nothing changes', () => {
      lead([captured]).when(cmd('ChangeLeadDetails', { changes: { company: 'Analytical Engines', title: null } })).then([]);
    });
    it('records a new owner as LeadAssigned', () => {
      lead([captured])
        .when(cmd('ChangeLeadDetails', { changes: {}, ownerId: 'rep-2' }))
        .then([{ type: 'LeadAssigned', data: { leadId, ownerId: 'rep-2', previousOwnerId: 'rep-1' } }]);
    });
    it('is allowed on a qualified lead', () => {
      lead(historyFor.Qualified)
        .when(cmd('ChangeLeadDetails', { changes: { title: 'CTO' } }))
        .then([{ type: 'LeadDetailsChanged', data: { leadId, changes: { title: 'CTO' } } }]);
    });
  });

  describe('AssignLead', () => {
    it('assigns a new owner, naming the previous one', () => {
      lead([captured]).when(cmd('AssignLead', { ownerId: 'rep-2' })).then([{ type: 'LeadAssigned', data: { leadId, ownerId: 'rep-2', previousOwnerId: 'rep-1' } }]);
    });
    it('names no previous owner for an unowned lead', () => {
      const unowned: LeadEvent = { type: 'LeadCaptured', data: { leadId, lastName: 'X', company: 'Y', source: 'Other' } };
      lead([unowned]).when(cmd('AssignLead', { ownerId: 'rep-2' })).then([{ type: 'LeadAssigned', data: { leadId, ownerId: 'rep-2', previousOwnerId: null } }]);
    });
    it('appends nothing when the owner is already the owner', () => {
      lead([captured]).when(cmd('AssignLead', { ownerId: 'rep-1' })).then([]);
    });
  });

  describe('WorkLead', () => {
    it.each(['New', 'Working', 'Nurturing'] as const)('moves a %s lead to Working or Nurturing', (status) => {
      for (const target of ['Working', 'Nurturing'] as const) {
        const expected = status === target ? [] : [{ type: 'LeadStatusChanged', data: { leadId, status: target, previousStatus: status } }];
        lead(historyFor[status]).when(cmd('WorkLead', { status: target })).then(expected as LeadEvent[]);
      }
    });
    it.each(['Qualified', 'Unqualified'] as const)('refuses to work a %s lead, naming its status', (status) => {
      lead(historyFor[status]).when(cmd('WorkLead', { status: 'Working' })).thenRefuses(LeadTransitionRefused, { status, message: expect.stringContaining(status) });
    });
  });

  describe('QualifyLead', () => {
    it.each(['New', 'Working', 'Nurturing'] as const)('qualifies a %s lead with its BANT notes', (status) => {
      lead(historyFor[status])
        .when(cmd('QualifyLead', { budget: '50k', need: 'Forecasting', note: undefined }))
        .then([{ type: 'LeadQualified', data: { leadId, previousStatus: status, budget: '50k', need: 'Forecasting' } }]);
    });
    it.each(['Qualified', 'Unqualified'] as const)('refuses to qualify a %s lead', (status) => {
      lead(historyFor[status]).when(cmd('QualifyLead', {})).thenRefuses(LeadTransitionRefused, { status });
    });
    it('keeps the qualification and its time in the state', () => {
      const state = fold(leadDecider, [
        { ...captured, occurredAt: '2026-01-01T00:00:00.000Z' },
        { type: 'LeadQualified', data: { leadId, previousStatus: 'New', authority: 'CFO' }, occurredAt: at },
      ]);
      expect(state).toMatchObject({ status: 'Qualified', qualification: { authority: 'CFO' }, qualifiedAt: at, lastModifiedAt: at });
    });
  });

  describe('DisqualifyLead', () => {
    it.each(['New', 'Working', 'Nurturing', 'Qualified'] as const)('disqualifies a %s lead with a reason', (status) => {
      lead(historyFor[status])
        .when(cmd('DisqualifyLead', { reason: 'No budget' }))
        .then([{ type: 'LeadDisqualified', data: { leadId, reason: 'No budget', previousStatus: status } }]);
    });
    it('refuses to disqualify an Unqualified lead', () => {
      lead(historyFor.Unqualified).when(cmd('DisqualifyLead', { reason: 'again' })).thenRefuses(LeadTransitionRefused, { status: 'Unqualified' });
    });
  });

  describe('ReopenLead', () => {
    it('reopens an Unqualified lead to Working', () => {
      lead(historyFor.Unqualified).when(cmd('ReopenLead', {})).then([{ type: 'LeadReopened', data: { leadId } }]);
      expect(lead([...historyFor.Unqualified, { type: 'LeadReopened', data: { leadId } }]).state).toMatchObject({ status: 'Working' });
    });
    it.each(['New', 'Working', 'Nurturing', 'Qualified'] as const)('refuses to reopen a %s lead', (status) => {
      lead(historyFor[status]).when(cmd('ReopenLead', {})).thenRefuses(LeadTransitionRefused, { status });
    });
  });

  describe('a lead that does not exist', () => {
    it.each([
      cmd('ChangeLeadDetails', { changes: { title: 'x' } }),
      cmd('AssignLead', { ownerId: 'x' }),
      cmd('WorkLead', { status: 'Working' }),
      cmd('QualifyLead', {}),
      cmd('DisqualifyLead', { reason: 'x' }),
      cmd('ReopenLead', {}),
    ])('refuses $type as not found', (command) => {
      lead([]).when(command).thenRefuses(AggregateNotFound, { id: leadId });
    });
  });

  describe('EraseLeadPersonalData', () => {
    const merged: LeadEvent = { type: 'LeadMergedInto', data: { leadId, survivorId: 'lead-2' } };
    const erased: LeadEvent = { type: 'PersonalDataErased', data: { leadId, reason: 'Request #1' } };
    it('records the erasure with its reason, in any status, Merged included', () => {
      for (const history of [...Object.values(historyFor), [captured, merged]]) {
        lead(history).when(cmd('EraseLeadPersonalData', { reason: 'Request #1' })).then([erased]);
      }
    });
    it('shows every personal field the lead has as erased, and keeps the others', () => {
      const { state } = lead([captured, erased]);
      expect(state).toMatchObject({ lastName: ERASED, email: ERASED, company: 'Analytical Engines', ownerId: 'rep-1', status: 'New', personalDataErasedAt: expect.any(String) });
      expect(state).not.toHaveProperty('firstName');
    });
    it('refuses a second erasure, and a lead that does not exist', () => {
      lead([captured, erased]).when(cmd('EraseLeadPersonalData', { reason: 'again' })).thenRefuses(PersonalDataAlreadyErased, { kind: 'conflict' });
      lead([]).when(cmd('EraseLeadPersonalData', { reason: 'x' })).thenRefuses(AggregateNotFound, { id: leadId });
    });
  });
});
