import { canonicalJson } from '../shared/canonical-json';
import type { Decider, DomainEvent, Occurred } from '../shared/decider';
import type { LeadDetails } from '../lead/lead.types';

/** The lead fields a rule may match on. */
export const ASSIGNMENT_MATCH_FIELDS = ['source', 'country', 'productInterest'] as const;
export type AssignmentMatchField = (typeof ASSIGNMENT_MATCH_FIELDS)[number];

export interface AssignmentRule {
  name: string;
  /** Every field given must equal the lead's; an empty `when` matches every lead. */
  when: Partial<Pick<LeadDetails, AssignmentMatchField>>;
  /** The owners who take the matched leads in turn. */
  ownerIds: string[];
}

/** The whole rule set, replaced at once: later captures follow it, earlier assignments stay. */
export type AssignmentRulesChanged = DomainEvent<'AssignmentRulesChanged', { rules: AssignmentRule[] }>;
export type AssignmentRulesEvent = AssignmentRulesChanged;

export interface ChangeAssignmentRules {
  type: 'ChangeAssignmentRules';
  occurredAt: string;
  rules: AssignmentRule[];
}
export type AssignmentRulesCommand = ChangeAssignmentRules;

export interface AssignmentRules {
  rules: AssignmentRule[];
  changedAt: string;
}
export type AssignmentRulesState = AssignmentRules | null;

/** The one configuration stream of the rules: `assignment-rules-<this id>`. */
export const ASSIGNMENT_RULES_ID = 'current';

function evolve(_state: AssignmentRulesState, event: Occurred<AssignmentRulesEvent>): AssignmentRulesState {
  return { rules: event.data.rules, changedAt: event.occurredAt };
}

function decide(command: AssignmentRulesCommand, state: AssignmentRulesState): AssignmentRulesEvent[] {
  // The same rules again change nothing, so they append nothing (and restart no turn).
  // Compared as canonical JSON: the stored rules may list their keys in another order than the request (a store need not keep key order: RecordedEvent.data).
  if (state && canonicalJson(state.rules) === canonicalJson(command.rules)) return [];
  return [{ type: 'AssignmentRulesChanged', data: { rules: command.rules } }];
}

export const assignmentRulesDecider: Decider<AssignmentRulesCommand, AssignmentRulesEvent, AssignmentRulesState> = {
  initialState: null,
  evolve,
  decide,
};

/** The first rule whose `when` fields all equal the lead's, with its place in the list; undefined when none does. */
export function firstMatchingRule(rules: AssignmentRule[], lead: Partial<LeadDetails>): { rule: AssignmentRule; index: number } | undefined {
  const index = rules.findIndex((rule) => ASSIGNMENT_MATCH_FIELDS.every((field) => rule.when[field] === undefined || rule.when[field] === lead[field]));
  return index < 0 ? undefined : { rule: rules[index], index };
}
