import { campaignInfluenceReports } from './campaign-influence';
import { leadReports } from './lead-reports';
import { opportunityHistory } from './opportunity-history';
import { opportunityReports } from './opportunity-reports';
import type { ReportFolder } from './shared/report-route';

/**
 * Every report folder, each its projection(s), queries and routes. Adding a report is its folder
 * and one line here: the projection list (libs/runtime), the report routes (apps/api) and their
 * roles (apps/api/src/auth/route-roles.ts) are made from this list.
 */
export const REPORT_FOLDERS: readonly ReportFolder[] = [leadReports, opportunityReports, opportunityHistory, campaignInfluenceReports];

/** The report views the projector keeps (in the folders' order). */
export const REPORT_PROJECTIONS = REPORT_FOLDERS.flatMap((folder) => folder.projections);
/** Every `GET /reports/<path>` route. */
export const REPORT_ROUTES = REPORT_FOLDERS.flatMap((folder) => folder.routes);
