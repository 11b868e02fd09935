import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  excludeSystemEvents,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type AppendResult as EsdbAppendResult,
  type Position as EsdbPosition,
  type ReadRevision,
  type ResolvedEvent,
} from '@eventstore/db-client';
import { randomUUID } from 'node:crypto';
import {
  EventIdConflictError,
  WrongExpectedRevisionError,
  type AllSubscription,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeToAllOptions,
} from '../event-store.port';
import { ReadToPosition } from '../read-to';
import { eventIdKind } from '../event-id';
import {
  CLAIM_EVENT_TYPE,
  claimEventId,
  claimStreamOf,
  esdbConnectionString,
  isClaimStream,
  knownCommitPosition,
  knownPosition,
  retryWhileOutcomeUnknown,
} from './esdb-support';
import { LagCounter } from './lag-counter';

/*
 * EventStoreDB adapter of the event store port, written against @eventstore/db-client 6.2.1 for
 * server 24.10 (any 22.6+ should do; see below).
 *
 * Positions. The port's bigint position is the event's $all *commit* position.
 * gRPC appends (all this client can do) write each event as its own self-committed prepare
 * record (PrepareFlags.IsCommitted, see the server's StorageWriterService), and the
 * $all reader reports such a record at Position(commit = prepare = the record's log position):
 * so every event of a multi-event append gets its own, strictly increasing commit position, equal
 * to its prepare position. Only events written inside explicit transactions (legacy TCP client API)
 * share the commit position of their commit record. The prepare position is not a
 * safer choice: it is not monotonic in $all order for explicit transactions, and 20.6.0 reported
 * the transaction position as the prepare position of batched events (EventStore/EventStore#2522).
 * A port position `p` is turned back into Position { commit: p, prepare: p }, which is exactly the
 * position of the event it came from.
 * The append result's position is the last event's commit position too: the server acks an
 * implicit transaction with the log position of its last (TransactionEnd) prepare.
 * Stream reads carry $all positions only on servers >= 22.6 (EventStore/EventStore#3459).
 * A position the server does not know arrives as 2^64-1 (its -1, unsigned), not as a missing
 * field: `knownPosition` turns it into undefined before anything compares or stores it.
 */

/** The stream that keeps the event log's identity (see identity()), and its event's type. */
const IDENTITY_STREAM = 'crm-event-log-identity';
const IDENTITY_EVENT = '$crm-event-log-identity';
const IDENTITY_METADATA: EventMetadata = { actorId: 'system', occurredAt: '1970-01-01T00:00:00.000Z', correlationId: 'event-log-identity', causationId: 'event-log-identity' };

/** Events read per page while looking backwards for the newest user event. */
const HEAD_PAGE_SIZE = 16;
/** Events read per page at least while a filtered readAll looks for events of its types. */
const FILTERED_SCAN_PAGE = 500;
/** ping() fails when the server has not answered within this time. */
const PING_TIMEOUT_MS = 5_000;

export class EventStoreDbEventStore implements EventStore {
  private readonly subscriptions = new Set<AllSubscription>();
  private readonly lag = new LagCounter(async (after, maxCount) =>
    (await this.readAll({ after, maxCount })).map((event) => event.position),
  );

  /** The client must throw on a failed append (see esdbConnectionString): `connect` makes one that does. */
  constructor(private readonly client: EventStoreDBClient) {}

  /**
   * e.g. `esdb://127.0.0.1:2113?tls=false` (the 6.x client takes esdb:// and esdb+discover://
   * only). Connects lazily, on the first call.
   */
  static connect(connectionString: string): EventStoreDbEventStore {
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(esdbConnectionString(connectionString)));
  }

  /*
   * Idempotent appends. EventStoreDB's documentation ("Optimistic concurrency and idempotence",
   * EventStore/documentation docs/clients/dotnet/21.2/appending/optimistic-concurrency-and-idempotence.md;
   * the same text is in the current KurrentDB docs) says: "If identical append operations occur,
   * EventStoreDB treats them in a way which makes it idempotent. If a append is treated in this
   * manner, EventStoreDB acknowledges it as successful, but duplicate events are not appended. The
   * idempotence check is based on the EventId and stream." With an expected revision below the
   * stream's current one: all events already committed -> success, nothing written; none -> wrong
   * expected version; some -> "a bad request ... surfaces as a WrongExpectedVersionException".
   * With ExpectedVersion.Any (also 'stream_exists'): "Idempotence is not guaranteed ... The chance
   * of a duplicate event is small, but is possible" (in the server's IndexWriter such retries are
   * checked only against a bounded in-memory cache of recently committed event ids). The docs do not say what the acknowledgement contains; the server
   * (StorageWriterService -> AlreadyCommitted -> RequestManagerBase.ReturnCommitAt) answers with
   * the original last event number and the log position of the original last event, i.e. the
   * first append's nextExpectedRevision and position. Older servers answered without a position;
   * then we read the position of that event back.
   *
   * Hence the port's narrower contract: a repeated append is idempotent at its original expected
   * revision. An append whose outcome is unknown (deadline, unavailable, cancelled, not leader) is
   * therefore sent again unchanged, a few times with backoff; at the stream's *current* revision
   * the server would check no ids and write the events twice.
   *
   * Event ids across streams: see claimNameBasedIds.
   */
  async append(
    streamId: string,
    events: EventToAppend[],
    expectedRevision: ExpectedRevision,
  ): Promise<AppendResult> {
    if (events.length === 0) {
      throw new RangeError(`append to ${streamId} needs at least one event`);
    }
    const proposed = events.map(({ id, type, data, metadata }) => jsonEvent({ id, type, data, metadata }));
    const expected = toClientExpectedRevision(expectedRevision);
    await this.claimNameBasedIds(streamId, events);
    let result: EsdbAppendResult;
    try {
      result = await retryWhileOutcomeUnknown(() => this.client.appendToStream(streamId, proposed, { expectedRevision: expected }));
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        throw await this.appendConflict(streamId, events, expectedRevision, error);
      }
      throw error;
    }
    if (!result.success) {
      // Only a client built with throwOnAppendFailure: false answers so, and its revision is not to
      // be trusted (see esdbConnectionString); `connect` never builds one.
      throw new Error(`EventStoreDB refused the append to ${streamId} without an error: the client must throw on append failures`);
    }
    const nextExpectedRevision = Number(result.nextExpectedRevision);
    const position = knownPosition(result.position)?.commit ?? (await this.positionOfRevision(streamId, nextExpectedRevision));
    return { nextExpectedRevision, position };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const { fromRevision, maxCount } = options;
    if (maxCount !== undefined && maxCount <= 0) return [];
    let from: ReadRevision = backwards ? END : START;
    if (fromRevision !== undefined) {
      if (fromRevision < 0) {
        if (backwards) return [];
      } else {
        from = BigInt(fromRevision);
      }
    }
    try {
      const resolved = await collect(
        this.client.readStream(streamId, {
          direction: backwards ? BACKWARDS : FORWARDS,
          fromRevision: from,
          ...(maxCount === undefined ? {} : { maxCount }),
        }),
      );
      return resolved.flatMap((r) => {
        const event = toRecordedEvent(r);
        return event === undefined ? [] : [event];
      });
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
  }

  /**
   * With `types`, the events of other types are passed over here, not by the server: client 6.2.1
   * sends every read of $all with no filter (server-side filters are for subscriptions in this
   * client; its successor, @kurrent/kurrentdb-client, takes one on reads too). So a filtered read
   * still transfers the events between, and saves what is done with them above the adapter
   * (decryption, the reader's own work). It reads on until `maxCount` events of those types or the
   * end of $all, so a short page means the log was scanned to its end, as the port says.
   */
  async readAll({ after, maxCount, types }: ReadAllOptions): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    if (!(maxCount > 0) || types?.length === 0) return events;
    const wanted = types && new Set(types);
    // fromPosition is inclusive: the event at the cursor comes back first and is skipped.
    let cursor = after !== undefined && after >= 0n ? fromPortPosition(after) : undefined;
    while (events.length < maxCount) {
      // +1 for the inclusive start; further pages continue after system events (or other types) were dropped.
      const pageSize = Math.max(maxCount - events.length, wanted ? FILTERED_SCAN_PAGE : 0) + 1;
      const page = await collect(
        this.client.readAll({ direction: FORWARDS, fromPosition: cursor ?? START, maxCount: pageSize }),
      );
      let advanced = false;
      for (const resolved of page) {
        const position = esdbPositionOf(resolved);
        if (position === undefined || (cursor !== undefined && comparePositions(position, cursor) <= 0)) continue;
        cursor = position;
        advanced = true;
        if (wanted && (resolved.event === undefined || !wanted.has(resolved.event.type))) continue;
        const event = toUserEvent(resolved);
        if (event !== undefined && events.length < maxCount) events.push(event);
      }
      if (page.length < pageSize || !advanced) break;
    }
    return events;
  }

  /**
   * With `types`, the events of other types are passed over here, as readAll does, not by a
   * server-side filter: the server's checkpoints of a filtered subscription come only every
   * checkpoint interval × search window events scanned (32 at least), not when it catches up or
   * goes idle (KurrentDB#3320, Eventuous#559), so a reader could not tell that it has read the
   * log to its last event when that event is of another type. Passed over here, each event moves
   * `readTo` as it comes.
   */
  subscribeToAll(options: SubscribeToAllOptions = {}): AllSubscription {
    const after = options.after !== undefined && options.after >= 0n ? fromPortPosition(options.after) : undefined;
    const wanted = options.types && new Set(options.types);
    const readTo = new ReadToPosition(options.after ?? -1n);
    const source = this.client.subscribeToAll({
      fromPosition: after ?? START,
      filter: excludeSystemEvents(),
    });
    let closed = false;
    let failure: unknown;
    // Keep the first error even when it comes before anyone iterates (an 'error' event without a
    // listener would crash the process), and end the stream so that the iteration does not hang.
    source.on('error', (error: unknown) => {
      failure ??= error;
      if (!source.destroyed) source.destroy();
    });
    // The server's caught-up message (servers 23.10 and later) arrives in order after the events
    // before it, but the client emits it at once, while some of those events still wait in the
    // Readable's buffer: caught up once that many more have been taken out. A server that says
    // the subscription fell behind takes it back until it says caught up again.
    let signalled = false;
    let stillBuffered = 0;
    source.on('caughtUp', () => {
      signalled = true;
      stillBuffered = source.readableLength;
    });
    source.on('fellBehind', () => {
      signalled = false;
    });

    const subscription: AllSubscription = {
      [Symbol.asyncIterator]: () => iterator,
      get caughtUp() {
        return signalled && stillBuffered === 0;
      },
      get readTo() {
        return readTo.current;
      },
      readBeyond: (position) => readTo.beyond(position),
      close: async () => {
        if (closed) return;
        closed = true;
        this.subscriptions.delete(subscription);
        // Cancels the gRPC call; destroying the Readable ends a pending `for await` right away.
        await source.unsubscribe().catch(() => undefined);
        source.destroy();
      },
    };

    // `for await` pulls one event at a time from the client's Readable, so a slow consumer applies
    // backpressure to the gRPC stream (a 'data' handler would not wait for an async consumer).
    async function* iterate(): AsyncGenerator<RecordedEvent> {
      try {
        for await (const resolved of source as AsyncIterable<AllStreamResolvedEvent>) {
          if (stillBuffered > 0) stillBuffered--;
          const event = toUserEvent(resolved);
          if (event === undefined) continue;
          const position = esdbPositionOf(resolved);
          if (after !== undefined && position !== undefined && comparePositions(position, after) <= 0) continue;
          if (wanted === undefined || wanted.has(event.type)) yield event;
          readTo.moveTo(event.position);
        }
        if (failure !== undefined && !closed) throw failure;
      } catch (error) {
        if (closed) return;
        throw failure ?? error;
      } finally {
        await subscription.close();
      }
    }
    const iterator = iterate();

    this.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * A UUID kept as the one event of the stream IDENTITY_STREAM, written by the first process to
   * ask with expected revision no_stream (a second one racing it reads the winner's back). Its
   * type starts with `$`, so readAll, subscriptions and headPosition (user events only) never
   * see it, while the stream itself is an ordinary one that the service's user may write.
   */
  async identity(): Promise<string> {
    const kept = await this.readIdentity();
    if (kept) return kept;
    try {
      await this.append(IDENTITY_STREAM, [{ id: randomUUID(), type: IDENTITY_EVENT, data: { identity: `esdb-${randomUUID()}` }, metadata: IDENTITY_METADATA }], 'no_stream');
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
    }
    const made = await this.readIdentity();
    if (!made) throw new Error(`EventStoreDB stream ${IDENTITY_STREAM} holds no identity`);
    return made;
  }

  private async readIdentity(): Promise<string | undefined> {
    const [first] = await this.readStream(IDENTITY_STREAM, { maxCount: 1 });
    return typeof first?.data.identity === 'string' ? first.data.identity : undefined;
  }

  /** EventStoreDB keeps no count of $all: counted from $all, remembering earlier counts (LagCounter). */
  async countEventsAfter(after: bigint, cap: number): Promise<number> {
    return this.lag.countAfter(after, cap);
  }

  async headPosition(): Promise<bigint> {
    let cursor: EsdbPosition | undefined;
    for (;;) {
      const page = await collect(
        this.client.readAll({ direction: BACKWARDS, fromPosition: cursor ?? END, maxCount: HEAD_PAGE_SIZE }),
      );
      let advanced = false;
      for (const resolved of page) {
        const position = esdbPositionOf(resolved);
        if (position === undefined || (cursor !== undefined && comparePositions(position, cursor) >= 0)) continue;
        cursor = position;
        advanced = true;
        if (toUserEvent(resolved) !== undefined) return position.commit;
      }
      if (page.length < HEAD_PAGE_SIZE || !advanced) return -1n;
    }
  }

  async ping(): Promise<void> {
    const read = this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 });
    await withTimeout(collect(read), PING_TIMEOUT_MS, () => {
      read.cancel().catch(() => undefined);
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.client.dispose();
  }

  /*
   * EventStoreDB checks event ids within one stream only, while the port (like SQLite, whose ids
   * are one unique column) refuses an event id stored in another stream. Random ids (v4, v7) do
   * not meet again by chance, so they cost nothing extra. A name-based id (`deterministicUuid`,
   * from an Idempotency-Key) can be sent to another record's stream on purpose: it is claimed
   * first, in a stream of its own appended with no_stream, all of an append's claims at once
   * (one round trip more, for commands with an Idempotency-Key only). A claim that names this
   * stream is a retry and lets the append go on; one naming another stream is the conflict.
   * A claim is never given back: when the append after it is refused (a stale If-Match), the id
   * stays this stream's, so the key is refused on another record even though this one was not
   * changed (stricter than SQLite there, and the same answer a client reusing a key must expect).
   */
  private async claimNameBasedIds(streamId: string, events: EventToAppend[]): Promise<void> {
    const nameBased = events.filter((event) => eventIdKind(event.id) === 'name-based');
    await Promise.all(nameBased.map((event) => this.claimEventId(event.id, streamId)));
  }

  private async claimEventId(eventId: string, streamId: string): Promise<void> {
    const claimStream = claimStreamOf(eventId);
    const claim = jsonEvent({ id: claimEventId(eventId, streamId), type: CLAIM_EVENT_TYPE, data: { eventId, streamId } });
    try {
      await retryWhileOutcomeUnknown(() => this.client.appendToStream(claimStream, [claim], { expectedRevision: NO_STREAM }));
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      const [first] = await this.readStream(claimStream, { maxCount: 1 });
      if (first?.data.streamId !== streamId) throw new EventIdConflictError(streamId);
    }
  }

  /** Maps the client's wrong-expected-version error to the port's errors. */
  private async appendConflict(
    streamId: string,
    events: EventToAppend[],
    expected: ExpectedRevision,
    error: WrongExpectedVersionError,
  ): Promise<Error> {
    // actualVersion is a bigint, or the string 'no_stream' when the stream does not exist.
    const actual = typeof error.actualVersion === 'bigint' ? Number(error.actualVersion) : -1;
    const conflict = new WrongExpectedRevisionError(streamId, expected, actual);
    // The server also answers "wrong expected version" when an append repeats some but not all of
    // the event ids of an earlier append to this stream (see the comment on append): that is the
    // port's EventIdConflictError. With 'any' it is the only reason for the answer; with
    // 'stream_exists' it is the only one once the stream exists; with a revision we look at the
    // events that follow it, where a partly repeated append would have found its ids.
    if (expected === 'any') return new EventIdConflictError(streamId);
    if (actual < 0) return conflict;
    if (expected === 'stream_exists') return new EventIdConflictError(streamId);
    const expectedRevision = expected === 'no_stream' ? -1 : expected;
    if (actual <= expectedRevision) return conflict;
    const ids = new Set(events.map((event) => event.id));
    const following = await this.readStream(streamId, { fromRevision: expectedRevision + 1, maxCount: events.length });
    return following.some((event) => ids.has(event.id)) ? new EventIdConflictError(streamId) : conflict;
  }

  private async positionOfRevision(streamId: string, revision: number): Promise<bigint> {
    const [event] = await this.readStream(streamId, { direction: 'backwards', fromRevision: revision, maxCount: 1 });
    if (event === undefined || event.revision !== revision) {
      throw new Error(`EventStoreDB did not report the position of ${streamId}@${revision}`);
    }
    return event.position;
  }
}

function toClientExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      if (!Number.isSafeInteger(expected) || expected < -1) {
        throw new RangeError(`Invalid expected revision ${String(expected)}`);
      }
      // -1 is how a revision-counting caller says "no stream yet".
      return expected === -1 ? NO_STREAM : BigInt(expected);
  }
}

function fromPortPosition(position: bigint): EsdbPosition {
  return { commit: position, prepare: position };
}

function comparePositions(a: EsdbPosition, b: EsdbPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

function esdbPositionOf(resolved: ResolvedEvent | AllStreamResolvedEvent): EsdbPosition | undefined {
  const position = knownPosition(resolved.event?.position);
  if (position !== undefined) return position;
  const commit = knownCommitPosition(resolved.commitPosition);
  return commit === undefined ? undefined : { commit, prepare: commit };
}

function isSystemEvent(streamId: string, type: string): boolean {
  return streamId.startsWith('$') || type.startsWith('$');
}

/**
 * A user event of $all, or undefined for system events (types or streams starting with '$') and
 * for the adapter's claims on event ids, which exist only on this backend.
 */
function toUserEvent(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined {
  const event = resolved.event;
  if (event === undefined || isSystemEvent(event.streamId, event.type) || isClaimStream(event.streamId)) return undefined;
  return toRecordedEvent(resolved);
}

function toRecordedEvent(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined {
  const event = resolved.event;
  if (event === undefined) return undefined;
  const position = esdbPositionOf(resolved);
  if (position === undefined) {
    throw new Error(`EventStoreDB returned ${event.streamId}@${event.revision} without a $all position`);
  }
  return {
    id: event.id,
    streamId: event.streamId,
    revision: Number(event.revision),
    position: position.commit,
    type: event.type,
    data: toObject(event.data),
    metadata: toObject(event.metadata) as EventMetadata,
    // `created` is a Date in @eventstore/db-client 6.x (converted from .NET ticks).
    recordedAt: event.created.toISOString(),
  };
}

/** The adapter writes JSON objects; anything else read back is wrapped rather than dropped. */
function toObject(value: unknown): Record<string, unknown> {
  if (value instanceof Uint8Array) {
    if (value.length === 0) return {};
    const text = Buffer.from(value).toString('utf8');
    try {
      return toObject(JSON.parse(text));
    } catch {
      return { value: text };
    }
  }
  if (value === undefined || value === null) return {};
  if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  return { value };
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`EventStoreDB did not answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
