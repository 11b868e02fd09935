import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A consistent copy of the embedded file while the service keeps serving: SQLite's online
 * backup API copies the pages of one read snapshot (WAL lets writers go on meanwhile). The copy
 * holds everything: events, read models, checkpoints, and the personal-data keys (table
 * `personal_data_keys`), without which the personal fields of the events cannot be read.
 */
export async function backupEmbedded(file: string, target: string, onProgress?: (done: number, total: number) => void): Promise<{ pages: number }> {
  if (!existsSync(file)) throw new CliError(`There is no embedded store at ${file}: is DATA_DIR right?`, 2);
  if (existsSync(target)) throw new CliError(`${target} exists already: choose a new file name`, 2);
  mkdirSync(dirname(target), { recursive: true });
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const temporary = `${target}.partial`;
    const { totalPages } = await db.backup(temporary, {
      progress: ({ totalPages, remainingPages }) => {
        onProgress?.(totalPages - remainingPages, totalPages);
        return 1024;
      },
    });
    renameSync(temporary, target);
    return { pages: totalPages };
  } finally {
    db.close();
  }
}

/**
 * Puts a backup in place as the embedded file of a data directory whose service is stopped.
 * Refuses a file that is not a sound backup of this service, and a data directory that
 * holds a store already (unless `replace`) or that a running service is using.
 */
export function restoreEmbedded(backup: string, file: string, options: { replace: boolean; now?: number }): { events: number } {
  if (!existsSync(backup)) throw new CliError(`There is no backup at ${backup}`, 2);
  const source = new Database(backup, { readonly: true, fileMustExist: true });
  let events: number;
  try {
    const check = source.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new CliError(`${backup} is damaged (integrity_check: ${String(check)})`, 1);
    const hasEvents = source.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").get();
    if (!hasEvents) throw new CliError(`${backup} is an SQLite file, but not a backup of this service (it has no events table)`, 2);
    events = (source.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  } catch (error) {
    source.close();
    if (error instanceof CliError) throw error;
    throw new CliError(`${backup} is not an SQLite backup (${(error as Error).message})`, 2);
  }
  if (existsSync(file)) {
    const lease = leaseOf(file);
    if (lease && lease.expiresAt > (options.now ?? Date.now())) {
      source.close();
      throw new CliError(`A service is using ${dirname(file)} (its projector lease runs until ${new Date(lease.expiresAt).toISOString()}): stop it first`, 2);
    }
    if (!options.replace) {
      source.close();
      throw new CliError(`${file} exists: stop the service, then restore with --replace to overwrite it`, 2);
    }
  }
  mkdirSync(dirname(file), { recursive: true });
  const temporary = join(dirname(file), `.restore-${process.pid}.sqlite`);
  try {
    // VACUUM INTO writes a clean, complete copy (no WAL beside it) that then replaces the file at once.
    source.prepare('VACUUM INTO ?').run(temporary);
  } finally {
    source.close();
  }
  // The copy holds the lease of the projector that ran when it was taken; nobody holds it now.
  const restored = new Database(temporary);
  try {
    if (restored.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'projector_lease'").get()) restored.prepare('DELETE FROM projector_lease').run();
  } finally {
    restored.close();
  }
  for (const suffix of ['-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  renameSync(temporary, file);
  return { events };
}

function leaseOf(file: string): { expiresAt: number } | undefined {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'projector_lease'").get();
    if (!table) return undefined;
    const row = db.prepare('SELECT expires_at FROM projector_lease WHERE id = 1').get() as { expires_at: number } | undefined;
    return row && { expiresAt: row.expires_at };
  } finally {
    db.close();
  }
}

/** A refusal the CLI reports as its message alone, with the exit code it names. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
