import type { History } from './history-generator';

/**
 * The three reports computed the plainest way, straight from the generator's own model of what
 * it did: loops, filters and sorts, with nothing shared with the service's code.
 */
export interface Window {
  from?: string;
  to?: string;
}

const dayStart = (date: string) => Date.parse(`${date}T00:00:00.000Z`);
const inWindow = (ms: number, { from, to }: Window) => (from === undefined || ms >= dayStart(from)) && (to === undefined || ms < dayStart(to));
const month = (ms: number) => new Date(ms).toISOString().slice(0, 7);

/** Exact half-up rounding of a fraction of integers. */
function roundFraction(numerator: bigint, denominator: bigint, decimals: number): number {
  if (denominator === 0n) return 0;
  const scale = 10n ** BigInt(decimals);
  const doubled = (numerator * scale * 2n) / denominator;
  return Number((doubled + 1n) / 2n) / Number(scale);
}

function sortRows<R extends { key: string | null }>(rows: R[]): R[] {
  const nulls = rows.filter((r) => r.key === null);
  const others = rows.filter((r) => r.key !== null).sort((a, b) => ((a.key as string) < (b.key as string) ? -1 : 1));
  return [...nulls, ...others];
}

function groupBy<T>(items: T[], keyOf: (item: T) => string | null): Map<string | null, T[]> {
  const groups = new Map<string | null, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(item);
  }
  return groups;
}

export function plainConversionRate(history: History, by: 'source' | 'ownerId' | 'month', window: Window) {
  const cohort = history.leads.filter((l) => !l.merged && inWindow(l.capturedAt, window));
  const summarise = (leads: typeof cohort) => {
    const captured = leads.length;
    const qualified = leads.filter((l) => l.qualified).length;
    const converted = leads.filter((l) => l.convertedAt !== null).length;
    const convertedWithOpportunity = leads.filter((l) => l.convertedAt !== null && l.withOpportunity).length;
    return {
      captured,
      qualified,
      converted,
      convertedWithOpportunity,
      conversionRate: roundFraction(BigInt(converted), BigInt(captured), 4),
      leadToOpportunityRate: roundFraction(BigInt(convertedWithOpportunity), BigInt(qualified), 4),
    };
  };
  const keyOf = (l: (typeof cohort)[number]) => (by === 'month' ? month(l.capturedAt) : by === 'source' ? l.source : l.ownerId);
  const rows = [...groupBy(cohort, keyOf)].map(([key, leads]) => ({ key, ...summarise(leads) }));
  return { groupBy: by, rows: sortRows(rows), total: summarise(cohort) };
}

export function plainTimeToConversion(history: History, by: 'source' | 'ownerId' | 'month', window: Window) {
  const converted = history.leads.filter((l) => l.convertedAt !== null && inWindow(l.convertedAt, window));
  const summarise = (leads: typeof converted) => {
    const ms = leads.map((l) => l.convertedAt! - l.capturedAt).sort((a, b) => a - b);
    if (ms.length === 0) return { count: 0, mean: null, median: null, p90: null, min: null, max: null };
    const rank = (p: number) => ms[Math.ceil(p * ms.length) - 1] / 1000;
    const total = ms.reduce((sum, value) => sum + BigInt(value), 0n);
    return { count: ms.length, mean: roundFraction(total, BigInt(ms.length) * 1000n, 1), median: rank(0.5), p90: rank(0.9), min: ms[0] / 1000, max: ms[ms.length - 1] / 1000 };
  };
  const keyOf = (l: (typeof converted)[number]) => (by === 'month' ? month(l.convertedAt!) : by === 'source' ? l.source : l.ownerId);
  const rows = [...groupBy(converted, keyOf)].map(([key, leads]) => ({ key, ...summarise(leads) }));
  return { groupBy: by, rows: sortRows(rows), total: summarise(converted) };
}

export function plainPipeline(history: History, by: 'stage' | 'ownerId' | 'closeMonth', window: Window) {
  const open = history.opportunities.filter((o) => o.open && inWindow(dayStart(o.closeDate), window));
  const cents = (amount: number) => BigInt(Math.round(amount * 100));
  const summarise = (deals: typeof open) => {
    const amount = deals.reduce((sum, o) => sum + cents(o.amount), 0n);
    // Σ amount × probability / 100, in cents × hundredths of a percent, rounded once at the end.
    const weighted = deals.reduce((sum, o) => sum + cents(o.amount) * BigInt(Math.round(o.probability * 100)), 0n);
    return { count: deals.length, amount: Number(amount) / 100, weightedAmount: roundFraction(weighted, 1_000_000n, 2) };
  };
  const keyOf = (o: (typeof open)[number]) => (by === 'closeMonth' ? o.closeDate.slice(0, 7) : by === 'stage' ? o.stage : o.ownerId);
  const rows = [...groupBy(open, keyOf)].map(([key, deals]) => ({ key, ...summarise(deals) }));
  const closed = history.opportunities.filter((o) => !o.open && inWindow(o.closedAt!, window));
  const sum = (deals: typeof closed) => Number(deals.reduce((s, o) => s + cents(o.amount), 0n)) / 100;
  return {
    groupBy: by,
    rows: sortRows(rows),
    total: { ...summarise(open), wonAmount: sum(closed.filter((o) => o.won)), lostAmount: sum(closed.filter((o) => !o.won)) },
  };
}
