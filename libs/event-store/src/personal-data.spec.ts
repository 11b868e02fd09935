import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The real key store of the embedded file (it lives beside the read models, in their library).
import { SqliteKeyStore } from '@crm/read-models/keys/sqlite-key-store';
import { describeEventStoreConformance } from './event-store.conformance';
import { EventMetadata, EventToAppend, RecordedEvent } from './event-store.port';
import { HashChainingEventStore, verifyHashChains } from './hash-chain';
import { AppendedPlaintext, PersonalDataErasedError, PersonalDataKeyMissingError, PersonalDataProtectingEventStore, PersonalDataProtectionOptions } from './personal-data';
import { SqliteEventStore } from './sqlite/sqlite-event-store';

const OPTIONS: PersonalDataProtectionOptions = {
  paths: { Captured: ['lastName', 'email'], Changed: ['changes.email', 'changes.lastName'], Converted: ['newContact.lastName'] },
  erasedValue: '[erased]',
  erasureEventType: 'PersonalDataErased',
};

const event = (type: string, data: Record<string, unknown>, metadata: Partial<EventMetadata> = {}): EventToAppend => ({
  id: crypto.randomUUID(),
  type,
  data,
  metadata: { actorId: 'test', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c', ...metadata },
});

const conformanceDirs: string[] = [];
afterAll(() => conformanceDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
// Encryption over a store is an event store like any adapter (over one that does not chain: the suite compares metadata as written).
describeEventStoreConformance('personal-data protection over the SQLite store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crm-personal-conformance-'));
  conformanceDirs.push(dir);
  const file = join(dir, 'crm.sqlite');
  return new PersonalDataProtectingEventStore(SqliteEventStore.open(file, 'writer-thread'), SqliteKeyStore.open(file, 'with-log'), OPTIONS);
});

describe('Personal data encrypted per person (crypto-shredding)', () => {
  let dir: string;
  let file: string;
  let store: PersonalDataProtectingEventStore;
  const opened: PersonalDataProtectingEventStore[] = [];

  /** The chain of the service: encryption outside the hash chain, over the SQLite adapter, keys in the same file. */
  function open(): PersonalDataProtectingEventStore {
    const opening = new PersonalDataProtectingEventStore(new HashChainingEventStore(SqliteEventStore.open(file)), SqliteKeyStore.open(file, 'with-log'), OPTIONS);
    opened.push(opening);
    return opening;
  }
  const dataOf = (events: RecordedEvent[]) => events.map((e) => e.data);
  /** Every key gone from the key store (what only kept or received plaintext can then read). */
  const deleteAllKeys = () => {
    const db = new Database(file);
    db.prepare('DELETE FROM personal_data_keys').run();
    db.close();
  };
  /** A store that sends its appends' plaintext (each message kept in `messages`), and a reader beside it. */
  function sendingAndReader(): { sending: PersonalDataProtectingEventStore; reader: PersonalDataProtectingEventStore; messages: AppendedPlaintext[][]; sent: () => AppendedPlaintext[]; whenSent: () => Promise<void> } {
    const sending = open();
    const messages: AppendedPlaintext[][] = [];
    sending.sendAppendedPlaintext((plaintexts) => messages.push(plaintexts));
    // Sent within PLAINTEXT_SEND_MS: 20 ms is ample.
    return { sending, reader: open(), messages, sent: () => messages.flat(), whenSent: () => new Promise((resolve) => setTimeout(resolve, 20)) };
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-personal-'));
    file = join(dir, 'crm.sqlite');
    store = open();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores personal fields as ciphertext and gives them back as written on every read path', async () => {
    await store.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace', email: 'ada@example.org', company: 'Engines' })], 'no_stream');
    await store.append('lead-a', [event('Changed', { leadId: 'a', changes: { email: 'ada@new.example.org', title: 'Countess', lastName: null } })], 0);
    const expected = [
      { leadId: 'a', lastName: 'Lovelace', email: 'ada@example.org', company: 'Engines' },
      { leadId: 'a', changes: { email: 'ada@new.example.org', title: 'Countess', lastName: null } },
    ];
    expect(dataOf(await store.readStream('lead-a'))).toEqual(expected);
    expect(dataOf(await store.readAll({ maxCount: 10 }))).toEqual(expected);
    const subscription = store.subscribeToAll();
    const seen: RecordedEvent[] = [];
    for await (const e of subscription) if (seen.push(e) === 2) break;
    await subscription.close();
    expect(dataOf(seen)).toEqual(expected);

    const stored = dataOf(await store.stored.readStream('lead-a'));
    expect(JSON.stringify(stored)).not.toMatch(/Lovelace|ada@/);
    expect(stored[0]).toEqual({ leadId: 'a', company: 'Engines', encryptedPersonalData: { keyId: expect.any(String), fields: ['lastName', 'email'], iv: expect.any(String), ciphertext: expect.any(String), tag: expect.any(String) } });
    // One person, one key: the stream's later events use its first event's.
    expect((stored[1].encryptedPersonalData as { keyId: string }).keyId).toBe((stored[0].encryptedPersonalData as { keyId: string }).keyId);
    // A cleared field says nothing about the person: it stays as it is; fields not personal too.
    expect(stored[1]).toMatchObject({ changes: { title: 'Countess', lastName: null }, encryptedPersonalData: { fields: ['changes.email'] } });
  });

  it('erases a person: every read shows the erased value, nothing else changes, every chain still verifies', async () => {
    await store.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace', email: 'ada@example.org', company: 'Engines' })], 'no_stream');
    await store.append('lead-a', [event('Converted', { leadId: 'a', newContact: { lastName: 'Lovelace', ownerId: 'rep-1' } })], 0);
    await store.append('lead-b', [event('Captured', { leadId: 'b', lastName: 'Hopper' })], 'no_stream');
    await store.erase(['lead-a'], '2026-12-01T10:00:00.000Z');
    expect(dataOf(await store.readStream('lead-a'))).toEqual([
      { leadId: 'a', lastName: '[erased]', email: '[erased]', company: 'Engines' },
      { leadId: 'a', newContact: { lastName: '[erased]', ownerId: 'rep-1' } },
    ]);
    expect(dataOf(await store.readStream('lead-b'))).toEqual([{ leadId: 'b', lastName: 'Hopper' }]);
    // Another process (a fresh cache) reads the same.
    expect(dataOf(await open().readAll({ maxCount: 10 }))[0]).toMatchObject({ lastName: '[erased]' });
    expect(await verifyHashChains(store.stored)).toEqual({ streams: 2, events: 3, broken: [], unhashed: 0 });
    // No new personal data for an erased person; other data still goes in.
    await expect(store.append('lead-a', [event('Changed', { leadId: 'a', changes: { email: 'again@example.org' } })], 1)).rejects.toBeInstanceOf(PersonalDataErasedError);
    await store.append('lead-a', [event('Changed', { leadId: 'a', changes: { email: null } })], 1);
  });

  it('encrypts under the person the writer names, and the stream\'s later events under the same person', async () => {
    await store.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace' })], 'no_stream');
    await store.append('contact-c', [event('Captured', { lastName: 'Lovelace' }, { personId: 'lead-a' })], 'no_stream');
    await open().append('contact-c', [event('Changed', { changes: { email: 'ada@example.org' } })], 0);
    const keyIdsOf = async (stream: string) => (await store.stored.readStream(stream)).map((e) => (e.data.encryptedPersonalData as { keyId: string }).keyId);
    const [leadKey] = await keyIdsOf('lead-a');
    expect(await keyIdsOf('contact-c')).toEqual([leadKey, leadKey]);
    expect(await store.personOf('contact-c')).toBe('lead-a');
    await store.erase(['lead-a'], '2026-12-01T10:00:00.000Z');
    expect(dataOf(await store.readStream('contact-c'))).toEqual([{ lastName: '[erased]' }, { changes: { email: '[erased]' } }]);
  });

  it('sees another process\'s erasure when it reads the PersonalDataErased event, though it had the key cached', async () => {
    const other = open();
    await store.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace' })], 'no_stream');
    expect(dataOf(await other.readStream('lead-a'))).toEqual([{ leadId: 'a', lastName: 'Lovelace' }]);
    await store.erase(['lead-a'], '2026-12-01T10:00:00.000Z');
    await store.append('lead-a', [event('PersonalDataErased', { leadId: 'a', reason: 'Request #1' })], 0);
    expect(dataOf(await other.readStream('lead-a'))).toEqual([{ leadId: 'a', lastName: '[erased]' }, { leadId: 'a', reason: 'Request #1' }]);
  });

  it('sees another process\'s erasure in a read filtered by type that does not name it, and leaves the erasure out of the page', async () => {
    const other = open();
    await store.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace' })], 'no_stream');
    await store.append('lead-b', [event('Captured', { leadId: 'b', lastName: 'Hopper' })], 'no_stream');
    expect(dataOf(await other.readStream('lead-a'))).toEqual([{ leadId: 'a', lastName: 'Lovelace' }]);
    await store.erase(['lead-a'], '2026-12-01T10:00:00.000Z');
    await store.append('lead-a', [event('PersonalDataErased', { leadId: 'a', reason: 'Request #1' })], 0);
    await store.append('lead-b', [event('Changed', { leadId: 'b', changes: { email: 'grace@example.org' } })], 0);
    // The erasure is read (and dropped from the page): the key cached above is forgotten.
    expect(dataOf(await other.readAll({ maxCount: 10, types: ['Changed'] }))).toEqual([{ leadId: 'b', changes: { email: 'grace@example.org' } }]);
    // (A read of the captured event alone: a read that holds the erasure would forget the keys by itself.)
    expect(dataOf(await other.readStream('lead-a', { maxCount: 1 }))).toEqual([{ leadId: 'a', lastName: '[erased]' }]);
    // An erasure passed over counts toward no page: a page of one holds the one event asked for.
    expect((await other.readAll({ maxCount: 1, types: ['Changed'] })).map((e) => e.type)).toEqual(['Changed']);
    expect((await other.readAll({ maxCount: 5, types: ['PersonalDataErased'] })).map((e) => e.type)).toEqual(['PersonalDataErased']);
  });

  it('sees another process\'s erasure in a subscription filtered by type that does not name it, leaves the erasure out, and reads on past it', async () => {
    const other = open();
    await store.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace' })], 'no_stream');
    await store.append('lead-b', [event('Captured', { leadId: 'b', lastName: 'Hopper' })], 'no_stream');
    expect(dataOf(await other.readStream('lead-a'))).toEqual([{ leadId: 'a', lastName: 'Lovelace' }]);
    const before = await store.headPosition();
    await store.erase(['lead-a'], '2026-12-01T10:00:00.000Z');
    await store.append('lead-b', [event('Changed', { leadId: 'b', changes: { email: 'grace@example.org' } })], 0);
    const erased = await store.append('lead-a', [event('PersonalDataErased', { leadId: 'a', reason: 'Request #1' })], 0);
    const subscription = other.subscribeToAll({ after: before, types: ['Changed'] });
    try {
      const events = subscription[Symbol.asyncIterator]();
      expect(dataOf([(await events.next()).value])).toEqual([{ leadId: 'b', changes: { email: 'grace@example.org' } }]);
      const next = events.next();
      await subscription.readBeyond(erased.position - 1n);
      expect(subscription.readTo).toBe(erased.position);
      // The erasure was read (and not handed out): the key cached above is forgotten.
      expect(dataOf(await other.readStream('lead-a', { maxCount: 1 }))).toEqual([{ leadId: 'a', lastName: '[erased]' }]);
      const changed = await store.append('lead-b', [event('Changed', { leadId: 'b', changes: { phone: '+1 555' } })], 1);
      expect((await next).value.position).toBe(changed.position);
    } finally {
      await subscription.close();
    }
  });

  it('reads the keys of many new persons in one key-store read per page or per batch of a subscription, not one each', async () => {
    await Promise.all(Array.from({ length: 600 }, (_, n) => store.append(`lead-${n}`, [event('Captured', { leadId: String(n), lastName: `Person ${n}` })], 'no_stream')));
    const keyStore = SqliteKeyStore.open(file, 'with-log');
    const get = jest.spyOn(keyStore, 'get');
    const getMany = jest.spyOn(keyStore, 'getMany');
    const reader = new PersonalDataProtectingEventStore(SqliteEventStore.open(file), keyStore, OPTIONS);
    opened.push(reader);
    const page = await reader.readAll({ maxCount: 1_000 });
    expect(page.map((e) => e.data.lastName)).toEqual(Array.from({ length: 600 }, (_, n) => `Person ${n}`));
    expect(getMany).toHaveBeenCalledTimes(1);

    const fresh = SqliteKeyStore.open(file, 'with-log');
    const freshGet = jest.spyOn(fresh, 'get');
    const freshGetMany = jest.spyOn(fresh, 'getMany');
    const follower = new PersonalDataProtectingEventStore(SqliteEventStore.open(file), fresh, OPTIONS);
    opened.push(follower);
    const subscription = follower.subscribeToAll();
    const seen: RecordedEvent[] = [];
    for await (const e of subscription) if (seen.push(e) === 600) break;
    await subscription.close();
    expect(seen.map((e) => e.data.lastName)).toEqual(Array.from({ length: 600 }, (_, n) => `Person ${n}`));
    expect(freshGetMany.mock.calls.length).toBeLessThanOrEqual(3);
    expect(get.mock.calls.length + freshGet.mock.calls.length).toBeLessThanOrEqual(2);
  });

  it('reads events stored in plaintext before encryption existed, and masks them once their person is erased', async () => {
    await store.stored.append('lead-old', [event('Captured', { leadId: 'old', lastName: 'Curie', email: 'marie@example.org' })], 'no_stream');
    expect(dataOf(await store.readStream('lead-old'))).toEqual([{ leadId: 'old', lastName: 'Curie', email: 'marie@example.org' }]);
    await store.erase(['lead-old'], '2026-12-01T10:00:00.000Z');
    expect(dataOf(await store.readStream('lead-old'))).toEqual([{ leadId: 'old', lastName: '[erased]', email: '[erased]' }]);
  });

  it('refuses a ciphertext that was altered or moved to another event (authenticated encryption)', async () => {
    await store.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace' })], 'no_stream');
    await store.append('lead-b', [event('Captured', { leadId: 'b', lastName: 'Hopper' })], 'no_stream');
    const db = new Database(file);
    const envelopeOf = (stream: string) => (db.prepare("SELECT json_extract(data, '$.encryptedPersonalData') AS e FROM events WHERE stream_id = ?").get(stream) as { e: string }).e;
    // lead-b's ciphertext under lead-a's key: the stream and event id it was made for do not match.
    db.prepare("UPDATE events SET data = json_set(data, '$.encryptedPersonalData', json(?)) WHERE stream_id = 'lead-b'").run(JSON.stringify({ ...JSON.parse(envelopeOf('lead-a')) }));
    db.close();
    // Read by another process (this one still knows what it appended a moment ago).
    await expect(open().readStream('lead-b')).rejects.toThrow(/authenticate/);
    expect(dataOf(await open().readStream('lead-a'))).toEqual([{ leadId: 'a', lastName: 'Lovelace' }]);
  });

  it('makes keys ahead in batches: a thousand new persons, a key-store write per 256 (and one ahead), each person a key of their own', async () => {
    const keyStore = SqliteKeyStore.open(file, 'with-log');
    const putAll = jest.spyOn(keyStore, 'putAll');
    const counting = new PersonalDataProtectingEventStore(new HashChainingEventStore(SqliteEventStore.open(file)), keyStore, OPTIONS);
    opened.push(counting);
    await Promise.all(Array.from({ length: 1_000 }, (_, n) => counting.append(`lead-${n}`, [event('Captured', { leadId: String(n), lastName: `Person ${n}` })], 'no_stream')));
    expect(putAll.mock.calls.length).toBeGreaterThanOrEqual(4);
    expect(putAll.mock.calls.length).toBeLessThanOrEqual(5);
    const keyIds = (await counting.stored.readAll({ maxCount: 2_000 })).map((e) => (e.data.encryptedPersonalData as { keyId: string }).keyId);
    expect(new Set(keyIds).size).toBe(1_000);
  });

  it('refuses an append when no key could be stored (nothing written), and makes keys again for the next', async () => {
    const keyStore = SqliteKeyStore.open(file, 'with-log');
    jest.spyOn(keyStore, 'putAll').mockRejectedValueOnce(new Error('disk full'));
    const failing = new PersonalDataProtectingEventStore(new HashChainingEventStore(SqliteEventStore.open(file)), keyStore, OPTIONS);
    opened.push(failing);
    await expect(failing.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace' })], 'no_stream')).rejects.toThrow('disk full');
    expect(await failing.stored.readStream('lead-a')).toEqual([]);
    await failing.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace' })], 'no_stream');
    expect(dataOf(await open().readStream('lead-a'))).toEqual([{ leadId: 'a', lastName: 'Lovelace' }]);
  });

  it('hands out a subscription\'s events before one it cannot reveal, then fails there every time, passing over none', async () => {
    for (const n of [1, 2, 3, 4]) await store.append(`lead-${n}`, [event('Captured', { leadId: String(n), lastName: `Person ${n}` })], 'no_stream');
    const keyIdOf3 = ((await store.stored.readStream('lead-3'))[0].data.encryptedPersonalData as { keyId: string }).keyId;
    const db = new Database(file);
    db.prepare('DELETE FROM personal_data_keys WHERE key_id = ?').run(keyIdOf3);
    db.close();
    const subscription = open().subscribeToAll();
    const events = subscription[Symbol.asyncIterator]();
    expect((await events.next()).value.data.lastName).toBe('Person 1');
    expect((await events.next()).value.data.lastName).toBe('Person 2');
    await expect(events.next()).rejects.toBeInstanceOf(PersonalDataKeyMissingError);
    await expect(events.next()).rejects.toBeInstanceOf(PersonalDataKeyMissingError);
    await subscription.close();
  });

  it('tells a filtered subscription read no further than the last event it handed out before one it cannot reveal', async () => {
    for (const n of [1, 2, 3]) await store.append(`lead-${n}`, [event('Captured', { leadId: String(n), lastName: `Person ${n}` })], 'no_stream');
    const [second] = await store.stored.readStream('lead-2');
    const keyIdOf3 = ((await store.stored.readStream('lead-3'))[0].data.encryptedPersonalData as { keyId: string }).keyId;
    const db = new Database(file);
    db.prepare('DELETE FROM personal_data_keys WHERE key_id = ?').run(keyIdOf3);
    db.close();
    const subscription = open().subscribeToAll({ types: ['Captured'] });
    const events = subscription[Symbol.asyncIterator]();
    expect((await events.next()).value.data.lastName).toBe('Person 1');
    expect((await events.next()).value.data.lastName).toBe('Person 2');
    await expect(events.next()).rejects.toBeInstanceOf(PersonalDataKeyMissingError);
    expect(subscription.readTo).toBe(second.position);
    await subscription.close();
  });

  it('keeps the plaintext of its appends for a reader beside it only when asked to (a projector on the same store)', async () => {
    const keeping = open();
    keeping.keepAppendedPlaintext();
    await keeping.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace' })], 'no_stream');
    await store.append('lead-b', [event('Captured', { leadId: 'b', lastName: 'Hopper' })], 'no_stream');
    // Without the keys, only what was kept can be read: the keeping store's own append, once.
    deleteAllKeys();
    expect(dataOf(await keeping.readStream('lead-a'))).toEqual([{ leadId: 'a', lastName: 'Lovelace' }]);
    await expect(keeping.readStream('lead-a')).rejects.toBeInstanceOf(PersonalDataKeyMissingError);
    await expect(store.readStream('lead-b')).rejects.toBeInstanceOf(PersonalDataKeyMissingError);
  });

  it('sends the plaintext of its appends to a reader on another thread, gathered into one message, and that reader reveals them without keys, once', async () => {
    const { sending, reader, messages: sent, whenSent } = sendingAndReader();
    await Promise.all([
      sending.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace', email: 'ada@example.org' })], 'no_stream'),
      sending.append('lead-b', [event('Captured', { leadId: 'b', lastName: 'Hopper' })], 'no_stream'),
      sending.append('lead-c', [event('Captured', { leadId: 'c', lastName: null })], 'no_stream'), // nothing personal: nothing sent
    ]);
    await whenSent();
    expect(sent).toHaveLength(1);
    expect(sent[0].map(([, streamId, values]) => [streamId, JSON.parse(values)]).sort()).toEqual([
      ['lead-a', ['Lovelace', 'ada@example.org']],
      ['lead-b', ['Hopper']],
    ]);
    // Cloned as a worker thread's message would be.
    reader.receiveAppendedPlaintext(structuredClone(sent[0]));
    deleteAllKeys();
    const byLead = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a.leadId).localeCompare(String(b.leadId));
    expect(dataOf(await reader.readAll({ maxCount: 10 })).sort(byLead)).toEqual([
      { leadId: 'a', lastName: 'Lovelace', email: 'ada@example.org' },
      { leadId: 'b', lastName: 'Hopper' },
      { leadId: 'c', lastName: null },
    ]);
    await expect(reader.readStream('lead-a')).rejects.toBeInstanceOf(PersonalDataKeyMissingError);
  });

  it('uses no plaintext encrypted before an erasure it has read, though it arrives after it (an append racing an erasure)', async () => {
    const { sending, reader, sent, whenSent } = sendingAndReader();
    await sending.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace' })], 'no_stream');
    await whenSent(); // and the erasure a clock tick later
    await store.erase(['lead-a'], '2026-12-01T10:00:00.000Z');
    await store.append('lead-a', [event('PersonalDataErased', { leadId: 'a', reason: 'Request #1' })], 0);
    // The reader reads the erasure first (a filtered read of the erasures only), then the plaintext arrives.
    expect(await reader.readAll({ maxCount: 10, types: ['PersonalDataErased'] })).toHaveLength(1);
    reader.receiveAppendedPlaintext(sent());
    // The capture alone (a read with the erasure in it would forget every plaintext anyway).
    expect(dataOf(await reader.readStream('lead-a', { maxCount: 1 }))).toEqual([{ leadId: 'a', lastName: '[erased]' }]);
  });

  it('uses no plaintext sent for another attempt at the same event id (a command decided again after a conflict)', async () => {
    const { sending, reader, sent, whenSent } = sendingAndReader();
    const first = event('Captured', { leadId: 'a', lastName: 'First' });
    await expect(sending.append('lead-a', [first], 5)).rejects.toThrow();
    await sending.append('lead-a', [{ ...first, data: { leadId: 'a', lastName: 'Second', email: 'second@example.org' } }], 'no_stream');
    await whenSent();
    expect(sent().map(([id]) => id)).toEqual([first.id, first.id]);
    // Only the first attempt's plaintext has come: the event is decrypted.
    reader.receiveAppendedPlaintext([sent()[0]]);
    expect(dataOf(await reader.readStream('lead-a'))).toEqual([{ leadId: 'a', lastName: 'Second', email: 'second@example.org' }]);
  });

  it('uses no plaintext encrypted within a key cache period after an erasure it has read (a writer may still hold the erased key)', async () => {
    const { sending, reader, sent, whenSent } = sendingAndReader();
    await store.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace' })], 'no_stream');
    await store.erase(['lead-a'], '2026-12-01T10:00:00.000Z');
    await store.append('lead-a', [event('PersonalDataErased', { leadId: 'a', reason: 'Request #1' })], 0);
    expect(await reader.readAll({ maxCount: 10, types: ['PersonalDataErased'] })).toHaveLength(1);
    // Encrypted after the reader saw the erasure, and sent.
    await sending.append('lead-b', [event('Captured', { leadId: 'b', lastName: 'Hopper' })], 'no_stream');
    await whenSent();
    reader.receiveAppendedPlaintext(sent());
    deleteAllKeys();
    // Not used: the event is decrypted, and its key is gone.
    await expect(reader.readStream('lead-b')).rejects.toBeInstanceOf(PersonalDataKeyMissingError);
  });

  it('fails loudly, naming no data, when the key store is not the one the log was written with', async () => {
    await store.append('lead-a', [event('Captured', { leadId: 'a', lastName: 'Lovelace' })], 'no_stream');
    deleteAllKeys();
    const error = await open().readStream('lead-a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PersonalDataKeyMissingError);
    expect((error as Error).message).not.toContain('Lovelace');
  });
});
