import { Inject, Injectable } from '@nestjs/common';
import { READ_MODELS } from '@crm/domain';
import {
  ACTIVITY_ENTRIES,
  decodeCursor,
  encodeCursor,
  LEAD_SCORE_RANKS,
  LEAD_SCORES,
  lowestRankSortKeyOf,
  READ_STORE,
  ReadDocument,
  ReadStore,
  withoutInternalFields,
} from '@crm/read-models';
import { ReadModels } from '../read-side/read-models';

export interface PageOf<T> {
  items: T[];
  nextCursor: string | null;
}

/** The score fields a lead's read model shows (API.md, "Scoring"); a lead not scored yet shows 0. */
export interface LeadScoreFields {
  score: number;
  scoreBreakdown: { reason: string; points: number }[];
  isMql: boolean;
  mqlAt?: string;
}
const UNSCORED: LeadScoreFields = { score: 0, scoreBreakdown: [], isMql: false };

/** Equality filters of the leads list that the score ranks carry too. */
export type RankFilter = Partial<Record<'status' | 'ownerId' | 'source' | 'country', string>>;

/**
 * Queries of working leads over their read models: activity lists, lead scores joined to leads,
 * leads by score. Collections of a read model are read at that read model's active version.
 */
@Injectable()
export class WorkingLeadsQueries {
  constructor(
    @Inject(READ_STORE) private readonly store: ReadStore,
    private readonly readModels: ReadModels,
  ) {}

  /** A record's activities, newest first (business time). */
  async activitiesOf(recordId: string, limit: number, cursor?: string): Promise<PageOf<ReadDocument>> {
    const version = await this.readModels.versionOf(READ_MODELS.activities);
    const page = await this.store.find(ACTIVITY_ENTRIES, version, { filter: { _recordId: recordId }, limit, cursor });
    return { items: page.items.map((entry) => entry.activity as ReadDocument), nextCursor: page.nextCursor ?? null };
  }

  /** The leads with their score fields. */
  async withScores<D extends ReadDocument>(leads: D[]): Promise<(D & LeadScoreFields)[]> {
    if (leads.length === 0) return [];
    const scores = await this.store.getMany(LEAD_SCORES, await this.readModels.versionOf(READ_MODELS.leadScores), leads.map((lead) => lead.id));
    return leads.map((lead) => ({ ...lead, ...scoreFieldsOf(scores.get(lead.id)) }));
  }

  /** Leads by score, highest first, then newest; only those scoring at least `minScore` when given. */
  async byScore(filter: RankFilter, minScore: number | undefined, limit: number, cursor?: string): Promise<PageOf<ReadDocument>> {
    const page = await this.store.find(LEAD_SCORE_RANKS, await this.readModels.versionOf(READ_MODELS.leadScores), { filter, limit, cursor });
    const ranks = minScore === undefined ? page.items : page.items.filter((rank) => (rank.score as number) >= minScore);
    // Ranks come highest first: once one falls below minScore, so do all after it.
    const nextCursor = ranks.length < page.items.length ? null : (page.nextCursor ?? null);
    return { items: await this.leadsOf(ranks.map((rank) => rank.leadId as string)), nextCursor };
  }

  /**
   * Leads scoring at least `minScore`, newest first. The ranks above the bound are read whole
   * and ordered here: the cost follows the number of leads above it, which a threshold keeps small.
   */
  async newestWithMinScore(filter: RankFilter, minScore: number, limit: number, cursor?: string): Promise<PageOf<ReadDocument>> {
    const ranks = await this.store.scan(LEAD_SCORE_RANKS, await this.readModels.versionOf(READ_MODELS.leadScores), { filter, from: lowestRankSortKeyOf(minScore) });
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const ordered = ranks
      .filter((rank) => (rank.score as number) >= minScore)
      .map((rank) => ({ key: rank.captureKey as number, id: rank.leadId as string }))
      .filter(({ key, id }) => !after || key < after.sortKey || (key === after.sortKey && id < after.id))
      .sort((a, b) => b.key - a.key || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const taken = ordered.slice(0, limit);
    const last = taken[taken.length - 1];
    return { items: await this.leadsOf(taken.map(({ id }) => id)), nextCursor: ordered.length > limit && last ? encodeCursor(last.key, last.id) : null };
  }

  /** The leads of these ids, in this order, with their scores. */
  private async leadsOf(ids: string[]): Promise<ReadDocument[]> {
    if (ids.length === 0) return [];
    const leads = await this.store.getMany(READ_MODELS.leads, await this.readModels.versionOf(READ_MODELS.leads), ids);
    const found = ids.map((id) => leads.get(id)).filter((lead): lead is ReadDocument => lead !== undefined);
    return this.withScores(found.map(withoutInternalFields));
  }
}

function scoreFieldsOf(doc: ReadDocument | undefined): LeadScoreFields {
  if (!doc) return UNSCORED;
  return { score: doc.score as number, scoreBreakdown: doc.scoreBreakdown as LeadScoreFields['scoreBreakdown'], isMql: doc.isMql as boolean, ...(doc.mqlAt !== undefined && { mqlAt: doc.mqlAt as string }) };
}
