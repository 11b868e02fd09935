import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeReadStoreConformance } from '../read-store.conformance';
import { SqliteReadStore } from './sqlite-read-store';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describeReadStoreConformance('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crm-rs-'));
  dirs.push(dir);
  return SqliteReadStore.open(join(dir, 'read.sqlite'));
});

describe('SqliteReadStore schema', () => {
  it('gives a collection made before a filter was added that filter (a new release on an existing data folder starts)', async () => {
    const store = SqliteReadStore.open(':memory:');
    await store.ensureCollection({ name: 'things', filters: ['colour'] }, 1);
    await store.ensureCollection({ name: 'things', filters: ['colour', 'country'] }, 1);
    await store.acquireLease('test', 60_000);
    await store.commit('test', [{ collection: 'things', version: 1, id: 'a', sortKey: 1, doc: { id: 'a', colour: 'red', country: 'DE' } }], []);
    expect((await store.find('things', 1, { filter: { country: 'DE' }, limit: 10 })).items).toEqual([{ id: 'a', colour: 'red', country: 'DE' }]);
    await store.close();
  });
});

describe('SqliteReadStore log positions', () => {
  it('saves a position without blocking the event loop while another connection holds the write lock (the event log commits on its thread)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-rs-'));
    dirs.push(dir);
    const file = join(dir, 'crm.sqlite');
    const store = SqliteReadStore.open(file);
    await store.saveLogPosition('reactor', 1n);
    const writer = new Database(file);
    writer.exec('BEGIN IMMEDIATE');
    let saved = false;
    const saving = store.saveLogPosition('reactor', 2n).then(() => (saved = true));
    // A blocking wait for the lock would not let this timer run before the lock is free.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(saved).toBe(false);
    writer.exec('COMMIT');
    writer.close();
    await saving;
    expect(await store.readLogPosition('reactor')).toBe(2n);
    await store.close();
  });
});
