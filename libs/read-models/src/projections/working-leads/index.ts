import { activitiesProjection } from './activities.projection';
import { leadScoresProjection } from './lead-scores.projection';
import { tasksProjection } from './tasks.projection';

export * from './activities.projection';
export * from './lead-scores.projection';
export * from './tasks.projection';

/** The read models of working leads: activity lists, tasks, lead scores. */
export const WORKING_LEADS_PROJECTIONS = [activitiesProjection, tasksProjection, leadScoresProjection];
