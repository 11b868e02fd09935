export * from './calendar';
export * from './buckets';
export * from '../lead-reports/lead-reports.projection';
export * from '../opportunity-reports/opportunity-reports.projection';
export * from '../opportunity-history/opportunity-history.projection';

import { leadReportsProjection } from '../lead-reports/lead-reports.projection';
import { opportunityReportsProjection } from '../opportunity-reports/opportunity-reports.projection';
import { opportunityHistoryProjection } from '../opportunity-history/opportunity-history.projection';

export const REPORT_PROJECTIONS = [leadReportsProjection, opportunityReportsProjection, opportunityHistoryProjection];
