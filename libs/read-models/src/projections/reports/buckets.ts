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
      const totals: Record<string, string> = { ...(current?.metrics ?? {}) };
      for (const [metric, value] of Object.entries(metrics)) totals[metric] = String(BigInt(totals[metric] ?? '0') + sign * value);
      if (Object.values(totals).every((value) => value === '0')) docs.delete(collection, id);
      else docs.put(collection, { id, dim, key, period, metrics: totals } satisfies CountBucket, period);
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
    const values = [...(current?.values ?? [])];
    values.splice(insertionPoint(values, value), 0, value);
    docs.put(collection, { id, dim, key, period, values, sum: (current?.sum ?? 0) + value } satisfies ValueBucket, period);
  }
}

function insertionPoint(sorted: number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Takes back what a record contributed before an event and adds what it contributes after (no-op when equal). */
export function moveContributions(docs: DocumentSet, view: string, before: Contribution[], after: Contribution[]): void {
  if (sameContributions(before, after)) return;
  applyContributions(docs, view, before, -1n);
  applyContributions(docs, view, after, 1n);
}

function sameContributions(a: Contribution[], b: Contribution[]): boolean {
  const text = (cs: Contribution[]) => JSON.stringify(cs, (_, value) => (typeof value === 'bigint' ? value.toString() : value));
  return text(a) === text(b);
}
