import { READ_MODELS } from '@crm/domain';
import { ReadStore } from '@crm/read-models';
import { CountBucket, Metrics, removedDim, upperBound, ValueBucket } from './buckets';
import { monthKey } from './calendar';
import { bucketsIn, DayWindow, ratio } from './report-window';

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

/**
 * The k-th smallest (1-based) of the values of several sorted arrays, less those of the removed
 * arrays (a multiset difference: each removed value was added before), without merging them:
 * a binary search over the (integer, ms) value range, counting values ≤ a candidate in each
 * array by binary search. Exact, and its cost grows with the number of buckets, not of values.
 */
function kthSmallest(arrays: number[][], removed: number[][], k: number, low: number, high: number): number {
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    let atOrBelow = 0;
    for (const values of arrays) atOrBelow += upperBound(values, middle);
    for (const values of removed) atOrBelow -= upperBound(values, middle);
    if (atOrBelow >= k) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** Count, mean (1 decimal), nearest-rank median and p90 (element ceil(p × count)), min and max, in seconds; null over no values. */
export function timeStats(buckets: ValueBucket[], removed: ValueBucket[] = []): TimeToConversionRow {
  const { count, sumMs, rank } = rankedValues(buckets, removed);
  if (count === 0) return { count: 0, mean: null, median: null, p90: null, min: null, max: null };
  return { count, mean: ratio(sumMs, count * 1000, 1), median: rank(0.5)! / 1000, p90: rank(0.9)! / 1000, min: rank(0)! / 1000, max: rank(1)! / 1000 };
}

/**
 * The values of buckets less the removed ones: how many, their sum, and the nearest-rank value
 * at p (element ceil(p × count); p = 0 the smallest, p = 1 the largest), each searched only when
 * asked for (a rank search reads every bucket ~30 times).
 */
export function rankedValues(buckets: ValueBucket[], removed: ValueBucket[] = []): { count: number; sumMs: number; rank: (p: number) => number | null } {
  const arrays = buckets.map((b) => b.values).filter((values) => values.length > 0);
  const removedArrays = removed.map((b) => b.values).filter((values) => values.length > 0);
  const count = arrays.reduce((n, values) => n + values.length, 0) - removedArrays.reduce((n, values) => n + values.length, 0);
  const sumMs = buckets.reduce((sum, b) => sum + b.sum, 0) - removed.reduce((sum, b) => sum + b.sum, 0);
  if (count === 0) return { count, sumMs, rank: () => null };
  const low = Math.min(...arrays.map((values) => values[0]));
  const high = Math.max(...arrays.map((values) => values[values.length - 1]));
  const rank = (p: number) => {
    const k = Math.max(1, Math.ceil(p * count));
    // With nothing removed, the smallest and largest are the ends of the sorted buckets.
    if (removedArrays.length === 0 && k === 1) return low;
    if (removedArrays.length === 0 && k === count) return high;
    return kthSmallest(arrays, removedArrays, k, low, high);
  };
  return { count, sumMs, rank };
}

/** Value buckets split by row key, each with the removed values of the same key (see removedDim). */
export async function valueGroups(
  source: ReportSource,
  version: number,
  view: string,
  groupBy: string,
  window: DayWindow,
): Promise<{ groups: Map<string | null, { values: ValueBucket[]; removed: ValueBucket[] }>; values: ValueBucket[]; removed: ValueBucket[] }> {
  const { dim, keyOf, coarsest } = dimensionOf(groupBy);
  const [values, removed] = await Promise.all([
    bucketsIn<ValueBucket>(source.store, version, view, dim, window, coarsest),
    bucketsIn<ValueBucket>(source.store, version, view, removedDim(dim), window, coarsest),
  ]);
  const groups = new Map<string | null, { values: ValueBucket[]; removed: ValueBucket[] }>();
  const groupOf = (key: string | null) => groups.get(key) ?? groups.set(key, { values: [], removed: [] }).get(key)!;
  for (const bucket of values) groupOf(keyOf(bucket)).values.push(bucket);
  for (const bucket of removed) groupOf(keyOf(bucket)).removed.push(bucket);
  return { groups, values, removed };
}

/** Cents as currency with 2 decimals. */
export const currency = (cents: bigint) => Number(cents) / 100;
