import { groupBy, reportRoute, WINDOW } from '../shared/report-route';
import { campaignInfluenceReport } from './campaign-influence.query';

export const campaignInfluence = reportRoute({
  path: 'campaign-influence',
  role: 'analyst',
  summary: 'Leads captured (business time) in the window, by their primary campaign, with what they became',
  description:
    'Per campaign (key: campaign id; null for leads without one): leads (captured in the window whose primary campaign it is), converted, opportunities (opened by those conversions), ' +
    'wonAmount (of those opportunities, closed won whenever), costPerLead = budget / leads (money, null without a budget). A lead\'s primary campaign is the last campaign it responded to at or before its conversion ' +
    '(by now when not converted; business time; campaignId at capture is a response at capture; of two responses at one instant the one recorded later). Merged leads count nowhere. ' +
    'The total\'s costPerLead is the budgets of the rows\' campaigns that have one over those campaigns\' leads.',
  ok: '{ groupBy, rows: [{ key, leads, converted, opportunities, wonAmount, costPerLead }], total }',
  query: { ...WINDOW, groupBy: groupBy('campaign') },
  answer: (source, query, window) => campaignInfluenceReport(source, query.groupBy, window),
}).csv('key', 'leads', 'converted', 'opportunities', 'wonAmount', 'costPerLead');
