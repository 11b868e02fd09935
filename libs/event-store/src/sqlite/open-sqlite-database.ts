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
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return db;
}

const BUSY_TIMEOUT_MS = 5_000;
/** How long a write waits for the lock without blocking, before it waits as any write does (the busy timeout). */
const LOCK_WAIT_WITHOUT_BLOCKING_MS = 2_000;
/** The longest pause between two tries (1, 2, 4, then 8 ms): a busy writer holds the lock most of the time, and each try costs. */
const LOCK_RETRY_MAX_MS = 8;

/**
 * Runs a write on a connection of the request thread without blocking the event loop on the file's
 * write lock: the event log's writer thread holds it through each commit and fsync, and a write
 * waiting out the busy timeout would stall every request of the process meanwhile. So the lock is
 * tried at once and, while taken, tried again after 1, 2, 4, then every 8 ms, until
 * LOCK_WAIT_WITHOUT_BLOCKING_MS; then it waits as any write does. For writes nothing waits on at
 * once (keys made ahead, a reactor's checkpoint). `write` must take the lock first (BEGIN IMMEDIATE).
 */
export async function writeWithoutBlocking<T>(db: Database.Database, write: () => T): Promise<T> {
  const until = Date.now() + LOCK_WAIT_WITHOUT_BLOCKING_MS;
  for (let pause = 1; Date.now() < until; pause = Math.min(pause * 2, LOCK_RETRY_MAX_MS)) {
    db.pragma('busy_timeout = 0');
    try {
      return write();
    } catch (error) {
      // SQLITE_BUSY and its extended codes (SQLITE_BUSY_RECOVERY, …): the lock is taken.
      if (!String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY')) throw error;
    } finally {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  return write();
}
