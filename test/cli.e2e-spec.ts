import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ALL_PROJECTIONS } from '@crm/runtime/projection-list';
import { parseApiKeys } from '@crm/runtime/api-keys';
import { embeddedDatabaseFile } from '@crm/runtime/event-store.module';
import { EMBEDDED_BACKEND } from './support/backend';
import { newDataDir, removeDataDir, startTestApp, TestApp } from './support/test-app';

const run = promisify(execFile);
const ADMIN_KEY = 'cli-admin-key-0123456789abcdef0123456789';

/** `npm run crm -- <args>` without the build step: the CLI's sources, transpiled as they load. */
async function crm(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['-r', join(__dirname, 'support', 'register-ts.js'), join(__dirname, '..', 'apps', 'cli', 'src', 'main.ts'), ...args], {
      env: { PATH: process.env.PATH, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('The operator CLI (embedded backend only: it edits the SQLite file by hand, and backup/restore copy it)', () => {
  let t: TestApp;
  let env: Record<string, string>;
  const leadIds: string[] = [];
  beforeAll(async () => {
    t = await startTestApp(newDataDir(), { ...EMBEDDED_BACKEND, apiKeys: parseApiKeys(`ops:${ADMIN_KEY}=admin;e2e:test-key-of-e2e-0123456789abcdef=writer,reader,auditor`, 'API_KEYS') });
    env = { DATA_DIR: t.dataDir };
    for (const [i, lastName] of ['Meitner', 'Hahn', 'Strassmann'].entries()) {
      const { id } = (await t.http().post('/leads').send({ lastName, company: `Fission ${i}`, email: `${lastName.toLowerCase()}@example.org`, occurredAt: '2026-01-15T09:00:00.000Z' }).expect(201)).body;
      leadIds.push(id);
    }
    await t.http().post(`/leads/${leadIds[0]}/qualify`).set('X-On-Behalf-Of', 'lise').send({ occurredAt: '2026-02-01T10:00:00.000Z' }).expect(200);
    await t.catchUp();
  });
  afterAll(async () => {
    await t.close();
    removeDataDir(t.dataDir);
  });

  describe('help and exit codes', () => {
    it('prints help for itself and every command, exiting 0', async () => {
      const help = await crm(['--help']);
      expect(help.code).toBe(0);
      for (const command of ['status', 'rebuild', 'verify', 'history', 'backup', 'restore']) {
        expect(help.stdout).toContain(command);
        const own = await crm([command, '--help']);
        expect({ command, code: own.code }).toEqual({ command, code: 0 });
        expect(own.stdout).toMatch(new RegExp(`^Usage: crm ${command}`));
      }
    });

    it('exits 2 for an unknown command, a missing argument or a bad variable, saying why', async () => {
      expect(await crm(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command 'frobnicate'") });
      expect(await crm(['history'])).toMatchObject({ code: 2, stderr: expect.stringContaining("missing required argument 'stream'") });
      expect(await crm(['history', 'lead-x'], { LOG_LEVEL: 'shouty' })).toMatchObject({ code: 2, stderr: expect.stringContaining('LOG_LEVEL must be one of') });
      expect(await crm(['backup', '/tmp/never'], { EVENTSTORE_URL: 'esdb://127.0.0.1:1?tls=false' })).toMatchObject({ code: 2, stderr: expect.stringContaining("use the servers' own backups") });
    });

    it('exits 3 when the service does not answer', async () => {
      expect(await crm(['status'], { CRM_URL: 'http://127.0.0.1:9' })).toMatchObject({ code: 3, stderr: expect.stringContaining('Cannot reach the service') });
    });
  });

  it('shows a record\'s history as a table with both clocks, and exits 1 for a stream that does not exist', async () => {
    const { code, stdout } = await crm(['history', `lead-${leadIds[0]}`], env);
    expect(code).toBe(0);
    const [header, , ...rows] = stdout.trim().split('\n');
    expect(header.split(/\s{2,}/)).toEqual(['revision', 'position', 'type', 'actor', 'on behalf of', 'occurred at (business)', 'recorded at']);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/^1\s+\d+\s+LeadQualified\s+e2e\s+lise\s+2026-02-01T10:00:00\.000Z\s+20\d\d-/);
    expect(await crm(['history', 'lead-00000000-0000-4000-8000-000000000000'], env)).toMatchObject({ code: 1, stderr: expect.stringContaining('There is no stream') });
  });

  it('shows the running service\'s projections and rebuilds one with a progress bar', async () => {
    const service = { CRM_URL: `http://127.0.0.1:${(t.app.getHttpServer().address() as { port: number }).port}`, CRM_API_KEY: ADMIN_KEY };
    const status = await crm(['status'], service);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^leads\s+live\s+\d+\s+0\s+1/m);
    expect(await crm(['status'], { ...service, CRM_API_KEY: 'wrong' })).toMatchObject({ code: 2, stderr: expect.stringContaining('Set CRM_API_KEY') });
    const rebuild = await crm(['rebuild', 'leads'], service);
    expect(rebuild).toMatchObject({ code: 0, stderr: expect.stringMatching(/leads rebuilt: version 2 swapped in at position \d+/) });
    expect(await crm(['rebuild', 'nothing'], service)).toMatchObject({ code: 2, stderr: expect.stringContaining('There is no read model named nothing') });
  });

  it('verifies the read models against a replay of the log, and names the document an operator altered by hand', async () => {
    await t.catchUp();
    const healthy = await crm(['verify'], env);
    expect(healthy.stderr).toMatch(new RegExp(`Verified \\d+ documents of ${ALL_PROJECTIONS.length} read models at position \\d+, in [\\d.]+ s: the read models are exactly what the events say`));
    expect(healthy.code).toBe(0);

    const db = new Database(embeddedDatabaseFile(t.dataDir));
    try {
      const table = (db.prepare('SELECT active_version AS v FROM read_model_versions WHERE read_model = ?').get('leads') as { v: number } | undefined)?.v ?? 1;
      db.prepare(`UPDATE rm_leads_v${table} SET doc = json_set(doc, '$.company', 'Tampered Ltd') WHERE id = ?`).run(leadIds[1]);
    } finally {
      db.close();
    }
    const altered = await crm(['verify'], env);
    expect(altered.code).toBe(1);
    expect(altered.stdout).toContain(`DIFFERENT leads/leads/${leadIds[1]}`);
    expect(altered.stdout).toContain('"company":"Fission 1"');
    expect(altered.stdout).toContain('"company":"Tampered Ltd"');
    expect(altered.stderr).toMatch(/1 difference\(s\)/);
  });

  it('backs up while the service writes, and restores into a stopped data directory that then serves every record', async () => {
    const backupDir = newDataDir();
    const restoredDir = newDataDir();
    try {
      let writing = true;
      const writes = (async () => {
        for (let i = 0; writing && i < 500; i++) await t.http().post('/leads').send({ lastName: `Busy ${i}`, company: 'During Backup' }).expect(201);
      })();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const file = join(backupDir, 'crm-backup.sqlite');
      const backup = await crm(['backup', file], env);
      writing = false;
      await writes;
      expect(backup).toMatchObject({ code: 0, stderr: expect.stringMatching(/Backed up [\d,]+ pages to /) });
      expect(await crm(['backup', file], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('exists already') });

      expect(await crm(['restore', file], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('A service is using') });
      const restore = await crm(['restore', file], { DATA_DIR: restoredDir });
      expect(restore).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Restored [\d,]+ events/) });
      expect(await crm(['restore', file], { DATA_DIR: restoredDir })).toMatchObject({ code: 2, stderr: expect.stringContaining('restore with --replace') });

      const backedUp = new Database(file, { readonly: true });
      const captured = backedUp.prepare("SELECT stream_id FROM events WHERE type = 'LeadCaptured'").all() as { stream_id: string }[];
      backedUp.close();
      expect(captured.length).toBeGreaterThan(leadIds.length);
      const restored = await startTestApp(restoredDir, EMBEDDED_BACKEND);
      try {
        for (const { stream_id } of captured) {
          const id = stream_id.slice('lead-'.length);
          const [now, then] = await Promise.all([t.http().get(`/leads/${id}`), restored.http().get(`/leads/${id}`)]);
          expect({ id, status: then.status }).toEqual({ id, status: 200 });
          expect(then.body).toEqual(now.body);
        }
      } finally {
        await restored.close();
      }
      expect(existsSync(join(restoredDir, 'crm.sqlite'))).toBe(true);
    } finally {
      removeDataDir(backupDir);
      removeDataDir(restoredDir);
    }
  });
});
