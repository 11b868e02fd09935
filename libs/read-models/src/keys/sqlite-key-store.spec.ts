import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeKeyStoreConformance } from './key-store.conformance';
import { SqliteKeyStore } from './sqlite-key-store';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function newFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'crm-keys-'));
  dirs.push(dir);
  return join(dir, 'crm.sqlite');
}

describeKeyStoreConformance('SQLite', async () => SqliteKeyStore.open(newFile(), 'own'));

describe('SQLite key store', () => {
  it('overwrites a destroyed key in the file, not only unlinks it', async () => {
    const file = newFile();
    const store = SqliteKeyStore.open(file, 'with-log');
    const batch = Array.from({ length: 80 }, (_, n) => ({ keyId: `key-${String(n).padStart(3, '0')}`, key: randomBytes(32) }));
    await store.putAll(batch);
    const { keyId, key } = batch[40];
    await store.erase(keyId, '2026-12-01T10:00:00.000Z');
    await store.close();
    const db = new Database(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    expect(readFileSync(file).includes(key)).toBe(false);
  });

  it('waits for the write lock without blocking the event loop (the event log commits on another thread meanwhile)', async () => {
    const file = newFile();
    const store = SqliteKeyStore.open(file, 'with-log');
    await store.putAll([{ keyId: 'key-first', key: randomBytes(32) }]); // the table exists
    const writer = new Database(file);
    writer.exec('BEGIN IMMEDIATE');
    const key = randomBytes(32);
    let stored = false;
    const putting = store.putAll([{ keyId: 'key-late', key }]).then(() => (stored = true));
    // The event loop goes on while the lock is held (a blocking wait would not let this timer run before the lock is free).
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stored).toBe(false);
    writer.exec('COMMIT');
    writer.close();
    await putting;
    expect(await store.get('key-late')).toEqual({ state: 'active', key });
    await store.close();
  });
});
