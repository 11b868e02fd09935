import { groupBy, reportRoute, STATS, WINDOW } from '../shared/report-route';
import { conversionRateReport, speedToLeadReport, timeToConversionReport } from './lead-reports.queries';

export const conversionRate = reportRoute({
  path: 'conversion-rate',
  role: 'analyst',
  summary: 'Conversion rate of the cohort of leads captured (business time) in the window',
  description:
    'Per group: captured, qualified (ever reached Qualified), converted (by now, whenever), convertedWithOpportunity, conversionRate = converted / captured, leadToOpportunityRate = convertedWithOpportunity / qualified (4 decimals, 0 when dividing by 0). Groups by the lead\'s current source or owner (no owner: key null, first), or month of capture. Merged leads count nowhere.',
  ok: '{ groupBy, rows: [{ key, ... }], total: { ... } }, rows sorted by key',
  query: { ...WINDOW, groupBy: groupBy('source', 'ownerId', 'month') },
  answer: (source, query, window) => conversionRateReport(source, query.groupBy, window),
}).csv('key', 'captured', 'qualified', 'converted', 'convertedWithOpportunity', 'conversionRate', 'leadToOpportunityRate');

export const timeToConversion = reportRoute({
  path: 'time-to-conversion',
  role: 'analyst',
  summary: 'Time from capture to conversion of the leads converted (business time) in the window',
  description:
    'Per group: count, and over convertedAt − capturedAt in seconds: mean (1 decimal), median, p90 (nearest rank: element ceil(p × count) of the sorted values), min, max; null when there is no conversion. month is the month of conversion.',
  ok: '{ groupBy, rows: [{ key, count, mean, median, p90, min, max }], total }',
  query: { ...WINDOW, groupBy: groupBy('source', 'ownerId', 'month') },
  answer: (source, query, window) => timeToConversionReport(source, query.groupBy, window),
}).csv('key', ...STATS);

export const speedToLead = reportRoute({
  path: 'speed-to-lead',
  role: 'analyst',
  summary: 'How soon the leads captured (business time) in the window were first touched',
  description:
    'A first touch is the earliest of the first event that takes the lead out of New (worked, qualified, disqualified, converted) and the first Call, Email or Meeting activity logged on it. Per group (current source or owner, or month of capture): captured, touched (by now), untouched, median and p90 (nearest rank) of first touch − capture in seconds over the touched leads (null when none), within5Minutes (touched within 300 s), within5MinutesRate = within5Minutes / captured (4 decimals, 0 when none). Merged leads count nowhere.',
  ok: '{ groupBy, rows: [{ key, captured, touched, untouched, median, p90, within5Minutes, within5MinutesRate }], total }',
  query: { ...WINDOW, groupBy: groupBy('source', 'ownerId', 'month') },
  answer: (source, query, window) => speedToLeadReport(source, query.groupBy, window),
}).csv('key', 'captured', 'touched', 'untouched', 'median', 'p90', 'within5Minutes', 'within5MinutesRate');
