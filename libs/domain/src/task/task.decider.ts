import { AggregateAlreadyExists, AggregateNotFound, DomainError } from '../shared/domain-error';
import type { Decider, DomainEvent, Occurred } from '../shared/decider';
import { withMembers, withoutUndefined } from '../shared/record-fields';
import { assertRelatedRecordOpen } from '../activity/activity.decider';
import type { RelatedRecordFacts, RelatedTo } from '../activity/related-record';

export const TASK_STATUSES = ['Open', 'Completed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface TaskDetails {
  subject: string;
  /** A calendar date, YYYY-MM-DD. */
  dueDate: string;
  ownerId: string;
  description?: string;
}

export interface Task extends TaskDetails {
  id: string;
  relatedTo: RelatedTo;
  status: TaskStatus;
  openedAt: string;
  completedAt?: string;
  outcome?: string;
}

export type TaskOpened = DomainEvent<'TaskOpened', { taskId: string; relatedTo: RelatedTo } & TaskDetails>;
export type TaskCompleted = DomainEvent<'TaskCompleted', { taskId: string; outcome?: string }>;
export type TaskEvent = TaskOpened | TaskCompleted;

export interface OpenTask {
  type: 'OpenTask';
  taskId: string;
  occurredAt: string;
  relatedTo: RelatedTo;
  details: TaskDetails;
  /** Filled in by the handler. */
  related: RelatedRecordFacts;
}
export interface CompleteTask {
  type: 'CompleteTask';
  taskId: string;
  occurredAt: string;
  outcome?: string;
}
export type TaskCommand = OpenTask | CompleteTask;

export type TaskState = Task | null;

/** Completing a task is final: a completed task takes no command. */
export class TaskAlreadyCompleted extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'task-completed';
  constructor(taskId: string, completedAt: string) {
    super(`Task ${taskId} was completed at ${completedAt}; a completed task is final`);
  }
}

function evolve(state: TaskState, event: Occurred<TaskEvent>): TaskState {
  switch (event.type) {
    case 'TaskOpened': {
      const { taskId, ...fields } = event.data;
      return withMembers(fields, { id: taskId, status: 'Open', openedAt: event.occurredAt } as const);
    }
    case 'TaskCompleted':
      return state && withoutUndefined({ ...state, status: 'Completed' as const, completedAt: event.occurredAt, outcome: event.data.outcome });
  }
}

function decide(command: TaskCommand, state: TaskState): TaskEvent[] {
  switch (command.type) {
    case 'OpenTask': {
      if (state) throw new AggregateAlreadyExists('Task', command.taskId);
      assertRelatedRecordOpen(command.relatedTo, command.related);
      return [{ type: 'TaskOpened', data: withoutUndefined({ taskId: command.taskId, relatedTo: command.relatedTo, ...command.details }) }];
    }
    case 'CompleteTask': {
      if (!state) throw new AggregateNotFound('Task', command.taskId);
      if (state.status === 'Completed') throw new TaskAlreadyCompleted(state.id, state.completedAt!);
      return [{ type: 'TaskCompleted', data: withoutUndefined({ taskId: state.id, outcome: command.outcome }) }];
    }
  }
}

export const taskDecider: Decider<TaskCommand, TaskEvent, TaskState> = { initialState: null, evolve, decide };
