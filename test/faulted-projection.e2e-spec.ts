import { tasksProjection } from '@crm/read-models';
import request from 'supertest';
import { newDataDir, removeDataDir, startTestApp, TestApp, useTestApp } from './support/test-app';

/**
 * API.md v2, Operations: a projection that cannot apply an event is `faulted` (position, event
 * type, message on GET /projections), the others go on serving fresh reads, readiness says so,
 * and POST /projections/:name/retry tries it again.
 */
describe('A faulted projection beside live ones', () => {
  // Faulted at the first failure, so that the test needs no backoff to run out; the projector on
  // the request thread, where the failure is injected into the real projection.
  const t = useTestApp({ projectionFaultAfterFailures: 1, projectorThread: false });
  const health = (path: string) => request(t.app.getHttpServer()).get(path);

  async function statusOf(name: string) {
    const rows = (await t.http().get('/projections').expect(200)).body as { name: string; status: string; error?: object; position: string }[];
    return rows.find((row) => row.name === name)!;
  }

  it('faults only that projection, keeps the others live and fresh, says so on /health/ready, and resumes it on retry', async () => {
    const lead = await t.http().post('/leads').send({ lastName: 'Fault', company: 'Tolerant' }).expect(201);
    // The tasks projection's handler throws on this one task: failure injection in the real projection, not a stand-in.
    const apply = tasksProjection.apply;
    const spy = jest.spyOn(tasksProjection, 'apply').mockImplementation((event, docs) => {
      if (event.type === 'TaskOpened' && event.data.subject === 'cannot be projected') throw new Error('the tasks projection cannot apply this task');
      apply(event, docs);
    });
    let failing: request.Response;
    try {
      failing = await t.http().post('/tasks').send({ subject: 'cannot be projected', dueDate: '2026-06-01', ownerId: 'rep-1', relatedTo: { type: 'lead', id: lead.body.id } }).expect(201);
      let tasks = await statusOf('tasks');
      for (let i = 0; i < 100 && tasks.status !== 'faulted'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        tasks = await statusOf('tasks');
      }
      expect(tasks).toMatchObject({ status: 'faulted', error: { position: failing.body.position, eventType: 'TaskOpened', message: 'the tasks projection cannot apply this task' } });

      // The others go on: a later capture is read back at its position (read-your-writes does not wait for the faulted one).
      const later = await t.http().post('/leads').send({ lastName: 'Still', company: 'Served' }).expect(201);
      await t.http().get(`/leads/${later.body.id}`).query({ minPosition: later.body.position }).expect(200);
      expect(await statusOf('leads')).toMatchObject({ status: 'live', position: later.body.position });
      expect(await statusOf('activities')).toMatchObject({ status: 'live' });

      const ready = await health('/health/ready').expect(503);
      expect(ready.body.checks.projections.faulted).toEqual([{ name: 'tasks', status: 'faulted' }]);
      await health('/health/live').expect(200);

      // An API process that does not run the projector (PROJECTOR=external) says so too: the fault is kept in the read store.
      const reader = await startTestApp(t.dataDir, { projector: 'external' });
      try {
        const rows = (await reader.http().get('/projections').expect(200)).body as { name: string; status: string; error?: object }[];
        expect(rows.find((row) => row.name === 'tasks')).toMatchObject({ status: 'faulted', error: { position: failing.body.position, eventType: 'TaskOpened', message: 'the tasks projection cannot apply this task' } });
        expect(rows.find((row) => row.name === 'leads')).toMatchObject({ status: 'external' });
        const readyThere = await request(reader.app.getHttpServer()).get('/health/ready').expect(503);
        expect(readyThere.body.checks.projections.faulted).toEqual([{ name: 'tasks', status: 'faulted' }]);
      } finally {
        await reader.close();
      }

      // Only a faulted projection is retried; an unknown one is 404.
      await t.http().post('/projections/leads/retry').expect(409);
      await t.http().post('/projections/nope/retry').expect(404);
    } finally {
      spy.mockRestore(); // the fix is deployed
    }

    expect((await t.http().post('/projections/tasks/retry').expect(202)).body).toEqual({ name: 'tasks', status: 'retrying' });
    let tasks = await statusOf('tasks');
    for (let i = 0; i < 100 && tasks.status !== 'live'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      tasks = await statusOf('tasks');
    }
    expect(tasks.status).toBe('live');
    expect(tasks.error).toBeUndefined();
    await t.http().get(`/tasks/${failing.body.id}`).expect(200);
    await health('/health/ready').expect(200);
  });
});

describe('A faulted projection after a restart', () => {
  it('stays faulted (a restart is no fix) with its error, the others live, until POST /projections/:name/retry', async () => {
    const dataDir = newDataDir();
    const options = { projectionFaultAfterFailures: 1, projectorThread: false };
    const apply = tasksProjection.apply;
    const spy = jest.spyOn(tasksProjection, 'apply').mockImplementation((event, docs) => {
      if (event.type === 'TaskOpened' && event.data.subject === 'cannot be projected') throw new Error('the tasks projection cannot apply this task');
      apply(event, docs);
    });
    const tasksRow = async (t: TestApp) => ((await t.http().get('/projections').expect(200)).body as { name: string; status: string; error?: object }[]).find((row) => row.name === 'tasks')!;
    try {
      let failing: request.Response;
      const first = await startTestApp(dataDir, options);
      try {
        const lead = await first.http().post('/leads').send({ lastName: 'Fault', company: 'Restarted' }).expect(201);
        failing = await first.http().post('/tasks').send({ subject: 'cannot be projected', dueDate: '2026-06-01', ownerId: 'rep-1', relatedTo: { type: 'lead', id: lead.body.id } }).expect(201);
        let row = await tasksRow(first);
        for (let i = 0; i < 100 && row.status !== 'faulted'; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          row = await tasksRow(first);
        }
        expect(row.status).toBe('faulted');
      } finally {
        await first.close();
      }

      const applied = spy.mock.calls.length;
      const second = await startTestApp(dataDir, options);
      try {
        const later = await second.http().post('/leads').send({ lastName: 'After', company: 'Restart' }).expect(201);
        await second.http().get(`/leads/${later.body.id}`).query({ minPosition: later.body.position }).expect(200);
        expect(await tasksRow(second)).toMatchObject({ status: 'faulted', error: { position: failing.body.position, eventType: 'TaskOpened', message: 'the tasks projection cannot apply this task' } });
        expect(spy.mock.calls.length).toBe(applied); // not tried again by the restart
        await request(second.app.getHttpServer()).get('/health/ready').expect(503);

        spy.mockRestore(); // the fix is deployed
        await second.http().post('/projections/tasks/retry').expect(202);
        let row = await tasksRow(second);
        for (let i = 0; i < 100 && row.status !== 'live'; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          row = await tasksRow(second);
        }
        expect(row.status).toBe('live');
        await second.http().get(`/tasks/${failing.body.id}`).expect(200);
        await request(second.app.getHttpServer()).get('/health/ready').expect(200);
      } finally {
        await second.close();
      }
    } finally {
      spy.mockRestore();
      removeDataDir(dataDir);
    }
  });
});
