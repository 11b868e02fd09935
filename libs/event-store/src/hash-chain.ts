import { hash as digest } from 'node:crypto';
import { BoundedMap } from './bounded-map';
import { canonicalJson } from '@crm/domain/shared/canonical-json';
import { EventStoreDecorator } from './event-store-decorator';
import { WrongExpectedRevisionError } from './event-store.port';
import type { AppendResult, EventMetadata, EventStore, EventToAppend, ExpectedRevision, ReadStreamOptions, RecordedEvent, StreamAppend } from './event-store.port';

/**
 * Tamper evidence. Every event's metadata carries `hash`, the SHA-256 (hex) of
 *
 *     canonicalJson({ type, data, metadata, previousHash })
 *
 * where `metadata` is the event's metadata without `hash`, `previousHash` is the `hash` of the
 * event before it in its stream (null for the first, or when that event has none), and
 * canonicalJson is JSON with object keys sorted at every level and no spaces. An edit to an
 * event's type, data or metadata breaks its own hash; removing or reordering events breaks the
 * next one's.
 */
export function eventHash(event: Pick<EventToAppend, 'type' | 'data' | 'metadata'>, previousHash: string | null): string {
  const { hash: _hash, ...metadata } = event.metadata;
  return eventHashOfCanonical(event.type, canonicalJson(event.data), canonicalJson(metadata), previousHash);
}

/**
 * The same hash from the canonical JSON of the data and of the metadata without `hash` (a store
 * that writes its events' JSON canonically hashes the text it stores, without parsing it back):
 * canonicalJson of `{ type, data, metadata, previousHash }` is these members in key order.
 */
export function eventHashOfCanonical(type: string, canonicalData: string, canonicalMetadata: string, previousHash: string | null): string {
  // crypto.hash: the one-shot digest, cheaper than a Hash object for a short text.
  return digest('sha256', `{"data":${canonicalData},"metadata":${canonicalMetadata},"previousHash":${JSON.stringify(previousHash)},"type":${JSON.stringify(type)}}`, 'hex');
}

/** Events with their chain hashes, after `previousHash`. */
export function chained(events: EventToAppend[], previousHash: string | null): EventToAppend[] {
  let previous = previousHash;
  return events.map((event) => {
    const hash = eventHash(event, previous);
    previous = hash;
    return { ...event, metadata: { ...event.metadata, hash } };
  });
}

/**
 * An event store whose appends chain every event to the one before it in its stream (see
 * `eventHash`). Wraps an adapter that does not chain by itself: EventStoreDB (the embedded store's
 * writer chains as it commits, with the same `eventHash`: SqliteEventWriterOptions). A new stream needs
 * no read; an append to an existing one reads its last event for the hash to chain to (a
 * concurrent append in between makes the append fail on its expected revision, as it must),
 * unless the stream was just read up to that revision: a command reads its stream, decides,
 * then appends at the revision it read, and the hash of that event is kept from the read.
 */
export class HashChainingEventStore extends EventStoreDecorator {
  /** Present when the wrapped store has it: each stream's events chained like an append's. */
  readonly appendAtomically?: (appends: StreamAppend[]) => Promise<AppendResult[]>;
  /**
   * The hash of the latest event read per stream, with its revision. Kept from reads only (what
   * is stored), never from appends (a retried append may be answered with the events an earlier
   * attempt stored, whose hashes differ); used only for an append expecting exactly that
   * revision, so an event stored since by another process or path is never skipped: its
   * revision differs, and the chain is read again.
   */
  private readonly lastRead = new BoundedMap<{ revision: number; hash: string | null }>(LAST_READ_LIMIT);

  constructor(inner: EventStore) {
    super(inner);
    const atomically = inner.appendAtomically?.bind(inner);
    if (atomically) {
      this.appendAtomically = async (appends) =>
        atomically(await Promise.all(appends.map(async (append) => ({ ...append, events: await this.chainedFor(append.streamId, append.events, append.expectedRevision) }))));
    }
  }

  override async append(streamId: string, events: EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    if (typeof expectedRevision === 'number' || expectedRevision === 'no_stream') {
      return this.inner.append(streamId, await this.chainedFor(streamId, events, expectedRevision), expectedRevision);
    }
    // 'any' / 'stream_exists' would let two concurrent appends chain to the same last event: append
    // at the revision the chain was read from instead, and read again when another append came first.
    for (let attempt = 1; ; attempt++) {
      const [last] = await this.inner.readStream(streamId, { direction: 'backwards', maxCount: 1 });
      if (!last && expectedRevision === 'stream_exists') return this.inner.append(streamId, events, expectedRevision);
      try {
        return await this.inner.append(streamId, chained(events, hashOf(last?.metadata)), last ? last.revision : 'no_stream');
      } catch (error) {
        // The same events already stored (a retried append) answer as the store answers them.
        if (!(error instanceof WrongExpectedRevisionError) || attempt >= MAX_CHAIN_ATTEMPTS) throw error;
      }
    }
  }

  override async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    const events = await this.inner.readStream(streamId, options);
    const latest = options?.direction === 'backwards' ? events[0] : events[events.length - 1];
    if (latest) this.lastRead.set(streamId, { revision: latest.revision, hash: hashOf(latest.metadata) });
    return events;
  }

  /** A new stream needs no read; an existing one chains to its last event's hash. */
  private async chainedFor(streamId: string, events: EventToAppend[], expectedRevision: ExpectedRevision): Promise<EventToAppend[]> {
    if (expectedRevision === 'no_stream') return chained(events, null);
    const read = this.lastRead.get(streamId);
    if (read !== undefined && read.revision === expectedRevision) return chained(events, read.hash);
    const [last] = await this.inner.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    return chained(events, hashOf(last?.metadata));
  }
}

function hashOf(metadata: EventMetadata | undefined): string | null {
  return typeof metadata?.hash === 'string' ? metadata.hash : null;
}

export interface ChainVerification {
  streams: number;
  events: number;
  /** Events whose hash does not match their content and the hash before them. */
  broken: { stream: string; revision: number }[];
  /** Events written before hashes existed (or by another writer): they carry no hash, and are counted, not judged. */
  unhashed: number;
}

const PAGE = 1_000;
/** Streams whose last read hash is kept: the ones commands are working on now. */
const LAST_READ_LIMIT = 10_000;
/** How often an 'any' append re-reads the stream's last event when other appends keep coming first. */
const MAX_CHAIN_ATTEMPTS = 20;

/**
 * Checks the chain of one stream, or of every stream in the log (read in pages, keeping only
 * each stream's last hash). A broken event is reported and its stored hash carries the chain
 * on, so one edited event is one finding, not every event after it.
 */
export async function verifyHashChains(store: EventStore, stream?: string): Promise<ChainVerification> {
  const result: ChainVerification = { streams: 0, events: 0, broken: [], unhashed: 0 };
  const lastHashes = new Map<string, string | null>();
  const check = (event: RecordedEvent) => {
    if (!lastHashes.has(event.streamId)) result.streams++;
    result.events++;
    const previous = lastHashes.get(event.streamId) ?? null;
    const stored = hashOf(event.metadata);
    if (stored === null) result.unhashed++;
    else if (stored !== eventHash(event, previous)) result.broken.push({ stream: event.streamId, revision: event.revision });
    lastHashes.set(event.streamId, stored);
  };
  if (stream !== undefined) {
    for (const event of await store.readStream(stream)) check(event);
    return result;
  }
  for (let after: bigint | undefined; ; ) {
    const page = await store.readAll({ after, maxCount: PAGE });
    for (const event of page) check(event);
    if (page.length < PAGE) return result;
    after = page[page.length - 1].position;
  }
}
