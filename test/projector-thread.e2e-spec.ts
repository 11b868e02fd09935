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

  it('sends the thread the plaintext of each capture, and /metrics counts how the thread revealed each one', async () => {
    const revealedByThread = async () => {
      const text = (await t.http().get('/metrics').expect(200)).text;
      const count = (how: string) => Number(new RegExp(`^crm_personal_data_revealed_events\\{thread="projector",how="${how}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
      return { plaintext: count('plaintext'), decrypted: count('decrypted') };
    };
    const before = await revealedByThread();
    const thread = (t.app.get(Projector) as unknown as { thread: Worker }).thread;
    const posted = jest.spyOn(thread, 'postMessage');
    const captured: { id: string; position: string }[] = [];
    const readAfterMs: number[] = [];
    try {
      for (let n = 0; n < 10; n++) {
        const lead = (await t.http().post('/leads').send({ lastName: `Plain ${n}`, email: `plain-${n}@example.com`, company: 'Handoff' }).expect(201)).body;
        captured.push(lead);
        const asked = performance.now();
        await t.http().get(`/leads/${lead.id}`).query({ minPosition: lead.position }).expect(200);
        readAfterMs.push(Math.round(performance.now() - asked));
      }
      // Each read that waits tells the thread to read the log now, not at its next look at the file (printed, not asserted).
      console.log(`Projector thread: each capture read back with minPosition in ${readAfterMs.join(', ')} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const sent = posted.mock.calls.flatMap(([message]) => ((message as { kind: string }).kind === 'plaintext' ? (message as { plaintexts: [string, string, string][] }).plaintexts : []));
      expect(sent.map(([, streamId]) => streamId)).toEqual(captured.map(({ id }) => `lead-${id}`));
      expect(sent.map(([, , values]) => JSON.parse(values))).toEqual(captured.map((_, n) => expect.arrayContaining([`Plain ${n}`, `plain-${n}@example.com`])));
    } finally {
      posted.mockRestore();
    }
    const after = await revealedByThread();
    // Each capture revealed once by the thread, from its plaintext or (arrived late) decrypted. A lone capture's plaintext
    // is sent at once: the thread has it before it reads the event.
    expect(after.plaintext - before.plaintext + (after.decrypted - before.decrypted)).toBe(10);
    expect(after.plaintext - before.plaintext).toBeGreaterThan(0);
    console.log(`Projector thread, 10 captures one after another: ${after.plaintext - before.plaintext} revealed from plaintext, ${after.decrypted - before.decrypted} decrypted`);
  });

  it('is told to read the log now by a read that waits for a position, never by captures alone', async () => {
    const thread = (t.app.get(Projector) as unknown as { thread: Worker }).thread;
    const posted = jest.spyOn(thread, 'postMessage');
    const readNowMessages = () => posted.mock.calls.filter(([message]) => (message as { kind: string }).kind === 'read-now').length;
    try {
      for (let n = 0; n < 5; n++) await t.http().post('/leads').send({ lastName: `Unread ${n}`, company: 'Quiet' }).expect(201);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(readNowMessages()).toBe(0);
      for (let n = 0; n < 5; n++) {
        const { id, position } = (await t.http().post('/leads').send({ lastName: `Read ${n}`, company: 'Awaited' }).expect(201)).body;
        await t.http().get(`/leads/${id}`).query({ minPosition: position }).expect(200);
      }
      // A read that finds its position projected already sends nothing; five in a row right after their capture do not.
      expect(readNowMessages()).toBeGreaterThan(0);
    } finally {
      posted.mockRestore();
    }
  });

  it('sends at most one read-now per 10 ms: reads waiting at once send one now and one once the spacing is up', async () => {
    const projector = t.app.get(Projector) as unknown as ProjectorThread;
    const thread = (projector as unknown as { thread: Worker }).thread;
    await new Promise((resolve) => setTimeout(resolve, 20)); // past the spacing of any earlier read-now
    const posted = jest.spyOn(thread, 'postMessage');
    const readNowMessages = () => posted.mock.calls.filter(([message]) => (message as { kind: string }).kind === 'read-now').length;
    try {
      // A position nobody has appended yet: every wait waits (and times out).
      const ahead = (await t.store.headPosition()) + 1_000n;
      const waits = Array.from({ length: 5 }, () => projector.waitFor(ahead, 50));
      expect(readNowMessages()).toBe(1);
      expect(await Promise.all(waits)).toEqual([false, false, false, false, false]);
      expect(readNowMessages()).toBe(2);
    } finally {
      posted.mockRestore();
    }
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
