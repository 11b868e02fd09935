import type { Accumulator, CollectionSpec, DocumentSet, ReadDocument } from '@crm/read-models';
import { Bucket, bucketCollection, bucketCollections, bucketId, Grain, GRAINS, periodOf } from './buckets';

/**
 * Exact values (durations in ms) of a report view, kept as a two-level histogram per bucket
 * (dimension, key and period at each grain), so that an order statistic over any window reads a
 * small part of them, not every value:
 *
 * - the bucket's summary (in `<view>-<grain>`, scanned like any bucket): how many values, their
 *   sum, and how many fall in each value bin (a dense array from the first bin used to the last);
 * - one document per bin used (in `<view>-bins`, read by id): the bin's distinct values, sorted,
 *   with how many times each occurs.
 *
 * A query sums the summaries of its window, finds the bin that holds each rank it needs, and reads
 * only those bins' documents (one `getMany` for a whole report). A value that leaves a group (its
 * record moved to another owner) is taken out of the summary and of its bin: both are exact
 * multisets, and what they hold depends only on the values, never on where batches fell.
 * A view puts every value in the dimension `all` (key null) as well: report totals read it.
 */

/** Bins per power of two: a bin spans 1/32 of its octave, ~3 % of the size of the values in it (values under 64 ms have a bin each). */
export const BINS_PER_OCTAVE = 32;
const EXACT_BELOW = 2 * BINS_PER_OCTAVE;
const EXACT_BITS = 6; // bit length of EXACT_BELOW

/** Bit length of a non-negative integer of up to 53 bits. */
function bitLength(value: number): number {
  let bits = 0;
  while (value >= 2 ** 31) {
    value = Math.floor(value / 2 ** 16);
    bits += 16;
  }
  return bits + 32 - Math.clz32(value);
}

/**
 * The bin of a value: log-linear (each power of two split into BINS_PER_OCTAVE equal bins), so a
 * bin holds a similar share of values whatever their scale. Monotone: a smaller value never has
 * a larger bin. Negative values (a back-dated event) mirror the positive ones below bin 0.
 */
export function binOf(value: number): number {
  if (value < 0) return -1 - binOf(-value - 1);
  const whole = Math.floor(value);
  if (whole < EXACT_BELOW) return whole;
  const shift = bitLength(whole) - EXACT_BITS;
  return BINS_PER_OCTAVE * shift + Math.floor(whole / 2 ** shift);
}

/** A bucket's summary: its values' count and sum, and the count per bin from bin `first` on. */
export interface HistogramBucket extends Bucket {
  grain: Grain;
  count: number;
  sum: number;
  first: number;
  /** counts[i] values fall in bin first + i; never zero at either end. */
  counts: number[];
}

/** One bin of one bucket: its distinct values ascending, and how many times each occurs. */
export interface HistogramBin extends ReadDocument {
  values: number[];
  counts: number[];
}

export const binCollection = (view: string) => `${view}-bins`;
/** The id of a bin's document: the grain, the bucket's id and the bin. */
export const binId = (grain: Grain, bucket: string, bin: number) => `${grain}|${bucket}@${bin}`;

/** The collections of a histogram view: the summaries at each grain, and the bins. */
export const histogramCollections = (view: string): CollectionSpec[] => [...bucketCollections(view), { name: binCollection(view), filters: [], listed: false }];

/** A change to one summary: count, sum and count per bin to add (negative for values taken out). */
interface SummaryChange extends Bucket {
  grain: Grain;
  count: number;
  sum: number;
  bins: Map<number, number>;
}

/** A change to one bin: values put in and taken out, in any order. */
interface BinChange {
  id: string;
  added: number[];
  removed: number[];
}

const summaries: Accumulator<SummaryChange> = {
  combine(into, change) {
    into.count += change.count;
    into.sum += change.sum;
    for (const [bin, n] of change.bins) into.bins.set(bin, (into.bins.get(bin) ?? 0) + n);
    return into;
  },
  fold(current, { id, dim, key, period, grain, count, sum, bins }) {
    const changed = [...bins].filter(([, n]) => n !== 0);
    if (changed.length === 0 && count === 0 && sum === 0) return undefined; // changes that cancelled out
    const was = current as HistogramBucket | null;
    const total = (was?.count ?? 0) + count;
    if (total === 0) return null;
    let low = was ? was.first : Infinity;
    let high = was ? was.first + was.counts.length - 1 : -Infinity;
    for (const [bin] of changed) (low = Math.min(low, bin)), (high = Math.max(high, bin));
    const dense = new Array<number>(high - low + 1).fill(0);
    if (was) for (let i = 0; i < was.counts.length; i++) dense[was.first - low + i] = was.counts[i];
    for (const [bin, n] of changed) {
      dense[bin - low] += n;
      if (dense[bin - low] < 0) throw new Error(`value histogram ${id}: more values taken out of bin ${bin} than were put in`);
    }
    let start = 0;
    let end = dense.length;
    while (start < end && dense[start] === 0) start++;
    while (end > start && dense[end - 1] === 0) end--;
    return { id, dim, key, period, grain, count: total, sum: (was?.sum ?? 0) + sum, first: low + start, counts: dense.slice(start, end) } satisfies HistogramBucket;
  },
};

const bins: Accumulator<BinChange> = {
  combine(into, change) {
    for (const value of change.added) into.added.push(value);
    for (const value of change.removed) into.removed.push(value);
    return into;
  },
  fold(current, { id, added, removed }) {
    added.sort((a, b) => a - b);
    removed.sort((a, b) => a - b);
    if (added.length === removed.length && added.every((value, i) => value === removed[i])) return undefined; // put in and taken out again
    const was = (current as HistogramBin | null) ?? { id, values: [], counts: [] };
    const values: number[] = [];
    const counts: number[] = [];
    // Merge the sorted values in, then take the sorted removals out: one pass each.
    let i = 0;
    let j = 0;
    while (i < was.values.length || j < added.length) {
      const value = j >= added.length || (i < was.values.length && was.values[i] <= added[j]) ? was.values[i] : added[j];
      let n = 0;
      if (i < was.values.length && was.values[i] === value) n += was.counts[i++];
      while (j < added.length && added[j] === value) (n++, j++);
      values.push(value);
      counts.push(n);
    }
    let k = 0;
    for (const value of removed) {
      while (k < values.length && values[k] < value) k++;
      if (k === values.length || values[k] !== value || counts[k] === 0) throw new Error(`value histogram bin ${id}: value ${value} taken out but not in it`);
      counts[k]--;
    }
    const kept = counts.map((n, index) => (n > 0 ? index : -1)).filter((index) => index >= 0);
    if (kept.length === 0) return null;
    return { id, values: kept.map((index) => values[index]), counts: kept.map((index) => counts[index]) } satisfies HistogramBin;
  },
};

function changeValue(docs: DocumentSet, view: string, dim: string, key: string | null, day: number, value: number, sign: 1 | -1): void {
  const bin = binOf(value);
  for (const grain of GRAINS) {
    const period = periodOf(grain, day);
    const id = bucketId(dim, period, key);
    docs.accumulate(bucketCollection(view, grain), id, period, { id, dim, key, period, grain, count: sign, sum: sign * value, bins: new Map([[bin, sign]]) }, summaries);
    const inBin = binId(grain, id, bin);
    docs.accumulate(binCollection(view), inBin, period, { id: inBin, added: sign > 0 ? [value] : [], removed: sign < 0 ? [value] : [] }, bins);
  }
}

/** Puts one exact value (e.g. a duration in ms) into the histograms of a dimension's key, at every grain. */
export function addHistogramValue(docs: DocumentSet, view: string, dim: string, key: string | null, day: number, value: number): void {
  changeValue(docs, view, dim, key, day, value, 1);
}

/** Takes a value put in before out of the histograms of a dimension's key (its record left the group). */
export function removeHistogramValue(docs: DocumentSet, view: string, dim: string, key: string | null, day: number, value: number): void {
  changeValue(docs, view, dim, key, day, value, -1);
}
