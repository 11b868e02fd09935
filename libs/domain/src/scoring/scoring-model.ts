import { canonicalJson } from '../shared/canonical-json';
import type { Decider, DomainEvent, Occurred } from '../shared/decider';
import type { LeadDetails } from '../lead/lead.types';

/** Lead fields a fit rule may test: `equals`/`in` on any of them, `min` on the numeric ones. */
export const SCORED_TEXT_FIELDS = ['source', 'industry', 'rating', 'country', 'productInterest', 'title'] as const;
export const SCORED_NUMBER_FIELDS = ['annualRevenue', 'numberOfEmployees'] as const;
export const SCORED_FIELDS = [...SCORED_TEXT_FIELDS, ...SCORED_NUMBER_FIELDS] as const;
export type ScoredField = (typeof SCORED_FIELDS)[number];

export const ENGAGEMENT_KINDS = ['WebVisit', 'PricingPageVisit', 'FormFill', 'EmailOpen', 'EmailClick', 'WebinarAttended'] as const;
export type EngagementKind = (typeof ENGAGEMENT_KINDS)[number];

/** Points for a lead whose field meets exactly one of the conditions. */
export type FitRule = { field: ScoredField; points: number } & ({ equals: string | number } | { in: (string | number)[] } | { min: number });

export interface ScoringModel {
  fit: FitRule[];
  /** Points per engagement of each kind (kinds left out are worth nothing). */
  engagement: Partial<Record<EngagementKind, number>>;
  mqlThreshold: number;
}

export type ScoringModelChanged = DomainEvent<'ScoringModelChanged', ScoringModel>;
export type ScoringModelEvent = ScoringModelChanged;

export interface ChangeScoringModel {
  type: 'ChangeScoringModel';
  occurredAt: string;
  model: ScoringModel;
}
export type ScoringModelCommand = ChangeScoringModel;
export type ScoringModelState = (ScoringModel & { changedAt: string }) | null;

/** The one configuration stream of the model: `scoring-model-<this id>`. */
export const SCORING_MODEL_ID = 'current';

function evolve(_state: ScoringModelState, event: Occurred<ScoringModelEvent>): ScoringModelState {
  return { ...event.data, changedAt: event.occurredAt };
}

function decide(command: ScoringModelCommand, state: ScoringModelState): ScoringModelEvent[] {
  if (state) {
    const { changedAt: _at, ...current } = state;
    // The same model again re-scores nothing, so it appends nothing.
    // Compared as canonical JSON: the stored model may list its keys in another order than the request (a store need not keep key order: RecordedEvent.data).
    if (canonicalJson(current) === canonicalJson(command.model)) return [];
  }
  return [{ type: 'ScoringModelChanged', data: command.model }];
}

export const scoringModelDecider: Decider<ScoringModelCommand, ScoringModelEvent, ScoringModelState> = { initialState: null, evolve, decide };

/** What a lead's score depends on: its scored fields now, and how many engagements of each kind it had. */
export interface ScoringFacts {
  fields: Partial<Pick<LeadDetails, ScoredField>>;
  engagements: Partial<Record<EngagementKind, number>>;
}

export interface ScoreReason {
  reason: string;
  points: number;
}

export interface LeadScore {
  score: number;
  scoreBreakdown: ScoreReason[];
}

/** The fit points whose condition the fields meet, then the engagement points, in the model's order. */
export function scoreLead(model: ScoringModel | null, facts: ScoringFacts): LeadScore {
  if (!model) return { score: 0, scoreBreakdown: [] };
  const scoreBreakdown: ScoreReason[] = [];
  for (const rule of model.fit) {
    const value = facts.fields[rule.field];
    if (value === undefined) continue;
    if ('equals' in rule && value === rule.equals) scoreBreakdown.push({ reason: `${rule.field} is ${rule.equals}`, points: rule.points });
    else if ('in' in rule && rule.in.includes(value)) scoreBreakdown.push({ reason: `${rule.field} is one of ${rule.in.join(', ')}`, points: rule.points });
    else if ('min' in rule && typeof value === 'number' && value >= rule.min) scoreBreakdown.push({ reason: `${rule.field} is at least ${rule.min}`, points: rule.points });
  }
  for (const kind of ENGAGEMENT_KINDS) {
    const count = facts.engagements[kind] ?? 0;
    const points = model.engagement[kind];
    if (count > 0 && points) scoreBreakdown.push({ reason: `${kind} × ${count}`, points: points * count });
  }
  return { score: scoreBreakdown.reduce((sum, r) => sum + r.points, 0), scoreBreakdown };
}
