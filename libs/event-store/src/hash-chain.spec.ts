import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventStore, EventToAppend, WrongExpectedRevisionError } from './event-store.port';
import { HashChainingEventStore, verifyHashChains } from './hash-chain';
import { SqliteEventStore } from './sqlite/sqlite-event-store';

/** The README's formula, written out as an auditor's own script would: sorted keys at every level, no spaces. */
function auditorsHash(type: string, data: unknown, metadata: Record<string, unknown>, previousHash: string | null): string {
  const sorted = (value: unknown): unknown =>
    Array.isArray(value) ? value.map(sorted) : value && typeof value === 'object' ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted((value as Record<string, unknown>)[k])])) : value;
  const { hash: _ignored, ...rest } = metadata;
  return createHash('sha256').update(JSON.stringify(sorted({ type, data, metadata: rest, previousHash }))).digest('hex');
}

const event = (type: string, data: Record<string, unknown>): EventToAppend => ({
  id: crypto.randomUUID(),
  type,
  data,
  metadata: { actorId: 'auditor-test', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' },
});

/**
 * Who makes the chain: HashChainingEventStore around an adapter (EventStoreDB's way; here around
 * an unchained SQLite store), or the embedded store's writer inside the append's transaction, on
 * the request thread or on its writer thread (the service's). Every case runs against each.
 */
const chainers: { name: string; open(file: string): EventStore }[] = [
  { name: 'HashChainingEventStore around the adapter', open: (file) => new HashChainingEventStore(SqliteEventStore.open(file)) },
  { name: 'the SQLite writer, in-thread', open: (file) => SqliteEventStore.open(file, 'in-thread', { hashChains: true }) },
  { name: 'the SQLite writer, on its writer thread', open: (file) => SqliteEventStore.open(file, 'writer-thread', { hashChains: true }) },
];

describe.each(chainers)('Tamper evidence: hash chains made by $name', ({ open }) => {
  let dir: string;
  let file: string;
  /** The same file without chains: events as a writer before hash chains wrote them. */
  let unchained: SqliteEventStore;
  let store: EventStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-chain-'));
    file = join(dir, 'crm.sqlite');
    unchained = SqliteEventStore.open(file);
    store = open(file);
  });
  afterEach(async () => {
    await store.close();
    await unchained.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('chains each event to the one before it in its stream, as the documented formula says', async () => {
    await store.append('lead-a', [event('LeadCaptured', { lastName: 'A', nested: { z: 1, a: [2, { y: 3, b: 4 }] } })], 'no_stream');
    await store.append('lead-a', [event('LeadQualified', { note: 'x' }), event('LeadConverted', { accountId: 'acc' })], 0);
    await store.append('lead-b', [event('LeadCaptured', { lastName: 'B' })], 'no_stream');
    const a = await store.readStream('lead-a');
    expect(a[0].metadata.hash).toBe(auditorsHash(a[0].type, a[0].data, a[0].metadata, null));
    expect(a[1].metadata.hash).toBe(auditorsHash(a[1].type, a[1].data, a[1].metadata, a[0].metadata.hash!));
    expect(a[2].metadata.hash).toBe(auditorsHash(a[2].type, a[2].data, a[2].metadata, a[1].metadata.hash!));
    const [b] = await store.readStream('lead-b');
    expect(b.metadata.hash).toBe(auditorsHash(b.type, b.data, b.metadata, null));
    expect(await verifyHashChains(store)).toEqual({ streams: 2, events: 4, broken: [], unhashed: 0 });
    expect(await verifyHashChains(store, 'lead-a')).toEqual({ streams: 1, events: 3, broken: [], unhashed: 0 });
  });

  it('chains each stream of an atomic append (a claim and its record) as if appended alone', async () => {
    await store.append('lead-a', [event('LeadCaptured', { lastName: 'A' })], 'no_stream');
    await store.appendAtomically!([
      { streamId: 'unique-x', events: [event('UniqueValueClaimed', { holders: ['a'] })], expectedRevision: 'no_stream' },
      { streamId: 'lead-a', events: [event('LeadDetailsChanged', { changes: { email: 'x' } })], expectedRevision: 0 },
    ]);
    const [first, second] = await store.readStream('lead-a');
    expect(second.metadata.hash).toBe(auditorsHash(second.type, second.data, second.metadata, first.metadata.hash!));
    const [claim] = await store.readStream('unique-x');
    expect(claim.metadata.hash).toBe(auditorsHash(claim.type, claim.data, claim.metadata, null));
    expect((await verifyHashChains(store)).broken).toEqual([]);
  });

  it('keeps the chain whole when concurrent appends expect any revision (each chains to the event really before it)', async () => {
    await store.append('ledger', [event('Started', {})], 'no_stream');
    await Promise.all(Array.from({ length: 10 }, (_, n) => store.append('ledger', [event('Noted', { n })], 'any')));
    expect(await store.readStream('ledger')).toHaveLength(11);
    expect(await verifyHashChains(store, 'ledger')).toEqual({ streams: 1, events: 11, broken: [], unhashed: 0 });
  });

  it('reports an event edited in the file with its stream and revision, and only that one', async () => {
    await store.append('lead-a', [event('LeadCaptured', { lastName: 'A' }), event('LeadQualified', {}), event('LeadDisqualified', { reason: 'r' })], 'no_stream');
    const db = new Database(file);
    db.prepare(`UPDATE events SET data = json_set(data, '$.lastName', 'Forged') WHERE stream_id = 'lead-a' AND revision = 0`).run();
    db.close();
    expect(await verifyHashChains(store)).toEqual({ streams: 1, events: 3, broken: [{ stream: 'lead-a', revision: 0 }], unhashed: 0 });
  });

  it('reports the next event when one is removed, or when an edit comes with a recomputed hash', async () => {
    await store.append('lead-a', [event('LeadCaptured', { lastName: 'A' }), event('LeadQualified', {}), event('LeadDisqualified', { reason: 'r' })], 'no_stream');
    const db = new Database(file);
    const row = db.prepare(`SELECT type, data, metadata FROM events WHERE stream_id = 'lead-a' AND revision = 0`).get() as { type: string; data: string; metadata: string };
    const data = { ...JSON.parse(row.data), lastName: 'Forged' };
    const metadata = JSON.parse(row.metadata);
    metadata.hash = auditorsHash(row.type, data, metadata, null);
    db.prepare(`UPDATE events SET data = ?, metadata = ? WHERE stream_id = 'lead-a' AND revision = 0`).run(JSON.stringify(data), JSON.stringify(metadata));
    db.prepare(`DELETE FROM events WHERE stream_id = 'lead-a' AND revision = 1`).run();
    db.close();
    // Revision 0 now matches its own (forged) hash, but nothing after it chains to it.
    expect((await verifyHashChains(store)).broken).toEqual([{ stream: 'lead-a', revision: 2 }]);
  });

  it('never chains to a stale hash: a stream appended by another process since it was read is read again', async () => {
    const otherProcess = open(file);
    try {
      await store.append('lead-a', [event('LeadCaptured', { lastName: 'A' })], 'no_stream');
      const [captured] = await store.readStream('lead-a');
      // The other process appends after this one read the stream: this one's next append expects the new revision.
      await otherProcess.append('lead-a', [event('LeadQualified', {})], captured.revision);
      await expect(store.append('lead-a', [event('LeadDisqualified', { reason: 'stale' })], captured.revision)).rejects.toThrow(WrongExpectedRevisionError);
      await store.append('lead-a', [event('LeadReopened', {})], captured.revision + 1);
      const events = await store.readStream('lead-a');
      expect(events.map((e) => e.type)).toEqual(['LeadCaptured', 'LeadQualified', 'LeadReopened']);
      expect(events[2].metadata.hash).toBe(auditorsHash(events[2].type, events[2].data, events[2].metadata, events[1].metadata.hash!));
      expect(await verifyHashChains(store, 'lead-a')).toEqual({ streams: 1, events: 3, broken: [], unhashed: 0 });
    } finally {
      await otherProcess.close();
    }
  });

  it('counts events written without hashes (before chains existed) and judges the hashed ones after them', async () => {
    await unchained.append('lead-old', [event('LeadCaptured', { lastName: 'Old' })], 'no_stream');
    await store.append('lead-old', [event('LeadQualified', {})], 0);
    const [, second] = await store.readStream('lead-old');
    expect(second.metadata.hash).toBe(auditorsHash(second.type, second.data, second.metadata, null));
    expect(await verifyHashChains(store)).toEqual({ streams: 1, events: 2, broken: [], unhashed: 1 });
  });
});

describe('HashChainingEventStore (the chain of EventStoreDB appends)', () => {
  let dir: string;
  let inner: SqliteEventStore;
  let store: HashChainingEventStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-chain-'));
    inner = SqliteEventStore.open(join(dir, 'crm.sqlite'));
    store = new HashChainingEventStore(inner);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('chains an append at the revision just read to the hash it read, without reading the stream again', async () => {
    await store.append('lead-a', [event('LeadCaptured', { lastName: 'A' })], 'no_stream');
    const reads: string[] = [];
    const readStream = inner.readStream.bind(inner);
    inner.readStream = (streamId, options) => (reads.push(streamId), readStream(streamId, options));
    const [captured] = await store.readStream('lead-a');
    await store.append('lead-a', [event('LeadQualified', {})], captured.revision);
    expect(reads).toEqual(['lead-a']);
    expect((await verifyHashChains(store, 'lead-a')).broken).toEqual([]);
  });
});

describe("The SQLite writer's chain is HashChainingEventStore's", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const rowsOf = (file: string): Record<string, unknown>[] => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare<[], Record<string, unknown>>('SELECT position, event_id, stream_id, revision, type, data, metadata FROM events ORDER BY position').all();
    } finally {
      db.close();
    }
  };
  /** The same appends, event for event (same ids), through one store; the file's rows as stored. */
  async function storedBy(openStore: (file: string) => EventStore, events: EventToAppend[]): Promise<Record<string, unknown>[]> {
    const dir = mkdtempSync(join(tmpdir(), 'crm-chain-'));
    dirs.push(dir);
    const file = join(dir, 'crm.sqlite');
    const [old, captured, qualified, noted, claim, changed, retried, converted, copied] = events;
    const unchained = SqliteEventStore.open(file);
    const store = openStore(file);
    try {
      await unchained.append('lead-old', [old], 'no_stream'); // written before chains existed
      await store.append('lead-old', [qualified], 0);
      await store.append('lead-a', [captured], 'no_stream');
      await store.append('lead-a', [noted], 'any');
      await store.append('lead-a', [retried, converted], 'stream_exists');
      await store.append('lead-a', [retried, converted], 'stream_exists'); // a retry: the same result, nothing written
      await store.appendAtomically!([
        { streamId: 'unique-x', events: [claim], expectedRevision: 'no_stream' },
        { streamId: 'lead-a', events: [changed], expectedRevision: 3 },
      ]);
      await store.append('unique-x', [copied], 0); // metadata that already names a hash: replaced in its place
      expect(await verifyHashChains(store)).toEqual({ streams: 3, events: 9, broken: [], unhashed: 1 });
    } finally {
      await store.close();
      await unchained.close();
    }
    return rowsOf(file);
  }

  it('stores the same rows, hashes included, for the same appends (in-thread and on the writer thread)', async () => {
    const events = [
      event('LeadCaptured', { lastName: 'Old' }),
      event('LeadCaptured', { lastName: 'A', nested: { z: 1, a: [2, { y: 3, b: 4 }], gone: undefined }, list: [null, 'x'] }),
      event('LeadQualified', {}),
      { ...event('Noted', { n: 1 }), metadata: { ...event('Noted', {}).metadata, onBehalfOf: 'rep-1', idempotencyKey: 'k' } },
      event('UniqueValueClaimed', { holders: ['lead-a'] }),
      event('LeadDetailsChanged', { changes: { email: 'x@example.com', phone: null } }),
      // Integer-like keys: written as JSON.stringify lists them, hashed the long way (parsed back).
      event('LeadNurtured', { note: 'ü "quoted" \n', byYear: { 2026: 1, 2025: 2, total: 3 } }),
      event('LeadConverted', { accountId: 'acc', amount: 1.5e21 }),
      { ...event('UniqueValueReleased', { holders: [] }), metadata: { actorId: 'a', hash: 'copied from elsewhere', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' } },
    ];
    // The same values and hashes; the writer stores its JSON canonically (keys sorted), the wrapper as the adapter writes it.
    const values = (rows: Record<string, unknown>[]) => rows.map((row) => ({ ...row, data: JSON.parse(row.data as string), metadata: JSON.parse(row.metadata as string) }));
    const byWrapper = await storedBy((file) => new HashChainingEventStore(SqliteEventStore.open(file)), events);
    expect(byWrapper).toHaveLength(9);
    const inThread = await storedBy((file) => SqliteEventStore.open(file, 'in-thread', { hashChains: true }), events);
    expect(values(inThread)).toEqual(values(byWrapper));
    expect(values(await storedBy((file) => SqliteEventStore.open(file, 'writer-thread', { hashChains: true }), events))).toEqual(values(byWrapper));
    expect(inThread[2]).toMatchObject({ stream_id: 'lead-a', data: '{"lastName":"A","list":[null,"x"],"nested":{"a":[2,{"b":4,"y":3}],"z":1}}' });
  });
});
