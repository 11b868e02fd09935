import { EngagementKind, Lead, leadDecider, LeadEvent, SCORED_FIELDS, ScoringFacts, ScoringModel, scoreLead, SCORING_MODEL_ID } from '@crm/domain';
import { RecordedEvent, toOccurred } from '@crm/event-store';
import type { CollectionKey, DocumentKey, DocumentSet, Projection } from '../projection';
import type { ReadDocument } from '../../read-store.port';

/** Per lead: what its score depends on, and the score with its breakdown and MQL time. */
export const LEAD_SCORES = 'lead-scores';
/** One document per lead, ordered by score (highest first), then newest: its id changes with the score. */
export const LEAD_SCORE_RANKS = 'lead-score-ranks';
const SCORING_MODEL = 'scoring-model';
const LEAD_PREFIX = 'lead-';
const MODEL_STREAM = `scoring-model-${SCORING_MODEL_ID}`;

/** The lead fields a rank can be filtered by, as on `GET /leads`. */
export const RANK_FILTERS = ['status', 'ownerId', 'source', 'country'] as const;

export interface LeadScoreDocument extends ReadDocument {
  /** The lead's scored fields, its filters and its capture time. */
  lead: Partial<Lead>;
  engagements: ScoringFacts['engagements'];
  score: number;
  scoreBreakdown: { reason: string; points: number }[];
  isMql: boolean;
  mqlAt?: string;
  rankId: string;
  /** The list order of the lead among leads (the position of its capture), for `minScore` without `sort=score`. */
  captureKey: number;
}

/**
 * A rank's sort key: the score, then the capture time in seconds (newest first), in one
 * integer below 2^53. Scores beyond ±2^20 rank as ±2^20; capture times before 1970 as 1970.
 */
const SCORE_LIMIT = 2 ** 20;
const SECONDS = 2 ** 32;
export function rankSortKey(score: number, capturedAt: string | undefined): number {
  const clamped = Math.max(-SCORE_LIMIT + 1, Math.min(SCORE_LIMIT - 1, Math.trunc(score)));
  const seconds = Math.max(0, Math.min(SECONDS - 1, Math.floor(Date.parse(capturedAt ?? '1970-01-01T00:00:00Z') / 1000)));
  return (clamped + SCORE_LIMIT) * SECONDS + seconds;
}
/** The lowest sort key of a rank with at least this score. */
export const lowestRankSortKeyOf = (minScore: number) => rankSortKey(minScore, '1970-01-01T00:00:00Z');

const KEPT_FIELDS = [...SCORED_FIELDS, ...RANK_FILTERS, 'capturedAt'] as const;

/**
 * Lead scores (API.md, "Scoring"): a projection of the lead events and of the scoring model's
 * events. A lead event re-scores that lead with the model as it is at that point of the log;
 * a `ScoringModelChanged` re-scores every lead (its batch loads all score documents). `mqlAt`
 * is the business time of the event (the lead's, or the model's) at which the score first
 * reached the threshold, and is kept from then on; `isMql` says it has one.
 */
export const leadScoresProjection: Projection = {
  readModel: 'lead-scores',
  collections: [
    { name: LEAD_SCORES, filters: [], listed: false },
    { name: LEAD_SCORE_RANKS, filters: [...RANK_FILTERS] },
    { name: SCORING_MODEL, filters: [], listed: false },
  ],
  keysOf(event): (DocumentKey | CollectionKey)[] {
    if (event.streamId.startsWith(LEAD_PREFIX)) {
      return [
        { collection: LEAD_SCORES, id: event.streamId.slice(LEAD_PREFIX.length) },
        { collection: SCORING_MODEL, id: SCORING_MODEL_ID },
      ];
    }
    if (event.streamId === MODEL_STREAM) return [{ collection: SCORING_MODEL, id: SCORING_MODEL_ID }, { collection: LEAD_SCORES, all: true }];
    return [];
  },
  apply(event: RecordedEvent, docs: DocumentSet): void {
    const occurredAt = toOccurred(event).occurredAt;
    if (event.streamId === MODEL_STREAM) {
      const model = event.data as unknown as ScoringModel;
      docs.put(SCORING_MODEL, { id: SCORING_MODEL_ID, model }, 0);
      for (const doc of docs.all(LEAD_SCORES) as LeadScoreDocument[]) {
        const next = scored(doc, model, occurredAt);
        // Leads the new model scores as the old one did are left as they are: fewer writes.
        if (next.mqlAt === doc.mqlAt && JSON.stringify(next.scoreBreakdown) === JSON.stringify(doc.scoreBreakdown)) continue;
        save(docs, next, doc);
      }
      return;
    }
    const id = event.streamId.slice(LEAD_PREFIX.length);
    const current = docs.get(LEAD_SCORES, id) as LeadScoreDocument | null;
    const next = leadDecider.evolve((current?.lead as Lead | undefined) ?? null, toOccurred(event as RecordedEvent & LeadEvent));
    if (!next) return;
    const engagements = { ...current?.engagements };
    if (event.type === 'LeadEngaged') {
      const kind = event.data.kind as EngagementKind;
      engagements[kind] = (engagements[kind] ?? 0) + 1;
    }
    const model = (docs.get(SCORING_MODEL, SCORING_MODEL_ID)?.model as ScoringModel | undefined) ?? null;
    const base: LeadScoreDocument = current ?? { id, lead: {}, engagements: {}, score: 0, scoreBreakdown: [], isMql: false, rankId: '', captureKey: Number(event.position) };
    save(docs, scored({ ...base, lead: pick(next), engagements }, model, occurredAt), current);
  },
};

function scored(doc: LeadScoreDocument, model: ScoringModel | null, occurredAt: string): LeadScoreDocument {
  const { score, scoreBreakdown } = scoreLead(model, { fields: doc.lead, engagements: doc.engagements });
  const reached = doc.mqlAt === undefined && model !== null && score >= model.mqlThreshold;
  const mqlAt = reached ? occurredAt : doc.mqlAt;
  return { ...doc, score, scoreBreakdown, isMql: mqlAt !== undefined, ...(mqlAt !== undefined && { mqlAt }), rankId: `${doc.id}:${score}` };
}

function save(docs: DocumentSet, doc: LeadScoreDocument, previous: LeadScoreDocument | null): void {
  docs.put(LEAD_SCORES, doc, 0);
  // Most lead events change neither the score nor a filter: the rank stays as it is.
  if (previous?.rankId === doc.rankId && RANK_FILTERS.every((field) => previous.lead[field] === doc.lead[field])) return;
  // A rank's sort key never changes once written, so a new score is a new rank document.
  if (previous?.rankId && previous.rankId !== doc.rankId) docs.delete(LEAD_SCORE_RANKS, previous.rankId);
  const filters = Object.fromEntries(RANK_FILTERS.map((field) => [field, doc.lead[field] ?? null]));
  docs.put(LEAD_SCORE_RANKS, { id: doc.rankId, leadId: doc.id, score: doc.score, captureKey: doc.captureKey, ...filters }, rankSortKey(doc.score, doc.lead.capturedAt));
}

function pick(lead: Lead): Partial<Lead> {
  const kept: Record<string, unknown> = {};
  for (const field of KEPT_FIELDS) if (lead[field] !== undefined) kept[field] = lead[field];
  return kept as Partial<Lead>;
}
