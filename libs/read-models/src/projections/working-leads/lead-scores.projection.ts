import { EngagementKind, Lead, leadDecider, LeadEvent, READ_MODELS, SCORED_FIELDS, ScoringFacts, ScoringModel, ScoringModelEvent, scoreLead, SCORING_MODEL_ID, STREAM_PREFIXES } from '@crm/domain';
import { RecordedEvent, toOccurred } from '@crm/event-store';
import { defineProjection, idInStream, Recorded } from '../define-projection';
import type { CollectionKey, DocumentKey, DocumentSet, Projection } from '../projection';
import type { ReadDocument } from '../../read-store.port';

/** Per lead: what its score depends on, and the score with its breakdown and MQL time. */
export const LEAD_SCORES = 'lead-scores';
/** One document per lead, ordered by score (highest first), then newest: its id changes with the score. */
export const LEAD_SCORE_RANKS = 'lead-score-ranks';
const SCORING_MODEL = 'scoring-model';

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
export const leadScoresProjection: Projection = defineProjection<LeadEvent | ScoringModelEvent>({
  name: READ_MODELS.leadScores,
  collections: [
    { name: LEAD_SCORES, filters: [], listed: false },
    { name: LEAD_SCORE_RANKS, filters: [...RANK_FILTERS] },
    { name: SCORING_MODEL, filters: [], listed: false },
  ],
  // A lead's rank is derived from its score document: moved once per batch, from the document before it to the one after.
  derived: [{ collection: LEAD_SCORES, move: (before, after, docs) => moveRank(docs, before as LeadScoreDocument | null, after as LeadScoreDocument | null) }],
  // The lead streams, and the model's one stream (`scoring-model-<SCORING_MODEL_ID>`).
  streams: [STREAM_PREFIXES.lead, STREAM_PREFIXES.scoringModel],
  documentsOf: (event): (DocumentKey | CollectionKey)[] =>
    event.type === 'ScoringModelChanged'
      ? [{ collection: SCORING_MODEL, id: SCORING_MODEL_ID }, { collection: LEAD_SCORES, all: true }]
      : [{ collection: LEAD_SCORES, id: idInStream(event, STREAM_PREFIXES.lead) }, { collection: SCORING_MODEL, id: SCORING_MODEL_ID }],
  handlers: {
    ScoringModelChanged(event, docs) {
      const model: ScoringModel = event.data;
      docs.put(SCORING_MODEL, { id: SCORING_MODEL_ID, model }, 0);
      for (const doc of docs.all(LEAD_SCORES) as LeadScoreDocument[]) {
        const next = scored(doc, model, event.metadata.occurredAt);
        // Leads the new model scores as the old one did are left as they are: fewer writes.
        if (next.mqlAt === doc.mqlAt && JSON.stringify(next.scoreBreakdown) === JSON.stringify(doc.scoreBreakdown)) continue;
        docs.put(LEAD_SCORES, next, 0);
      }
    },
    // An engagement counts towards the score of its kind.
    LeadEngaged: (event, docs) => rescore(event, docs, event.data.kind),
    // Every other lead event may change a scored field or a filter of the rank.
    LeadCaptured: (event, docs) => rescore(event, docs),
    LeadDetailsChanged: (event, docs) => rescore(event, docs),
    LeadAssigned: (event, docs) => rescore(event, docs),
    LeadStatusChanged: (event, docs) => rescore(event, docs),
    LeadQualified: (event, docs) => rescore(event, docs),
    LeadDisqualified: (event, docs) => rescore(event, docs),
    LeadReopened: (event, docs) => rescore(event, docs),
    LeadConverted: (event, docs) => rescore(event, docs),
    LeadMerged: (event, docs) => rescore(event, docs),
    LeadMergedInto: (event, docs) => rescore(event, docs),
    PersonalDataErased: (event, docs) => rescore(event, docs),
  },
});

/** A lead event re-scores its lead with the model as it is at that point of the log. */
function rescore(event: Recorded<LeadEvent>, docs: DocumentSet, engaged?: EngagementKind): void {
  const id = idInStream(event, STREAM_PREFIXES.lead);
  const current = docs.get(LEAD_SCORES, id) as LeadScoreDocument | null;
  const next = leadDecider.evolve((current?.lead as Lead | undefined) ?? null, toOccurred<LeadEvent>(event as unknown as RecordedEvent));
  if (!next) return;
  const lead = pick(next);
  // A score is kept as the model now in the log gives it (a new model re-scores every lead): an event that
  // changes no scored field and no engagement (a new owner, a status) leaves the score, its reasons and mqlAt as they are.
  if (current && !engaged && SCORED_FIELDS.every((field) => lead[field] === current.lead[field])) {
    docs.put(LEAD_SCORES, { ...current, lead }, 0);
    return;
  }
  const engagements = { ...current?.engagements };
  if (engaged) engagements[engaged] = (engagements[engaged] ?? 0) + 1;
  const model = (docs.get(SCORING_MODEL, SCORING_MODEL_ID)?.model as ScoringModel | undefined) ?? null;
  const base: LeadScoreDocument = current ?? { id, lead: {}, engagements: {}, score: 0, scoreBreakdown: [], isMql: false, rankId: '', captureKey: Number(event.position) };
  docs.put(LEAD_SCORES, scored({ ...base, lead, engagements }, model, event.metadata.occurredAt), 0);
}

function scored(doc: LeadScoreDocument, model: ScoringModel | null, occurredAt: string): LeadScoreDocument {
  const { score, scoreBreakdown } = scoreLead(model, { fields: doc.lead, engagements: doc.engagements });
  const reached = doc.mqlAt === undefined && model !== null && score >= model.mqlThreshold;
  const mqlAt = reached ? occurredAt : doc.mqlAt;
  return { ...doc, score, scoreBreakdown, isMql: mqlAt !== undefined, ...(mqlAt !== undefined && { mqlAt }), rankId: `${doc.id}:${score}` };
}

/** Replaces the rank of a lead's score document `previous` by that of `doc`. */
function moveRank(docs: DocumentSet, previous: LeadScoreDocument | null, doc: LeadScoreDocument | null): void {
  // Most lead events change neither the score nor a filter: the rank stays as it is.
  if (previous && doc && previous.rankId === doc.rankId && RANK_FILTERS.every((field) => previous.lead[field] === doc.lead[field])) return;
  // A rank's sort key never changes once written, so a new score is a new rank document.
  if (previous?.rankId && previous.rankId !== doc?.rankId) docs.delete(LEAD_SCORE_RANKS, previous.rankId);
  if (!doc) return;
  const filters = Object.fromEntries(RANK_FILTERS.map((field) => [field, doc.lead[field] ?? null]));
  docs.put(LEAD_SCORE_RANKS, { id: doc.rankId, leadId: doc.id, score: doc.score, captureKey: doc.captureKey, ...filters }, rankSortKey(doc.score, doc.lead.capturedAt));
}

function pick(lead: Lead): Partial<Lead> {
  const kept: Record<string, unknown> = {};
  for (const field of KEPT_FIELDS) if (lead[field] !== undefined) kept[field] = lead[field];
  return kept as Partial<Lead>;
}
