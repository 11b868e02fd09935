export * from './calendar';
export * from './buckets';
export * from './value-histogram';
export * from './lead-reports.projection';
export * from './opportunity-reports.projection';
export * from './opportunity-history.projection';

import { leadReportsProjection } from './lead-reports.projection';
import { opportunityReportsProjection } from './opportunity-reports.projection';
import { opportunityHistoryProjection } from './opportunity-history.projection';

export const REPORT_PROJECTIONS = [leadReportsProjection, opportunityReportsProjection, opportunityHistoryProjection];
