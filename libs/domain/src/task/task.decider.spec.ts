import { AggregateAlreadyExists, AggregateNotFound } from '../shared/domain-error';
import { RelatedLeadIsClosed } from '../activity/related-record';
import { given } from '../testing/given';
import { OpenTask, TaskAlreadyCompleted, taskDecider, TaskEvent } from './task.decider';

const taskId = 'task-1';
const at = '2026-02-01T10:00:00.000Z';
const open = (overrides: Partial<OpenTask> = {}): OpenTask => ({
  type: 'OpenTask',
  taskId,
  occurredAt: at,
  relatedTo: { type: 'lead', id: 'lead-1' },
  details: { subject: 'Send pricing', dueDate: '2026-02-03', ownerId: 'rep-1' },
  related: { exists: true },
  ...overrides,
});
const opened: TaskEvent = {
  type: 'TaskOpened',
  data: { taskId, relatedTo: { type: 'lead', id: 'lead-1' }, subject: 'Send pricing', dueDate: '2026-02-03', ownerId: 'rep-1' },
};
const completed: TaskEvent = { type: 'TaskCompleted', data: { taskId, outcome: 'Sent' } };

describe('task decider', () => {
  it('opens a task with a due date and an owner', () => {
    given(taskDecider).when(open()).then([opened]);
  });

  it('refuses a related record that does not exist', () => {
    given(taskDecider).when(open({ related: { exists: false } })).thenRefuses(AggregateNotFound, { field: 'relatedTo.id' });
  });

  it('refuses a merged lead', () => {
    given(taskDecider)
      .when(open({ related: { exists: true, closedLead: { status: 'Merged', becameId: 'lead-2' } } }))
      .thenRefuses(RelatedLeadIsClosed);
  });

  it('refuses opening the same task twice', () => {
    given(taskDecider, [opened]).when(open()).thenRefuses(AggregateAlreadyExists);
  });

  it('completes an open task, with its outcome', () => {
    given(taskDecider, [opened]).when({ type: 'CompleteTask', taskId, occurredAt: at, outcome: 'Sent' }).then([completed]);
  });

  it('completing is final: a completed task refuses another completion', () => {
    given(taskDecider, [opened, completed]).when({ type: 'CompleteTask', taskId, occurredAt: at }).thenRefuses(TaskAlreadyCompleted);
  });

  it('refuses completing a task that does not exist', () => {
    given(taskDecider).when({ type: 'CompleteTask', taskId, occurredAt: at }).thenRefuses(AggregateNotFound, { aggregate: 'Task' });
  });

  it('is Completed with its completion time and outcome', () => {
    const { state } = given(taskDecider, [opened, { ...completed, occurredAt: '2026-02-02T09:00:00.000Z' }]);
    expect(state).toMatchObject({ status: 'Completed', completedAt: '2026-02-02T09:00:00.000Z', outcome: 'Sent' });
  });
});
