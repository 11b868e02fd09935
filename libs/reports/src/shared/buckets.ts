import type { CollectionSpec, ReadDocument } from '@crm/read-models';
import type { Accumulator, DocumentSet } from '@crm/read-models';
import { monthStart, yearStart } from './calendar';

/**
 * Report views are buckets: per dimension (e.g. `source`), per key (e.g. `Web`) and per period,
 * at three grains — a day, a month and a year — so that a report over any window reads whole
 * years, then the whole months and the days at its edges, however many records there are (and
 * all time one bucket a year, not one a month).
 */
export type Grain = 'day' | 'month' | 'year';
export const GRAINS: Grain[] = ['day', 'month', 'year'];

export const bucketCollection = (view: string, grain: Grain) => `${view}-${grain}`;
export const bucketCollections = (view: string): CollectionSpec[] => GRAINS.map((grain) => ({ name: bucketCollection(view, grain), filters: ['dim'], listed: false }));

/** A bucket document: its period is a day number (for a month or a year, its first day). */
export interface Bucket extends ReadDocument {
  dim: string;
  key: string | null;
  period: number;
}

declare const metricNames: unique symbol;
/**
 * The name of a view of count buckets, typed with the names of its metrics: the projection that
 * writes the view and the queries that read it take both from one declaration, so a misspelled
 * metric is a compile error, not a silent zero.
 */
export type CountView<M extends string> = string & { readonly [metricNames]: M };
export const countView = <M extends string>(name: string) => name as CountView<M>;

/** Some of a view's metrics (an absent one is 0). */
export type Metrics<M extends string> = { [K in M]?: bigint };

/** Integer totals, kept as decimal strings so that sums of money never lose a cent. */
export interface CountBucket<M extends string = string> extends Bucket {
  metrics: { [K in M]?: string };
}

/**
 * Exact values (sorted ascending) and their sum. A bucket keeps at most VALUES_PER_CHUNK values
 * in one document: once it has more, full chunks of its smallest values are sealed off into
 * documents of their own beside it (`<id>#<n>`, same dim, key and period), each sorted, holding
 * its own sum. A report reads them as it reads any bucket: every document is one sorted array
 * of the bucket's values.
 */
export interface ValueBucket extends Bucket {
  values: number[];
  sum: number;
  /** On the open document of a bucket: how many chunks were sealed off it. */
  sealed?: number;
}

/**
 * Values one value-bucket document holds at most: about 0.8 MB as BSON, well under the 16 MiB a
 * MongoDB document may take (a month's conversion times passed it at about a million
 * conversions), and a batch rewrites at most this much of a bucket.
 */
export const VALUES_PER_CHUNK = 50_000;

/** What one record adds to the count buckets of one dimension. */
export interface Contribution<M extends string = string> {
  dim: string;
  key: string | null;
  day: number;
  metrics: Metrics<M>;
}

/** A contribution as the folding code sees it: any metric names, every one present. */
type Totals = Record<string, bigint>;
type AnyContribution = Omit<Contribution, 'metrics'> & { metrics: Totals };

export function bucketId(dim: string, period: number, key: string | null): string {
  return `${dim}|${period}|${key === null ? '\u0000' : key}`;
}

const periodStarts = { month: new Map<number, number>(), year: new Map<number, number>() };

/** The first day of the `grain` period that holds `day`. */
export function periodOf(grain: Grain, day: number): number {
  if (grain === 'day') return day;
  let start = periodStarts[grain].get(day);
  if (start === undefined) periodStarts[grain].set(day, (start = grain === 'month' ? monthStart(day) : yearStart(day)));
  return start;
}

/** A change to one count bucket: what to add to each of its totals. */
interface CountChange extends Bucket {
  metrics: Record<string, bigint>;
}

/** Count buckets add up their changes; a bucket whose totals all come to zero is removed. */
const countBuckets: Accumulator<CountChange> = {
  combine(into, change) {
    for (const metric in change.metrics) into.metrics[metric] = (into.metrics[metric] ?? 0n) + change.metrics[metric];
    return into;
  },
  fold(current, { id, dim, key, period, metrics }) {
    if (Object.values(metrics).every((value) => value === 0n)) return undefined; // changes that cancelled out
    const totals = { ...(current as CountBucket | null)?.metrics } as Record<string, string>;
    for (const metric in metrics) {
      if (metrics[metric] === 0n) continue;
      const total = BigInt(totals[metric] ?? '0') + metrics[metric];
      // A total that comes to zero is left out, as it would be had its changes cancelled within one batch: the
      // document must not depend on where the projector's batches fell (crm verify replays in other batches).
      if (total === 0n) delete totals[metric];
      else totals[metric] = String(total);
    }
    return Object.values(totals).every((total) => total === '0') ? null : ({ id, dim, key, period, metrics: totals } satisfies CountBucket);
  },
};

/** Adds contributions to the count buckets of a view, at both grains. */
export function applyContributions<M extends string>(docs: DocumentSet, view: CountView<M>, contributions: Contribution<M>[]): void {
  applyAny(docs, view, contributions as AnyContribution[]);
}

function applyAny(docs: DocumentSet, view: string, contributions: AnyContribution[]): void {
  for (const { dim, key, day, metrics } of contributions) {
    for (const grain of GRAINS) {
      const period = periodOf(grain, day);
      const id = bucketId(dim, period, key);
      // A fresh totals object per change: the batch may add later changes into it.
      docs.accumulate(bucketCollection(view, grain), id, period, { id, dim, key, period, metrics: { ...metrics } }, countBuckets);
    }
  }
}

/** A change to one value bucket: values to add (in any order) and their sum. */
interface ValueChange extends Bucket {
  values: number[];
  sum: number;
}

/** Value buckets keep their values sorted: the values a batch adds are sorted once and merged in. */
const valueBuckets: Accumulator<ValueChange> = {
  combine(into, change) {
    into.values.push(...change.values);
    into.sum += change.sum;
    return into;
  },
  fold(current, { id, dim, key, period, values, sum }, putBeside) {
    const existing = current as ValueBucket | null;
    const added = values.sort((a, b) => a - b);
    let open = existing ? mergeSorted(existing.values, added) : added;
    let openSum = (existing?.sum ?? 0) + sum;
    let sealed = existing?.sealed ?? 0;
    while (open.length > VALUES_PER_CHUNK) {
      const chunk = open.slice(0, VALUES_PER_CHUNK);
      const chunkSum = chunk.reduce((total, value) => total + value, 0);
      putBeside({ id: `${id}#${sealed}`, dim, key, period, values: chunk, sum: chunkSum } satisfies ValueBucket);
      sealed++;
      open = open.slice(VALUES_PER_CHUNK);
      openSum -= chunkSum;
    }
    return { id, dim, key, period, values: open, sum: openSum, ...(sealed > 0 && { sealed }) } satisfies ValueBucket;
  },
};

/** Adds one exact value (e.g. a duration in ms) to the value buckets of a dimension. */
export function addValue(docs: DocumentSet, view: string, dim: string, key: string | null, day: number, value: number): void {
  for (const grain of GRAINS) {
    const period = periodOf(grain, day);
    const id = bucketId(dim, period, key);
    docs.accumulate(bucketCollection(view, grain), id, period, { id, dim, key, period, values: [value], sum: value }, valueBuckets);
  }
}

/**
 * Value buckets only grow (their values are sorted into sealed chunks), so a value that must leave
 * a group (its record moved to another owner, or was merged away) is added to the group's
 * removed-values dimension instead: a report counts a group's values as those of `dim` less those
 * of `removedDim(dim)` with the same key and period, which stays exact for counts, sums and ranks.
 */
export const removedDim = (dim: string) => `${dim}~removed`;

export function removeValue(docs: DocumentSet, view: string, dim: string, key: string | null, day: number, value: number): void {
  addValue(docs, view, removedDim(dim), key, day, value);
}

function mergeSorted(a: number[], b: number[]): number[] {
  const merged = new Array<number>(a.length + b.length);
  let i = 0;
  let j = 0;
  for (let k = 0; k < merged.length; k++) merged[k] = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
  return merged;
}

/** How many values of a sorted array are ≤ `value`. */
export function upperBound(sorted: number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** How many values of a sorted array of integers are < `value`. */
export function lowerBoundOf(sorted: number[], value: number): number {
  return upperBound(sorted, value - 1);
}

/**
 * Moves a record's contribution from what it was before an event to what it is after. A record
 * contributes once per dimension, in the same order before and after: where a dimension's
 * bucket stays the same, only the difference goes to it (nothing when there is none); where
 * it changes, the old bucket loses the old contribution and the new one gains the new.
 */
export function moveContributions<M extends string>(docs: DocumentSet, view: CountView<M>, before: Contribution<M>[], after: Contribution<M>[]): void {
  const changes: AnyContribution[] = [];
  for (let i = 0; i < Math.max(before.length, after.length); i++) {
    const was = before[i] as AnyContribution | undefined;
    const is = after[i] as AnyContribution | undefined;
    if (was && is && was.dim === is.dim && was.key === is.key && was.day === is.day) {
      const difference = differenceOf(is.metrics, was.metrics);
      if (difference) changes.push({ ...is, metrics: difference });
      continue;
    }
    if (was) changes.push({ ...was, metrics: negated(was.metrics) });
    if (is) changes.push(is);
  }
  applyAny(docs, view, changes);
}

/** `after − before` per metric; undefined when every metric is unchanged. */
function differenceOf(after: Totals, before: Totals): Totals | undefined {
  // Most events leave most dimensions as they were (a new owner moves one of three): nothing to make for those.
  if (sameTotals(after, before)) return undefined;
  const difference: Totals = {};
  for (const metric in after) difference[metric] = after[metric] - (before[metric] ?? 0n);
  for (const metric in before) if (!(metric in after)) difference[metric] = -before[metric];
  return difference;
}

/** Every metric equal (an absent one is 0). */
function sameTotals(a: Totals, b: Totals): boolean {
  for (const metric in a) if (a[metric] !== (b[metric] ?? 0n)) return false;
  for (const metric in b) if (!(metric in a) && b[metric] !== 0n) return false;
  return true;
}

function negated(totals: Totals): Totals {
  const negative: Totals = {};
  for (const metric in totals) negative[metric] = -totals[metric];
  return negative;
}
