import Database from 'better-sqlite3';
import { AppendResult, EventIdConflictError, EventMetadata, ExpectedRevision, WrongExpectedRevisionError } from '../event-store.port';
import { eventHash, eventHashOfCanonical } from '../hash-chain';

/** An event as the writer stores it: data and metadata already JSON (written where the append came from: a string crosses to the writer thread cheaper than the object). */
export interface EncodedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
  /** Data and metadata written as canonical JSON (storedCanonicalJson), the metadata without `hash`: the writer hashes the text as it is. */
  canonical?: boolean;
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
    // Each group's savepoint journals the pages it changes, so that a refused group rolls back alone. Past
    // 64 KiB (16 pages) SQLite moves that journal to a temporary file, created, written and deleted per group:
    // a group of a few captures with their turns passes it (their rows land on pages all over the stream
    // and id indexes; strace showed a file per batch). In memory it holds at most the pages of one batch,
    // and it is not needed after a crash (the WAL is what recovers).
    db.pragma('temp_store = MEMORY');
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
    const last = this.statements.lastEvent.get(streamId);
    const current = last?.revision ?? -1;
    if (!revisionMatches(expectedRevision, current)) throw new WrongExpectedRevisionError(streamId, expectedRevision, current);
    const rows = this.hashChains ? chainedRows(events, last?.hash ?? null) : events;
    let position = -1n;
    const recordedAt = new Date().toISOString();
    rows.forEach((row, index) => {
      const { lastInsertRowid } = this.statements.insert.run(row.id, streamId, current + 1 + index, row.type, row.data, row.metadata, recordedAt);
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

/**
 * The events with their chain hashes (as HashChainingEventStore's `chained`): each hashed over
 * its stored JSON read back, which is what a verifier reads, and its metadata stored as
 * `{ ...metadata, hash }` would be written.
 */
function chainedRows(events: EncodedEvent[], previousHash: string | null): EncodedEvent[] {
  let previous = previousHash;
  // One new row per event with the fields the insert reads (`canonical` is the writer's alone).
  return events.map(({ id, type, data, metadata: text, canonical }) => {
    if (canonical) {
      // Written canonically where the append came from: the stored text is what a verifier reads back, as it is.
      const hash = eventHashOfCanonical(type, data, text, previous);
      previous = hash;
      return { id, type, data, metadata: withHashAppended(text, hash) };
    }
    const metadata = JSON.parse(text) as EventMetadata;
    const hash = eventHash({ type, data: JSON.parse(data), metadata }, previous);
    previous = hash;
    return { id, type, data, metadata: Object.prototype.hasOwnProperty.call(metadata, 'hash') ? JSON.stringify({ ...metadata, hash }) : withHashAppended(text, hash) };
  });
}

/** The JSON of `{ ...metadata, hash }` for metadata without a hash: the hash appended as the last member (a metadata that had one is written anew, its place kept). */
function withHashAppended(text: string, hash: string): string {
  return `${text.slice(0, -1)}${text === '{}' ? '' : ','}"hash":${JSON.stringify(hash)}}`;
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
