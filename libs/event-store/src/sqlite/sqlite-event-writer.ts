import Database from 'better-sqlite3';
import { AppendResult, EventIdConflictError, EventToAppend, ExpectedRevision, StreamAppend, WrongExpectedRevisionError } from '../event-store.port';
import { eventHash } from '../hash-chain';

/**
 * One or more appends that stand or fall together: one `append`, or one `appendAtomically`. The
 * events travel as they were given (to the writer thread as a structured clone, which costs the
 * request thread less than writing their JSON): the writer writes the JSON, and the hashes.
 */
export type AppendGroup = StreamAppend[];

/** An event the writer cannot store as JSON (a value JSON has no form for): its group is refused, nothing of it stored. */
export class UnstorableEventError extends Error {
  constructor(
    readonly streamId: string,
    readonly reason: string,
  ) {
    super(`An event for ${streamId} cannot be stored: ${reason}`);
    this.name = 'UnstorableEventError';
  }
}

/** A refusal of one group: the others of its batch are committed. */
export type GroupRefusal = WrongExpectedRevisionError | EventIdConflictError | UnstorableEventError;

/** What happened to one group of a committed batch. */
export type GroupOutcome = { ok: true; results: AppendResult[] } | { ok: false; error: GroupRefusal };

export interface SqliteEventWriterOptions {
  /**
   * Chain every appended event to the one before it in its stream (`metadata.hash`, the format of
   * hash-chain.ts's `eventHash`), inside the append's transaction: the stream's last event is the
   * one the commit writes after, so no read on the request thread and no race with another writer.
   * The service's embedded store does; EventStoreDB is chained by HashChainingEventStore instead.
   */
  hashChains?: boolean;
}

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

  private readonly hashChains: boolean;

  constructor(
    private readonly db: Database.Database,
    options: SqliteEventWriterOptions = {},
  ) {
    db.exec(SCHEMA);
    this.hashChains = options.hashChains ?? false;
    this.statements = {
      byEventId: db.prepare<[string], { stream_id: string; revision: number; position: number | bigint }>(
        'SELECT stream_id, revision, position FROM events WHERE event_id = ?',
      ),
      // The stream's last revision, and its last event's hash (null when it has none: written before chains, or unchained).
      lastEvent: db.prepare<[string], { revision: number; hash: string | null }>(
        `SELECT revision, CASE WHEN json_type(metadata, '$.hash') = 'text' THEN json_extract(metadata, '$.hash') END AS hash
         FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1`,
      ),
      insert: db.prepare('INSERT INTO events (event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    };
    // Nested better-sqlite3 transactions run as savepoints inside the batch's transaction.
    this.groupInSavepoint = db.transaction((group: AppendGroup) => group.map((append) => this.writeAppend(append)));
    this.commitBatch = db.transaction((batch: AppendGroup[]) =>
      batch.map((group): GroupOutcome => {
        try {
          return { ok: true, results: this.groupInSavepoint(group) };
        } catch (error) {
          if (error instanceof WrongExpectedRevisionError || error instanceof EventIdConflictError || error instanceof UnstorableEventError) return { ok: false, error };
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

  private writeAppend({ streamId, events, expectedRevision }: StreamAppend): AppendResult {
    const earlier = this.findEarlierAppend(streamId, events);
    if (earlier) return earlier;
    const last = this.statements.lastEvent.get(streamId);
    const current = last?.revision ?? -1;
    if (!revisionMatches(expectedRevision, current)) throw new WrongExpectedRevisionError(streamId, expectedRevision, current);
    const rows = this.rowsOf(streamId, events, last?.hash ?? null);
    let position = -1n;
    const recordedAt = new Date().toISOString();
    rows.forEach((row, index) => {
      const { lastInsertRowid } = this.statements.insert.run(row.id, streamId, current + 1 + index, row.type, row.data, row.metadata, recordedAt);
      position = BigInt(lastInsertRowid);
    });
    return { nextExpectedRevision: current + events.length, position };
  }

  /** The events as stored: data and metadata as JSON, the metadata with its chain hash when chaining (as HashChainingEventStore's `chained`). */
  private rowsOf(streamId: string, events: EventToAppend[], previousHash: string | null): { id: string; type: string; data: string; metadata: string }[] {
    let previous = previousHash;
    try {
      return events.map((event) => {
        let metadata = event.metadata;
        if (this.hashChains) {
          const hash = eventHash(event, previous);
          previous = hash;
          metadata = { ...metadata, hash };
        }
        return { id: event.id, type: event.type, data: JSON.stringify(event.data), metadata: JSON.stringify(metadata) };
      });
    } catch (error) {
      // JSON.stringify refuses a BigInt or a cycle: before any insert, so the group stores nothing.
      throw new UnstorableEventError(streamId, error instanceof Error ? error.message : String(error));
    }
  }

  /** A retried append (same event ids) returns what the first one returned and writes nothing. */
  private findEarlierAppend(streamId: string, events: EventToAppend[]): AppendResult | undefined {
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
