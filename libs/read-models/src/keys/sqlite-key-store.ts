import type Database from 'better-sqlite3';
import { openSqliteDatabase, PersonalDataKeyStore, PersonKey } from '@crm/event-store';

interface KeyRow {
  key: Buffer | null;
}

/**
 * The personal-data keys in the embedded SQLite file (table `personal_data_keys`), beside the
 * read models: one row per person, its 32-byte key, or a tombstone (key NULL, erased_at) once
 * erased. Its own connection: with `durable: 'with-log'` its commits are not synced by
 * themselves, because they share the file's write-ahead log with the event log, whose
 * `synchronous=FULL` commit of the event (always later than the key's) syncs the key too; with
 * `'own'` (the events are elsewhere, in EventStoreDB) each key is synced when it is made.
 */
export class SqliteKeyStore implements PersonalDataKeyStore {
  /** Keys to make, group-committed like the event log's appends: those asked for in one event-loop turn share one transaction. */
  private pending: { personId: string; candidate: Buffer; resolve: (key: PersonKey) => void; reject: (error: unknown) => void }[] = [];
  private flushScheduled = false;
  private readonly createAll: (batch: { personId: string; candidate: Buffer }[]) => PersonKey[];
  private readonly select: Database.Statement<[string], KeyRow>;
  private readonly insert: Database.Statement<[string, Buffer, string]>;
  private readonly tombstone: Database.Statement<[{ personId: string; at: string }]>;

  static open(file: string, durable: 'with-log' | 'own'): SqliteKeyStore {
    const db = openSqliteDatabase(file);
    if (durable === 'with-log') db.pragma('synchronous = NORMAL');
    // A destroyed key is overwritten with zeros in its page, not merely unlinked: shredding must not leave the key in a free block.
    db.pragma('secure_delete = ON');
    return new SqliteKeyStore(db);
  }

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS personal_data_keys (
      person_id TEXT PRIMARY KEY,
      key BLOB,
      created_at TEXT NOT NULL,
      erased_at TEXT
    ) WITHOUT ROWID`);
    this.select = db.prepare('SELECT key FROM personal_data_keys WHERE person_id = ?');
    const createAll = db.transaction((batch: { personId: string; candidate: Buffer }[]) => {
      const createdAt = new Date().toISOString();
      // A new person (the usual case) is the candidate; one made before, or erased, is what the table holds.
      return batch.map(({ personId, candidate }) => (this.insert.run(personId, candidate, createdAt).changes === 1 ? { state: 'active' as const, key: candidate } : keyOf(this.select.get(personId))));
    });
    this.createAll = (batch) => createAll.immediate(batch);
    this.insert = db.prepare('INSERT INTO personal_data_keys (person_id, key, created_at) VALUES (?, ?, ?) ON CONFLICT (person_id) DO NOTHING');
    this.tombstone = db.prepare(
      `INSERT INTO personal_data_keys (person_id, key, created_at, erased_at) VALUES (@personId, NULL, @at, @at)
       ON CONFLICT (person_id) DO UPDATE SET key = NULL, erased_at = COALESCE(erased_at, @at)`,
    );
  }

  async get(personId: string): Promise<PersonKey> {
    return keyOf(this.select.get(personId));
  }

  getOrCreate(personId: string, candidate: Buffer): Promise<PersonKey> {
    return new Promise((resolve, reject) => {
      this.pending.push({ personId, candidate, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    try {
      const keys = this.createAll(batch);
      batch.forEach((request, index) => request.resolve(keys[index]));
    } catch (error) {
      for (const request of batch) request.reject(error);
    }
  }

  async erase(personId: string, erasedAt: string): Promise<void> {
    this.tombstone.run({ personId, at: erasedAt });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function keyOf(row: KeyRow | undefined): PersonKey {
  if (!row) return { state: 'unknown' };
  return row.key ? { state: 'active', key: row.key } : { state: 'erased' };
}
