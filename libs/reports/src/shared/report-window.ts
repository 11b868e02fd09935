import { ReadStore } from '@crm/read-models';
import { Bucket, bucketCollection, CountBucket, CountView, Grain } from './buckets';
import { monthStart, nextMonthStart, nextYearStart, yearStart } from './calendar';

/** A report window in UTC day numbers: [from, to), either side open when absent (all time). */
export interface DayWindow {
  from?: number;
  to?: number;
}

/**
 * The buckets of one dimension that cover a window exactly: year buckets for the whole years
 * inside it, month buckets for the whole months of the years at its edges, day buckets for the
 * days at its edges. What it reads grows with the window's length, never with the number of
 * records. `coarsest` is 'month' where a row is a month (groupBy month), so that no bucket spans
 * two rows.
 */
export function bucketsIn<M extends string>(store: ReadStore, version: number, view: CountView<M>, dim: string, window: DayWindow, coarsest?: 'month' | 'year'): Promise<CountBucket<M>[]>;
export function bucketsIn<B extends Bucket>(store: ReadStore, version: number, view: string, dim: string, window: DayWindow, coarsest?: 'month' | 'year'): Promise<B[]>;
export async function bucketsIn<B extends Bucket>(store: ReadStore, version: number, view: string, dim: string, window: DayWindow, coarsest: 'month' | 'year' = 'year'): Promise<B[]> {
  const scan = (grain: Grain, from?: number, to?: number) => store.scan(bucketCollection(view, grain), version, { filter: { dim }, from, to }) as Promise<B[]>;
  const { from, to } = window;
  if (from !== undefined && to !== undefined && from >= to) return [];
  if (coarsest === 'month') return monthsAndDays(scan, from, to);
  const firstWholeYear = from === undefined ? undefined : yearStart(from) === from ? from : nextYearStart(from);
  const endOfWholeYears = to === undefined ? undefined : yearStart(to);
  if (firstWholeYear !== undefined && endOfWholeYears !== undefined && firstWholeYear >= endOfWholeYears) return monthsAndDays(scan, from, to);
  const [years, head, tail] = await Promise.all([
    scan('year', firstWholeYear, endOfWholeYears),
    from === undefined ? [] : monthsAndDays(scan, from, firstWholeYear),
    to === undefined ? [] : monthsAndDays(scan, endOfWholeYears, to),
  ]);
  return [...years, ...head, ...tail];
}

/** Month buckets for the whole months inside [from, to), day buckets for the days at its edges. */
async function monthsAndDays<B>(scan: (grain: Grain, from?: number, to?: number) => Promise<B[]>, from: number | undefined, to: number | undefined): Promise<B[]> {
  if (from !== undefined && to !== undefined && from >= to) return [];
  const firstWholeMonth = from === undefined ? undefined : monthStart(from) === from ? from : nextMonthStart(from);
  const endOfWholeMonths = to === undefined ? undefined : monthStart(to);
  if (firstWholeMonth !== undefined && endOfWholeMonths !== undefined && firstWholeMonth >= endOfWholeMonths) return scan('day', from, to);
  const [months, head, tail] = await Promise.all([
    scan('month', firstWholeMonth, endOfWholeMonths),
    from === undefined ? [] : scan('day', from, firstWholeMonth),
    to === undefined ? [] : scan('day', endOfWholeMonths, to),
  ]);
  return [...months, ...head, ...tail];
}

/** Rows sorted by key: `null` (no owner) first, then keys as JavaScript compares strings (UTF-16 code units). */
export function byKey<R extends { key: string | null }>(rows: R[]): R[] {
  return rows.sort((a, b) => (a.key === b.key ? 0 : a.key === null ? -1 : b.key === null ? 1 : a.key < b.key ? -1 : 1));
}

/**
 * `numerator / denominator` of non-negative integers, rounded half up at `decimals` places,
 * exactly (integer arithmetic, no binary-fraction surprises); 0 when the denominator is 0.
 */
export function ratio(numerator: number, denominator: number, decimals = 4): number {
  if (denominator === 0) return 0;
  const scale = 10n ** BigInt(decimals);
  const scaled = (2n * BigInt(numerator) * scale + BigInt(denominator)) / (2n * BigInt(denominator));
  return Number(scaled) / Number(scale);
}
