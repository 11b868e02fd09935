import { READ_MODELS, STREAM_PREFIXES, taskDecider } from '@crm/domain';
import { recordProjection } from '../record.projection';

const DAY_MS = 86_400_000;

/** Tasks listed soonest due first: the sort key falls as the due date grows (days since 1970, negated). */
export const taskSortKey = (dueDate: string): number => -Math.floor(Date.parse(`${dueDate}T00:00:00.000Z`) / DAY_MS);

export const tasksProjection = recordProjection({
  readModel: READ_MODELS.tasks,
  streamPrefix: STREAM_PREFIXES.task,
  decider: taskDecider,
  events: { TaskOpened: true, TaskCompleted: true },
  filters: ['ownerId', 'status'],
  derived: { _relatedId: (task) => task.relatedTo.id },
  sortKey: (task) => taskSortKey(task.dueDate),
});
