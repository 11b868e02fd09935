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
  /** Who appended it: the API key's name (or, in open mode, X-Actor-Id). */
  actorId: string;
  /** The person a service acted for (X-On-Behalf-Of), when it said. */
  onBehalfOf?: string;
  /** Business time (ISO-8601 UTC): when it happened, possibly back-filled. */
  occurredAt: string;
  correlationId: string;
  causationId: string;
  /** Present when the command carried an Idempotency-Key: a hash of actor and key. */
  idempotencyKey?: string;
  /** Hash of route and body of the command that carried the Idempotency-Key. */
  requestFingerprint?: string;
  /** On the events of a step that completes a decision (a conversion's or a merge's): the step's key (see completion-context.ts). */
  completionStep?: string;
  /** Tamper evidence: SHA-256 over the event and the hash before it in its stream (see hash-chain.ts). */
  hash?: string;
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
  /**
   * As appended, except the order of object keys, which a store need not keep (the embedded store
   * writes chained events' JSON with keys sorted): compare data as values (canonicalJson), never as text.
   */
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
  /**
   * Only events of these types (absent: every type): the page holds up to `maxCount` of them, the
   * events of other types are passed over (and not counted). A page shorter than `maxCount` holds
   * every such event the log had when it was read, so a reader that took the head position before
   * the read has scanned the log up to that head (see ReactorRunner). An empty list reads nothing.
   */
  types?: readonly string[];
}

export interface SubscribeToAllOptions {
  /** Exclusive: events strictly after this position. Default: from the first event. */
  after?: bigint;
  /**
   * Only events of these types (absent: every type): the others are passed over, and `readTo`
   * tells how far the log was read past them. An empty list yields nothing.
   */
  types?: readonly string[];
}

/** A catch-up subscription: yields stored events after `after`, then new ones as they come. */
export interface AllSubscription extends AsyncIterable<RecordedEvent> {
  /**
   * The store's own word that the subscription has caught up: true once it has yielded every
   * event the store held when it caught up (what it yields from then on is new), false before
   * that and again while the store says it fell behind.
   */
  readonly caughtUp: boolean;
  /**
   * How far it has read the log: every event of its types up to this position was handed out by
   * a call of `next` before the latest one (`after`, or -1, before that). The latest call's event
   * is not counted: a reader that asks for more has taken in what it had, while what that call
   * returns may still wait in its promise. Past the last event counted when the events after it
   * are of other types: a reader of a few types reaches the position of the log's last event
   * (what `minPosition` waits for) though it never sees it.
   */
  readonly readTo: bigint;
  /**
   * Resolves once `readTo` lies beyond `position` (never, if the subscription ends first): how a
   * reader waiting for the next event learns that the log moved on in events it passes over.
   */
  readBeyond(position: bigint): Promise<void>;
  /**
   * Optional: reads the log now rather than at the subscription's next look for appends it is
   * not told of (another connection's or process's); asked while it is busy with a page, its
   * next wait does not wait. Absent where the store tells its subscriptions of every append itself.
   */
  readNow?(): void;
  close(): Promise<void>;
}

export interface EventStore {
  /** Refused with WrongExpectedRevisionError or EventIdConflictError; see EventToAppend.id for retries. */
  append(streamId: string, events: EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult>;
  /** Events of one stream; an unknown stream reads as an empty list. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** One page of the global log, in position order; user events only (no system events). */
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  subscribeToAll(options?: SubscribeToAllOptions): AllSubscription;
  /**
   * How many events lie after `after` (for projection lag); may stop counting at `cap`. Called on
   * every GET /projections: an adapter whose store keeps no count must not read the whole lag
   * each time (EventStoreDB remembers earlier counts).
   */
  countEventsAfter(after: bigint, cap: number): Promise<number>;
  /** Position of the newest event, or -1n when the log is empty. */
  headPosition(): Promise<bigint>;
  /**
   * What tells this event log from any other: made once when the log is created and the same
   * for as long as it exists, so that a read store can tell the log its checkpoints came from
   * (a wiped server or another store has another identity). Never an event of readAll or a
   * subscription.
   */
  identity(): Promise<string>;
  /** Answers when the store is reachable (for /health). */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Optional: appends to several streams in one transaction, all or nothing, each with its own
   * expected revision; a refusal of any (WrongExpectedRevisionError, EventIdConflictError, naming
   * its stream) writes none. A store that cannot (EventStoreDB) leaves it out, and callers append
   * one stream after the other. (The embedded store uses it to write a uniqueness claim and the
   * record that takes it in one commit.)
   */
  appendAtomically?(appends: StreamAppend[]): Promise<AppendResult[]>;
}

/** One stream's part of `appendAtomically`. */
export interface StreamAppend {
  streamId: string;
  events: EventToAppend[];
  expectedRevision: ExpectedRevision;
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
