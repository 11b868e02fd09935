import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  AllSubscription,
  AppendResult,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  EventIdConflictError,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  WrongExpectedRevisionError,
} from '../event-store.port';
import { openSqliteDatabase } from './open-sqlite-database';

interface EventRow {
  position: number | bigint;
  event_id: string;
  stream_id: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
  recorded_at: string;
}

interface PendingAppend {
  streamId: string;
  events: EventToAppend[];
  expectedRevision: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
  /** For appendAtomically: the appends that stand or fall with this one (in its savepoint), and their results. */
  together?: { appends: StreamAppend[]; results: AppendResult[] };
}

const SUBSCRIPTION_PAGE = 500;
/** How often a live subscription looks for events written by another process on the same file. */
const CROSS_PROCESS_POLL_MS = 100;

const SCHEMA = `
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
 * The embedded event store: one SQLite file in WAL mode with `synchronous=FULL`, so an
 * acknowledged append survives a crash.
 *
 * Appends are group-committed: those that arrive in the same turn of the event loop are
 * written in one transaction (one fsync), each inside its own savepoint so that one append's
 * refusal never touches another's events. Promises resolve only after the commit.
 */
export class SqliteEventStore implements EventStore {
  private readonly appended = new EventEmitter();
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private readonly statements;
  private readonly appendInSavepoint: (item: PendingAppend) => AppendResult;
  private readonly commitBatch: Database.Transaction<(batch: PendingAppend[]) => Map<PendingAppend, AppendResult | Error>>;

  static open(file: string): SqliteEventStore {
    return new SqliteEventStore(openSqliteDatabase(file));
  }

  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    this.appended.setMaxListeners(0);
    this.statements = {
      byEventId: db.prepare<[string], Pick<EventRow, 'stream_id' | 'revision' | 'position'>>(
        'SELECT stream_id, revision, position FROM events WHERE event_id = ?',
      ),
      streamRevision: db.prepare<[string], { revision: number | null }>(
        'SELECT MAX(revision) AS revision FROM events WHERE stream_id = ?',
      ),
      insert: db.prepare(
        'INSERT INTO events (event_id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      streamForwards: db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision ASC LIMIT ?',
      ),
      streamBackwards: db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?',
      ),
      allAfter: db.prepare<[bigint, number], EventRow>('SELECT * FROM events WHERE position > ? ORDER BY position ASC LIMIT ?'),
      head: db.prepare<[], { position: number | null }>('SELECT MAX(position) AS position FROM events'),
      countAfter: db.prepare<[bigint, number], { count: number }>('SELECT COUNT(*) AS count FROM (SELECT 1 FROM events WHERE position > ? LIMIT ?)'),
      ping: db.prepare('SELECT 1'),
      identity: db.prepare<[], { identity: string }>('SELECT identity FROM event_log_identity WHERE id = 1'),
      makeIdentity: db.prepare<[string]>('INSERT INTO event_log_identity (id, identity) VALUES (1, ?) ON CONFLICT (id) DO NOTHING'),
    };
    // Nested better-sqlite3 transactions run as savepoints inside the batch's transaction.
    this.appendInSavepoint = db.transaction((item: PendingAppend) => {
      const result = this.writeAppend(item);
      if (item.together) item.together.results = item.together.appends.map((next) => this.writeAppend(next));
      return result;
    });
    this.commitBatch = db.transaction((batch: PendingAppend[]) => {
      const outcomes = new Map<PendingAppend, AppendResult | Error>();
      for (const item of batch) {
        try {
          outcomes.set(item, this.appendInSavepoint(item));
        } catch (error) {
          if (error instanceof WrongExpectedRevisionError || error instanceof EventIdConflictError) {
            outcomes.set(item, error);
          } else {
            throw error;
          }
        }
      }
      return outcomes;
    });
  }

  append(streamId: string, events: EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    return new Promise((resolve, reject) => this.enqueue({ streamId, events, expectedRevision, resolve, reject }));
  }

  /** All in the first append's savepoint: a refusal of any rolls back every one of them. */
  appendAtomically(appends: StreamAppend[]): Promise<AppendResult[]> {
    const [first, ...rest] = appends;
    if (!first) return Promise.resolve([]);
    const together = { appends: rest, results: [] as AppendResult[] };
    return new Promise((resolve, reject) => this.enqueue({ ...first, together, resolve: (result) => resolve([result, ...together.results]), reject }));
  }

  private enqueue(item: PendingAppend): void {
    this.queue.push(item);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const limit = options.maxCount ?? -1;
    const rows =
      options.direction === 'backwards'
        ? this.statements.streamBackwards.all(streamId, options.fromRevision ?? Number.MAX_SAFE_INTEGER, limit)
        : this.statements.streamForwards.all(streamId, options.fromRevision ?? 0, limit);
    return rows.map(toRecordedEvent);
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.readAllNow(options.after ?? -1n, options.maxCount);
  }

  subscribeToAll(options: { after?: bigint } = {}): AllSubscription {
    let closed = false;
    let wake: (() => void) | undefined;
    const onAppended = () => wake?.();
    this.appended.on('appended', onAppended);
    const waitForNews = () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CROSS_PROCESS_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
      });
    const store = this;
    let caughtUp = false;
    async function* follow(): AsyncGenerator<RecordedEvent> {
      let position = options.after ?? -1n;
      try {
        while (!closed) {
          const page = store.readAllNow(position, SUBSCRIPTION_PAGE);
          // A page that is not full holds the last stored events: caught up once its last one is out.
          const last = page.length < SUBSCRIPTION_PAGE;
          for (const [index, event] of page.entries()) {
            if (closed) return;
            if (last && index === page.length - 1) caughtUp = true;
            yield event;
            position = event.position;
          }
          if (last && !closed) {
            caughtUp = true;
            await waitForNews();
          }
        }
      } finally {
        store.appended.off('appended', onAppended);
      }
    }
    const iterator = follow();
    return {
      [Symbol.asyncIterator]: () => iterator,
      get caughtUp() {
        return caughtUp;
      },
      close: async () => {
        closed = true;
        wake?.();
        await iterator.return(undefined);
      },
    };
  }

  async countEventsAfter(after: bigint, cap: number): Promise<number> {
    return this.statements.countAfter.get(after, cap)!.count;
  }

  async headPosition(): Promise<bigint> {
    const { position } = this.statements.head.get()!;
    return position === null ? -1n : BigInt(position);
  }

  /** A random id made the first time it is asked for and kept in the file (the first process to ask makes it). */
  async identity(): Promise<string> {
    const kept = this.statements.identity.get();
    if (kept) return kept.identity;
    this.statements.makeIdentity.run(`sqlite-${randomUUID()}`);
    return this.statements.identity.get()!.identity;
  }

  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  async close(): Promise<void> {
    if (this.queue.length > 0) this.flush();
    if (this.db.open) this.db.close();
  }

  private readAllNow(after: bigint, maxCount: number): RecordedEvent[] {
    return this.statements.allAfter.all(after, maxCount).map(toRecordedEvent);
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    this.flushScheduled = false;
    if (batch.length === 0) return;
    let outcomes: Map<PendingAppend, AppendResult | Error>;
    try {
      // BEGIN IMMEDIATE: the batch reads (revisions, earlier ids) before it writes. A deferred
      // transaction would take its read snapshot first, and when another process (the projector)
      // committed before its first write, SQLite would fail it at once ("database is locked")
      // instead of waiting out the busy timeout. Taking the write lock first makes it wait.
      outcomes = this.commitBatch.immediate(batch);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    for (const item of batch) {
      const outcome = outcomes.get(item)!;
      if (outcome instanceof Error) item.reject(outcome);
      else item.resolve(outcome);
    }
    this.appended.emit('appended');
  }

  private writeAppend({ streamId, events, expectedRevision }: StreamAppend): AppendResult {
    const earlier = this.findEarlierAppend(streamId, events);
    if (earlier) return earlier;
    const current = this.statements.streamRevision.get(streamId)!.revision ?? -1;
    if (!revisionMatches(expectedRevision, current)) throw new WrongExpectedRevisionError(streamId, expectedRevision, current);
    let position = -1n;
    const recordedAt = new Date().toISOString();
    events.forEach((event, index) => {
      const { lastInsertRowid } = this.statements.insert.run(
        event.id,
        streamId,
        current + 1 + index,
        event.type,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata),
        recordedAt,
      );
      position = BigInt(lastInsertRowid);
    });
    return { nextExpectedRevision: current + events.length, position };
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

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    streamId: row.stream_id,
    revision: row.revision,
    position: BigInt(row.position),
    type: row.type,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata),
    recordedAt: row.recorded_at,
  };
}
