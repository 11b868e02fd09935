import { groupBy, reportRoute, STATS, WINDOW } from '../shared/report-route';
import { closeDatePushesReport, pipelineMovementReport, stageDurationReport } from './opportunity-history.queries';

export const pipelineMovement = reportRoute({
  path: 'pipeline-movement',
  role: 'analyst',
  summary: 'How the open pipeline moved between the start (00:00 UTC) of from and the start of to',
  description:
    'groupBy is null and rows empty; total: opening (amounts of the opportunities open at F, as they stood then), new (opening amounts of those opened in [F, T)), increased and decreased (sums of the positive and negative amount changes in [F, T), as positive numbers), won and lost (amounts at close of those closed in [F, T)), closing (open at T), and openingCount, newCount, wonCount, lostCount, closingCount. closing = opening + new + increased − decreased − won − lost; a missing amount is 0.',
  ok: '{ groupBy: null, rows: [], total: { opening, new, increased, decreased, won, lost, closing, openingCount, newCount, wonCount, lostCount, closingCount } }',
  query: {
    from: { kind: 'day', presence: 'required', description: 'F: the movement starts at 00:00 UTC of this day' },
    to: { kind: 'day', presence: 'required', description: 'T: the movement ends at 00:00 UTC of this day (not before from)' },
  },
  // Both days are required, so the window has both ends.
  answer: (source, _query, window) => pipelineMovementReport(source, window as { from: number; to: number }),
}).csv('key', 'opening', 'new', 'increased', 'decreased', 'won', 'lost', 'closing', 'openingCount', 'newCount', 'wonCount', 'lostCount', 'closingCount');

export const stageDuration = reportRoute({
  path: 'stage-duration',
  role: 'analyst',
  summary: 'How long opportunities stayed in each stage: the stays that ended (business time) in the window',
  description:
    'A stay starts when an opportunity enters a stage (opened in it, or moved into it) and ends when it moves to another stage or closes. Per group (the stage of the stay, or the opportunity\'s owner now): count, and over the durations in seconds mean (1 decimal), median, p90 (nearest rank), min, max; null over no stays.',
  ok: '{ groupBy, rows: [{ key, count, mean, median, p90, min, max }], total }',
  query: { ...WINDOW, groupBy: groupBy('stage', 'ownerId') },
  answer: (source, query, window) => stageDurationReport(source, query.groupBy, window),
}).csv('key', ...STATS);

export const closeDatePushes = reportRoute({
  path: 'close-date-pushes',
  role: 'analyst',
  summary: "Changes of an open opportunity's close date to a later date, made (business time) in the window",
  description:
    'Per group (the owner now, the stage at the push, or the month of the push): pushes, opportunities (distinct opportunities pushed, once per row; the total counts each once), daysPushed (sum of the days each push moved the date).',
  ok: '{ groupBy, rows: [{ key, pushes, opportunities, daysPushed }], total }',
  query: { ...WINDOW, groupBy: groupBy('ownerId', 'stage', 'month') },
  answer: (source, query, window) => closeDatePushesReport(source, query.groupBy, window),
}).csv('key', 'pushes', 'opportunities', 'daysPushed');
