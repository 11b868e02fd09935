import { canonicalJson } from '../shared/canonical-json';
import { fold } from '../shared/decider';
import { given } from '../testing/given';
import { AssignmentRule, assignmentRulesDecider, firstMatchingRule } from './assignment-rules.decider';
import { assignmentTurnsDecider, AssignmentTurnsEvent } from './assignment-turns.decider';

const at = '2026-02-01T10:00:00.000Z';
const rules: AssignmentRule[] = [
  { name: 'German web', when: { source: 'Web', country: 'DE' }, ownerIds: ['anna', 'bernd'] },
  { name: 'Analytics', when: { productInterest: 'Analytics' }, ownerIds: ['carla'] },
  { name: 'Everyone else', when: {}, ownerIds: ['dora'] },
];

describe('assignment rules decider', () => {
  it('records a new rule set', () => {
    given(assignmentRulesDecider).when({ type: 'ChangeAssignmentRules', occurredAt: at, rules }).then([{ type: 'AssignmentRulesChanged', data: { rules } }]);
  });

  it('appends nothing for the same rules again', () => {
    given(assignmentRulesDecider, [{ type: 'AssignmentRulesChanged', data: { rules } }]).when({ type: 'ChangeAssignmentRules', occurredAt: at, rules }).then([]);
  });

  it('appends nothing for the same rules stored with their keys in another order (as the embedded store sorts them)', () => {
    const stored = JSON.parse(canonicalJson(rules)) as AssignmentRule[];
    expect(JSON.stringify(stored)).not.toBe(JSON.stringify(rules));
    given(assignmentRulesDecider, [{ type: 'AssignmentRulesChanged', data: { rules: stored } }]).when({ type: 'ChangeAssignmentRules', occurredAt: at, rules }).then([]);
  });

  it('replaces the rules as a whole', () => {
    const { state } = given(assignmentRulesDecider, [
      { type: 'AssignmentRulesChanged', data: { rules } },
      { type: 'AssignmentRulesChanged', data: { rules: [rules[1]] } },
    ]);
    expect(state?.rules).toEqual([rules[1]]);
  });
});

describe('first matching rule', () => {
  it('takes the first rule whose when fields all equal the lead', () => {
    expect(firstMatchingRule(rules, { source: 'Web', country: 'DE', productInterest: 'Analytics' })).toEqual({ rule: rules[0], index: 0 });
  });

  it('skips a rule when one of its fields differs', () => {
    expect(firstMatchingRule(rules, { source: 'Web', country: 'FR', productInterest: 'Analytics' })).toEqual({ rule: rules[1], index: 1 });
  });

  it('a rule without conditions matches any lead; no rules match nothing', () => {
    expect(firstMatchingRule(rules, { source: 'Phone' })?.rule.name).toBe('Everyone else');
    expect(firstMatchingRule([], { source: 'Phone' })).toBeUndefined();
  });
});

describe('assignment turns decider', () => {
  const take = (leadId: string) => ({ type: 'TakeAssignmentTurn', occurredAt: at, leadId, ruleName: 'German web', ownerIds: ['anna', 'bernd', 'carla'] }) as const;
  const taken = (leadId: string, ownerId: string, next: number, returned: string[] = []): AssignmentTurnsEvent => ({
    type: 'AssignmentTurnTaken',
    data: { leadId, ruleName: 'German web', ownerId, next, returned },
  });

  it('gives the first turn to the first owner', () => {
    given(assignmentTurnsDecider).when(take('l1')).then([taken('l1', 'anna', 1)]);
  });

  it('goes round the owners in turn', () => {
    given(assignmentTurnsDecider, [taken('l1', 'anna', 1), taken('l2', 'bernd', 2), taken('l3', 'carla', 3)]).when(take('l4')).then([taken('l4', 'anna', 4)]);
  });

  it('a returned turn goes to its owner before the rotation moves on', () => {
    const returned: AssignmentTurnsEvent = { type: 'AssignmentTurnReturned', data: { leadId: 'l1', ruleName: 'German web', ownerId: 'anna', next: 1, returned: ['anna'] } };
    given(assignmentTurnsDecider, [taken('l1', 'anna', 1)])
      .when({ type: 'ReturnAssignmentTurn', occurredAt: at, leadId: 'l1', ruleName: 'German web', ownerId: 'anna' })
      .then([returned]);
    given(assignmentTurnsDecider, [taken('l1', 'anna', 1), returned]).when(take('l2')).then([taken('l2', 'anna', 1)]);
  });

  it('over any run the owners differ by at most one', () => {
    let state = assignmentTurnsDecider.initialState;
    const counts: Record<string, number> = {};
    for (let i = 0; i < 100; i++) {
      const [event] = assignmentTurnsDecider.decide(take(`l${i}`), state);
      state = fold(assignmentTurnsDecider, [{ ...event, occurredAt: at }]);
      counts[event.data.ownerId] = (counts[event.data.ownerId] ?? 0) + 1;
      const values = Object.values(counts);
      expect(Math.max(...values) - Math.min(...values, ...(values.length < 3 ? [0] : []))).toBeLessThanOrEqual(1);
    }
    expect(counts).toEqual({ anna: 34, bernd: 33, carla: 33 });
  });
});
