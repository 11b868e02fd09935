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
    this.insert = db.prepare('INSERT INTO personal_data_keys (person_id, key, created_at) VALUES (?, ?, ?) ON CONFLICT (person_id) DO NOTHING');
    this.tombstone = db.prepare(
      `INSERT INTO personal_data_keys (person_id, key, created_at, erased_at) VALUES (@personId, NULL, @at, @at)
       ON CONFLICT (person_id) DO UPDATE SET key = NULL, erased_at = COALESCE(erased_at, @at)`,
    );
  }

  async get(personId: string): Promise<PersonKey> {
    return keyOf(this.select.get(personId));
  }

  async getOrCreate(personId: string, candidate: Buffer): Promise<PersonKey> {
    this.insert.run(personId, candidate, new Date().toISOString());
    return keyOf(this.select.get(personId));
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
