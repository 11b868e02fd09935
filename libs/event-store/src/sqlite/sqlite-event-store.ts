import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  AllSubscription,
  AppendResult,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  SubscribeToAllOptions,
} from '../event-store.port';
import { ReadToPosition } from '../read-to';
import { EventLogWriter, EventLogWriterThread, EventLogWriterThreadOptions, InThreadEventLogWriter } from './event-log-writer';
import { openSqliteDatabase } from './open-sqlite-database';
import { storedCanonicalJson } from '@crm/domain/shared/canonical-json';
import { EncodedAppend, EncodedEvent, SCHEMA, SqliteEventWriterOptions } from './sqlite-event-writer';

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

const SUBSCRIPTION_PAGE = 500;
/** How often a live subscription looks for events written by another process on the same file. */
const CROSS_PROCESS_POLL_MS = 100;

/** Where an embedded store's appends are committed. */
export type SqliteWriterPlacement = 'in-thread' | 'writer-thread';

/**
 * The embedded event store: one SQLite file in WAL mode with `synchronous=FULL`, so an
 * acknowledged append survives a crash.
 *
 * Appends are group-committed (see EventLogWriter): on the connection beside the readers
 * ('in-thread', for tools and tests), or on a worker thread of its own ('writer-thread', the
 * service's), so that the request thread never blocks on inserts and fsync. Reads run on this
 * thread's connection either way (WAL: readers never wait for the writer); subscriptions are woken
 * by each commit. Promises resolve only after the commit.
 */
export class SqliteEventStore implements EventStore {
  private readonly appended = new EventEmitter();
  private readonly statements;
  private readonly writer: EventLogWriter;
  /** The writer chains the events: they are written canonically where they can be. */
  private readonly hashChains: boolean;

  /** With `hashChains`, the writer chains every event it appends (see SqliteEventWriterOptions): the service's store; on the writer thread, how it is restarted (EventLogWriterThreadOptions). */
  static open(file: string, writer: SqliteWriterPlacement = 'in-thread', options: SqliteEventWriterOptions & EventLogWriterThreadOptions = {}): SqliteEventStore {
    return new SqliteEventStore(openSqliteDatabase(file), writer === 'writer-thread' ? file : undefined, options);
  }

  /** With `writerThreadFile`, appends are committed on a writer thread's own connection to that file. */
  constructor(
    private readonly db: Database.Database,
    writerThreadFile?: string,
    { restart, onStopped, ...writerOptions }: SqliteEventWriterOptions & EventLogWriterThreadOptions = {},
  ) {
    // Made here, before the writer thread opens the file, so that the reads below can be prepared.
    db.exec(SCHEMA);
    this.hashChains = writerOptions.hashChains ?? false;
    this.appended.setMaxListeners(0);
    const onCommitted = () => this.appended.emit('appended');
    this.writer = writerThreadFile
      ? new EventLogWriterThread(writerThreadFile, onCommitted, writerOptions, { restart, onStopped })
      : new InThreadEventLogWriter(db, onCommitted, writerOptions);
    this.statements = {
      streamForwards: db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision ASC LIMIT ?',
      ),
      streamBackwards: db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?',
      ),
      allAfter: db.prepare<[bigint, number], EventRow>('SELECT * FROM events WHERE position > ? ORDER BY position ASC LIMIT ?'),
      // Of some types, up to a position (a subscription's page: the head it read before). No index on type (it would cost
      // every append): the scan from the position runs inside SQLite, and type is read before a row's JSON.
      allOfTypesBetween: db.prepare<[bigint, bigint, string, number], EventRow>(
        'SELECT * FROM events WHERE position > ? AND position <= ? AND type IN (SELECT value FROM json_each(?)) ORDER BY position ASC LIMIT ?',
      ),
      head: db.prepare<[], { position: number | null }>('SELECT MAX(position) AS position FROM events'),
      countAfter: db.prepare<[bigint, number], { count: number }>('SELECT COUNT(*) AS count FROM (SELECT 1 FROM events WHERE position > ? LIMIT ?)'),
      ping: db.prepare('SELECT 1'),
      identity: db.prepare<[], { identity: string }>('SELECT identity FROM event_log_identity WHERE id = 1'),
      makeIdentity: db.prepare<[string]>('INSERT INTO event_log_identity (id, identity) VALUES (1, ?) ON CONFLICT (id) DO NOTHING'),
    };
  }

  async append(streamId: string, events: EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    const [result] = await this.writer.write([encoded({ streamId, events, expectedRevision }, this.hashChains)]);
    return result;
  }

  /** All in one savepoint: a refusal of any rolls back every one of them. */
  async appendAtomically(appends: StreamAppend[]): Promise<AppendResult[]> {
    if (appends.length === 0) return [];
    return this.writer.write(appends.map((append) => encoded(append, this.hashChains)));
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
    if (options.types === undefined) return this.readAllNow(options.after ?? -1n, options.maxCount);
    return this.readOfTypesNow(options.after ?? -1n, LAST_POSITION, typesFilter(options.types), options.maxCount);
  }

  /**
   * Reads by pages, and once caught up again at each commit (or every CROSS_PROCESS_POLL_MS). With
   * `types`, each page is of those types up to the head read just before it: a page that is not
   * full has read the log to that head, so `readTo` moves there once its events are handed out.
   */
  subscribeToAll(options: SubscribeToAllOptions = {}): AllSubscription {
    let closed = false;
    let wake: (() => void) | undefined;
    /** readNow came while the subscription was not waiting (busy with a page): its next wait does not wait. */
    let readNowAsked = false;
    const onAppended = () => wake?.();
    this.appended.on('appended', onAppended);
    const waitForNews = () =>
      new Promise<void>((resolve) => {
        if (readNowAsked) {
          readNowAsked = false;
          return resolve();
        }
        const timer = setTimeout(() => {
          wake = undefined;
          resolve();
        }, CROSS_PROCESS_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
      });
    const store = this;
    const types = options.types === undefined ? undefined : typesFilter(options.types);
    const readTo = new ReadToPosition(options.after ?? -1n);
    let caughtUp = false;
    async function* follow(): AsyncGenerator<RecordedEvent> {
      let position = options.after ?? -1n;
      try {
        while (!closed) {
          // Taken before the page: what is committed after it comes with a later page.
          const head = types === undefined ? undefined : store.headNow();
          const page = head === undefined ? store.readAllNow(position, SUBSCRIPTION_PAGE) : store.readOfTypesNow(position, head, types!, SUBSCRIPTION_PAGE);
          // A page that is not full holds the last stored events: caught up once its last one is out.
          const last = page.length < SUBSCRIPTION_PAGE;
          for (const [index, event] of page.entries()) {
            if (closed) return;
            if (last && index === page.length - 1) caughtUp = true;
            yield event;
            position = event.position;
            readTo.moveTo(position);
          }
          if (last && !closed) {
            if (head !== undefined && head > position) position = head;
            readTo.moveTo(position);
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
      get readTo() {
        return readTo.current;
      },
      readBeyond: (position) => readTo.beyond(position),
      readNow: () => (wake ? wake() : (readNowAsked = true)),
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
    return this.headNow();
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
    await this.writer.ping();
  }

  /** Drain, then close: every append handed over is answered before the connections close. */
  async close(): Promise<void> {
    await this.writer.close();
    if (this.db.open) this.db.close();
  }

  private readAllNow(after: bigint, maxCount: number): RecordedEvent[] {
    return this.statements.allAfter.all(after, maxCount).map(toRecordedEvent);
  }

  private readOfTypesNow(after: bigint, upTo: bigint, types: TypesFilter, maxCount: number): RecordedEvent[] {
    if (types.none || upTo <= after) return [];
    return this.statements.allOfTypesBetween.all(after, upTo, types.json, maxCount).map(toRecordedEvent);
  }

  private headNow(): bigint {
    const { position } = this.statements.head.get()!;
    return position === null ? -1n : BigInt(position);
  }
}

/** Past every position (SQLite's largest integer): a read of some types up to the end of the log. */
const LAST_POSITION = 2n ** 63n - 1n;

/** Event types as the query takes them (a JSON array), written once per subscription or read. */
interface TypesFilter {
  none: boolean;
  json: string;
}

function typesFilter(types: readonly string[]): TypesFilter {
  return { none: types.length === 0, json: JSON.stringify(types) };
}

function encoded({ streamId, events, expectedRevision }: StreamAppend, hashChains: boolean): EncodedAppend {
  return { streamId, expectedRevision, events: events.map(hashChains ? encodedForChain : encodedPlain) };
}

function encodedPlain({ id, type, data, metadata }: EventToAppend): EncodedEvent {
  return { id, type, data: JSON.stringify(data), metadata: JSON.stringify(metadata) };
}

/** Canonically where it can be (the writer then hashes the stored text without parsing it back), else as any event. */
function encodedForChain(event: EventToAppend): EncodedEvent {
  // Metadata that names a hash already has it replaced in its place by the writer: the long way.
  if (Object.hasOwn(event.metadata, 'hash')) return encodedPlain(event);
  const data = storedCanonicalJson(event.data);
  const metadata = data === undefined ? undefined : storedCanonicalJson(event.metadata);
  return metadata === undefined ? encodedPlain(event) : { id: event.id, type: event.type, data: data!, metadata, canonical: true };
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
