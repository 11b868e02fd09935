/** UTC days as the API's report windows count them (YYYY-MM-DD). */
const DAY_MS = 86_400_000;

export const todayUtc = (): string => new Date().toISOString().slice(0, 10);

export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** The first day of the month `months` before (negative) or after the month of `day`. */
export function monthStart(day: string, months = 0): string {
  const date = new Date(`${day}T00:00:00Z`);
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1)).toISOString().slice(0, 10);
}

export const isDay = (text: string | null | undefined): text is string => !!text && /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(text));

/** The instant `asOf` sends for a chosen day: the end of that day, so the day's own changes count. */
export const endOfDay = (day: string): string => `${day}T23:59:59.999Z`;

/** Window presets every dashboard offers. */
export function presets(): { label: string; from?: string; to?: string }[] {
  const today = todayUtc();
  return [
    { label: 'All time' },
    { label: 'Last month', from: monthStart(today, -1), to: monthStart(today) },
    { label: 'Last 3 months', from: monthStart(today, -3), to: monthStart(today) },
    { label: 'Last 12 months', from: monthStart(today, -12), to: monthStart(today) },
    { label: 'This year', from: `${today.slice(0, 4)}-01-01`, to: addDays(today, 1) },
  ];
}
