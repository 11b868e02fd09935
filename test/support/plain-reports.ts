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

const cents = (amount: number) => BigInt(Math.round(amount * 100));
const money = (sum: bigint) => Number(sum) / 100;
const DAY_MS = 86_400_000;
const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
const dateDay = (date: string) => dayStart(date) / DAY_MS;

/** Nearest-rank statistics of durations in ms, as seconds; null over none. */
function durationStats(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  if (sorted.length === 0) return { count: 0, mean: null, median: null, p90: null, min: null, max: null };
  const rank = (p: number) => sorted[Math.ceil(p * sorted.length) - 1] / 1000;
  const total = sorted.reduce((sum, value) => sum + BigInt(value), 0n);
  return { count: sorted.length, mean: roundFraction(total, BigInt(sorted.length) * 1000n, 1), median: rank(0.5), p90: rank(0.9), min: sorted[0] / 1000, max: sorted[sorted.length - 1] / 1000 };
}

type Opportunity = History['opportunities'][number];
type Snapshot = Opportunity['snapshots'][number];

/** The opportunity as the fold of its events with business time ≤ at (undefined before it opened). */
const asItStood = (o: Opportunity, at: number): Snapshot | undefined => [...o.snapshots].reverse().find((s) => s.at <= at);

export function plainPipelineAsOf(history: History, by: 'stage' | 'ownerId' | 'closeMonth', window: Window, asOf: string) {
  const at = Date.parse(asOf);
  const open = history.opportunities
    .map((o) => asItStood(o, at)?.open)
    .filter((v): v is NonNullable<Snapshot['open']> => !!v && inWindow(dayStart(v.closeDate), window));
  const summarise = (deals: typeof open) => ({
    count: deals.length,
    amount: money(deals.reduce((sum, o) => sum + cents(o.amount), 0n)),
    weightedAmount: roundFraction(deals.reduce((sum, o) => sum + cents(o.amount) * BigInt(Math.round(o.probability * 100)), 0n), 1_000_000n, 2),
  });
  const keyOf = (o: (typeof open)[number]) => (by === 'closeMonth' ? o.closeDate.slice(0, 7) : by === 'stage' ? o.stage : o.ownerId);
  const rows = [...groupBy(open, keyOf)].map(([key, deals]) => ({ key, ...summarise(deals) }));
  const closes = history.opportunities.flatMap((o) =>
    o.snapshots.flatMap((s, i) => (s.closed && s.at <= at && inWindow(s.at, window) ? [{ won: s.closed === 'won', amount: o.snapshots[i - 1].open!.amount }] : [])),
  );
  const sum = (deals: typeof closes) => money(deals.reduce((s, o) => s + cents(o.amount), 0n));
  return { groupBy: by, rows: sortRows(rows), total: { ...summarise(open), wonAmount: sum(closes.filter((c) => c.won)), lostAmount: sum(closes.filter((c) => !c.won)) } };
}

export function plainPipelineMovement(history: History, from: string, to: string) {
  const [F, T] = [dayStart(from), dayStart(to)];
  // Open at an instant: opened before it and not closed before it, as it stood just before it.
  const openAt = (at: number) => history.opportunities.map((o) => [...o.snapshots].reverse().find((s) => s.at < at)?.open).filter((v) => !!v);
  const amountOf = (deals: { amount: number }[]) => money(deals.reduce((sum, o) => sum + cents(o.amount), 0n));
  let [newCents, increased, decreased, won, lost] = [0n, 0n, 0n, 0n, 0n];
  let [newCount, wonCount, lostCount] = [0, 0, 0];
  for (const o of history.opportunities) {
    o.snapshots.forEach((s, i) => {
      if (s.at < F || s.at >= T) return;
      if (i === 0) {
        newCents += cents(s.open!.amount);
        newCount++;
        return;
      }
      const previous = o.snapshots[i - 1].open!;
      if (s.closed === 'won') [won, wonCount] = [won + cents(previous.amount), wonCount + 1];
      else if (s.closed === 'lost') [lost, lostCount] = [lost + cents(previous.amount), lostCount + 1];
      else {
        const change = cents(s.open!.amount) - cents(previous.amount);
        if (change > 0n) increased += change;
        else decreased -= change;
      }
    });
  }
  const [opening, closing] = [openAt(F), openAt(T)];
  return {
    groupBy: null,
    rows: [],
    total: {
      opening: amountOf(opening),
      new: money(newCents),
      increased: money(increased),
      decreased: money(decreased),
      won: money(won),
      lost: money(lost),
      closing: amountOf(closing),
      openingCount: opening.length,
      newCount,
      wonCount,
      lostCount,
      closingCount: closing.length,
    },
  };
}

/** Every stage stay of every opportunity that ended: its stage, its end, its length, the opportunity's owner now. */
function stays(history: History) {
  return history.opportunities.flatMap((o) => {
    const ended: { stage: string; endedAt: number; ms: number; ownerId: string | null }[] = [];
    let current = { stage: o.snapshots[0].open!.stage, since: o.snapshots[0].at };
    for (const s of o.snapshots.slice(1)) {
      if (s.open && s.open.stage === current.stage) continue;
      ended.push({ stage: current.stage, endedAt: s.at, ms: s.at - current.since, ownerId: o.ownerId });
      if (s.open) current = { stage: s.open.stage, since: s.at };
    }
    return ended;
  });
}

export function plainStageDuration(history: History, by: 'stage' | 'ownerId', window: Window) {
  const inside = stays(history).filter((s) => inWindow(s.endedAt, window));
  const rows = [...groupBy(inside, (s) => (by === 'stage' ? s.stage : s.ownerId))].map(([key, group]) => ({ key, ...durationStats(group.map((s) => s.ms)) }));
  return { groupBy: by, rows: sortRows(rows), total: durationStats(inside.map((s) => s.ms)) };
}

export function plainCloseDatePushes(history: History, by: 'ownerId' | 'stage' | 'month', window: Window) {
  const pushes = history.opportunities.flatMap((o) =>
    o.snapshots.slice(1).flatMap((s, i) => {
      const previous = o.snapshots[i].open;
      if (!s.open || !previous || s.open.closeDate <= previous.closeDate) return [];
      return [{ opportunityId: o.id, at: s.at, stage: previous.stage, ownerId: o.ownerId, days: dateDay(s.open.closeDate) - dateDay(previous.closeDate) }];
    }),
  );
  const inside = pushes.filter((p) => inWindow(p.at, window));
  const summarise = (group: typeof inside) => ({
    pushes: group.length,
    opportunities: new Set(group.map((p) => p.opportunityId)).size,
    daysPushed: group.reduce((sum, p) => sum + p.days, 0),
  });
  const keyOf = (p: (typeof inside)[number]) => (by === 'month' ? month(p.at) : by === 'stage' ? p.stage : p.ownerId);
  const rows = [...groupBy(inside, keyOf)].map(([key, group]) => ({ key, ...summarise(group) }));
  return { groupBy: by, rows: sortRows(rows), total: summarise(inside) };
}

export function plainSpeedToLead(history: History, by: 'source' | 'ownerId' | 'month', window: Window) {
  const cohort = history.leads.filter((l) => !l.merged && inWindow(l.capturedAt, window));
  const summarise = (leads: typeof cohort) => {
    const touched = leads.filter((l) => l.firstTouchAt !== null);
    const ms = touched.map((l) => l.firstTouchAt! - l.capturedAt).sort((a, b) => a - b);
    const rank = (p: number) => (ms.length === 0 ? null : ms[Math.ceil(p * ms.length) - 1] / 1000);
    const within5Minutes = ms.filter((value) => value <= 300_000).length;
    return {
      captured: leads.length,
      touched: touched.length,
      untouched: leads.length - touched.length,
      median: rank(0.5),
      p90: rank(0.9),
      within5Minutes,
      within5MinutesRate: roundFraction(BigInt(within5Minutes), BigInt(leads.length), 4),
    };
  };
  const keyOf = (l: (typeof cohort)[number]) => (by === 'month' ? month(l.capturedAt) : by === 'source' ? l.source : l.ownerId);
  const rows = [...groupBy(cohort, keyOf)].map(([key, leads]) => ({ key, ...summarise(leads) }));
  return { groupBy: by, rows: sortRows(rows), total: summarise(cohort) };
}

export function plainSourceRevenue(history: History, by: 'source' | 'month', window: Window) {
  const closed = history.opportunities.filter((o) => !o.open && inWindow(o.closedAt!, window));
  const summarise = (deals: typeof closed) => {
    const [won, lost] = [deals.filter((o) => o.won), deals.filter((o) => !o.won)];
    const sum = (group: typeof deals) => money(group.reduce((s, o) => s + cents(o.amount), 0n));
    return { won: won.length, lost: lost.length, wonAmount: sum(won), lostAmount: sum(lost), winRate: roundFraction(BigInt(won.length), BigInt(deals.length), 4) };
  };
  const keyOf = (o: (typeof closed)[number]) => (by === 'month' ? month(o.closedAt!) : o.leadSource);
  const rows = [...groupBy(closed, keyOf)].map(([key, deals]) => ({ key, ...summarise(deals) }));
  return { groupBy: by, rows: sortRows(rows), total: summarise(closed) };
}

/** The leads a `/leads` list with these conversion filters holds, newest first. */
export function plainConvertedLeads(history: History, filter: { withOpportunity?: boolean; convertedFrom?: string; convertedTo?: string }): string[] {
  return history.leads
    .filter((l) => l.convertedAt !== null)
    .filter((l) => filter.withOpportunity === undefined || l.withOpportunity === filter.withOpportunity)
    .filter((l) => inWindow(l.convertedAt!, { from: filter.convertedFrom, to: filter.convertedTo }))
    .map((l) => l.id);
}
