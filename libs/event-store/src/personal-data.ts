import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { AllSubscription, AppendResult, EventStore, EventToAppend, ExpectedRevision, ReadAllOptions, ReadStreamOptions, RecordedEvent, StreamAppend } from './event-store.port';

/**
 * Erasure by crypto-shredding. Personal fields are stored encrypted (AES-256-GCM) under a key
 * per person; the keys live in a key store beside the read models, never in the log.
 * Destroying a person's key erases their data from every view without rewriting an event.
 */

/** A person's key as the key store has it. */
export type PersonKey = { state: 'active'; key: Buffer } | { state: 'erased' } | { state: 'unknown' };

/** Where the keys live: a table in the embedded SQLite file, or a MongoDB collection, beside the read models. */
export interface PersonalDataKeyStore {
  /** The person's key; `erased` once destroyed; `unknown` when none was ever made. */
  get(personId: string): Promise<PersonKey>;
  /**
   * The person's key, storing `candidate` (32 random bytes) when the person has none; `erased`
   * for an erased person, whose key is never made again. Durable before it resolves: an event
   * encrypted under a key the store could lose would be lost with it.
   */
  getOrCreate(personId: string, candidate: Buffer): Promise<PersonKey>;
  /** Destroys the key and keeps a tombstone (the person stays erased); also for a person who has no key yet. Idempotent. */
  erase(personId: string, erasedAt: string): Promise<void>;
  close(): Promise<void>;
}

export const PERSONAL_DATA_KEY_STORE = Symbol('PERSONAL_DATA_KEY_STORE');

/** The stored form of an event's personal fields: `data.encryptedPersonalData`. */
export interface PersonalDataEnvelope {
  /** The person whose key encrypts it (a record's stream id: `lead-<id>`, or `contact-<id>` for a contact not converted from a lead). */
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

const KEY_CACHE_LIMIT = 10_000;
const STREAM_PERSON_LIMIT = 10_000;
const APPENDED_LIMIT = 5_000;

/**
 * An event store that encrypts the personal fields of every event on append and decrypts them
 * on every read (readStream, readAll, subscribeToAll), so that every consumer — projector,
 * history, state, field history, conversions, uniqueness claims — sees plaintext, or the erased
 * value once the person's key is destroyed. It wraps the hash-chaining store: the hash covers
 * what is stored (the ciphertext), so an erasure leaves every chain valid; `stored` is that
 * store, for verifying chains.
 *
 * The key of an event: `metadata.personId` when the writer names one (the contact a conversion
 * adds is the lead's person), else the person of the stream's first event, else the stream id.
 * Events stored before encryption existed carry plaintext: they read as stored, and as the
 * erased value once their stream's person is erased.
 */
export class PersonalDataProtectingEventStore implements EventStore {
  readonly appendAtomically?: (appends: StreamAppend[]) => Promise<AppendResult[]>;
  private readonly keys = new BoundedMap<{ key: PersonKey; until: number }>(KEY_CACHE_LIMIT);
  private readonly streamPersons = new BoundedMap<string>(STREAM_PERSON_LIMIT);
  /** The plaintext of the events this process appended lately: the projector beside it reads them at once, without decrypting. */
  private readonly appended = new BoundedMap<{ data: Record<string, unknown>; until: number }>(APPENDED_LIMIT);
  private readonly keyCacheMs: number;
  private randomPool: Buffer = Buffer.alloc(0);
  private randomOffset = 0;

  constructor(
    /** The store beneath: what it holds is what is stored (encrypted personal fields, hashes over them). */
    readonly stored: EventStore,
    private readonly keyStore: PersonalDataKeyStore,
    private readonly options: PersonalDataProtectionOptions,
  ) {
    this.keyCacheMs = options.keyCacheMs ?? 30_000;
    const atomically = stored.appendAtomically?.bind(stored);
    if (atomically) {
      this.appendAtomically = async (appends) => {
        const stored = await Promise.all(appends.map(async (append) => ({ ...append, events: await this.protectAll(append.streamId, append.events, append.expectedRevision) })));
        appends.forEach((append, index) => this.rememberAppended(append.streamId, append.events, stored[index].events));
        return atomically(stored);
      };
    }
  }

  async append(streamId: string, events: EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    const stored = await this.protectAll(streamId, events, expectedRevision);
    // Remembered before the append: the projector beside it may read the events before the append's answer arrives.
    // (Only an event stored under that id in that stream is ever answered from it.)
    this.rememberAppended(streamId, events, stored);
    return this.stored.append(streamId, stored, expectedRevision);
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.revealAll(await this.stored.readStream(streamId, options));
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.revealAll(await this.stored.readAll(options));
  }

  subscribeToAll(options?: { after?: bigint }): AllSubscription {
    const inner = this.stored.subscribeToAll(options);
    const reveal = (event: RecordedEvent) => this.reveal(event);
    return {
      get caughtUp() {
        return inner.caughtUp;
      },
      close: () => inner.close(),
      async *[Symbol.asyncIterator]() {
        for await (const event of inner) yield await reveal(event);
      },
    };
  }

  countEventsAfter(after: bigint, cap: number): Promise<number> {
    return this.stored.countEventsAfter(after, cap);
  }

  headPosition(): Promise<bigint> {
    return this.stored.headPosition();
  }

  identity(): Promise<string> {
    return this.stored.identity();
  }

  ping(): Promise<void> {
    return this.stored.ping();
  }

  async close(): Promise<void> {
    await this.stored.close();
    await this.keyStore.close();
  }

  /** The person whose key encrypts a record's personal data (see the class comment). */
  async personOf(streamId: string): Promise<string> {
    const known = this.streamPersons.get(streamId);
    if (known !== undefined) return known;
    const [first] = await this.stored.readStream(streamId, { maxCount: 1 });
    const envelope = first && envelopeOf(first.data);
    const person = envelope?.keyId ?? (typeof first?.metadata.personId === 'string' ? first.metadata.personId : streamId);
    if (first) this.streamPersons.set(streamId, person);
    return person;
  }

  /** Destroys the keys of these persons: their personal data reads as erased from now on, in every view. */
  async erase(personIds: string[], erasedAt: string): Promise<void> {
    this.appended.clear();
    for (const personId of personIds) {
      await this.keyStore.erase(personId, erasedAt);
      this.keys.set(personId, { key: { state: 'erased' }, until: Infinity });
    }
  }

  private async protectAll(streamId: string, events: EventToAppend[], expectedRevision: ExpectedRevision): Promise<EventToAppend[]> {
    const protectedEvents: EventToAppend[] = [];
    for (const event of events) protectedEvents.push(await this.protect(streamId, event, expectedRevision));
    return protectedEvents;
  }

  private async protect(streamId: string, event: EventToAppend, expectedRevision: ExpectedRevision): Promise<EventToAppend> {
    const paths = this.options.paths[event.type];
    if (paths === undefined) return event;
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
    if (fields.length === 0) return event;
    const keyId = typeof event.metadata.personId === 'string' ? event.metadata.personId : expectedRevision === 'no_stream' ? streamId : await this.personOf(streamId);
    this.streamPersons.set(streamId, keyId);
    const key = await this.keyFor(keyId, true);
    if (key.state !== 'active') throw new PersonalDataErasedError(keyId);
    const iv = this.random(12);
    const cipher = createCipheriv('aes-256-gcm', key.key, iv);
    cipher.setAAD(associatedData(streamId, event.id, keyId, fields));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(values), 'utf8'), cipher.final()]);
    const envelope: PersonalDataEnvelope = { keyId, fields, iv: iv.toString('base64'), ciphertext: ciphertext.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
    return { ...event, data: { ...withoutPaths(event.data, fields), [PERSONAL_DATA_ENVELOPE]: envelope } };
  }

  private async revealAll(events: RecordedEvent[]): Promise<RecordedEvent[]> {
    // An erasure anywhere in what was read applies to the events before it too.
    if (events.some((event) => event.type === this.options.erasureEventType)) this.forgetKeys();
    const revealed: RecordedEvent[] = [];
    for (const event of events) revealed.push(await this.reveal(event));
    return revealed;
  }

  private async reveal(event: RecordedEvent): Promise<RecordedEvent> {
    if (event.type === this.options.erasureEventType) this.forgetKeys();
    const envelope = envelopeOf(event.data);
    if (envelope) {
      const appended = this.appended.get(`${event.streamId}/${event.id}`);
      if (appended && appended.until > Date.now()) return { ...event, data: appended.data };
      const key = await this.keyFor(envelope.keyId, false);
      if (key.state === 'unknown') throw new PersonalDataKeyMissingError(envelope.keyId, event.streamId, event.revision);
      const values = key.state === 'active' ? decrypt(key.key, envelope, event) : envelope.fields.map(() => this.options.erasedValue);
      const { [PERSONAL_DATA_ENVELOPE]: _envelope, ...data } = event.data;
      return { ...event, data: withValuesAt(data, envelope.fields, values) };
    }
    // Stored before encryption existed: plaintext, shown erased once the stream's person is.
    const plain = (this.options.paths[event.type] ?? []).filter((path) => isPersonalValue(valueAt(event.data, path)));
    if (plain.length === 0) return event;
    const personId = typeof event.metadata.personId === 'string' ? event.metadata.personId : event.streamId;
    if ((await this.keyFor(personId, false)).state !== 'erased' && (personId === event.streamId || (await this.keyFor(event.streamId, false)).state !== 'erased')) return event;
    return { ...event, data: withValuesAt(event.data, plain, plain.map(() => this.options.erasedValue)) };
  }

  /** Cached per person (one key-store read per person and cache period; an erasure is remembered for good). */
  private async keyFor(personId: string, create: boolean): Promise<PersonKey> {
    const cached = this.keys.get(personId);
    if (cached && cached.until > Date.now() && (cached.key.state !== 'unknown' || !create)) return cached.key;
    const key = create ? await this.keyStore.getOrCreate(personId, Buffer.from(this.random(32))) : await this.keyStore.get(personId);
    this.keys.set(personId, { key, until: key.state === 'erased' ? Infinity : Date.now() + this.keyCacheMs });
    return key;
  }

  /** After an erasure (here or, seen in the log, by another process): keys and plaintext are looked up anew. */
  private forgetKeys(): void {
    this.keys.clear();
    this.appended.clear();
  }

  private rememberAppended(streamId: string, events: EventToAppend[], stored: EventToAppend[]): void {
    const until = Date.now() + this.keyCacheMs;
    events.forEach((event, index) => {
      if (stored[index] !== event) this.appended.set(`${streamId}/${event.id}`, { data: event.data, until });
    });
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
  const plaintext = Buffer.concat([decipher.update(Buffer.from(envelope.ciphertext, 'base64')), decipher.final()]);
  return JSON.parse(plaintext.toString('utf8')) as unknown[];
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

/** A copy of `data` with the values at `paths` replaced (or, with `undefined`, removed); copies only the objects on the way. */
function withValuesAt(data: Record<string, unknown>, paths: string[], values: unknown[]): Record<string, unknown> {
  const root: Record<string, unknown> = { ...data };
  paths.forEach((path, index) => {
    const parts = partsOf(path);
    let target = root;
    for (const part of parts.slice(0, -1)) {
      const next = target[part];
      if (next === null || typeof next !== 'object') return;
      target = target[part] = { ...(next as Record<string, unknown>) };
    }
    const last = parts[parts.length - 1];
    if (values[index] === undefined) delete target[last];
    else target[last] = values[index];
  });
  return root;
}

function withoutPaths(data: Record<string, unknown>, paths: string[]): Record<string, unknown> {
  return withValuesAt(data, paths, paths.map(() => undefined));
}

/**
 * A map of at most about `limit` entries: two generations, the older dropped whole when the
 * newer fills (evicting one entry at a time from the front of a Map walks its deleted slots).
 */
class BoundedMap<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();

  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  set(key: string, value: V): void {
    if (this.young.size >= this.limit / 2) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}
