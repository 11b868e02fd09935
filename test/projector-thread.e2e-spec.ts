import { Projector, SqliteReadStore } from '@crm/read-models';
import type { Worker } from 'node:worker_threads';
import { ProjectorThread } from '@crm/runtime/projector-thread';
import { removeDataDir, startTestApp, TestApp } from './support/test-app';

/** On the embedded default the projector runs on a worker thread of its own; the request thread only reads. */
describe('Projector thread (embedded default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The embedded default whatever backend the other suites run on.
    t = await startTestApp(undefined, { eventStoreUrl: undefined, mongodbUrl: undefined });
  });
  afterAll(async () => {
    await t.close();
    removeDataDir(t.dataDir);
  });

  it('applies the read models off the request thread: reads with minPosition see each capture, and this thread commits no read-model write', async () => {
    expect(t.app.get(Projector)).toBeInstanceOf(ProjectorThread);
    const commits = jest.spyOn(SqliteReadStore.prototype, 'commit');
    try {
      for (let n = 0; n < 5; n++) {
        const { id, position } = (await t.http().post('/leads').send({ lastName: `Thread ${n}`, company: 'Workers' }).expect(201)).body;
        const lead = await t.http().get(`/leads/${id}`).query({ minPosition: position });
        expect([lead.status, lead.body.lastName]).toEqual([200, `Thread ${n}`]);
      }
      expect(commits).not.toHaveBeenCalled();
    } finally {
      commits.mockRestore();
    }
    const head = String(await t.store.headPosition());
    for (const projection of (await t.http().get('/projections')).body) expect(projection).toMatchObject({ position: head, status: 'live', lag: 0 });
  });

  it('starts the thread again when it dies, and the read models go on', async () => {
    const thread = (t.app.get(Projector) as unknown as { thread: Worker }).thread;
    await thread.terminate();
    const failed = (await t.http().get('/projections')).body as { status: string; lastError?: string }[];
    expect(failed.every((p) => p.status === 'failed' && /projector thread stopped/.test(p.lastError ?? ''))).toBe(true);
    const { id, position } = (await t.http().post('/leads').send({ lastName: 'After', company: 'Restart' }).expect(201)).body;
    // Waits (up to 5 s, then 503) until the restarted thread has applied it.
    const lead = await t.http().get(`/leads/${id}`).query({ minPosition: position });
    expect([lead.status, lead.body.lastName]).toEqual([200, 'After']);
  });
});
