import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { backendEnv } from './support/backend';
import { newDataDir, removeDataDir, startTestApp } from './support/test-app';

/** apps/projector in its own process, beside an API that only reads (PROJECTOR=external). */
describe('The projector as its own process', () => {
  it('projects what the API writes, and the API reads it with minPosition', async () => {
    const dataDir = newDataDir();
    const api = await startTestApp(dataDir, { projector: 'external' });
    const projector = fork(join(__dirname, '..', 'apps', 'projector', 'src', 'main.ts'), [], {
      env: { ...process.env, ...backendEnv(dataDir) },
      execArgv: ['-r', join(__dirname, 'support', 'register-ts.js')],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
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
      const exited = once(projector, 'exit');
      projector.kill('SIGTERM');
      await exited;
      await api.close();
      removeDataDir(dataDir);
    }
  });
});
