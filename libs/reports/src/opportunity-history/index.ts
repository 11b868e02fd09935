import type { ReportFolder } from '../shared/report-route';
import { opportunityHistoryProjection } from './opportunity-history.projection';
import { closeDatePushes, pipelineMovement, stageDuration } from './routes';

export * from './opportunity-history.projection';
export * from './opportunity-history.queries';

/** The opportunity-history view (every change to the open pipeline by business time, stays, pushes) and the reports that read it; the pipeline's `asOf` reads it too. */
export const opportunityHistory: ReportFolder = { name: 'opportunity-history', projections: [opportunityHistoryProjection], routes: [pipelineMovement, stageDuration, closeDatePushes] };
