import type { ReportFolder } from '../shared/report-route';
import { leadReportsProjection } from './lead-reports.projection';
import { conversionRate, speedToLead, timeToConversion } from './routes';

export * from './lead-reports.projection';
export * from './lead-reports.queries';

/** The lead-reports view (cohorts by capture day, conversion times, first touches) and the reports that read it. */
export const leadReports: ReportFolder = { name: 'lead-reports', projections: [leadReportsProjection], routes: [conversionRate, timeToConversion, speedToLead] };
