/** How a figure is shown (see format.ts). */
export type Kind = 'count' | 'money' | 'rate' | 'seconds' | 'days';

/** One figure of a report's rows (API.md v2, Reports), in the API's column order. */
export interface Column {
  name: string;
  label: string;
  kind: Kind;
}

/** What the chart draws: bars on the left axis, and optionally one line on the right axis. */
export interface ChartSpec {
  bars: string[];
  line?: string;
  /** The bars are durations, charted in minutes, hours or days as they fit (the table keeps the API's seconds). */
  barsAreDurations?: boolean;
}

export interface ReportSpec {
  /** The route under /reports/ and this dashboard's path. */
  name: string;
  title: string;
  summary: string;
  groupBys: { value: string; label: string }[];
  columns: Column[];
  chart: ChartSpec;
  /** Figures the total has beyond the row columns (pipeline: won and lost in the window). */
  extraTotals?: Column[];
  /** The pipeline takes `asOf`. */
  asOf?: boolean;
}

const source = { value: 'source', label: 'Lead source' };
const owner = { value: 'ownerId', label: 'Owner' };
const month = { value: 'month', label: 'Month' };
const stage = { value: 'stage', label: 'Stage' };

const c = (name: string, label: string, kind: Kind): Column => ({ name, label, kind });
const durationColumns = [
  c('count', 'Count', 'count'),
  c('mean', 'Mean (s)', 'seconds'),
  c('median', 'Median (s)', 'seconds'),
  c('p90', 'p90 (s)', 'seconds'),
  c('min', 'Min (s)', 'seconds'),
  c('max', 'Max (s)', 'seconds'),
];

export const REPORTS: ReportSpec[] = [
  {
    name: 'conversion-rate',
    title: 'Conversion rate',
    summary: 'Leads captured in the window, and how many of them qualified and converted (by now, whenever).',
    groupBys: [source, owner, { ...month, label: 'Month of capture' }],
    columns: [
      c('captured', 'Captured', 'count'),
      c('qualified', 'Qualified', 'count'),
      c('converted', 'Converted', 'count'),
      c('convertedWithOpportunity', 'With opportunity', 'count'),
      c('conversionRate', 'Conversion rate', 'rate'),
      c('leadToOpportunityRate', 'Lead → opportunity', 'rate'),
    ],
    chart: { bars: ['captured', 'qualified', 'converted'], line: 'conversionRate' },
  },
  {
    name: 'time-to-conversion',
    title: 'Time to conversion',
    summary: 'Leads converted in the window: time from capture to conversion.',
    groupBys: [source, owner, { ...month, label: 'Month of conversion' }],
    columns: durationColumns,
    chart: { bars: ['median', 'p90'], barsAreDurations: true, line: 'count' },
  },
  {
    name: 'pipeline',
    title: 'Pipeline',
    summary: 'Open opportunities whose close date falls in the window, now or as they stood at any past instant.',
    groupBys: [stage, owner, { value: 'closeMonth', label: 'Close month' }],
    columns: [c('count', 'Open', 'count'), c('amount', 'Amount', 'money'), c('weightedAmount', 'Weighted', 'money')],
    extraTotals: [c('wonAmount', 'Won in window', 'money'), c('lostAmount', 'Lost in window', 'money')],
    chart: { bars: ['amount', 'weightedAmount'], line: 'count' },
    asOf: true,
  },
  {
    name: 'stage-duration',
    title: 'Stage duration',
    summary: 'How long opportunities stay in each stage: stays that ended in the window.',
    groupBys: [stage, owner],
    columns: durationColumns,
    chart: { bars: ['median', 'p90'], barsAreDurations: true, line: 'count' },
  },
  {
    name: 'close-date-pushes',
    title: 'Close-date pushes',
    summary: 'Open opportunities whose close date was moved later, by the time of the change.',
    groupBys: [owner, { ...stage, label: 'Stage at the push' }, { ...month, label: 'Month of the push' }],
    columns: [c('pushes', 'Pushes', 'count'), c('opportunities', 'Opportunities', 'count'), c('daysPushed', 'Days pushed', 'days')],
    chart: { bars: ['pushes', 'opportunities'], line: 'daysPushed' },
  },
  {
    name: 'speed-to-lead',
    title: 'Speed to lead',
    summary: 'Leads captured in the window: how soon they were first touched.',
    groupBys: [source, owner, { ...month, label: 'Month of capture' }],
    columns: [
      c('captured', 'Captured', 'count'),
      c('touched', 'Touched', 'count'),
      c('untouched', 'Untouched', 'count'),
      c('median', 'Median (s)', 'seconds'),
      c('p90', 'p90 (s)', 'seconds'),
      c('within5Minutes', 'Within 5 min', 'count'),
      c('within5MinutesRate', 'Within 5 min rate', 'rate'),
    ],
    chart: { bars: ['captured', 'touched', 'within5Minutes'], line: 'within5MinutesRate' },
  },
  {
    name: 'source-revenue',
    title: 'Source revenue',
    summary: 'Opportunities closed in the window, by the lead source they came from.',
    groupBys: [{ ...source, label: 'Lead source' }, { ...month, label: 'Month of the close' }],
    columns: [
      c('won', 'Won', 'count'),
      c('lost', 'Lost', 'count'),
      c('wonAmount', 'Won amount', 'money'),
      c('lostAmount', 'Lost amount', 'money'),
      c('winRate', 'Win rate', 'rate'),
    ],
    chart: { bars: ['wonAmount', 'lostAmount'], line: 'winRate' },
  },
  {
    name: 'campaign-influence',
    title: 'Campaign influence',
    summary: 'Leads captured in the window, by their primary campaign (the last one they responded to before converting), and the revenue they became.',
    groupBys: [{ value: 'campaign', label: 'Primary campaign' }],
    columns: [
      c('leads', 'Leads', 'count'),
      c('converted', 'Converted', 'count'),
      c('opportunities', 'Opportunities', 'count'),
      c('wonAmount', 'Won amount', 'money'),
      c('costPerLead', 'Cost per lead', 'money'),
    ],
    chart: { bars: ['leads', 'converted', 'opportunities'], line: 'wonAmount' },
  },
];

/** The pipeline-movement report: one total, drawn as a waterfall. */
export const MOVEMENT = {
  name: 'pipeline-movement',
  title: 'Pipeline movement',
  summary: 'How the open pipeline changed between the start of two days (UTC).',
  steps: [
    { name: 'opening', label: 'Opening', count: 'openingCount', sign: 0 },
    { name: 'new', label: 'New', count: 'newCount', sign: 1 },
    { name: 'increased', label: 'Increased', count: undefined, sign: 1 },
    { name: 'decreased', label: 'Decreased', count: undefined, sign: -1 },
    { name: 'won', label: 'Won', count: 'wonCount', sign: -1 },
    { name: 'lost', label: 'Lost', count: 'lostCount', sign: -1 },
    { name: 'closing', label: 'Closing', count: 'closingCount', sign: 0 },
  ],
} as const;

/**
 * The waterfall's floating bars [low, high]: opening and closing stand on zero, each change
 * floats from the running total to the next (rising for new and increased, falling for the rest).
 */
export function waterfallBars(total: Record<string, number | null | undefined>): [number, number][] {
  let running = 0;
  return MOVEMENT.steps.map((step) => {
    const amount = total[step.name] ?? 0;
    if (step.sign === 0) {
      running = amount;
      return [0, amount];
    }
    const next = running + step.sign * amount;
    const bar: [number, number] = [Math.min(running, next), Math.max(running, next)];
    running = next;
    return bar;
  });
}

/** The unit a chart of durations (seconds) reads best in: days unless the longest is under two days (hours) or two hours (minutes). */
export function durationUnit(seconds: (number | null)[]): { label: string; seconds: number } {
  const longest = Math.max(0, ...seconds.filter((s): s is number => s !== null));
  if (longest >= 2 * 86_400) return { label: 'days', seconds: 86_400 };
  if (longest >= 2 * 3_600) return { label: 'hours', seconds: 3_600 };
  return { label: 'minutes', seconds: 60 };
}

/** How a row's key is shown; `null` is a record without an owner (or an opportunity without a lead source). */
export function keyLabel(key: string | null, groupBy: string): string {
  if (key !== null) return key;
  return groupBy === 'source' ? '(no lead source)' : groupBy === 'ownerId' ? '(no owner)' : groupBy === 'campaign' ? '(no campaign)' : '(none)';
}
