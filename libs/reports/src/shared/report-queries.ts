import { READ_MODELS } from '@crm/domain';
import { ReadStore } from '@crm/read-models';
import { CountBucket, Metrics } from './buckets';
import type { HistogramBucket } from './value-histogram';
import { valueStatistics, ValueStatistics } from './value-statistics';
import { monthKey } from './calendar';
import { bucketsIn, byKey, DayWindow, ratio } from './report-window';

export interface Report<Row, Total> {
  groupBy: string;
  rows: (Row & { key: string | null })[];
  total: Total;
}

/** The read models the reports read. */
export type ReportReadModel = typeof READ_MODELS.leadReports | typeof READ_MODELS.opportunityReports | typeof READ_MODELS.opportunityHistory | typeof READ_MODELS.campaigns;

/** Where a report's views live: the store and the version of each view's read model. */
export interface ReportSource {
  store: ReadStore;
  versionOf(readModel: ReportReadModel): Promise<number>;
}

/** groupBy=month reads the `all` dimension and keys its buckets by month (so no coarser bucket than a month). */
export function dimensionOf(groupBy: string): { dim: string; keyOf: (bucket: { key: string | null; period: number }) => string | null; coarsest: 'month' | 'year' } {
  return groupBy === 'month' || groupBy === 'closeMonth'
    ? { dim: 'all', keyOf: (bucket) => monthKey(bucket.period), coarsest: 'month' }
    : { dim: groupBy, keyOf: (bucket) => bucket.key, coarsest: 'year' };
}

/** A summed count metric as a number (0 when absent). */
export const count = <M extends string>(sums: Metrics<M> | undefined, metric: M) => Number(sums?.[metric] ?? 0n);

/** Sums the integer metrics of count buckets per row key. */
export function sumByKey<M extends string>(buckets: CountBucket<M>[], keyOf: (bucket: CountBucket<M>) => string | null): Map<string | null, Metrics<M>> {
  const rows = new Map<string | null, Metrics<M>>();
  for (const bucket of buckets) {
    const key = keyOf(bucket);
    const sums = (rows.get(key) ?? {}) as Record<string, bigint>;
    for (const [metric, value] of Object.entries(bucket.metrics as Record<string, string>)) sums[metric] = (sums[metric] ?? 0n) + BigInt(value);
    rows.set(key, sums as Metrics<M>);
  }
  return rows;
}

export interface TimeToConversionRow {
  count: number;
  mean: number | null;
  median: number | null;
  p90: number | null;
  min: number | null;
  max: number | null;
}

/** The ranks a time statistics row shows: median, p90, min and max. */
const TIME_RANKS = [0.5, 0.9, 0, 1];

/** Count, mean (1 decimal), nearest-rank median and p90 (element ceil(p × count)), min and max, in seconds; null over no values. */
export function timeStats({ count, sum, ranks }: ValueStatistics): TimeToConversionRow {
  if (count === 0) return { count: 0, mean: null, median: null, p90: null, min: null, max: null };
  const [median, p90, min, max] = ranks.map((ms) => ms! / 1000);
  return { count, mean: ratio(sum, count * 1000, 1), median, p90, min, max };
}

/**
 * The statistics (count, sum, nearest-rank values at `ps`) of a histogram view's values in the
 * window, per row key, and of all of them together. The total reads the `all` dimension, which
 * holds every value of each dimension's groups: a few bins of its year buckets, not those of
 * every row.
 */
export async function valueStatisticsByKey(
  source: ReportSource,
  version: number,
  view: string,
  groupBy: string,
  window: DayWindow,
  ps: number[],
): Promise<{ groups: Map<string | null, ValueStatistics>; total: ValueStatistics }> {
  const { dim, keyOf, coarsest } = dimensionOf(groupBy);
  const [buckets, all] = await Promise.all([
    bucketsIn<HistogramBucket>(source.store, version, view, dim, window, coarsest),
    bucketsIn<HistogramBucket>(source.store, version, view, 'all', window),
  ]);
  const groups = new Map<string | null, HistogramBucket[]>();
  for (const bucket of buckets) {
    const key = keyOf(bucket);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(bucket);
  }
  const keys = [...groups.keys()];
  const statistics = await valueStatistics(source.store, version, view, [...groups.values(), all], ps);
  return { groups: new Map(keys.map((key, i) => [key, statistics[i]])), total: statistics[keys.length] };
}

/** Rows of time statistics (seconds) of a histogram view, groups with values only, and their total. */
export async function timeStatsReport<G extends string>(source: ReportSource, version: number, view: string, groupBy: G, window: DayWindow): Promise<Report<TimeToConversionRow, TimeToConversionRow>> {
  const { groups, total } = await valueStatisticsByKey(source, version, view, groupBy, window, TIME_RANKS);
  const rows = [...groups].map(([key, values]) => ({ key, ...timeStats(values) })).filter((row) => row.count > 0);
  return { groupBy, rows: byKey(rows), total: timeStats(total) };
}

/** Cents as currency with 2 decimals. */
export const currency = (cents: bigint) => Number(cents) / 100;
