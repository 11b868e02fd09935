import { groupBy, reportRoute, WINDOW } from '../shared/report-route';
import { pipelineAsOfReport } from '../opportunity-history/opportunity-history.queries';
import { pipelineReport, sourceRevenueReport } from './opportunity-reports.queries';

export const pipeline = reportRoute({
  path: 'pipeline',
  role: 'analyst',
  summary: 'Open opportunities whose close date falls in the window, and what closed in it',
  description:
    'Per group (stage, current owner, or close month): count, amount, weightedAmount = Σ amount × probability / 100 (2 decimals). The total adds wonAmount and lostAmount of the opportunities closed in the window (business time of the close).',
  ok: '{ groupBy, rows: [{ key, count, amount, weightedAmount }], total: { count, amount, weightedAmount, wonAmount, lostAmount } }',
  query: {
    ...WINDOW,
    groupBy: groupBy('stage', 'ownerId', 'closeMonth'),
    asOf: { kind: 'instant', presence: 'optional', description: 'Business time: the pipeline as it stood at that instant (any instant, however far back)' },
  },
  // As of an instant, the pipeline is read from the opportunity-history view (every change, by business time).
  answer: (source, query, window) => (query.asOf === undefined ? pipelineReport(source, query.groupBy, window) : pipelineAsOfReport(source, query.groupBy, window, query.asOf)),
  // The rows' columns: the total's wonAmount and lostAmount are in the JSON only.
}).csv('key', 'count', 'amount', 'weightedAmount');

export const sourceRevenue = reportRoute({
  path: 'source-revenue',
  role: 'analyst',
  summary: 'Opportunities closed (business time) in the window, by the lead source they carry',
  description:
    'Per group (the leadSource of the opportunity, null for one opened without a lead, or the month of the close): won, lost, wonAmount, lostAmount, winRate = won / (won + lost) (4 decimals, 0 when none).',
  ok: '{ groupBy, rows: [{ key, won, lost, wonAmount, lostAmount, winRate }], total }',
  query: { ...WINDOW, groupBy: groupBy('source', 'month') },
  answer: (source, query, window) => sourceRevenueReport(source, query.groupBy, window),
}).csv('key', 'won', 'lost', 'wonAmount', 'lostAmount', 'winRate');
