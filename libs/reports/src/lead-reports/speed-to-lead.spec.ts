import type { RecordedEvent } from '@crm/event-store';
import { projectBatch, SqliteReadStore } from '@crm/read-models';
import { leadReportsProjection } from './lead-reports.projection';
import { speedToLeadReport } from './lead-reports.queries';

/**
 * Activities are built on another branch; this spec feeds the lead-reports projection the
 * `ActivityLogged` events that branch will append (a Call, Email or Meeting on a lead is a touch,
 * a Note or an activity on another record is not), straight through the projector's batch step.
 */
describe('Speed to lead from activities', () => {
  let store: SqliteReadStore;
  let position = 0n;
  const source = () => ({ store, versionOf: async () => 1 });
  const event = (streamId: string, type: string, data: object, occurredAt: string): RecordedEvent => ({
    id: `e${++position}`,
    streamId,
    revision: 0,
    position,
    type,
    data: data as Record<string, unknown>,
    metadata: { occurredAt, actorId: 'spec', correlationId: 'c', causationId: 'c' } as RecordedEvent['metadata'],
    recordedAt: occurredAt,
  });
  const activity = (kind: string, relatedTo: object, occurredAt: string) => event(`activity-${position + 1n}`, 'ActivityLogged', { kind, subject: 's', relatedTo }, occurredAt);
  async function project(...events: RecordedEvent[]) {
    await store.commit('spec', await projectBatch(store, [{ projection: leadReportsProjection, version: 1, after: 0n }], events), []);
  }

  beforeEach(async () => {
    store = SqliteReadStore.open(':memory:');
    for (const spec of leadReportsProjection.collections) await store.ensureCollection(spec, 1);
    await store.acquireLease('spec', 60_000);
  });
  afterEach(() => store.close());

  it('takes the earliest of the first Call, Email or Meeting on the lead and the first move out of New, also when the activity is recorded later', async () => {
    await project(
      event('lead-a', 'LeadCaptured', { leadId: 'a', source: 'Web', lastName: 'L', company: 'C' }, '2025-01-01T10:00:00.000Z'),
      activity('Note', { type: 'lead', id: 'a' }, '2025-01-01T10:00:30.000Z'), // a note is no touch
      activity('Call', { type: 'account', id: 'a' }, '2025-01-01T10:00:40.000Z'), // another record
      event('lead-a', 'LeadStatusChanged', { leadId: 'a', status: 'Working' }, '2025-01-01T11:00:00.000Z'),
    );
    expect((await speedToLeadReport(source(), 'source', {})).total).toEqual({
      captured: 1, touched: 1, untouched: 0, median: 3600, p90: 3600, within5Minutes: 0, within5MinutesRate: 0,
    });
    // A call logged afterwards with an earlier business time (back-filled) is the first touch now.
    await project(activity('Call', { type: 'lead', id: 'a' }, '2025-01-01T10:02:00.000Z'));
    expect((await speedToLeadReport(source(), 'source', {})).rows).toEqual([
      { key: 'Web', captured: 1, touched: 1, untouched: 0, median: 120, p90: 120, within5Minutes: 1, within5MinutesRate: 1 },
    ]);
    // A later meeting changes nothing; an email on an untouched lead touches it.
    await project(
      activity('Meeting', { type: 'lead', id: 'a' }, '2025-01-02T00:00:00.000Z'),
      event('lead-b', 'LeadCaptured', { leadId: 'b', source: 'Web', lastName: 'L', company: 'C' }, '2025-01-03T00:00:00.000Z'),
      activity('Email', { type: 'lead', id: 'b' }, '2025-01-03T00:10:00.000Z'),
    );
    expect((await speedToLeadReport(source(), 'month', {})).total).toEqual({
      captured: 2, touched: 2, untouched: 0, median: 120, p90: 600, within5Minutes: 1, within5MinutesRate: 0.5,
    });
  });
});
