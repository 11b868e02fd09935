import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import { fold } from '../shared/decider';
import { given } from '../testing/given';
import {
  ContactRoleExists,
  OpenStage,
  OpportunityCommand,
  opportunityDecider,
  OpportunityEvent,
  OpportunityIsClosed,
} from './opportunity.decider';

const opportunityId = 'opp-1';
const accountId = 'account-1';
const at = '2026-02-01T10:00:00.000Z';
const opened: OpportunityEvent = {
  type: 'OpportunityOpened',
  data: { opportunityId, accountId, name: 'Difference Engine', closeDate: '2026-06-30', stage: 'Prospecting', probability: 10, amount: 50_000, ownerId: 'rep-1' },
};
const patchedProbability: OpportunityEvent = { type: 'OpportunityDetailsChanged', data: { opportunityId, changes: { probability: 35 } } };
const won: OpportunityEvent = { type: 'OpportunityWon', data: { opportunityId, amount: 50_000 } };
const lost: OpportunityEvent = { type: 'OpportunityLost', data: { opportunityId, reason: 'Price', amount: 50_000 } };
const role = (contactId: string, isPrimary: boolean): OpportunityEvent => ({
  type: 'OpportunityContactRoleAdded',
  data: { opportunityId, contactId, role: 'Decision Maker', isPrimary },
});

const opportunity = (history: OpportunityEvent[]) => given(opportunityDecider, history);
/** Omit over each member of a union (CloseOpportunity is won or lost). */
type Fields<C> = C extends unknown ? Omit<C, 'type' | 'opportunityId' | 'occurredAt'> : never;
const cmd = <T extends OpportunityCommand['type']>(type: T, fields: Fields<Extract<OpportunityCommand, { type: T }>>) =>
  ({ type, opportunityId, occurredAt: at, ...fields }) as unknown as Extract<OpportunityCommand, { type: T }>;
const open = (fields: Partial<Extract<OpportunityCommand, { type: 'OpenOpportunity' }>> = {}) =>
  cmd('OpenOpportunity', { accountId, accountExists: true, name: 'Difference Engine', closeDate: '2026-06-30', stage: 'Prospecting', ...fields });

describe('opportunity decider', () => {
  describe('OpenOpportunity', () => {
    it.each<[OpenStage, number]>([
      ['Prospecting', 10],
      ['Qualification', 10],
      ['Needs Analysis', 20],
      ['Value Proposition', 50],
      ['Id. Decision Makers', 60],
      ['Perception Analysis', 70],
      ['Proposal/Price Quote', 75],
      ['Negotiation/Review', 90],
    ])('opens at %s with its default probability %i%%', (stage, probability) => {
      opportunity([])
        .when(open({ stage }))
        .then([{ type: 'OpportunityOpened', data: { opportunityId, accountId, name: 'Difference Engine', closeDate: '2026-06-30', stage, probability } }]);
    });
    it('takes an explicit probability over the default, with amount, owner and lead source', () => {
      opportunity([])
        .when(open({ probability: 35, amount: 50_000, ownerId: 'rep-1', leadSource: 'Web' }))
        .then([
          {
            type: 'OpportunityOpened',
            data: { opportunityId, accountId, name: 'Difference Engine', closeDate: '2026-06-30', stage: 'Prospecting', probability: 35, amount: 50_000, ownerId: 'rep-1', leadSource: 'Web' },
          },
        ]);
    });
    it('refuses an account that does not exist, naming accountId', () => {
      opportunity([]).when(open({ accountId: 'ghost', accountExists: false })).thenRefuses(AggregateNotFound, { kind: 'not-found', id: 'ghost', field: 'accountId' });
    });
    it('refuses to open an opportunity that exists', () => {
      opportunity([opened]).when(open()).thenRefuses(AggregateAlreadyExists, { id: opportunityId });
    });
    it('starts open, without contact roles, at the opening time', () => {
      expect(opportunity([opened]).state).toMatchObject({
        id: opportunityId,
        stage: 'Prospecting',
        probability: 10,
        probabilityOverridden: false,
        contactRoles: [],
        isClosed: false,
        isWon: false,
        openedAt: '2026-01-01T00:00:00.000Z',
        lastModifiedAt: '2026-01-01T00:00:00.000Z',
      });
    });
  });

  describe('ChangeOpportunityStage', () => {
    it('keeps an overridden probability when the current stage is sent again (no stage change)', () => {
      opportunity([opened, patchedProbability]).when(cmd('ChangeOpportunityStage', { stage: 'Prospecting' })).then([]);
    });
    it('records an explicit probability sent with the current stage', () => {
      opportunity([opened])
        .when(cmd('ChangeOpportunityStage', { stage: 'Prospecting', probability: 15 }))
        .then([{ type: 'OpportunityStageChanged', data: { opportunityId, stage: 'Prospecting', previousStage: 'Prospecting', probability: 15 } }]);
    });
    it("moves the probability to the new stage's default", () => {
      opportunity([opened])
        .when(cmd('ChangeOpportunityStage', { stage: 'Value Proposition' }))
        .then([{ type: 'OpportunityStageChanged', data: { opportunityId, stage: 'Value Proposition', previousStage: 'Prospecting', probability: 50 } }]);
    });
    it('keeps a probability set by PATCH until the next stage change, then applies the default', () => {
      const { state } = opportunity([opened, patchedProbability, { type: 'OpportunityDetailsChanged', data: { opportunityId, changes: { amount: 60_000 } } }]);
      expect(state).toMatchObject({ stage: 'Prospecting', probability: 35, probabilityOverridden: true });
      opportunity([opened, patchedProbability])
        .when(cmd('ChangeOpportunityStage', { stage: 'Needs Analysis' }))
        .then([{ type: 'OpportunityStageChanged', data: { opportunityId, stage: 'Needs Analysis', previousStage: 'Prospecting', probability: 20 } }]);
    });
    it('keeps a probability set at opening until the next stage change, then applies the default', () => {
      const openedAt35: OpportunityEvent = { ...opened, data: { ...opened.data, probability: 35 } } as OpportunityEvent;
      expect(opportunity([openedAt35]).state).toMatchObject({ probability: 35, probabilityOverridden: true });
      opportunity([openedAt35])
        .when(cmd('ChangeOpportunityStage', { stage: 'Qualification' }))
        .then([{ type: 'OpportunityStageChanged', data: { opportunityId, stage: 'Qualification', previousStage: 'Prospecting', probability: 10 } }]);
    });
    it('takes an explicit probability given with the stage change', () => {
      const changed: OpportunityEvent = { type: 'OpportunityStageChanged', data: { opportunityId, stage: 'Negotiation/Review', previousStage: 'Prospecting', probability: 80 } };
      opportunity([opened]).when(cmd('ChangeOpportunityStage', { stage: 'Negotiation/Review', probability: 80 })).then([changed]);
      expect(opportunity([opened, changed]).state).toMatchObject({ stage: 'Negotiation/Review', probability: 80, probabilityOverridden: true });
    });
    it('ends the override when a later stage change applies the default', () => {
      const { state } = opportunity([
        opened,
        patchedProbability,
        { type: 'OpportunityStageChanged', data: { opportunityId, stage: 'Needs Analysis', previousStage: 'Prospecting', probability: 20 } },
      ]);
      expect(state).toMatchObject({ stage: 'Needs Analysis', probability: 20, probabilityOverridden: false });
    });
    it('appends nothing for the current stage at its current probability', () => {
      opportunity([opened]).when(cmd('ChangeOpportunityStage', { stage: 'Prospecting' })).then([]);
    });
  });

  describe('ChangeOpportunityDetails', () => {
    it('records only the fields that differ', () => {
      opportunity([opened])
        .when(cmd('ChangeOpportunityDetails', { changes: { name: 'Difference Engine', amount: 60_000, closeDate: '2026-07-31', probability: 10 } }))
        .then([{ type: 'OpportunityDetailsChanged', data: { opportunityId, changes: { amount: 60_000, closeDate: '2026-07-31' } } }]);
    });
    it('records an explicit probability as an override', () => {
      opportunity([opened]).when(cmd('ChangeOpportunityDetails', { changes: { probability: 35 } })).then([patchedProbability]);
      expect(opportunity([opened, patchedProbability]).state).toMatchObject({ probability: 35, probabilityOverridden: true });
    });
    it('clears a field with null, and the state drops it', () => {
      const changed: OpportunityEvent = { type: 'OpportunityDetailsChanged', data: { opportunityId, changes: { amount: null } } };
      opportunity([opened]).when(cmd('ChangeOpportunityDetails', { changes: { amount: null } })).then([changed]);
      expect(opportunity([opened, changed]).state).not.toHaveProperty('amount');
    });
    it('appends nothing when nothing changes', () => {
      opportunity([opened]).when(cmd('ChangeOpportunityDetails', { changes: { ownerId: 'rep-1' } })).then([]);
    });
  });

  describe('AddOpportunityContactRole', () => {
    it('adds a contact role', () => {
      opportunity([opened])
        .when(cmd('AddOpportunityContactRole', { contactId: 'contact-1', role: 'Influencer', isPrimary: false, contactExists: true }))
        .then([{ type: 'OpportunityContactRoleAdded', data: { opportunityId, contactId: 'contact-1', role: 'Influencer', isPrimary: false } }]);
    });
    it('refuses a contact that does not exist, naming contactId', () => {
      opportunity([opened])
        .when(cmd('AddOpportunityContactRole', { contactId: 'ghost', role: 'Influencer', isPrimary: false, contactExists: false }))
        .thenRefuses(AggregateNotFound, { kind: 'not-found', id: 'ghost', field: 'contactId' });
    });
    it('refuses the same contact twice', () => {
      opportunity([opened, role('contact-1', false)])
        .when(cmd('AddOpportunityContactRole', { contactId: 'contact-1', role: 'Evaluator', isPrimary: true, contactExists: true }))
        .thenRefuses(ContactRoleExists, { kind: 'conflict', field: 'contactId' });
    });
    it('keeps at most one primary: a new primary demotes the previous one', () => {
      const { state } = opportunity([opened, role('contact-1', true), role('contact-2', false), role('contact-3', true)]);
      expect(state?.contactRoles).toEqual([
        { contactId: 'contact-1', role: 'Decision Maker', isPrimary: false },
        { contactId: 'contact-2', role: 'Decision Maker', isPrimary: false },
        { contactId: 'contact-3', role: 'Decision Maker', isPrimary: true },
      ]);
    });
    it('keeps the primary when a non-primary role is added', () => {
      const { state } = opportunity([opened, role('contact-1', true), role('contact-2', false)]);
      expect(state?.contactRoles.filter((r) => r.isPrimary).map((r) => r.contactId)).toEqual(['contact-1']);
    });
  });

  describe('CloseOpportunity', () => {
    it('closes won at Closed Won and 100%', () => {
      opportunity([opened]).when(cmd('CloseOpportunity', { won: true })).then([won]);
      const state = fold(opportunityDecider, [
        { ...opened, occurredAt: '2026-01-01T00:00:00.000Z' },
        { ...won, occurredAt: at },
      ]);
      expect(state).toMatchObject({ stage: 'Closed Won', probability: 100, isClosed: true, isWon: true, closedAt: at, lastModifiedAt: at });
    });
    it('closes lost with a reason at Closed Lost and 0%', () => {
      opportunity([opened]).when(cmd('CloseOpportunity', { won: false, reason: 'Price' })).then([lost]);
      expect(opportunity([opened, lost]).state).toMatchObject({ stage: 'Closed Lost', probability: 0, isClosed: true, isWon: false, lossReason: 'Price' });
    });
  });

  const commandsOnAnOpportunity = [
    cmd('ChangeOpportunityStage', { stage: 'Needs Analysis' }),
    cmd('ChangeOpportunityDetails', { changes: { amount: 1 } }),
    cmd('AddOpportunityContactRole', { contactId: 'contact-1', role: 'Influencer', isPrimary: true, contactExists: true }),
    cmd('CloseOpportunity', { won: true }),
    cmd('CloseOpportunity', { won: false, reason: 'Price' }),
  ];

  describe('a closed opportunity', () => {
    it.each(
      [won, lost].flatMap((closed) => commandsOnAnOpportunity.map((command) => [closed.type, command.type, closed, command] as const)),
    )('once %s refuses %s', (_closed, _command, closed, command) => {
      opportunity([opened, closed]).when(command).thenRefuses(OpportunityIsClosed, { kind: 'conflict', message: expect.stringContaining('Closed') });
    });
  });

  describe('an opportunity that does not exist', () => {
    it.each(commandsOnAnOpportunity)('refuses $type as not found', (command) => {
      opportunity([]).when(command).thenRefuses(AggregateNotFound, { id: opportunityId });
    });
  });
});
