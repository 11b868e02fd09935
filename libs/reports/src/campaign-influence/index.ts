import type { ReportFolder } from '../shared/report-route';
import { campaignInfluence } from './routes';

export * from './campaign-influence.query';

/**
 * Campaign influence reads the campaigns read model (libs/read-models/src/projections/campaigns),
 * which also serves /campaigns and /leads?campaignId=, so it is kept with the records, not here.
 */
export const campaignInfluenceReports: ReportFolder = { name: 'campaign-influence', projections: [], routes: [campaignInfluence] };
