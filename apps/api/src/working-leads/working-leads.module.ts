import { Module } from '@nestjs/common';
import { ActivitiesController, RecordActivitiesController } from './activities.controller';
import { AssignmentRouting } from './assignment-routing';
import { Configuration } from './configuration';
import { AssignmentRulesController, ScoringModelController } from './configuration.controller';
import { TasksController } from './tasks.controller';
import { WorkingLeadsQueries } from './working-leads.queries';

/** Working leads: activities, tasks, assignment rules and the scoring model (API.md v2, "Working leads"). */
@Module({
  controllers: [ActivitiesController, RecordActivitiesController, TasksController, AssignmentRulesController, ScoringModelController],
  providers: [Configuration, AssignmentRouting, WorkingLeadsQueries],
  exports: [AssignmentRouting, WorkingLeadsQueries],
})
export class WorkingLeadsModule {}
