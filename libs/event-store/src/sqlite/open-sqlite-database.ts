import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Opens the embedded database file the way every embedded adapter needs it: WAL so that
 * readers never block the writer, `synchronous=FULL` so that a commit is on disk when it
 * returns, and a busy timeout for the moments another process (the projector) holds the lock.
 */
export function openSqliteDatabase(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  return db;
}
