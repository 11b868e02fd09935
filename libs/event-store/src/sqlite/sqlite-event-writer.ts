import Database from 'better-sqlite3';
import { AppendResult, EventIdConflictError, ExpectedRevision, WrongExpectedRevisionError } from '../event-store.port';

/** An event as the writer stores it: data and metadata already JSON (made where the append came from). */
export interface EncodedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
}

export interface EncodedAppend {
  streamId: string;
  events: EncodedEvent[];
  expectedRevision: ExpectedRevision;
}

/** One or more appends that stand or fall together: one `append`, or one `appendAtomically`. */
export type AppendGroup = EncodedAppend[];

/** What happened to one group of a committed batch. */
export type GroupOutcome = { ok: true; results: AppendResult[] } | { ok: false; error: WrongExpectedRevisionError | EventIdConflictError };

export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL UNIQUE,
    stream_id   TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    type        TEXT NOT NULL,
    data        TEXT NOT NULL,
    metadata    TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (stream_id, revision)
  );
  CREATE TABLE IF NOT EXISTS event_log_identity (id INTEGER PRIMARY KEY CHECK (id = 1), identity TEXT NOT NULL);
`;

/**
 * The embedded event log's write side: commits a batch of append groups in one transaction (one
 * fsync), each group inside its own savepoint so that one group's refusal never touches another's
 * events. Runs wherever the writing connection lives: beside the readers, or on the writer thread.
 */
export class SqliteEventWriter {
  private readonly statements;
  private readonly groupInSavepoint: (group: AppendGroup) => AppendResult[];
  private readonly commitBatch: Database.Transaction<(batch: AppendGroup[]) => GroupOutcome[]>;

  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    this.statements = {
      byEventId: db.prepare<[string], { stream_id: string; revision: number; position: number | bigint }>(
        'SELECT stream_id, revision, position FROM events WHERE event_id = ?',
      ),
      streamRevision: db.prepare<[string], { revision: number | null }>('SELECT MAX(revision) AS revision FROM events WHERE stream_id = ?'),
      insert: db.prepare('INSERT INTO events (event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    };
    // Nested better-sqlite3 transactions run as savepoints inside the batch's transaction.
    this.groupInSavepoint = db.transaction((group: AppendGroup) => group.map((append) => this.writeAppend(append)));
    this.commitBatch = db.transaction((batch: AppendGroup[]) =>
      batch.map((group): GroupOutcome => {
        try {
          return { ok: true, results: this.groupInSavepoint(group) };
        } catch (error) {
          if (error instanceof WrongExpectedRevisionError || error instanceof EventIdConflictError) return { ok: false, error };
          throw error;
        }
      }),
    );
  }

  /**
   * Commits the batch, or throws what failed the whole transaction (then nothing of it is stored).
   *
   * BEGIN IMMEDIATE: the batch reads (revisions, earlier ids) before it writes. A deferred
   * transaction would take its read snapshot first, and when another connection (the projector,
   * the key store) committed before its first write, SQLite would fail it at once ("database is
   * locked") instead of waiting out the busy timeout. Taking the write lock first makes it wait.
   */
  commit(batch: AppendGroup[]): GroupOutcome[] {
    return this.commitBatch.immediate(batch);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private writeAppend({ streamId, events, expectedRevision }: EncodedAppend): AppendResult {
    const earlier = this.findEarlierAppend(streamId, events);
    if (earlier) return earlier;
    const current = this.statements.streamRevision.get(streamId)!.revision ?? -1;
    if (!revisionMatches(expectedRevision, current)) throw new WrongExpectedRevisionError(streamId, expectedRevision, current);
    let position = -1n;
    const recordedAt = new Date().toISOString();
    events.forEach((event, index) => {
      const { lastInsertRowid } = this.statements.insert.run(event.id, streamId, current + 1 + index, event.type, event.data, event.metadata, recordedAt);
      position = BigInt(lastInsertRowid);
    });
    return { nextExpectedRevision: current + events.length, position };
  }

  /** A retried append (same event ids) returns what the first one returned and writes nothing. */
  private findEarlierAppend(streamId: string, events: EncodedEvent[]): AppendResult | undefined {
    const found = events.map((event) => this.statements.byEventId.get(event.id));
    if (found.every((row) => row === undefined)) return undefined;
    const allInStream = found.every((row) => row !== undefined && row.stream_id === streamId);
    if (!allInStream) throw new EventIdConflictError(streamId);
    const last = found[found.length - 1]!;
    return { nextExpectedRevision: last.revision, position: BigInt(last.position) };
  }
}

function revisionMatches(expected: ExpectedRevision, current: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return current === -1;
    case 'stream_exists':
      return current >= 0;
    default:
      return current === expected;
  }
}
