import {
  CLOSED_DEALS,
  CONVERSION_COHORTS,
  CONVERSION_TIMES,
  CountBucket,
  monthKey,
  OPEN_PIPELINE,
  ReadStore,
  ValueBucket,
} from '@crm/read-models';
import { bucketsIn, byKey, DayWindow, ratio } from './report-window';

export type ConversionGroupBy = 'source' | 'ownerId' | 'month';
export type PipelineGroupBy = 'stage' | 'ownerId' | 'closeMonth';

export interface Report<Row, Total> {
  groupBy: string;
  rows: (Row & { key: string | null })[];
  total: Total;
}

/** Where a report's views live: the store and the version of each view's read model. */
export interface ReportSource {
  store: ReadStore;
  versionOf(readModel: 'lead-reports' | 'opportunity-reports'): Promise<number>;
}

/** groupBy=month reads the `all` dimension and keys its buckets by month. */
function dimensionOf(groupBy: string): { dim: string; keyOf: (bucket: { key: string | null; period: number }) => string | null } {
  return groupBy === 'month' || groupBy === 'closeMonth'
    ? { dim: 'all', keyOf: (bucket) => monthKey(bucket.period) }
    : { dim: groupBy, keyOf: (bucket) => bucket.key };
}

/** Sums the integer metrics of count buckets per row key. */
function sumByKey(buckets: CountBucket[], keyOf: (bucket: CountBucket) => string | null): Map<string | null, Record<string, bigint>> {
  const rows = new Map<string | null, Record<string, bigint>>();
  for (const bucket of buckets) {
    const key = keyOf(bucket);
    const sums = rows.get(key) ?? {};
    for (const [metric, value] of Object.entries(bucket.metrics)) sums[metric] = (sums[metric] ?? 0n) + BigInt(value);
    rows.set(key, sums);
  }
  return rows;
}

export interface ConversionRateRow {
  captured: number;
  qualified: number;
  converted: number;
  convertedWithOpportunity: number;
  conversionRate: number;
  leadToOpportunityRate: number;
}

function conversionRow(sums: Record<string, bigint>): ConversionRateRow {
  const [captured, qualified, converted, convertedWithOpportunity] = ['captured', 'qualified', 'converted', 'convertedWithOpportunity'].map((m) => Number(sums[m] ?? 0n));
  return {
    captured,
    qualified,
    converted,
    convertedWithOpportunity,
    conversionRate: ratio(converted, captured),
    leadToOpportunityRate: ratio(convertedWithOpportunity, qualified),
  };
}

/** The cohort of leads captured in the window: how many were qualified and converted (by now), with or without a deal. */
export async function conversionRateReport(source: ReportSource, groupBy: ConversionGroupBy, window: DayWindow): Promise<Report<ConversionRateRow, ConversionRateRow>> {
  const version = await source.versionOf('lead-reports');
  const { dim, keyOf } = dimensionOf(groupBy);
  const buckets = await bucketsIn<CountBucket>(source.store, version, CONVERSION_COHORTS, dim, window);
  const rows = [...sumByKey(buckets, keyOf)].map(([key, sums]) => ({ key, ...conversionRow(sums) })).filter((row) => row.captured > 0);
  const totals = sumByKey(buckets, () => null).get(null) ?? {};
  return { groupBy, rows: byKey(rows), total: conversionRow(totals) };
}

export interface TimeToConversionRow {
  count: number;
  mean: number | null;
  median: number | null;
  p90: number | null;
  min: number | null;
  max: number | null;
}

/** Nearest rank: sorted ascending, element number ceil(p × count), 1-based. */
function nearestRank(sorted: Float64Array, p: number): number {
  return sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1];
}

function timeStats(buckets: ValueBucket[]): TimeToConversionRow {
  const count = buckets.reduce((n, b) => n + b.values.length, 0);
  if (count === 0) return { count: 0, mean: null, median: null, p90: null, min: null, max: null };
  const values = new Float64Array(count);
  let offset = 0;
  let sumMs = 0;
  for (const bucket of buckets) {
    values.set(bucket.values, offset);
    offset += bucket.values.length;
    sumMs += bucket.sum;
  }
  values.sort();
  const seconds = (ms: number) => ms / 1000;
  return {
    count,
    mean: ratio(sumMs, count * 1000, 1),
    median: seconds(nearestRank(values, 0.5)),
    p90: seconds(nearestRank(values, 0.9)),
    min: seconds(values[0]),
    max: seconds(values[count - 1]),
  };
}

/** Leads converted in the window: count and the distribution of (convertedAt − capturedAt) in seconds. */
export async function timeToConversionReport(source: ReportSource, groupBy: ConversionGroupBy, window: DayWindow): Promise<Report<TimeToConversionRow, TimeToConversionRow>> {
  const version = await source.versionOf('lead-reports');
  const { dim, keyOf } = dimensionOf(groupBy);
  const [buckets, all] = await Promise.all([
    bucketsIn<ValueBucket>(source.store, version, CONVERSION_TIMES, dim, window),
    dim === 'all' ? Promise.resolve(null) : bucketsIn<ValueBucket>(source.store, version, CONVERSION_TIMES, 'all', window),
  ]);
  const groups = new Map<string | null, ValueBucket[]>();
  for (const bucket of buckets) groups.set(keyOf(bucket), [...(groups.get(keyOf(bucket)) ?? []), bucket]);
  const rows = [...groups].map(([key, group]) => ({ key, ...timeStats(group) })).filter((row) => row.count > 0);
  return { groupBy, rows: byKey(rows), total: timeStats(all ?? buckets) };
}

export interface PipelineRow {
  count: number;
  amount: number;
  weightedAmount: number;
}

export interface PipelineTotal extends PipelineRow {
  wonAmount: number;
  lostAmount: number;
}

/** Cents as currency with 2 decimals; weighted sums are in cents × hundredths of a percent (÷ 10,000, rounded half up). */
const currency = (cents: bigint) => Number(cents) / 100;
const weightedCurrency = (units: bigint) => Number((units + 5_000n) / 10_000n) / 100;

function pipelineRow(sums: Record<string, bigint>): PipelineRow {
  return { count: Number(sums.count ?? 0n), amount: currency(sums.amountCents ?? 0n), weightedAmount: weightedCurrency(sums.weighted ?? 0n) };
}

/** Open opportunities whose close date falls in the window, and what closed (won or lost) in it. */
export async function pipelineReport(source: ReportSource, groupBy: PipelineGroupBy, window: DayWindow): Promise<Report<PipelineRow, PipelineTotal>> {
  const version = await source.versionOf('opportunity-reports');
  const { dim, keyOf } = dimensionOf(groupBy);
  const [buckets, closed] = await Promise.all([
    bucketsIn<CountBucket>(source.store, version, OPEN_PIPELINE, dim, window),
    bucketsIn<CountBucket>(source.store, version, CLOSED_DEALS, 'all', window),
  ]);
  const rows = [...sumByKey(buckets, keyOf)].map(([key, sums]) => ({ key, ...pipelineRow(sums) })).filter((row) => row.count > 0);
  const totals = sumByKey(buckets, () => null).get(null) ?? {};
  const closedTotals = sumByKey(closed, () => null).get(null) ?? {};
  return {
    groupBy,
    rows: byKey(rows),
    total: { ...pipelineRow(totals), wonAmount: currency(closedTotals.wonCents ?? 0n), lostAmount: currency(closedTotals.lostCents ?? 0n) },
  };
}
