import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import { fold } from '../shared/decider';
import { given } from '../testing/given';
import { AccountCommand, accountDecider, AccountEvent, AccountHierarchyCycle, ParentAccountNotFound } from './account.decider';

const accountId = 'account-1';
const at = '2026-02-01T10:00:00.000Z';
const opened: AccountEvent = { type: 'AccountOpened', data: { accountId, name: 'Analytical Engines', industry: 'Machinery', ownerId: 'rep-1' } };
const parented: AccountEvent = { type: 'AccountOpened', data: { accountId, name: 'Analytical Engines', parentId: 'parent-1' } };

const account = (history: AccountEvent[]) => given(accountDecider, history);
const cmd = <T extends AccountCommand['type']>(type: T, fields: Omit<Extract<AccountCommand, { type: T }>, 'type' | 'accountId' | 'occurredAt'>) =>
  ({ type, accountId, occurredAt: at, ...fields }) as Extract<AccountCommand, { type: T }>;
const parent = (id: string, ancestorIds: string[] = [], exists = true) => ({ id, exists, ancestorIds });

describe('account decider', () => {
  describe('OpenAccount', () => {
    it('opens an account without a parent', () => {
      account([])
        .when(cmd('OpenAccount', { details: { name: 'Analytical Engines', industry: 'Machinery', type: 'Prospect', ownerId: 'rep-1' } }))
        .then([{ type: 'AccountOpened', data: { accountId, name: 'Analytical Engines', industry: 'Machinery', type: 'Prospect', ownerId: 'rep-1' } }]);
    });
    it('opens an account under an existing parent', () => {
      account([])
        .when(cmd('OpenAccount', { details: { name: 'Engines Ltd', parentId: 'parent-1' }, parent: parent('parent-1', ['root-1']) }))
        .then([{ type: 'AccountOpened', data: { accountId, name: 'Engines Ltd', parentId: 'parent-1' } }]);
    });
    it('keeps the lead source of a conversion', () => {
      account([])
        .when(cmd('OpenAccount', { details: { name: 'Analytical Engines' }, leadSource: 'Web' }))
        .then([{ type: 'AccountOpened', data: { accountId, name: 'Analytical Engines', leadSource: 'Web' } }]);
      expect(account([{ type: 'AccountOpened', data: { accountId, name: 'Analytical Engines', leadSource: 'Web' } }]).state).toMatchObject({ leadSource: 'Web' });
    });
    it('refuses a parent that does not exist', () => {
      account([])
        .when(cmd('OpenAccount', { details: { name: 'X', parentId: 'ghost' }, parent: parent('ghost', [], false) }))
        .thenRefuses(ParentAccountNotFound, { kind: 'not-found', id: 'ghost', field: 'parentId' });
    });
    it.each([
      ['the account itself', parent(accountId)],
      ['a descendant of the account', parent('child-1', [accountId, 'root-1'])],
    ])('refuses %s as parent', (_, facts) => {
      account([])
        .when(cmd('OpenAccount', { details: { name: 'X', parentId: facts.id }, parent: facts }))
        .thenRefuses(AccountHierarchyCycle, { kind: 'conflict', field: 'parentId' });
    });
    it('refuses to open an account that exists', () => {
      account([opened]).when(cmd('OpenAccount', { details: { name: 'X' } })).thenRefuses(AggregateAlreadyExists, { id: accountId });
    });
  });

  describe('ChangeAccountDetails', () => {
    it('will not decide a new parent without the facts the handler must resolve', () => {
      expect(() => accountDecider.decide(cmd('ChangeAccountDetails', { changes: { parentId: 'parent-9' } }), account([opened]).state)).toThrow(/parent-9/);
      expect(() =>
        accountDecider.decide(cmd('ChangeAccountDetails', { changes: { parentId: 'parent-9' }, parent: parent('parent-8') }), account([opened]).state),
      ).toThrow(/parent-9/);
    });
    it('records only the fields that differ', () => {
      account([opened])
        .when(cmd('ChangeAccountDetails', { changes: { name: 'Analytical Engines', industry: 'Computing', numberOfEmployees: 12 } }))
        .then([{ type: 'AccountDetailsChanged', data: { accountId, changes: { industry: 'Computing', numberOfEmployees: 12 } } }]);
    });
    it('clears a field with null, and the state drops it', () => {
      const changed: AccountEvent = { type: 'AccountDetailsChanged', data: { accountId, changes: { industry: null } } };
      account([opened]).when(cmd('ChangeAccountDetails', { changes: { industry: null } })).then([changed]);
      expect(account([opened, changed]).state).not.toHaveProperty('industry');
    });
    it('appends nothing when nothing changes', () => {
      account([opened]).when(cmd('ChangeAccountDetails', { changes: { name: 'Analytical Engines', annualRevenue: null } })).then([]);
    });
    it('re-parents under an existing parent', () => {
      account([parented])
        .when(cmd('ChangeAccountDetails', { changes: { parentId: 'parent-2' }, parent: parent('parent-2', ['root-1']) }))
        .then([{ type: 'AccountDetailsChanged', data: { accountId, changes: { parentId: 'parent-2' } } }]);
    });
    it('refuses a new parent that does not exist', () => {
      account([opened])
        .when(cmd('ChangeAccountDetails', { changes: { parentId: 'ghost' }, parent: parent('ghost', [], false) }))
        .thenRefuses(ParentAccountNotFound, { id: 'ghost', field: 'parentId' });
    });
    it.each([
      ['the account itself', parent(accountId)],
      ['a descendant of the account', parent('grandchild-1', ['child-1', accountId])],
    ])('refuses %s as new parent', (_, facts) => {
      account([parented])
        .when(cmd('ChangeAccountDetails', { changes: { parentId: facts.id }, parent: facts }))
        .thenRefuses(AccountHierarchyCycle, { field: 'parentId' });
    });
    it('checks the parent only when parentId changes', () => {
      account([parented])
        .when(cmd('ChangeAccountDetails', { changes: { parentId: 'parent-1', name: 'Renamed' }, parent: parent('parent-1', [accountId], false) }))
        .then([{ type: 'AccountDetailsChanged', data: { accountId, changes: { name: 'Renamed' } } }]);
    });
    it('detaches from the parent with null', () => {
      account([parented])
        .when(cmd('ChangeAccountDetails', { changes: { parentId: null } }))
        .then([{ type: 'AccountDetailsChanged', data: { accountId, changes: { parentId: null } } }]);
    });
    it('refuses an account that does not exist', () => {
      account([]).when(cmd('ChangeAccountDetails', { changes: { name: 'X' } })).thenRefuses(AggregateNotFound, { id: accountId });
    });
  });

  describe('FillAccountBlanks', () => {
    it('fills only the blank fields', () => {
      account([opened])
        .when(cmd('FillAccountBlanks', { offered: { industry: 'Computing', annualRevenue: 1_000_000, numberOfEmployees: 40 } }))
        .then([{ type: 'AccountDetailsChanged', data: { accountId, changes: { annualRevenue: 1_000_000, numberOfEmployees: 40 } } }]);
    });
    it.each([
      ['nothing is blank', { industry: 'Computing' }],
      ['nothing is offered', {}],
    ])('appends nothing when %s', (_, offered) => {
      account([opened]).when(cmd('FillAccountBlanks', { offered })).then([]);
    });
    it('refuses an account that does not exist', () => {
      account([]).when(cmd('FillAccountBlanks', { offered: { industry: 'X' } })).thenRefuses(AggregateNotFound, { id: accountId });
    });
  });

  describe('evolve', () => {
    it('keeps the opening time and the time of the last change', () => {
      const state = fold(accountDecider, [
        { ...opened, occurredAt: '2026-01-01T00:00:00.000Z' },
        { type: 'AccountDetailsChanged', data: { accountId, changes: { type: 'Customer' } }, occurredAt: at },
      ]);
      expect(state).toEqual({
        id: accountId,
        name: 'Analytical Engines',
        industry: 'Machinery',
        ownerId: 'rep-1',
        type: 'Customer',
        openedAt: '2026-01-01T00:00:00.000Z',
        lastModifiedAt: at,
      });
    });
  });
});
