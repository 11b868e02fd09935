import type { Kind } from './reports';

/** How each kind of figure is shown: exactly the API's number, in a readable form. */

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
// Durations are seconds with milliseconds as decimals: all three decimals are shown, none invented.
const seconds = new Intl.NumberFormat('en-US', { maximumFractionDigits: 3 });
// Rates have 4 decimals, so a percentage with 2 decimals is exact.
const percent = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const NONE = '—';

export function formatValue(value: number | null | undefined, kind: Kind): string {
  if (value === null || value === undefined) return NONE;
  switch (kind) {
    case 'count':
    case 'days':
      return integer.format(value);
    case 'money':
      return money.format(value);
    case 'rate':
      return `${percent.format(value * 100)} %`;
    case 'seconds':
      return seconds.format(value);
  }
}

/** A duration in seconds as a person reads it: "3 d 4 h", "12 min", "45 s". */
export function humanDuration(totalSeconds: number | null | undefined): string {
  if (totalSeconds === null || totalSeconds === undefined) return '';
  const s = Math.round(totalSeconds);
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3_600);
  const minutes = Math.floor((s % 3_600) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min`;
  return `${s} s`;
}

/** A timestamp of the API (ISO, UTC) as shown: "2026-03-01 09:30:00.000 UTC". */
export function formatInstant(iso: string | undefined | null): string {
  if (!iso) return NONE;
  return iso.replace('T', ' ').replace('Z', ' UTC');
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | undefined> = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) element.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

/** A report's page: its title and summary, then its controls, notice and results (the tests find it by data-report and data-state). */
export function dashboardSection(report: { name: string; title: string; summary: string }, ...parts: HTMLElement[]): HTMLElement {
  return h('section', { class: 'dashboard', 'data-report': report.name, 'data-state': 'loading' }, h('h1', {}, report.title), h('p', { class: 'summary' }, report.summary), ...parts);
}
