/** Report buckets are keyed by UTC day number (days since 1970-01-01). */
const DAY_MS = 86_400_000;

export function dayOfInstant(iso: string): number {
  return Math.floor(Date.parse(iso) / DAY_MS);
}

/** A calendar date `YYYY-MM-DD` as a day number. */
export function dayOfDate(date: string): number {
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / DAY_MS;
}

export function monthStart(day: number): number {
  const date = new Date(day * DAY_MS);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) / DAY_MS;
}

export function nextMonthStart(day: number): number {
  const date = new Date(day * DAY_MS);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / DAY_MS;
}

/** The first day of a year (setUTCFullYear, as Date.UTC would read years 0–99 as 1900–1999). */
function firstDayOfYear(year: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, 0, 1);
  return date.getTime() / DAY_MS;
}

export function yearStart(day: number): number {
  return firstDayOfYear(new Date(day * DAY_MS).getUTCFullYear());
}

export function nextYearStart(day: number): number {
  return firstDayOfYear(new Date(day * DAY_MS).getUTCFullYear() + 1);
}

/** `YYYY-MM` of a day. */
export function monthKey(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 7);
}
