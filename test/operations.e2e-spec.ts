import { SqliteEventStore } from '@crm/event-store';
import { Projector, READ_STORE, ReadStore } from '@crm/read-models';
import Database from 'better-sqlite3';
import { embeddedDatabaseFile } from '@crm/runtime/event-store.module';
import { parseApiKeys } from '@crm/runtime/api-keys';
import { ProjectorThread } from '@crm/runtime/projector-thread';
import request from 'supertest';
import { captureLogs, newDataDir, removeDataDir, startTestApp, TestApp } from './support/test-app';
import { startServiceProcess } from './support/service-process';

const ADMIN_KEY = 'ops-admin-key-0123456789abcdef0123456789';
const WRITER_KEY = 'ops-writer-key-0123456789abcdef012345678';
const KEYS = `ops:${ADMIN_KEY}=admin,reader,auditor;capture-svc:${WRITER_KEY}=writer`;
const as = (key: string) => ({ Authorization: `Bearer ${key}` });

describe('Operations: logs, metrics and health', () => {
  let t: TestApp;
  const logs = captureLogs();
  beforeAll(async () => {
    t = await startTestApp(undefined, { apiKeys: parseApiKeys(KEYS, 'API_KEYS') }, { logDestination: logs });
  });
  afterAll(async () => {
    await t.close();
    removeDataDir(t.dataDir);
  });

  const person = { firstName: 'Margarethe', lastName: 'Zwiebelfisch', email: 'margarethe.zwiebelfisch@example.org', phone: '+49 30 5550199', title: 'Chief Onion Officer', description: 'met at the harvest fair, allergic to garlic' };

  it('writes one JSON line per request with method, route, status, duration, actor and correlation id, and no personal data anywhere', async () => {
    const captured = await t.http().post('/leads').set(as(WRITER_KEY)).set('X-Correlation-Id', 'corr-log-1').send({ ...person, company: 'Onions GmbH' }).expect(201);
    await t.http().patch(`/leads/${captured.body.id}`).set(as(WRITER_KEY)).send({ description: 'prefers leeks, call after 5pm' }).expect(200);
    await t.http().post('/leads').set(as(WRITER_KEY)).send({ ...person, email: 'not-an-email-Zwiebelfisch' }).expect(400);
    await t.http().get(`/leads?ownerId=${encodeURIComponent(person.email)}`).set(as(ADMIN_KEY)).expect(200);
    const lines = logs.lines.map((line) => JSON.parse(line));
    const requests = lines.filter((line) => line.context === 'HTTP');
    expect(requests).toContainEqual(
      expect.objectContaining({ level: 30, msg: 'request', method: 'POST', route: '/leads', status: 201, actorId: 'capture-svc', correlationId: 'corr-log-1', durationMs: expect.any(Number) }),
    );
    expect(requests).toContainEqual(expect.objectContaining({ method: 'PATCH', route: '/leads/:id', status: 200, actorId: 'capture-svc', correlationId: expect.any(String) }));
    expect(requests).toContainEqual(expect.objectContaining({ method: 'POST', route: '/leads', status: 400 }));
    const everything = logs.lines.join('\n');
    for (const value of [...Object.values(person), 'Zwiebelfisch', 'prefers leeks', 'margarethe', '5550199', WRITER_KEY, ADMIN_KEY]) expect(everything).not.toContain(value);
  });

  it('gives each request a correlation id, sent back as X-Correlation-Id and stored on its events', async () => {
    const res = await t.http().post('/leads').set(as(WRITER_KEY)).send({ lastName: 'Corr', company: 'Elation' }).expect(201);
    const correlationId = res.headers['x-correlation-id'];
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    const [event] = (await t.http().get(`/leads/${res.body.id}/history`).set(as(ADMIN_KEY))).body;
    expect(event.metadata.correlationId).toBe(correlationId);
  });

  it('serves Prometheus metrics to admins only: requests by route and status, commands, appends, projections and the process', async () => {
    await t.http().post('/leads').set(as(WRITER_KEY)).send({ lastName: 'Metric', company: 'Counted' }).expect(201);
    await t.http().post('/leads').set(as(WRITER_KEY)).send({ lastName: 'Metric', company: 'Counted' }).expect(201);
    await t.http().post('/leads').set(as(WRITER_KEY)).send({ company: 'No name' }).expect(400);
    await t.http().get('/metrics').set(as(WRITER_KEY)).expect(403);
    const res = await t.http().get('/metrics').set(as(ADMIN_KEY)).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(res.text)?.[1]);
    expect(value('crm_http_request_duration_seconds_count{method="POST",route="/leads",status="201"}')).toBeGreaterThanOrEqual(2);
    expect(value('crm_http_request_duration_seconds_count{method="POST",route="/leads",status="400"}')).toBeGreaterThanOrEqual(1);
    expect(value('crm_commands_total{command="CaptureLead",outcome="succeeded"}')).toBeGreaterThanOrEqual(2);
    expect(value('crm_event_store_append_duration_seconds_count{outcome="appended"}')).toBeGreaterThanOrEqual(2);
    const head = String(await t.store.headPosition());
    expect(String(value('crm_projection_position{projection="leads"}'))).toBe(head);
    expect(value('crm_projection_lag_events{projection="leads"}')).toBe(0);
    expect(value('crm_projection_status{projection="leads",status="live"}')).toBe(1);
    expect(value('crm_projection_events_applied{projection="leads"}')).toBeGreaterThanOrEqual(2);
    expect(res.text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(res.text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  /** Health is read without ?minPosition= (which would wait for the very projection that is stuck). */
  const health = (path: string) => request(t.app.getHttpServer()).get(path);

  it('answers /health/live always, and /health/ready 503 with the reason while a projection cannot apply, 200 again once it can', async () => {
    await health('/health/live').expect(200, { status: 'ok' });
    await health('/health/ready').expect(200);
    // A read store that fails every commit (a full disk, say): failure injection, not a stand-in.
    const commit = failReadStoreCommits(t);
    try {
      await t.http().post('/leads').set(as(WRITER_KEY)).send({ lastName: 'Stuck', company: 'Projection' }).expect(201);
      let ready = await health('/health/ready');
      for (let i = 0; i < 50 && ready.status === 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        ready = await health('/health/ready');
      }
      expect({ status: ready.status, body: ready.body }).toEqual({ status: 503, body: expect.anything() });
      expect(ready.body).toMatchObject({ type: '/problems/unhealthy', status: 503, detail: 'Failing: projections' });
      expect(ready.body.checks.projections.faulted).toContainEqual({ name: 'leads', status: 'failed' });
      // Health is open: the error itself is for admins, on /projections.
      expect(JSON.stringify(ready.body)).not.toContain('disk I/O error');
      const projections = (await request(t.app.getHttpServer()).get('/projections').set(as(ADMIN_KEY)).expect(200)).body;
      expect(projections).toContainEqual(expect.objectContaining({ name: 'leads', status: 'failed', lastError: expect.stringContaining('disk I/O error') }));
      await health('/health/live').expect(200);
    } finally {
      commit.mockRestore();
    }
    let ready = await health('/health/ready');
    for (let i = 0; i < 100 && ready.status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ready = await health('/health/ready');
    }
    expect(ready.status).toBe(200);
  });
});

/**
 * Makes every commit of the projector fail with "disk I/O error" until restored: in the file itself
 * when the projector runs on its own thread (embedded default), else on this thread's read store.
 */
function failReadStoreCommits(t: TestApp): { mockRestore(): void } {
  if (!(t.app.get(Projector) instanceof ProjectorThread)) {
    return jest.spyOn(t.app.get<ReadStore>(READ_STORE), 'commit').mockRejectedValue(new Error('disk I/O error'));
  }
  const db = new Database(embeddedDatabaseFile(t.dataDir));
  db.pragma('busy_timeout = 5000');
  for (const when of ['INSERT', 'UPDATE']) {
    db.exec(`CREATE TRIGGER fail_checkpoint_${when} BEFORE ${when} ON read_model_checkpoints BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`);
  }
  return {
    mockRestore: () => {
      for (const when of ['INSERT', 'UPDATE']) db.exec(`DROP TRIGGER fail_checkpoint_${when}`);
      db.close();
    },
  };
}

describe('Operations: graceful shutdown', () => {
  it('on SIGTERM answers every request it accepted, commits, closes the stores and exits 0', async () => {
    const dataDir = newDataDir();
    try {
      const service = await startServiceProcess({ DATA_DIR: dataDir, API_KEYS: KEYS, SHUTDOWN_GRACE_MS: '10000' });
      const statuses: number[] = [];
      const refused: string[] = [];
      let stop = false;
      // 40 clients capturing as fast as they can, until the service stops taking connections.
      const clients = Array.from({ length: 40 }, async (_, client) => {
        for (let i = 0; !stop && i < 2000; i++) {
          try {
            const res = await fetch(`${service.base}/leads`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...as(WRITER_KEY) },
              body: JSON.stringify({ lastName: `Client ${client}`, company: `Request ${i}` }),
            });
            statuses.push(res.status);
            await res.arrayBuffer();
          } catch (error) {
            // Not accepted: the connection was refused or closed before the request was read.
            refused.push(String((error as { cause?: { code?: string } }).cause?.code ?? error));
            return;
          }
        }
      });
      while (statuses.length < 200) await new Promise((resolve) => setTimeout(resolve, 10));
      service.child.kill('SIGTERM');
      const [code] = await service.exited;
      stop = true;
      await Promise.all(clients);
      expect({ code, log: code === 0 ? '' : service.stdout().slice(-3000) }).toEqual({ code: 0, log: '' });
      expect(statuses.length).toBeGreaterThan(200);
      expect(statuses.filter((status) => status !== 201)).toEqual([]);
      // Every 201 is a lead in the log, and nothing else was captured: no request was half-taken.
      const store = SqliteEventStore.open(embeddedDatabaseFile(dataDir));
      try {
        const events = await store.readAll({ maxCount: 100_000 });
        expect(events.filter((e) => e.type === 'LeadCaptured')).toHaveLength(statuses.length);
      } finally {
        await store.close();
      }
      expect(service.stdout()).toContain('Stopped: requests answered, projector batch committed, stores closed');
    } finally {
      removeDataDir(dataDir);
    }
  });
});
