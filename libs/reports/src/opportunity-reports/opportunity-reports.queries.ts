import { READ_MODELS } from '@crm/domain';
import type { Metrics } from '../shared/buckets';
import { bucketsIn, byKey, DayWindow, ratio } from '../shared/report-window';
import { count, currency, dimensionOf, Report, ReportSource, sumByKey } from '../shared/report-queries';
import { CLOSED_DEALS, ClosedDealMetric, OPEN_PIPELINE, PipelineMetric } from './opportunity-reports.projection';

export type PipelineGroupBy = 'stage' | 'ownerId' | 'closeMonth';
export type SourceRevenueGroupBy = 'source' | 'month';

export interface PipelineRow {
  count: number;
  amount: number;
  weightedAmount: number;
}

export interface PipelineTotal extends PipelineRow {
  wonAmount: number;
  lostAmount: number;
}

/** Weighted sums are in cents × hundredths of a percent (÷ 10,000, rounded half up). */
const weightedCurrency = (units: bigint) => Number((units + 5_000n) / 10_000n) / 100;

/** A pipeline row of summed pipeline metrics (the pipeline now and as of an instant). */
export function pipelineRow(sums: Metrics<PipelineMetric>): PipelineRow {
  return { count: Number(sums.count ?? 0n), amount: currency(sums.amountCents ?? 0n), weightedAmount: weightedCurrency(sums.weighted ?? 0n) };
}

/** Open opportunities whose close date falls in the window, and what closed (won or lost) in it. */
export async function pipelineReport(source: ReportSource, groupBy: PipelineGroupBy, window: DayWindow): Promise<Report<PipelineRow, PipelineTotal>> {
  const version = await source.versionOf(READ_MODELS.opportunityReports);
  const { dim, keyOf, coarsest } = dimensionOf(groupBy);
  const [buckets, closed] = await Promise.all([
    bucketsIn(source.store, version, OPEN_PIPELINE, dim, window, coarsest),
    bucketsIn(source.store, version, CLOSED_DEALS, 'all', window),
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

export interface SourceRevenueRow {
  won: number;
  lost: number;
  wonAmount: number;
  lostAmount: number;
  winRate: number;
}

function revenueRow(sums: Metrics<ClosedDealMetric> | undefined): SourceRevenueRow {
  const [won, lost] = [count(sums, 'won'), count(sums, 'lost')];
  return { won, lost, wonAmount: currency(sums?.wonCents ?? 0n), lostAmount: currency(sums?.lostCents ?? 0n), winRate: ratio(won, won + lost) };
}

/** Opportunities closed in the window, by the lead source they carry (or month of the close). */
export async function sourceRevenueReport(source: ReportSource, groupBy: SourceRevenueGroupBy, window: DayWindow): Promise<Report<SourceRevenueRow, SourceRevenueRow>> {
  const version = await source.versionOf(READ_MODELS.opportunityReports);
  const { dim, keyOf, coarsest } = dimensionOf(groupBy);
  const buckets = await bucketsIn(source.store, version, CLOSED_DEALS, dim, window, coarsest);
  const rows = [...sumByKey(buckets, keyOf)].map(([key, sums]) => ({ key, ...revenueRow(sums) })).filter((row) => row.won + row.lost > 0);
  return { groupBy, rows: byKey(rows), total: revenueRow(sumByKey(buckets, () => null).get(null)) };
}
