import type { ReportFolder } from '../shared/report-route';
import { opportunityReportsProjection } from './opportunity-reports.projection';
import { pipeline, sourceRevenue } from './routes';

export * from './opportunity-reports.projection';
export * from './opportunity-reports.queries';

/** The opportunity-reports view (the open pipeline by close date, closed deals) and the reports that read it. */
export const opportunityReports: ReportFolder = { name: 'opportunity-reports', projections: [opportunityReportsProjection], routes: [pipeline, sourceRevenue] };
