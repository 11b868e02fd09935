export * from './calendar';
export * from './buckets';
export * from './lead-reports.projection';
export * from './opportunity-reports.projection';

import { leadReportsProjection } from './lead-reports.projection';
import { opportunityReportsProjection } from './opportunity-reports.projection';

export const REPORT_PROJECTIONS = [leadReportsProjection, opportunityReportsProjection];
