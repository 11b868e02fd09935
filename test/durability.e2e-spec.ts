import { EventLogWriterThread, PersonalDataProtectingEventStore, SqliteEventStore } from '@crm/event-store';
import { embeddedDatabaseFile } from '@crm/runtime/event-store.module';
import { EMBEDDED_BACKEND } from './support/backend';
import { startServiceProcess } from './support/service-process';
import { newDataDir, PROBLEM_JSON, removeDataDir, startTestApp } from './support/test-app';

const KEY = 'durability-key-0123456789abcdef0123456789';
const KEYS = `durability:${KEY}=admin,writer,reader`;
const headers = { 'content-type': 'application/json', Authorization: `Bearer ${KEY}` };

/**
 * The embedded default commits on its writer thread with `synchronous=FULL`: a 201 is an append
 * that is on disk. The service is killed (SIGKILL: no shutdown, no flush) while captures are
 * under way, and every lead it acknowledged is there when it starts again.
 */
describe('Durability of acknowledged writes (embedded default)', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = newDataDir();
  });
  afterEach(() => removeDataDir(dataDir));

  it('keeps every acknowledged lead when the service is SIGKILLed in the middle of captures', async () => {
    const service = await startServiceProcess({ DATA_DIR: dataDir, API_KEYS: KEYS });
    const acknowledged: { id: string; position: string }[] = [];
    let killed = false;
    // 20 clients capturing as fast as they can until the process is gone.
    const clients = Array.from({ length: 20 }, async (_, client) => {
      for (let i = 0; ; i++) {
        try {
          const res = await fetch(`${service.base}/leads`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ lastName: `Client ${client}`, company: `Request ${i}`, email: `c${client}.r${i}@example.com` }),
          });
          const body = (await res.json()) as { id: string; position: string };
          if (res.status === 201) acknowledged.push(body);
          else throw new Error(`capture answered ${res.status}`);
        } catch (error) {
          // Once it is killed, a request on its way is never answered: its outcome is unknown, and not counted.
          if (killed) return;
          throw error;
        }
      }
    });
    while (acknowledged.length < 300) await new Promise((resolve) => setTimeout(resolve, 5));
    killed = true;
    service.child.kill('SIGKILL');
    const [, signal] = await service.exited;
    await Promise.all(clients);
    expect(signal).toBe('SIGKILL');

    // In the log, read straight from the file the killed process wrote.
    const store = SqliteEventStore.open(embeddedDatabaseFile(dataDir));
    try {
      const captured = new Set((await store.readAll({ maxCount: 1_000_000 })).filter((e) => e.type === 'LeadCaptured').map((e) => e.streamId));
      expect(acknowledged.filter(({ id }) => !captured.has(`lead-${id}`))).toEqual([]);
    } finally {
      await store.close();
    }

    // And through the restarted service: each one readable once its read models have caught up with it.
    const restarted = await startServiceProcess({ DATA_DIR: dataDir, API_KEYS: KEYS });
    try {
      const newest = acknowledged.reduce((max, { position }) => (BigInt(position) > max ? BigInt(position) : max), 0n);
      const missing: string[] = [];
      for (const { id } of acknowledged) {
        const res = await fetch(`${restarted.base}/leads/${id}?minPosition=${newest}`, { headers });
        if (res.status !== 200) missing.push(`${id}: ${res.status}`);
      }
      expect(missing).toEqual([]);
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
    }
  });

  it('answers 503 while its writer thread is dead, and takes captures again once a new one is up, keeping what was acknowledged', async () => {
    const t = await startTestApp(dataDir, EMBEDDED_BACKEND);
    try {
      const capture = (n: number) => t.http().post('/leads').send({ lastName: `Writer ${n}`, company: 'Restarted', email: `writer-${n}@example.com` });
      const before = (await capture(1).expect(201)).body;
      // The thread beneath the app's store, ended as a native crash would end it.
      const writer = ((t.store as PersonalDataProtectingEventStore).stored as unknown as { writer: EventLogWriterThread }).writer;
      await writer.thread.terminate();
      const refused = await capture(2);
      expect(refused.status).toBe(503);
      expect(refused.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body).toMatchObject({ type: '/problems/event-store-unavailable' });
      expect((await t.http().get('/health/ready')).status).toBe(503);
      // As a client does on 503: again after Retry-After, until a new writer thread takes it.
      let after;
      for (let tries = 0; (after = await capture(2)).status === 503 && tries < 40; tries++) await new Promise((resolve) => setTimeout(resolve, 250));
      expect(after.status).toBe(201);
      expect((await t.http().get('/health/ready')).status).toBe(200);
      for (const { id, position } of [before, after.body]) await t.http().get(`/leads/${id}`).query({ minPosition: position }).expect(200);
    } finally {
      await t.close();
    }
  });
});
