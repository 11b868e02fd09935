/**
 * The event store port. Two adapters implement it (SQLite embedded, EventStoreDB) and both
 * must pass `describeEventStoreConformance`.
 *
 * Positions are global, strictly increasing per event, and carried as bigint (the HTTP layer
 * prints them as digit strings). Revisions count from 0 per stream.
 */

/** What an append expects of the stream before it writes. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export interface EventMetadata {
  actorId: string;
  /** Business time (ISO-8601 UTC): when it happened, possibly back-filled. */
  occurredAt: string;
  correlationId: string;
  causationId: string;
  /** Present when the command carried an Idempotency-Key: a hash of actor and key. */
  idempotencyKey?: string;
  /** Hash of route and body of the command that carried the Idempotency-Key. */
  requestFingerprint?: string;
  [key: string]: unknown;
}

export interface EventToAppend {
  /**
   * UUID. Repeating an append (same stream, same ids, same expected revision) after it succeeded
   * writes nothing and returns the first result. That holds only at the append's original
   * expected revision: EventStoreDB checks the ids against the events after that revision, and
   * at the stream's current revision (or with 'any', beyond a recent-ids cache) it would write
   * them again. A caller that retries after reading the stream anew must recognise its own
   * earlier events itself (the command executor does, by Idempotency-Key).
   *
   * Across streams: an append that reuses an id stored in another stream, or only some ids of an
   * earlier append, fails with EventIdConflictError, for every id on SQLite and for name-based ids
   * (`eventIdKind`, the ids `deterministicUuid` makes) on EventStoreDB. Other ids must be random
   * (v4 or v7), which never meet by chance. The conformance suite tests this.
   */
  id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
}

export interface RecordedEvent {
  id: string;
  streamId: string;
  revision: number;
  position: bigint;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  /** When the store recorded it (ISO-8601 UTC). */
  recordedAt: string;
}

export interface AppendResult {
  /** Revision of the last event now in the stream. */
  nextExpectedRevision: number;
  /** Global position of the last event appended. */
  position: bigint;
}

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  /** Inclusive. Default: the start (forwards) or the end (backwards). */
  fromRevision?: number;
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position. Default: from the first event. */
  after?: bigint;
  /** Page size; required so that nobody reads the whole log into memory by accident. */
  maxCount: number;
}

/** A catch-up subscription: yields stored events after `after`, then new ones as they come. */
export interface AllSubscription extends AsyncIterable<RecordedEvent> {
  close(): Promise<void>;
}

export interface EventStore {
  /** Refused with WrongExpectedRevisionError or EventIdConflictError; see EventToAppend.id for retries. */
  append(streamId: string, events: EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult>;
  /** Events of one stream; an unknown stream reads as an empty list. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** One page of the global log, in position order; user events only (no system events). */
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeToAll(options?: { after?: bigint }): AllSubscription;
  /**
   * How many events lie after `after` (for projection lag); may stop counting at `cap`. Called on
   * every GET /projections: an adapter whose store keeps no count must not read the whole lag
   * each time (EventStoreDB remembers earlier counts).
   */
  countEventsAfter(after: bigint, cap: number): Promise<number>;
  /** Position of the newest event, or -1n when the log is empty. */
  headPosition(): Promise<bigint>;
  /** Answers when the store is reachable (for /health). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const EVENT_STORE = Symbol('EVENT_STORE');

/** The stream was not where the append expected it to be. */
export class WrongExpectedRevisionError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** -1 when the stream does not exist. */
    readonly actual: number,
  ) {
    super(`Stream ${streamId} is at revision ${actual}, expected ${String(expected)}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

/** Some event ids of an append are already stored, but not as this append to this stream. */
export class EventIdConflictError extends Error {
  constructor(readonly streamId: string) {
    super(`Append to ${streamId} reuses event ids stored by another append`);
    this.name = 'EventIdConflictError';
  }
}
