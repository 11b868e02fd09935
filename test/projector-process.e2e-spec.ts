import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { backendEnv } from './support/backend';
import { asActor, newDataDir, removeDataDir, startTestApp } from './support/test-app';

/** apps/projector in its own process, beside an API that only reads (PROJECTOR=external). */
describe('The projector as its own process', () => {
  function startProjector(dataDir: string): ChildProcess {
    return fork(join(__dirname, '..', 'apps', 'projector', 'src', 'main.ts'), [], {
      env: { ...process.env, ...backendEnv(dataDir) },
      execArgv: ['-r', join(__dirname, 'support', 'register-ts.js')],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
  }

  async function stop(projector: ChildProcess): Promise<void> {
    if (projector.exitCode !== null || projector.signalCode !== null) return;
    const exited = once(projector, 'exit');
    projector.kill('SIGTERM');
    await exited;
  }

  it('projects what the API writes, and the API reads it with minPosition', async () => {
    const dataDir = newDataDir();
    const api = await startTestApp(dataDir, { projector: 'external' });
    const projector = startProjector(dataDir);
    try {
      expect((await once(projector, 'message'))[0]).toBe('ready');
      const { id, position } = (await api.http().post('/leads').send({ lastName: 'Apart', company: 'Processes Ltd' }).expect(201)).body;
      const res = await api.http().get(`/leads/${id}`).query({ minPosition: position });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id, lastName: 'Apart', revision: 0 });
      const projections = (await api.http().get('/projections')).body;
      expect(new Set(projections.map((p: { status: string }) => p.status))).toEqual(new Set(['external']));
      const rebuild = await api.http().post('/projections/leads/rebuild');
      expect(rebuild.status).toBe(409);
    } finally {
      await stop(projector);
      await api.close();
      removeDataDir(dataDir);
    }
  });

  it('waits on standby while another process holds the lease, instead of exiting, and stops on SIGTERM', async () => {
    const dataDir = newDataDir();
    // This API projects (PROJECTOR=embedded) and so holds the lease.
    const api = await startTestApp(dataDir);
    const projector = startProjector(dataDir);
    try {
      expect((await once(projector, 'message'))[0]).toBe('ready');
      const exitedEarly = await Promise.race([once(projector, 'exit').then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 2_000))]);
      expect(exitedEarly).toBe(false);
      const exited = once(projector, 'exit');
      projector.kill('SIGTERM');
      const [code, signal] = await exited;
      expect(code === 0 || signal === 'SIGTERM').toBe(true);
    } finally {
      await stop(projector);
      await api.close();
      removeDataDir(dataDir);
    }
  });

  // Both processes write the one SQLite file: a transaction that read before it wrote used to
  // fail at once with "database is locked" when the other process committed in between.
  it('answers every one of many concurrent captures while the projector commits beside it (no 5xx)', async () => {
    const dataDir = newDataDir();
    const api = await startTestApp(dataDir, { projector: 'external' });
    const projector = startProjector(dataDir);
    try {
      expect((await once(projector, 'message'))[0]).toBe('ready');
      const base = `http://127.0.0.1:${(api.app.getHttpServer().address() as AddressInfo).port}`;
      const total = 3_000;
      const clients = 50;
      const statuses = new Map<number, number>();
      let sent = 0;
      const client = async () => {
        while (sent < total) {
          const n = sent++;
          const res = await fetch(`${base}/leads`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...asActor('e2e') },
            body: JSON.stringify({ lastName: `Load ${n}`, company: 'Two Processes Ltd', email: `load-${n}@example.com` }),
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: clients }, client));
      expect(Object.fromEntries(statuses)).toEqual({ 201: total });
      // And the projector kept up with all of it.
      const head = await api.store.headPosition();
      expect((await api.http().get('/leads').query({ minPosition: String(head), limit: 1 })).status).toBe(200);
    } finally {
      await stop(projector);
      await api.close();
      removeDataDir(dataDir);
    }
  });
});
