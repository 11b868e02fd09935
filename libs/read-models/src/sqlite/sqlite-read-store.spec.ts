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
