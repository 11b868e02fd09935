import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { embeddedDatabaseFile } from '@crm/runtime/event-store.module';
import { EMBEDDED_BACKEND } from './support/backend';
import { useTestApp } from './support/test-app';

const run = promisify(execFile);

/** Proof that nobody edited the log behind the service's back: GET /audit/verify and crm verify --chain. */
describe('Tamper evidence over HTTP and in the CLI (embedded backend only: it edits an event in the SQLite file)', () => {
  const t = useTestApp(EMBEDDED_BACKEND);

  async function crmVerifyChain(...args: string[]) {
    try {
      const { stderr, stdout } = await run(process.execPath, ['-r', join(__dirname, 'support', 'register-ts.js'), join(__dirname, '..', 'apps', 'cli', 'src', 'main.ts'), 'verify', '--chain', ...args], {
        env: { PATH: process.env.PATH, DATA_DIR: t.dataDir },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      return error as { code: number; stdout: string; stderr: string };
    }
  }

  it('shows each event\'s hash in history, finds every chain intact, then names the stream and revision of an event edited in the file', async () => {
    const { id } = (await t.http().post('/leads').send({ lastName: 'Lamarr', company: 'Frequency Hopping', email: 'hedy@example.org' }).expect(201)).body;
    await t.http().post(`/leads/${id}/qualify`).send({}).expect(200);
    await t.http().post(`/leads/${id}/convert`).send({}).expect(200);
    const history = (await t.http().get(`/leads/${id}/history`).expect(200)).body;
    expect(history.map((e: { metadata: { hash: string } }) => e.metadata.hash)).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/), expect.stringMatching(/^[0-9a-f]{64}$/), expect.stringMatching(/^[0-9a-f]{64}$/)]);

    const clean = (await t.http().get('/audit/verify').expect(200)).body;
    expect(clean).toEqual({ streams: expect.any(Number), events: expect.any(Number), broken: [], unhashed: 0 });
    expect(clean.streams).toBeGreaterThanOrEqual(3);
    expect((await t.http().get('/audit/verify').query({ stream: `lead-${id}` }).expect(200)).body).toEqual({ streams: 1, events: 3, broken: [], unhashed: 0 });
    expect(await crmVerifyChain()).toMatchObject({ code: 0, stderr: expect.stringContaining('every hash chain holds') });

    const db = new Database(embeddedDatabaseFile(t.dataDir));
    db.prepare(`UPDATE events SET data = json_set(data, '$.need', 'forged') WHERE stream_id = ? AND revision = 1`).run(`lead-${id}`);
    db.close();
    expect((await t.http().get('/audit/verify').expect(200)).body.broken).toEqual([{ stream: `lead-${id}`, revision: 1 }]);
    expect((await t.http().get('/audit/verify').query({ stream: `lead-${id}` }).expect(200)).body.broken).toEqual([{ stream: `lead-${id}`, revision: 1 }]);
    const cli = await crmVerifyChain('--stream', `lead-${id}`);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(new RegExp(`lead-${id}\\s+1`));
    expect(cli.stderr).toContain('1 broken event(s)');
  });
});
