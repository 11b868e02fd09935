import type { CollectionSpec, ReadDocument } from '../../read-store.port';
import type { DocumentSet } from '../projection';
import { monthStart } from './calendar';

/**
 * Report views are buckets: per dimension (e.g. `source`), per key (e.g. `Web`) and per period,
 * at two grains — a day and a month — so that a report over any window reads whole months
 * plus the days at its edges, however many records there are.
 */
export type Grain = 'day' | 'month';
export const GRAINS: Grain[] = ['day', 'month'];

export const bucketCollection = (view: string, grain: Grain) => `${view}-${grain}`;
export const bucketCollections = (view: string): CollectionSpec[] => GRAINS.map((grain) => ({ name: bucketCollection(view, grain), filters: ['dim'] }));

/** A bucket document: its period is a day number (for a month, the month's first day). */
export interface Bucket extends ReadDocument {
  dim: string;
  key: string | null;
  period: number;
}

/** Integer totals, kept as decimal strings so that sums of money never lose a cent. */
export interface CountBucket extends Bucket {
  metrics: Record<string, string>;
}

/** Exact values (sorted ascending), with their count, sum, min and max. */
export interface ValueBucket extends Bucket {
  values: number[];
  sum: number;
}

/** What one record adds to the count buckets of one dimension. */
export interface Contribution {
  dim: string;
  key: string | null;
  day: number;
  metrics: Record<string, bigint>;
}

function bucketId(dim: string, period: number, key: string | null): string {
  return `${dim}|${period}|${key === null ? '\u0000' : key}`;
}

function periodOf(grain: Grain, day: number): number {
  return grain === 'day' ? day : monthStart(day);
}

/** Adds (sign 1n) or takes back (sign -1n) contributions; a bucket whose totals all reach zero is removed. */
export function applyContributions(docs: DocumentSet, view: string, contributions: Contribution[], sign: 1n | -1n): void {
  for (const { dim, key, day, metrics } of contributions) {
    for (const grain of GRAINS) {
      const collection = bucketCollection(view, grain);
      const period = periodOf(grain, day);
      const id = bucketId(dim, period, key);
      const current = docs.get(collection, id) as CountBucket | null;
      // A bucket this batch already wrote is changed in place; one read from the store is copied once.
      const bucket: CountBucket = current && docs.isWritable(current) ? current : { id, dim, key, period, metrics: { ...(current?.metrics ?? {}) } };
      const totals = bucket.metrics;
      for (const [metric, value] of Object.entries(metrics)) {
        if (value !== 0n) totals[metric] = String(BigInt(totals[metric] ?? '0') + sign * value);
      }
      if (Object.values(totals).every((value) => value === '0')) docs.delete(collection, id);
      else if (bucket !== current) docs.put(collection, bucket, period);
    }
  }
}

/** Adds one exact value (e.g. a duration in ms) to the value buckets of a dimension. */
export function addValue(docs: DocumentSet, view: string, dim: string, key: string | null, day: number, value: number): void {
  for (const grain of GRAINS) {
    const collection = bucketCollection(view, grain);
    const period = periodOf(grain, day);
    const id = bucketId(dim, period, key);
    const current = docs.get(collection, id) as ValueBucket | null;
    const bucket: ValueBucket = current && docs.isWritable(current) ? current : { id, dim, key, period, values: [...(current?.values ?? [])], sum: current?.sum ?? 0 };
    bucket.values.splice(upperBound(bucket.values, value), 0, value);
    bucket.sum += value;
    if (bucket !== current) docs.put(collection, bucket, period);
  }
}

/** How many values of a sorted array are ≤ `value` (where a new `value` goes to keep it sorted). */
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

/**
 * Moves a record's contribution from what it was before an event to what it is after: the
 * difference per bucket, so that a change of one metric touches each bucket once.
 */
export function moveContributions(docs: DocumentSet, view: string, before: Contribution[], after: Contribution[]): void {
  const deltas = new Map<string, Contribution>();
  const add = (contribution: Contribution, sign: 1n | -1n) => {
    const slot = bucketId(contribution.dim, contribution.day, contribution.key);
    const delta = deltas.get(slot) ?? { ...contribution, metrics: {} };
    for (const [metric, value] of Object.entries(contribution.metrics)) delta.metrics[metric] = (delta.metrics[metric] ?? 0n) + sign * value;
    deltas.set(slot, delta);
  };
  for (const contribution of before) add(contribution, -1n);
  for (const contribution of after) add(contribution, 1n);
  const changed = [...deltas.values()].filter((delta) => Object.values(delta.metrics).some((value) => value !== 0n));
  applyContributions(docs, view, changed, 1n);
}
