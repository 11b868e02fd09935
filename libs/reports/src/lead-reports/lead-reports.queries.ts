import { READ_MODELS } from '@crm/domain';
import type { Metrics } from '../shared/buckets';
import type { ValueStatistics } from '../shared/value-statistics';
import { bucketsIn, byKey, DayWindow, ratio } from '../shared/report-window';
import { count, dimensionOf, Report, ReportSource, sumByKey, timeStatsReport, TimeToConversionRow, valueStatisticsByKey } from '../shared/report-queries';
import { CohortMetric, CONVERSION_COHORTS, CONVERSION_TIMES, FIRST_TOUCH_TIMES } from './lead-reports.projection';

export type ConversionGroupBy = 'source' | 'ownerId' | 'month';
export type SpeedToLeadGroupBy = 'source' | 'ownerId' | 'month';

export interface ConversionRateRow {
  captured: number;
  qualified: number;
  converted: number;
  convertedWithOpportunity: number;
  conversionRate: number;
  leadToOpportunityRate: number;
}

function conversionRow(sums: Metrics<CohortMetric>): ConversionRateRow {
  const [captured, qualified, converted, convertedWithOpportunity] = (['captured', 'qualified', 'converted', 'convertedWithOpportunity'] as const).map((m) => count(sums, m));
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
  const buckets = await bucketsIn(source.store, version, CONVERSION_COHORTS, dim, window, coarsest);
  const rows = [...sumByKey(buckets, keyOf)].map(([key, sums]) => ({ key, ...conversionRow(sums) })).filter((row) => row.captured > 0);
  const totals = sumByKey(buckets, () => null).get(null) ?? {};
  return { groupBy, rows: byKey(rows), total: conversionRow(totals) };
}

/** Leads converted in the window: count and the distribution of (convertedAt − capturedAt) in seconds. */
export async function timeToConversionReport(source: ReportSource, groupBy: ConversionGroupBy, window: DayWindow): Promise<Report<TimeToConversionRow, TimeToConversionRow>> {
  return timeStatsReport(source, await source.versionOf(READ_MODELS.leadReports), CONVERSION_TIMES, groupBy, window);
}

export interface SpeedToLeadRow {
  captured: number;
  touched: number;
  untouched: number;
  median: number | null;
  p90: number | null;
  within5Minutes: number;
  within5MinutesRate: number;
}

function speedRow(sums: Metrics<CohortMetric> | undefined, times: ValueStatistics | undefined): SpeedToLeadRow {
  const [captured, touched, within5Minutes] = (['captured', 'touched', 'within5Minutes'] as const).map((metric) => count(sums, metric));
  const [median, p90] = (times?.ranks ?? [null, null]).map((ms) => (ms === null ? null : ms / 1000));
  return { captured, touched, untouched: captured - touched, median, p90, within5Minutes, within5MinutesRate: ratio(within5Minutes, captured) };
}

/** The cohort of leads captured in the window: how many were touched (by now), and how soon. */
export async function speedToLeadReport(source: ReportSource, groupBy: SpeedToLeadGroupBy, window: DayWindow): Promise<Report<SpeedToLeadRow, SpeedToLeadRow>> {
  const version = await source.versionOf(READ_MODELS.leadReports);
  const { dim, keyOf, coarsest } = dimensionOf(groupBy);
  const [cohorts, times] = await Promise.all([
    bucketsIn(source.store, version, CONVERSION_COHORTS, dim, window, coarsest),
    // Only the two ranks a row shows: median and p90.
    valueStatisticsByKey(source, version, FIRST_TOUCH_TIMES, groupBy, window, [0.5, 0.9]),
  ]);
  const sums = sumByKey(cohorts, keyOf);
  const rows = [...sums].map(([key, row]) => ({ key, ...speedRow(row, times.groups.get(key)) })).filter((row) => row.captured > 0);
  return { groupBy, rows: byKey(rows), total: speedRow(sumByKey(cohorts, () => null).get(null), times.total) };
}
