import type Database from 'better-sqlite3';
import { openSqliteDatabase, PersonalDataKeyStore, PersonKey, writeWithoutBlocking } from '@crm/event-store';

interface KeyRow {
  key: Buffer | null;
}

/**
 * The personal-data keys in the embedded SQLite file (table `personal_data_keys`), beside the
 * read models: one row per key, its 32 bytes, or a tombstone (key NULL, erased_at) once erased.
 * Its own connection: with `durable: 'with-log'` its commits are not synced by themselves,
 * because they share the file's write-ahead log with the event log, whose `synchronous=FULL`
 * commit of an event (always later than its key's) syncs the key too; with `'own'` (the events
 * are elsewhere, in EventStoreDB) each batch of keys is synced when it is stored.
 */
export class SqliteKeyStore implements PersonalDataKeyStore {
  private readonly select: Database.Statement<[string], KeyRow>;
  private readonly selectMany: Database.Transaction<(keyIds: readonly string[]) => Map<string, PersonKey>>;
  private readonly insertAll: Database.Transaction<(keys: { keyId: string; key: Buffer }[]) => void>;
  private readonly tombstone: Database.Statement<[{ keyId: string; at: string }]>;

  static open(file: string, durable: 'with-log' | 'own'): SqliteKeyStore {
    const db = openSqliteDatabase(file);
    if (durable === 'with-log') db.pragma('synchronous = NORMAL');
    // A destroyed key is overwritten with zeros in its page, not merely unlinked: shredding must not leave the key in a free block.
    db.pragma('secure_delete = ON');
    return new SqliteKeyStore(db);
  }

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS personal_data_keys (
      key_id TEXT PRIMARY KEY,
      key BLOB,
      created_at TEXT NOT NULL,
      erased_at TEXT
    ) WITHOUT ROWID`);
    this.select = db.prepare('SELECT key FROM personal_data_keys WHERE key_id = ?');
    // One read transaction (one snapshot of the write-ahead log) for all of them: what a lookup costs alone is mostly beginning and ending its own.
    this.selectMany = db.transaction((keyIds: readonly string[]) => new Map(keyIds.map((keyId) => [keyId, keyOf(this.select.get(keyId))])));
    const insert = db.prepare<[string, Buffer, string]>('INSERT INTO personal_data_keys (key_id, key, created_at) VALUES (?, ?, ?) ON CONFLICT (key_id) DO NOTHING');
    this.insertAll = db.transaction((keys: { keyId: string; key: Buffer }[]) => {
      const createdAt = new Date().toISOString();
      for (const { keyId, key } of keys) insert.run(keyId, key, createdAt);
    });
    this.tombstone = db.prepare(
      `INSERT INTO personal_data_keys (key_id, key, created_at, erased_at) VALUES (@keyId, NULL, @at, @at)
       ON CONFLICT (key_id) DO UPDATE SET key = NULL, erased_at = COALESCE(erased_at, @at)`,
    );
  }

  async get(keyId: string): Promise<PersonKey> {
    return keyOf(this.select.get(keyId));
  }

  async getMany(keyIds: readonly string[]): Promise<Map<string, PersonKey>> {
    return this.selectMany(keyIds);
  }

  /** Stores the batch without blocking the event loop on the write lock (keys are made ahead: nothing waits on this yet). */
  async putAll(keys: { keyId: string; key: Buffer }[]): Promise<void> {
    await writeWithoutBlocking(this.db, () => this.insertAll.immediate(keys));
  }

  async erase(keyId: string, erasedAt: string): Promise<void> {
    this.tombstone.run({ keyId, at: erasedAt });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function keyOf(row: KeyRow | undefined): PersonKey {
  if (!row) return { state: 'unknown' };
  return row.key ? { state: 'active', key: row.key } : { state: 'erased' };
}
