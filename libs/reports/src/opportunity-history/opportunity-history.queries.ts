import { READ_MODELS } from '@crm/domain';
import { CountBucket, lowerBoundOf, Metrics, removedDim, ValueBucket } from '../shared/buckets';
import { monthStart } from '../shared/calendar';
import { bucketsIn, byKey, DayWindow } from '../shared/report-window';
import { count, currency, dimensionOf, Report, ReportSource, sumByKey, timeStatsReport, TimeToConversionRow } from '../shared/report-queries';
import type { PipelineMetric } from '../opportunity-reports/opportunity-reports.projection';
import { PipelineGroupBy, PipelineRow, PipelineTotal, pipelineRow } from '../opportunity-reports/opportunity-reports.queries';
import {
  changeNodeDim,
  changeNodesBefore,
  CLOSE_DATE_PUSHES,
  OPPORTUNITY_CHANGES,
  OpportunityChange,
  PIPELINE_DELTAS,
  PIPELINE_FLOWS,
  pipelineContributions,
  PUSHED_OPPORTUNITIES,
  PushMetric,
  STAGE_STAYS,
} from './opportunity-history.projection';

const DAY_MS = 86_400_000;

export type StageDurationGroupBy = 'stage' | 'ownerId';
export type CloseDatePushesGroupBy = 'ownerId' | 'stage' | 'month';

/** Stage stays that ended in the window: count and the distribution of their durations in seconds. */
export async function stageDurationReport(source: ReportSource, groupBy: StageDurationGroupBy, window: DayWindow): Promise<Report<TimeToConversionRow, TimeToConversionRow>> {
  return timeStatsReport(source, await source.versionOf(READ_MODELS.opportunityHistory), STAGE_STAYS, groupBy, window);
}

export interface CloseDatePushesRow {
  pushes: number;
  opportunities: number;
  daysPushed: number;
}

/** Pushes of a close date to a later one, made in the window: how many, of how many opportunities, by how many days. */
export async function closeDatePushesReport(source: ReportSource, groupBy: CloseDatePushesGroupBy, window: DayWindow): Promise<Report<CloseDatePushesRow, CloseDatePushesRow>> {
  const version = await source.versionOf(READ_MODELS.opportunityHistory);
  const { dim, keyOf, coarsest } = dimensionOf(groupBy);
  const [pushes, firsts, removedFirsts, allFirsts] = await Promise.all([
    bucketsIn(source.store, version, CLOSE_DATE_PUSHES, dim, window, coarsest),
    bucketsIn<ValueBucket>(source.store, version, PUSHED_OPPORTUNITIES, dim, window, coarsest),
    bucketsIn<ValueBucket>(source.store, version, PUSHED_OPPORTUNITIES, removedDim(dim), window, coarsest),
    dim === 'all' ? Promise.resolve([]) : bucketsIn<ValueBucket>(source.store, version, PUSHED_OPPORTUNITIES, 'all', window),
  ]);
  // An opportunity counts once per row: at the first of its pushes in the row's part of the window,
  // the one whose previous push (in the same group) lies before that part's first day.
  const from = window.from ?? 0;
  const startOf = (bucket: ValueBucket) => (groupBy === 'month' ? Math.max(from, monthStart(bucket.period)) : from);
  const opportunities = new Map<string | null, number>();
  const countFirsts = (buckets: ValueBucket[], sign: number) => {
    for (const bucket of buckets) opportunities.set(keyOf(bucket), (opportunities.get(keyOf(bucket)) ?? 0) + sign * lowerBoundOf(bucket.values, startOf(bucket)));
  };
  countFirsts(firsts, 1);
  countFirsts(removedFirsts, -1);
  // The total counts an opportunity once over the whole window, whatever its rows.
  const totalOpportunities = (dim === 'all' ? firsts : allFirsts).reduce((n, bucket) => n + lowerBoundOf(bucket.values, from), 0);
  const row = (sums: Metrics<PushMetric> | undefined, distinct: number): CloseDatePushesRow => ({
    pushes: count(sums, 'pushes'),
    opportunities: distinct,
    daysPushed: count(sums, 'daysPushed'),
  });
  const rows = [...sumByKey(pushes, keyOf)].map(([key, sums]) => ({ key, ...row(sums, opportunities.get(key) ?? 0) })).filter((r) => r.pushes > 0);
  return { groupBy, rows: byKey(rows), total: row(sumByKey(pushes, () => null).get(null), totalOpportunities) };
}

/**
 * The changes to the open pipeline made before the start of `day`, as count buckets of `dim`
 * whose close date lies in the window: those of the tree nodes that cover the days before it.
 */
async function pipelineChangesBefore(source: ReportSource, version: number, dim: string, day: number, window: DayWindow, coarsest: 'month' | 'year'): Promise<CountBucket<PipelineMetric>[]> {
  const parts = await Promise.all(changeNodesBefore(day).map((node) => bucketsIn(source.store, version, PIPELINE_DELTAS, changeNodeDim(dim, node), window, coarsest)));
  return parts.flat();
}

/** The changes of one opportunity event as count buckets of `dim` (its close day as period), those of a close date in the window. */
function changeAsBuckets(change: OpportunityChange, dim: string, window: DayWindow): CountBucket<PipelineMetric>[] {
  const inWindow = (day: number) => (window.from === undefined || day >= window.from) && (window.to === undefined || day < window.to);
  const signed = (version: OpportunityChange['before'], sign: bigint) =>
    pipelineContributions(version)
      .filter((c) => c.dim === dim && inWindow(c.day))
      .map((c) => ({
        id: '',
        dim,
        key: c.key,
        period: c.day,
        metrics: Object.fromEntries(Object.entries(c.metrics).map(([metric, value]) => [metric, String(sign * value)])),
      }));
  return [...signed(change.before, -1n), ...signed(change.after, 1n)];
}

/**
 * The pipeline report as it stood at `asOf`: each opportunity as the fold of its events up to
 * then. Changes before asOf's day come from the change buckets; those of its own day, up to the
 * instant, from the changes themselves.
 */
export async function pipelineAsOfReport(source: ReportSource, groupBy: PipelineGroupBy, window: DayWindow, asOf: string): Promise<Report<PipelineRow, PipelineTotal>> {
  const version = await source.versionOf(READ_MODELS.opportunityHistory);
  const { dim, keyOf, coarsest } = dimensionOf(groupBy);
  const instant = Date.parse(asOf);
  const day = Math.floor(instant / DAY_MS);
  const closedTo = window.to === undefined ? day : Math.min(window.to, day);
  const [before, ofTheDay, closedBefore] = await Promise.all([
    pipelineChangesBefore(source, version, dim, day, window, coarsest),
    source.store.scan(OPPORTUNITY_CHANGES, version, { filter: {}, from: day * DAY_MS, to: instant + 1 }) as Promise<OpportunityChange[]>,
    window.from !== undefined && window.from >= closedTo ? Promise.resolve([]) : bucketsIn(source.store, version, PIPELINE_FLOWS, 'all', { from: window.from, to: closedTo }),
  ]);
  const buckets = [...before, ...ofTheDay.flatMap((change) => changeAsBuckets(change, dim, window))];
  const rows = [...sumByKey(buckets, keyOf)].map(([key, sums]) => ({ key, ...pipelineRow(sums) })).filter((row) => row.count > 0);
  const closed = sumByKey(closedBefore, () => null).get(null) ?? {};
  let [wonCents, lostCents] = [closed.wonCents ?? 0n, closed.lostCents ?? 0n];
  const dayInWindow = (window.from === undefined || day >= window.from) && (window.to === undefined || day < window.to);
  for (const change of dayInWindow ? ofTheDay : []) {
    if (change.closed === 'won') wonCents += BigInt(change.before!.amountCents);
    if (change.closed === 'lost') lostCents += BigInt(change.before!.amountCents);
  }
  return {
    groupBy,
    rows: byKey(rows),
    total: { ...pipelineRow(sumByKey(buckets, () => null).get(null) ?? {}), wonAmount: currency(wonCents), lostAmount: currency(lostCents) },
  };
}

export interface PipelineMovementTotal {
  opening: number;
  new: number;
  increased: number;
  decreased: number;
  won: number;
  lost: number;
  closing: number;
  openingCount: number;
  newCount: number;
  wonCount: number;
  lostCount: number;
  closingCount: number;
}

/** How the open pipeline moved between the starts (00:00 UTC) of two days: opening → new, increased, decreased, won, lost → closing. */
export async function pipelineMovementReport(source: ReportSource, window: { from: number; to: number }): Promise<{ groupBy: null; rows: never[]; total: PipelineMovementTotal }> {
  const version = await source.versionOf(READ_MODELS.opportunityHistory);
  const [opening, closing, flows] = await Promise.all([
    pipelineChangesBefore(source, version, 'all', window.from, {}, 'year'),
    pipelineChangesBefore(source, version, 'all', window.to, {}, 'year'),
    bucketsIn(source.store, version, PIPELINE_FLOWS, 'all', window),
  ]);
  const [open, close] = [opening, closing].map((buckets) => sumByKey(buckets, () => null).get(null) ?? {});
  const moved = sumByKey(flows, () => null).get(null) ?? {};
  return {
    groupBy: null,
    rows: [],
    total: {
      opening: currency(open.amountCents ?? 0n),
      new: currency(moved.newCents ?? 0n),
      increased: currency(moved.increasedCents ?? 0n),
      decreased: currency(moved.decreasedCents ?? 0n),
      won: currency(moved.wonCents ?? 0n),
      lost: currency(moved.lostCents ?? 0n),
      closing: currency(close.amountCents ?? 0n),
      openingCount: count(open, 'count'),
      newCount: count(moved, 'newCount'),
      wonCount: count(moved, 'wonCount'),
      lostCount: count(moved, 'lostCount'),
      closingCount: count(close, 'count'),
    },
  };
}
