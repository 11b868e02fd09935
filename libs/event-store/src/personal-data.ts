import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AllSubscription, AppendResult, EventStore, EventToAppend, ExpectedRevision, ReadAllOptions, ReadStreamOptions, RecordedEvent, StreamAppend, SubscribeToAllOptions } from './event-store.port';
import { BoundedMap } from './bounded-map';
import { SpacedCalls } from './spaced-calls';
import { ReadToPosition } from './read-to';
import { EventStoreDecorator } from './event-store-decorator';
import { timeOrderedUuid } from './event-id';

/**
 * Erasure by crypto-shredding. Personal fields are stored encrypted (AES-256-GCM) under a key
 * per person; the keys live in a key store beside the read models, never in the log.
 * Destroying a person's key erases their data from every view without rewriting an event.
 */

/** A key as the key store has it. */
export type PersonKey = { state: 'active'; key: Buffer } | { state: 'erased' } | { state: 'unknown' };

/** Where the keys live: a table in the embedded SQLite file, or a MongoDB collection, beside the read models. */
export interface PersonalDataKeyStore {
  /** The key; `erased` once destroyed; `unknown` when none was ever stored under that id. */
  get(keyId: string): Promise<PersonKey>;
  /** The keys under these ids, each as `get` gives it (`unknown` for an id never stored), in one read. */
  getMany(keyIds: readonly string[]): Promise<Map<string, PersonKey>>;
  /**
   * Stores new keys (32 random bytes each, under ids never used); an id that is already there
   * (erased, say) keeps what it has. Durable before it resolves, which is before any event
   * encrypted under one of them is appended.
   */
  putAll(keys: { keyId: string; key: Buffer }[]): Promise<void>;
  /**
   * Destroys a key, keeping a tombstone (it stays erased); also for an id that has no key (a
   * record's stream id: the tombstone masks its events stored in plaintext before encryption
   * existed). Idempotent.
   */
  erase(keyId: string, erasedAt: string): Promise<void>;
  close(): Promise<void>;
}

/** The stored form of an event's personal fields: `data.encryptedPersonalData`. */
export interface PersonalDataEnvelope {
  /** The person's key (a UUID): the one the person's first encrypted event used. */
  keyId: string;
  /** Paths into `data` of the encrypted values (`email`, `changes.email`), in the order of the plaintext array. */
  fields: string[];
  /** AES-256-GCM: base64 of the 12-byte IV, the ciphertext of the JSON array of values, the 16-byte tag. */
  iv: string;
  ciphertext: string;
  tag: string;
}

export const PERSONAL_DATA_ENVELOPE = 'encryptedPersonalData';

export interface PersonalDataProtectionOptions {
  /** Per event type, the paths into `data` of its personal fields (domain: PERSONAL_DATA_PATHS). */
  paths: Readonly<Record<string, readonly string[]>>;
  /** What an erased value reads as (domain: ERASED). */
  erasedValue: string;
  /** The event type that records an erasure: reading one drops the cached keys (another process may have erased). */
  erasureEventType: string;
  /** How long a key (or "no key") is cached; an erasure by another process is seen everywhere within it. Default 30 s. */
  keyCacheMs?: number;
}

/** A write of personal data for a person whose data was erased: the key is never made again. */
export class PersonalDataErasedError extends Error {
  constructor(readonly personId: string) {
    super(`The personal data of ${personId} was erased; no new personal data is stored for it`);
    this.name = 'PersonalDataErasedError';
  }
}

/** An encrypted event whose key the key store does not know: the key store was lost or is not the log's. */
export class PersonalDataKeyMissingError extends Error {
  constructor(
    readonly personId: string,
    readonly streamId: string,
    readonly revision: number,
  ) {
    super(`No key for ${personId} (event ${revision} of ${streamId}): the key store is not the one this log was written with, or it was lost`);
    this.name = 'PersonalDataKeyMissingError';
  }
}

/** Protected events a store revealed: from the plaintext of an append (kept or received), or decrypted. */
export interface RevealedEvents {
  plaintext: number;
  decrypted: number;
}

/**
 * The plaintext of an appended event's personal fields, handed to a reader in this process or on
 * another of its threads (a projector), which then reveals that event without decrypting it:
 * the event's id, its stream, the JSON array of the values (what the ciphertext holds, in the
 * envelope's field order), when it was encrypted (`plaintextClock`), and the envelope's IV. It is
 * used only for the event stored with that IV (a command decided again after a conflict appends
 * other data under the same event ids), within the key cache's period, and not for a key cache's
 * period after an erasure was seen (see `forgottenAt`).
 */
export type AppendedPlaintext = [eventId: string, streamId: string, values: string, encryptedAt: number, iv: string];

/**
 * The time plaintext is stamped and judged by, in ms: the thread's start on the wall clock plus a
 * monotonic clock since, so that a step of the wall clock after the threads started does not turn
 * the order of an encryption and an erasure around.
 */
const plaintextClock = () => performance.timeOrigin + performance.now();

const KEY_CACHE_LIMIT = 10_000;
const STREAM_KEY_LIMIT = 10_000;
/** Keys are made ahead, this many in one write, so that a new person costs no write of its own. */
const KEY_BATCH = 256;
const APPENDED_LIMIT = 5_000;
/**
 * The plaintext of appends goes to another thread at most once in this time: a message costs
 * about 5 µs beside what its contents cost to copy, so under load the appends of 2 ms go together;
 * an append after a quieter spell goes at once, before its commit (a fsync) is read. Plaintext
 * that comes late is not used: the event is decrypted.
 */
const PLAINTEXT_SEND_MS = 2;
/** Events a subscription takes at most in one go when the store has them ready: their keys are read together. */
const READ_AHEAD = 500;
const TURN_ENDED = Symbol('turn ended');

/**
 * An event store that encrypts the personal fields of every event on append and decrypts them
 * on every read (readStream, readAll, subscribeToAll), so that every consumer — projector,
 * history, state, field history, conversions, uniqueness claims — sees plaintext, or the erased
 * value once the person's key is destroyed. It wraps the store that chains (HashChainingEventStore, or the embedded store whose writer chains as it commits): the hash covers
 * what is stored (the ciphertext), so an erasure leaves every chain valid; `stored` is that
 * store, for verifying chains.
 *
 * The person of a record is its stream, or the stream its first event names in
 * `metadata.personId` (the contact a conversion adds is the lead's person). Their key is the one
 * the person's first encrypted event names; a new person takes a fresh key, made ahead in
 * batches (one key-store write per KEY_BATCH new persons, none on the capture path itself).
 * Events stored before encryption existed carry plaintext: they read as stored, and as the
 * erased value once their record is erased (a tombstone under the stream id).
 */
export class PersonalDataProtectingEventStore extends EventStoreDecorator {
  readonly appendAtomically?: (appends: StreamAppend[]) => Promise<AppendResult[]>;
  private readonly keys = new BoundedMap<{ key: PersonKey; until: number }>(KEY_CACHE_LIMIT);
  /** Each stream's key id, and each stream's person (the stream its first event names). */
  private readonly streamKeys = new BoundedMap<string>(STREAM_KEY_LIMIT);
  private readonly streamPersons = new BoundedMap<string>(STREAM_KEY_LIMIT);
  /** Keys stored ahead, not yet any person's. */
  private readyKeys: { keyId: string; key: Buffer }[] = [];
  /** The batch being stored: resolves to the error it failed with, if it did (never rejects: it may run with no one waiting). */
  private makingKeys?: Promise<unknown>;
  /** The plaintext of events appended lately (keepAppendedPlaintext, or handed over by another thread: receiveAppendedPlaintext), by event id: revealed without decrypting. */
  private readonly appended = new BoundedMap<AppendedPlaintext>(APPENDED_LIMIT);
  private keepAppended = false;
  /** Where the plaintext of appends goes to a reader on another thread (sendAppendedPlaintext), what waits to go, and its sending. */
  private sendAppended?: (plaintexts: AppendedPlaintext[]) => void;
  private outbox: AppendedPlaintext[] = [];
  // At once (after this turn) when the last message went out long enough ago: a lone append's plaintext then comes before its commit is read.
  private readonly outboxSends = new SpacedCalls(PLAINTEXT_SEND_MS, () => this.sendOutbox(), { afterThisTurn: true });
  /**
   * When an erasure was last seen (read in the log, or made here; `plaintextClock`): plaintext
   * encrypted before it, or within a key cache's period after it, is not used. A writer may hold
   * an erased person's key in its cache that long (an erasure by another process, or an append
   * that took the key before this process's erasure), and what it encrypts with it may be
   * committed after the erasure: decrypted, it reads as erased; its plaintext would not.
   */
  private forgottenAt = -Infinity;
  /** The last plaintext kept, and the timer that drops them all once a key cache's period has passed without one. */
  private lastKeptAt = 0;
  private plaintextSweep?: NodeJS.Timeout;
  /** Protected events revealed by this store since it opened: from plaintext kept or received, or decrypted (crm_personal_data_revealed_events). */
  private readonly revealCount: RevealedEvents = { plaintext: 0, decrypted: 0 };
  private readonly keyCacheMs: number;
  private randomPool: Buffer = Buffer.alloc(0);
  private randomOffset = 0;

  constructor(
    /** The store beneath: what it holds is what is stored (encrypted personal fields, hashes over them). */
    readonly stored: EventStore,
    private readonly keyStore: PersonalDataKeyStore,
    private readonly options: PersonalDataProtectionOptions,
  ) {
    super(stored);
    this.keyCacheMs = options.keyCacheMs ?? 30_000;
    const atomically = stored.appendAtomically?.bind(stored);
    if (atomically) {
      this.appendAtomically = async (appends) => {
        const stored: StreamAppend[] = [];
        const plaintexts = this.appendedPlaintextWanted() ? [] : undefined;
        for (const append of appends) stored.push({ ...append, events: await this.protectAll(append.streamId, append.events, append.expectedRevision, plaintexts) });
        if (plaintexts) this.rememberAppended(plaintexts);
        return atomically(stored);
      };
    }
  }

  override async append(streamId: string, events: EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    const plaintexts = this.appendedPlaintextWanted() ? [] : undefined;
    const stored = await this.protectAll(streamId, events, expectedRevision, plaintexts);
    // Remembered before the append: the projector beside it may read the events before the append's answer arrives.
    // (Only the event stored under that id, in that stream, with that IV is ever answered from it.)
    if (plaintexts) this.rememberAppended(plaintexts);
    return this.stored.append(streamId, stored, expectedRevision);
  }

  override async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.revealAll(await this.stored.readStream(streamId, options));
  }

  override async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    const erasure = this.options.erasureEventType;
    const withErasures = this.typesWithErasures(options.types);
    if (withErasures === undefined) return this.revealAll(await this.stored.readAll(options));
    // A filtered read takes the erasures too and drops them once seen: reading one (another process's) forgets the cached keys, as an unfiltered read does.
    const read: RecordedEvent[] = [];
    let wanted = 0;
    for (let after = options.after; ; ) {
      const missing = options.maxCount - wanted;
      const page = await this.stored.readAll({ after, maxCount: missing, types: withErasures });
      read.push(...page);
      wanted += page.filter((event) => event.type !== erasure).length;
      // Short: the log holds no more of these types. Full of them: the page is complete.
      if (page.length < missing || wanted === options.maxCount) break;
      after = page[page.length - 1].position;
    }
    return (await this.revealAll(read)).filter((event) => event.type !== erasure);
  }

  /**
   * Takes the events the store has ready (a page it read: up to READ_AHEAD, what arrives within
   * one turn of the event loop) before revealing the first, so that the keys of their new persons
   * are read in one key-store read rather than one each. Each is revealed in log order as before:
   * an erasure among them forgets the cached keys for the events after it.
   */
  override subscribeToAll(options: SubscribeToAllOptions = {}): AllSubscription {
    const erasure = this.options.erasureEventType;
    // As a filtered readAll: the erasures are read too (one forgets the cached keys) and dropped once revealed.
    const withErasures = this.typesWithErasures(options.types);
    const dropErasures = withErasures !== undefined;
    const inner = this.stored.subscribeToAll(dropErasures ? { ...options, types: withErasures } : options);
    const events = inner[Symbol.asyncIterator]();
    /** Revealed, not handed out yet. */
    const ready: RecordedEvent[] = [];
    /**
     * The position of the last event the reader has taken in: handed out by a call of `next`
     * before the latest one (as the store's subscription counts: the reader may not have taken
     * in what the latest call returns until it asks for more).
     */
    let handedOut = options.after ?? -1n;
    /** The event the latest `next` returned, counted as handed out at the next call. */
    let returned: bigint | undefined;
    /** This subscription's readTo (never past an event taken from the store and not handed out: being revealed, ready, returned by the latest call, or failed), and the waits on it. */
    const readTo = new ReadToPosition(handedOut);
    const moveReadTo = () => readTo.moveTo(ready.length > 0 || revealing > 0 || failure || returned !== undefined ? handedOut : inner.readTo);
    /** Taken from the store, being revealed. */
    let revealing = 0;
    /** The store's next event, asked for while gathering and not there within the turn (or its end, or its failure). */
    let pending: Promise<IteratorResult<RecordedEvent>> | undefined;
    /** An event that could not be revealed: thrown once the events before it are handed out, and from then on (none after it is skipped). */
    let failure: { error: unknown } | undefined;
    const gather = async (): Promise<IteratorResult<RecordedEvent>> => {
      const first = await (pending ?? events.next());
      pending = undefined;
      if (first.done) return first;
      const batch = [first.value];
      revealing = 1;
      try {
        const turn: Promise<typeof TURN_ENDED> = nextTurn(TURN_ENDED);
        while (batch.length < READ_AHEAD) {
          const next = events.next();
          pending = next;
          const outcome = await Promise.race([next, turn]).catch((): typeof TURN_ENDED => TURN_ENDED); // a failure is thrown at the next call, after these events
          if (outcome === TURN_ENDED || outcome.done) break;
          pending = undefined;
          batch.push(outcome.value);
          revealing = batch.length;
        }
        await this.loadKeys(batch);
        for (const event of batch) {
          const revealed = this.revealNow(event) ?? (await this.reveal(event));
          if (!dropErasures || revealed.type !== erasure) ready.push(revealed);
        }
      } catch (error) {
        failure = { error };
      } finally {
        revealing = 0;
        moveReadTo();
      }
      if (ready.length === 0) {
        if (failure) throw failure.error;
        return gather(); // erasures only, dropped: the next event
      }
      return handOut();
    };
    const handOut = (): IteratorResult<RecordedEvent> => {
      const event = ready.shift()!;
      returned = event.position;
      return { done: false, value: event };
    };
    return {
      get caughtUp() {
        return inner.caughtUp && ready.length === 0 && revealing === 0;
      },
      get readTo() {
        moveReadTo();
        return readTo.current;
      },
      readBeyond: (position) => {
        // The store's subscription reading on moves this one too, unless it holds events not handed out yet (then handing them out does).
        void inner.readBeyond(position).then(moveReadTo);
        return readTo.beyond(position);
      },
      ...(inner.readNow && { readNow: () => inner.readNow!() }),
      close: () => inner.close(),
      // A plain iterator rather than an async generator: every event of a catch-up passes through it.
      [Symbol.asyncIterator]() {
        return {
          next: async () => {
            if (returned !== undefined) {
              handedOut = returned;
              returned = undefined;
              moveReadTo();
            }
            if (ready.length > 0) return handOut();
            if (failure) throw failure.error;
            return gather();
          },
          return: async () => {
            ready.length = 0;
            // A store's next event asked for ahead is still awaited: ending its iterator would wait for that event, closing ends both.
            if (pending) await inner.close();
            else await events.return?.();
            return { done: true as const, value: undefined };
          },
        };
      },
    };
  }

  /** The types a filtered read asks the store for: its own and the erasures; undefined when it reads the erasures anyway (every type, or them too). */
  private typesWithErasures(types: readonly string[] | undefined): readonly string[] | undefined {
    const erasure = this.options.erasureEventType;
    return types === undefined || types.length === 0 || types.includes(erasure) ? undefined : [...types, erasure];
  }

  override async close(): Promise<void> {
    clearTimeout(this.plaintextSweep);
    this.appended.clear();
    await this.stored.close();
    await this.keyStore.close();
  }

  /**
   * Keeps the plaintext of the events appended through this store for a while, for a reader in
   * this process that reads them moments later (a projector on this very store): it then reveals
   * them without decrypting. Off unless asked for: without such a reader the plaintext would only
   * be kept alive for the garbage collector (the embedded default's projector has its own thread
   * and store, and is sent the plaintext: sendAppendedPlaintext).
   */
  keepAppendedPlaintext(): void {
    this.keepAppended = true;
  }

  /**
   * Hands the plaintext of every append to a reader on another thread (the embedded default's
   * projector thread: `receiveAppendedPlaintext` there), one message at most every
   * PLAINTEXT_SEND_MS. It saves that thread the decryption and the key-store read of what it reads
   * next, and costs this one a message every PLAINTEXT_SEND_MS while it appends; an event whose
   * plaintext is not there when it is read (late, dropped, or never sent: its append failed) is
   * decrypted as before.
   */
  sendAppendedPlaintext(send: (plaintexts: AppendedPlaintext[]) => void): void {
    this.sendAppended = send;
  }

  /** How many protected events this store has revealed from plaintext, and how many it decrypted (an erased one is neither). */
  revealedEvents(): RevealedEvents {
    return { ...this.revealCount };
  }

  /** Takes what another thread's store sent (sendAppendedPlaintext), as keepAppendedPlaintext keeps its own. */
  receiveAppendedPlaintext(plaintexts: readonly AppendedPlaintext[]): void {
    this.keepPlaintext(plaintexts);
  }

  /** The person of a record: the stream its first event names in `metadata.personId` (a lead's, for a converted contact), else its own. */
  async personOf(streamId: string): Promise<string> {
    const known = this.streamPersons.get(streamId);
    if (known !== undefined) return known;
    const [first] = await this.stored.readStream(streamId, { maxCount: 1 });
    const person = typeof first?.metadata.personId === 'string' ? first.metadata.personId : streamId;
    if (first) this.streamPersons.set(streamId, person);
    return person;
  }

  /**
   * Erases these records: destroys every key their events were encrypted under, and leaves a
   * tombstone under each stream id (for events stored in plaintext before encryption existed).
   * Their personal data reads as erased from now on, in every view.
   */
  async erase(streamIds: string[], erasedAt: string): Promise<void> {
    this.forgetPlaintext();
    this.outbox = [];
    const keyIds = new Set(streamIds);
    for (const streamId of streamIds) {
      for (const event of await this.stored.readStream(streamId)) {
        const envelope = envelopeOf(event.data);
        if (envelope) keyIds.add(envelope.keyId);
      }
    }
    for (const keyId of keyIds) {
      await this.keyStore.erase(keyId, erasedAt);
      this.keys.set(keyId, { key: { state: 'erased' }, until: Infinity });
    }
  }

  /** Awaits only what the caches cannot answer (a key not seen yet); a capture of a new person awaits nothing. */
  private async protectAll(streamId: string, events: EventToAppend[], expectedRevision: ExpectedRevision, plaintexts: AppendedPlaintext[] | undefined): Promise<EventToAppend[]> {
    const protectedEvents: EventToAppend[] = [];
    const encryptedAt = plaintextClock();
    for (const event of events) {
      const personal = this.personalFieldsOf(event);
      if (!personal) {
        protectedEvents.push(event);
        continue;
      }
      const key = this.keyOfWriterNow(streamId, event, expectedRevision) ?? (await this.keyOfWriter(streamId, event, expectedRevision));
      const values = JSON.stringify(personal.values);
      const encrypted = this.encrypted(streamId, event, personal.fields, values, key);
      protectedEvents.push(encrypted);
      plaintexts?.push([event.id, streamId, values, encryptedAt, (encrypted.data[PERSONAL_DATA_ENVELOPE] as PersonalDataEnvelope).iv]);
    }
    return protectedEvents;
  }

  private personalFieldsOf(event: EventToAppend): { fields: string[]; values: unknown[] } | undefined {
    const paths = this.options.paths[event.type];
    if (paths === undefined) return undefined;
    const fields: string[] = [];
    const values: unknown[] = [];
    for (const path of paths) {
      const value = valueAt(event.data, path);
      // An erased value (an erased lead converted) tells nothing of the person: it is stored as it is.
      if (isPersonalValue(value) && value !== this.options.erasedValue) {
        fields.push(path);
        values.push(value);
      }
    }
    return fields.length === 0 ? undefined : { fields, values };
  }

  /** The event with the personal fields at `fields` replaced by the envelope of `values` (their JSON array) encrypted. */
  private encrypted(streamId: string, event: EventToAppend, fields: string[], values: string, { keyId, key }: { keyId: string; key: Buffer }): EventToAppend {
    const iv = this.random(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(associatedData(streamId, event.id, keyId, fields));
    // Buffers in and out, converted once: the cipher's own string output (a decoder stream) costs more than the cipher. GCM's `final` adds no bytes.
    const encrypted = cipher.update(values, 'utf8');
    const rest = cipher.final();
    const ciphertext = (rest.length === 0 ? encrypted : Buffer.concat([encrypted, rest])).toString('base64');
    const envelope: PersonalDataEnvelope = { keyId, fields, iv: iv.toString('base64'), ciphertext, tag: cipher.getAuthTag().toString('base64') };
    const data = withoutPaths(event.data, fields);
    data[PERSONAL_DATA_ENVELOPE] = envelope;
    return { ...event, data };
  }

  private async revealAll(events: RecordedEvent[]): Promise<RecordedEvent[]> {
    // An erasure anywhere in what was read applies to the events before it too.
    if (events.some((event) => event.type === this.options.erasureEventType)) this.forgetKeys();
    await this.loadKeys(events);
    const revealed: RecordedEvent[] = [];
    for (const event of events) revealed.push(this.revealNow(event) ?? (await this.reveal(event)));
    return revealed;
  }

  /**
   * Caches, in one key-store read, the keys these events are encrypted under that the cache does
   * not hold (those before the first erasure among them: it forgets the cache). A single one is
   * left to `keyFor`, as before.
   */
  private async loadKeys(events: RecordedEvent[]): Promise<void> {
    const missing = new Set<string>();
    for (const event of events) {
      if (event.type === this.options.erasureEventType) break;
      const envelope = envelopeOf(event.data);
      if (envelope && !this.cachedKey(envelope.keyId) && !this.plaintextOf(event, envelope)) missing.add(envelope.keyId);
    }
    if (missing.size < 2) return;
    for (const [keyId, key] of await this.keyStore.getMany([...missing])) this.remember(keyId, key);
  }

  /** The event revealed from what the caches hold, or undefined when that takes a key-store read. */
  private revealNow(event: RecordedEvent): RecordedEvent | undefined {
    if (event.type === this.options.erasureEventType) this.forgetKeys();
    const envelope = envelopeOf(event.data);
    if (!envelope) return this.options.paths[event.type] === undefined ? event : undefined;
    const plaintext = this.plaintextOf(event, envelope);
    if (plaintext) {
      // Read once, by the projector, moments after the append: dropped then (other readers decrypt).
      this.appended.delete(event.id);
      this.revealCount.plaintext++;
      return this.withValues(event, envelope, JSON.parse(plaintext[2]) as unknown[]);
    }
    const key = this.cachedKey(envelope.keyId);
    return key && key.state !== 'unknown' ? this.revealed(event, envelope, key) : undefined;
  }

  private revealed(event: RecordedEvent, envelope: PersonalDataEnvelope, key: PersonKey): RecordedEvent {
    if (key.state === 'unknown') throw new PersonalDataKeyMissingError(envelope.keyId, event.streamId, event.revision);
    if (key.state === 'erased') return this.withValues(event, envelope, envelope.fields.map(() => this.options.erasedValue));
    const values = decrypt(key.key, envelope, event);
    this.revealCount.decrypted++;
    return this.withValues(event, envelope, values);
  }

  /** The event with its envelope replaced by these values at the envelope's fields. */
  private withValues(event: RecordedEvent, envelope: PersonalDataEnvelope, values: unknown[]): RecordedEvent {
    const { [PERSONAL_DATA_ENVELOPE]: _envelope, ...data } = event.data;
    return { ...event, data: withValuesAt(data, envelope.fields, values) };
  }

  private async reveal(event: RecordedEvent): Promise<RecordedEvent> {
    if (event.type === this.options.erasureEventType) this.forgetKeys();
    const envelope = envelopeOf(event.data);
    if (envelope) return this.revealed(event, envelope, await this.keyFor(envelope.keyId));
    // Stored before encryption existed: plaintext, shown erased once the stream's person is.
    const plain = (this.options.paths[event.type] ?? []).filter((path) => isPersonalValue(valueAt(event.data, path)));
    if (plain.length === 0) return event;
    const personId = typeof event.metadata.personId === 'string' ? event.metadata.personId : event.streamId;
    if ((await this.keyFor(personId)).state !== 'erased' && (personId === event.streamId || (await this.keyFor(event.streamId)).state !== 'erased')) return event;
    return { ...event, data: withValuesAt(event.data, plain, plain.map(() => this.options.erasedValue)) };
  }

  /** The key to encrypt an event with when the caches know it (or a new person takes a key made ahead), else undefined. */
  private keyOfWriterNow(streamId: string, event: EventToAppend, expectedRevision: ExpectedRevision): { keyId: string; key: Buffer } | undefined {
    const keyId = this.streamKeys.get(streamId);
    if (keyId !== undefined) {
      const key = this.cachedKey(keyId);
      return key?.state === 'active' ? { keyId, key: key.key } : undefined;
    }
    if (expectedRevision !== 'no_stream' || typeof event.metadata.personId === 'string') return undefined;
    // A new record (a capture): its key is not cached, a later command on it finds the key in its first event.
    return this.takeReadyKey();
  }

  /** The key to encrypt an event with: its person's, or a fresh one for a person who has none yet. */
  private async keyOfWriter(streamId: string, event: EventToAppend, expectedRevision: ExpectedRevision): Promise<{ keyId: string; key: Buffer }> {
    const person = typeof event.metadata.personId === 'string' ? event.metadata.personId : undefined;
    let keyId = this.streamKeys.get(streamId);
    if (keyId === undefined && person !== undefined) keyId = await this.keyIdIn(person);
    if (keyId === undefined && expectedRevision !== 'no_stream') keyId = await this.keyIdIn(streamId);
    if (keyId !== undefined) {
      const key = await this.keyFor(keyId);
      if (key.state !== 'active') throw new PersonalDataErasedError(person ?? streamId);
      this.streamKeys.set(streamId, keyId);
      return { keyId, key: key.key };
    }
    // No key yet: a new record, or one stored in plaintext before encryption existed — unless that one was erased.
    if (expectedRevision !== 'no_stream' || person !== undefined) {
      const personStream = person ?? streamId;
      if ((await this.keyFor(personStream)).state === 'erased') throw new PersonalDataErasedError(personStream);
    }
    const fresh = await this.freshKey();
    this.streamKeys.set(streamId, fresh.keyId);
    return fresh;
  }

  /** The key id of a stream's first encrypted event, or of its person's when it has none of its own. */
  private async keyIdIn(streamId: string): Promise<string | undefined> {
    const known = this.streamKeys.get(streamId);
    if (known !== undefined) return known;
    const events = await this.stored.readStream(streamId);
    for (const event of events) {
      const envelope = envelopeOf(event.data);
      if (envelope) {
        this.streamKeys.set(streamId, envelope.keyId);
        return envelope.keyId;
      }
    }
    const person = events[0]?.metadata.personId;
    return typeof person === 'string' && person !== streamId ? this.keyIdIn(person) : undefined;
  }

  /** A key no one has yet, from the batch made ahead. */
  private async freshKey(): Promise<{ keyId: string; key: Buffer }> {
    for (;;) {
      const ready = this.takeReadyKey();
      if (ready) return ready;
      // None ready: takeReadyKey has started a batch; its failure is this append's.
      const failure = await this.makingKeys;
      if (failure !== undefined) throw failure;
    }
  }

  /** A key made ahead, if one is ready; the next batch is started when this one runs low. */
  private takeReadyKey(): { keyId: string; key: Buffer } | undefined {
    // Half a batch ahead: storing the next one may wait for the event log's commit to free the write lock.
    if (this.readyKeys.length < KEY_BATCH / 2 && !this.makingKeys) {
      this.makingKeys = this.makeKeys()
        .then(() => undefined, (error: unknown) => error ?? new Error('Storing personal-data keys failed'))
        .finally(() => (this.makingKeys = undefined));
    }
    return this.readyKeys.pop();
  }

  private async makeKeys(): Promise<void> {
    const keys = Array.from({ length: KEY_BATCH }, () => ({ keyId: timeOrderedUuid(), key: Buffer.from(this.random(32)) }));
    await this.keyStore.putAll(keys);
    this.readyKeys.push(...keys);
  }

  /** Cached per key (one key-store read per key and cache period; an erasure is remembered for good). */
  private async keyFor(keyId: string): Promise<PersonKey> {
    const cached = this.cachedKey(keyId);
    if (cached) return cached;
    const key = await this.keyStore.get(keyId);
    this.remember(keyId, key);
    return key;
  }

  private remember(keyId: string, key: PersonKey): void {
    this.keys.set(keyId, { key, until: key.state === 'erased' ? Infinity : Date.now() + this.keyCacheMs });
  }

  private cachedKey(keyId: string): PersonKey | undefined {
    const cached = this.keys.get(keyId);
    return cached && cached.until > Date.now() ? cached.key : undefined;
  }

  /** After an erasure (here or, seen in the log, by another process): keys and plaintext are looked up anew. */
  private forgetKeys(): void {
    this.keys.clear();
    this.forgetPlaintext();
  }

  private forgetPlaintext(): void {
    this.appended.clear();
    this.forgottenAt = plaintextClock();
  }

  /** The plaintext kept or received for this event, when it may be used (see AppendedPlaintext). */
  private plaintextOf(event: RecordedEvent, envelope: PersonalDataEnvelope): AppendedPlaintext | undefined {
    const plaintext = this.appended.get(event.id);
    return plaintext && plaintext[1] === event.streamId && plaintext[4] === envelope.iv && this.inPeriod(plaintext) ? plaintext : undefined;
  }

  /** Encrypted within the key cache's period, and more than one such period after the last erasure seen. */
  private inPeriod([, , , encryptedAt]: AppendedPlaintext): boolean {
    return encryptedAt > this.forgottenAt + this.keyCacheMs && encryptedAt + this.keyCacheMs > plaintextClock();
  }

  /**
   * Keeps plaintext for this store's reads (none that could not be used); once a key cache's
   * period has passed without more, all of it is dropped, so that personal data does not linger
   * in a reader that reads nothing (a projector on standby).
   */
  private keepPlaintext(plaintexts: readonly AppendedPlaintext[]): void {
    for (const plaintext of plaintexts) if (this.inPeriod(plaintext)) this.appended.set(plaintext[0], plaintext);
    this.lastKeptAt = plaintextClock();
    if (this.plaintextSweep) return;
    const sweep = () => {
      const idle = plaintextClock() - this.lastKeptAt;
      if (idle < this.keyCacheMs) {
        this.plaintextSweep = setTimeout(sweep, this.keyCacheMs - idle).unref();
        return;
      }
      this.appended.clear();
      this.plaintextSweep = undefined;
    };
    this.plaintextSweep = setTimeout(sweep, this.keyCacheMs).unref();
  }

  private appendedPlaintextWanted(): boolean {
    return this.keepAppended || this.sendAppended !== undefined;
  }

  private rememberAppended(plaintexts: AppendedPlaintext[]): void {
    if (plaintexts.length === 0) return;
    if (this.keepAppended) this.keepPlaintext(plaintexts);
    if (!this.sendAppended) return;
    for (const plaintext of plaintexts) this.outbox.push(plaintext);
    this.outboxSends.ask();
  }

  private sendOutbox(): void {
    const sending = this.outbox;
    this.outbox = [];
    // (Emptied by an erasure meanwhile: nothing to send.)
    if (sending.length > 0) this.sendAppended?.(sending);
  }

  /** Random bytes (keys, IVs) drawn from a pool: one call into the system's generator per 4 KiB rather than per event. */
  private random(size: number): Buffer {
    if (this.randomOffset + size > this.randomPool.length) {
      this.randomPool = randomBytes(4096);
      this.randomOffset = 0;
    }
    const bytes = this.randomPool.subarray(this.randomOffset, this.randomOffset + size);
    this.randomOffset += size;
    return bytes;
  }
}

/** The store beneath any personal-data protection: the events as stored, which the hash chains cover. */
export function storedEvents(store: EventStore): EventStore {
  return store instanceof PersonalDataProtectingEventStore ? store.stored : store;
}

function decrypt(key: Buffer, envelope: PersonalDataEnvelope, event: RecordedEvent): unknown[] {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64'));
  decipher.setAAD(associatedData(event.streamId, event.id, envelope.keyId, envelope.fields));
  decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
  // Buffers in and out, as `encrypted` does; `final` authenticates (it throws on a wrong tag) and adds no bytes in GCM.
  const decrypted = decipher.update(Buffer.from(envelope.ciphertext, 'base64'));
  const rest = decipher.final();
  return JSON.parse((rest.length === 0 ? decrypted : Buffer.concat([decrypted, rest])).toString('utf8')) as unknown[];
}

/** Binds a ciphertext to its event and its field list: moved to another event or relabelled, it fails to decrypt. */
function associatedData(streamId: string, eventId: string, keyId: string, fields: string[]): Buffer {
  return Buffer.from(JSON.stringify([streamId, eventId, keyId, fields]), 'utf8');
}

function envelopeOf(data: Record<string, unknown>): PersonalDataEnvelope | undefined {
  const envelope = data[PERSONAL_DATA_ENVELOPE] as PersonalDataEnvelope | undefined;
  return envelope && typeof envelope.keyId === 'string' && Array.isArray(envelope.fields) ? envelope : undefined;
}

/** A value worth protecting: `null` (a cleared field) says nothing about the person. */
function isPersonalValue(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Paths split once: they are a handful, and every event with personal data walks them. */
const PATH_PARTS = new Map<string, string[]>();
function partsOf(path: string): string[] {
  let parts = PATH_PARTS.get(path);
  if (!parts) PATH_PARTS.set(path, (parts = path.split('.')));
  return parts;
}

function valueAt(data: Record<string, unknown>, path: string): unknown {
  let value: unknown = data;
  for (const part of partsOf(path)) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A copy of `data` with the values at `paths` replaced; copies only the objects on the way. */
function withValuesAt(data: Record<string, unknown>, paths: string[], values: unknown[]): Record<string, unknown> {
  // Copies filled from an empty object, not spread: the values put back are keys the copy lacks (see withMembers).
  const root: Record<string, unknown> = Object.assign({}, data);
  paths.forEach((path, index) => {
    const parts = partsOf(path);
    let target = root;
    for (let depth = 0; depth < parts.length - 1; depth++) {
      const next = target[parts[depth]];
      if (next === null || typeof next !== 'object') return;
      target = target[parts[depth]] = Object.assign({}, next as Record<string, unknown>);
    }
    target[parts[parts.length - 1]] = values[index];
  });
  return root;
}

/**
 * A copy of `data` without the values at `paths`, in the order it had: copied member by member
 * rather than spread and deleted from, because an object with deleted members turns slow
 * (dictionary mode) and this one is written as JSON next.
 */
function withoutPaths(data: Record<string, unknown>, paths: readonly string[]): Record<string, unknown> {
  const left = new Set<string>();
  const within = new Map<string, string[]>();
  for (const path of paths) {
    const dot = path.indexOf('.');
    if (dot < 0) left.add(path);
    else within.set(path.slice(0, dot), [...(within.get(path.slice(0, dot)) ?? []), path.slice(dot + 1)]);
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(data)) {
    if (left.has(key)) continue;
    const value = data[key];
    const inner = within.get(key);
    const kept = inner && value !== null && typeof value === 'object' && !Array.isArray(value) ? withoutPaths(value as Record<string, unknown>, inner) : value;
    // A member named __proto__ (JSON may have one) stays a member, as a spread keeps it.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: kept, enumerable: true, writable: true, configurable: true });
    else copy[key] = kept;
  }
  return copy;
}
