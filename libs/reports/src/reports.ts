import { READ_MODELS } from '@crm/domain';
import {
  CLOSED_DEALS,
  CONVERSION_COHORTS,
  CONVERSION_TIMES,
  CountBucket,
  monthKey,
  OPEN_PIPELINE,
  HistogramBucket,
  ReadStore,
} from '@crm/read-models';
import { bucketsIn, byKey, DayWindow, ratio } from './report-window';
import { valueStatistics, ValueStatistics } from './value-statistics';

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
  versionOf(readModel: typeof READ_MODELS.leadReports | typeof READ_MODELS.opportunityReports | typeof READ_MODELS.opportunityHistory): Promise<number>;
}

/** groupBy=month reads the `all` dimension and keys its buckets by month (so no coarser bucket than a month). */
export function dimensionOf(groupBy: string): { dim: string; keyOf: (bucket: { key: string | null; period: number }) => string | null; coarsest: 'month' | 'year' } {
  return groupBy === 'month' || groupBy === 'closeMonth'
    ? { dim: 'all', keyOf: (bucket) => monthKey(bucket.period), coarsest: 'month' }
    : { dim: groupBy, keyOf: (bucket) => bucket.key, coarsest: 'year' };
}

/** Sums the integer metrics of count buckets per row key. */
export function sumByKey(buckets: CountBucket[], keyOf: (bucket: CountBucket) => string | null): Map<string | null, Record<string, bigint>> {
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
  const version = await source.versionOf(READ_MODELS.leadReports);
  const { dim, keyOf, coarsest } = dimensionOf(groupBy);
  const buckets = await bucketsIn<CountBucket>(source.store, version, CONVERSION_COHORTS, dim, window, coarsest);
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

/** Leads converted in the window: count and the distribution of (convertedAt − capturedAt) in seconds. */
export async function timeToConversionReport(source: ReportSource, groupBy: ConversionGroupBy, window: DayWindow): Promise<Report<TimeToConversionRow, TimeToConversionRow>> {
  return timeStatsReport(source, await source.versionOf(READ_MODELS.leadReports), CONVERSION_TIMES, groupBy, window);
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
export const currency = (cents: bigint) => Number(cents) / 100;
const weightedCurrency = (units: bigint) => Number((units + 5_000n) / 10_000n) / 100;

export function pipelineRow(sums: Record<string, bigint>): PipelineRow {
  return { count: Number(sums.count ?? 0n), amount: currency(sums.amountCents ?? 0n), weightedAmount: weightedCurrency(sums.weighted ?? 0n) };
}

/** Open opportunities whose close date falls in the window, and what closed (won or lost) in it. */
export async function pipelineReport(source: ReportSource, groupBy: PipelineGroupBy, window: DayWindow): Promise<Report<PipelineRow, PipelineTotal>> {
  const version = await source.versionOf(READ_MODELS.opportunityReports);
  const { dim, keyOf, coarsest } = dimensionOf(groupBy);
  const [buckets, closed] = await Promise.all([
    bucketsIn<CountBucket>(source.store, version, OPEN_PIPELINE, dim, window, coarsest),
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
