import type Database from 'better-sqlite3';
import { openSqliteDatabase, PersonalDataKeyStore, PersonKey } from '@crm/event-store';

interface KeyRow {
  key: Buffer | null;
}

/** How long a batch of keys waits for the write lock without blocking, before it waits as any write does (the busy timeout). */
const LOCK_WAIT_WITHOUT_BLOCKING_MS = 2_000;
/** The longest pause between two tries (1, 2, 4, then 8 ms): a busy writer holds the lock most of the time, and each try costs. */
const LOCK_RETRY_MAX_MS = 8;
const BUSY_TIMEOUT_MS = 5_000;

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

  /**
   * Stores the batch without blocking the event loop on the write lock: the event log's writer
   * thread holds it through each commit and fsync, and a write waiting out the busy timeout would
   * stall every request of the process meanwhile. So the lock is tried at once and, while taken,
   * tried again after 1, 2, 4, then every 8 ms (keys are made ahead: nothing waits on this yet),
   * until LOCK_WAIT_WITHOUT_BLOCKING_MS; then it waits as any write does.
   */
  async putAll(keys: { keyId: string; key: Buffer }[]): Promise<void> {
    const until = Date.now() + LOCK_WAIT_WITHOUT_BLOCKING_MS;
    for (let pause = 1; Date.now() < until; pause = Math.min(pause * 2, LOCK_RETRY_MAX_MS)) {
      this.db.pragma('busy_timeout = 0');
      try {
        this.insertAll.immediate(keys);
        return;
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error;
      } finally {
        this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    this.insertAll.immediate(keys);
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
