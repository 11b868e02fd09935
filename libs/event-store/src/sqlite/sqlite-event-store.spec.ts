import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEventStoreConformance } from '../event-store.conformance';
import { EventLogWriterThread, EventLogWriterThreadOptions, EventLogWriterStoppedError } from './event-log-writer';
import { SqliteEventStore, SqliteWriterPlacement } from './sqlite-event-store';

/** The worker thread beneath a store, to end it as a crash would. */
const writerThreadOf = (store: SqliteEventStore) => ((store as unknown as { writer: EventLogWriterThread }).writer).thread;

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const placements: SqliteWriterPlacement[] = ['in-thread', 'writer-thread'];

for (const placement of placements) {
  describeEventStoreConformance(`SQLite, writer ${placement}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-es-'));
    dirs.push(dir);
    return SqliteEventStore.open(join(dir, 'events.sqlite'), placement);
  });
}

describe.each(placements)('SqliteEventStore durability, writer %s', (placement) => {
  it('keeps acknowledged appends when the file is opened again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-es-'));
    dirs.push(dir);
    const file = join(dir, 'events.sqlite');
    const first = SqliteEventStore.open(file, placement);
    const meta = { actorId: 'a', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };
    await first.append('s-1', [{ id: '00000000-0000-4000-8000-000000000001', type: 'T', data: { x: 1 }, metadata: meta }], 'no_stream');
    await first.close();
    const second = SqliteEventStore.open(file);
    expect((await second.readStream('s-1')).map((e) => e.data)).toEqual([{ x: 1 }]);
    await second.close();
  });
});

describe.each(placements)('SqliteEventStore.appendAtomically, writer %s', (placement) => {
  const meta = { actorId: 'a', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };
  let serial = 0;
  const event = (type = 'T') => ({ id: `00000000-0000-4000-8000-${String(++serial).padStart(12, '0')}`, type, data: { n: serial }, metadata: meta });
  let store: SqliteEventStore;
  beforeEach(() => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-es-'));
    dirs.push(dir);
    store = SqliteEventStore.open(join(dir, 'events.sqlite'), placement);
  });
  afterEach(() => store.close());

  it('appends to several streams at once, in order, each with its own expected revision', async () => {
    await store.append('claim-1', [event()], 'no_stream');
    const results = await store.appendAtomically([
      { streamId: 'claim-1', events: [event('Claimed')], expectedRevision: 0 },
      { streamId: 'record-1', events: [event('Opened'), event('Changed')], expectedRevision: 'no_stream' },
    ]);
    expect(results.map((r) => r.nextExpectedRevision)).toEqual([1, 1]);
    expect(results[1].position).toBe(results[0].position + 2n);
    expect((await store.readStream('record-1')).map((e) => e.type)).toEqual(['Opened', 'Changed']);
  });

  it.each([
    ['the first', 5, 'no_stream'],
    ['the last', 0, 0],
  ] as const)('writes none of them when %s is refused, and names the stream refused', async (_, claimRevision, recordRevision) => {
    await store.append('claim-2', [event()], 'no_stream');
    const head = await store.headPosition();
    const refused = store.appendAtomically([
      { streamId: 'claim-2', events: [event()], expectedRevision: claimRevision },
      { streamId: `record-${claimRevision}`, events: [event()], expectedRevision: recordRevision },
    ]);
    await expect(refused).rejects.toMatchObject({ name: 'WrongExpectedRevisionError', streamId: claimRevision === 5 ? 'claim-2' : 'record-0' });
    expect(await store.headPosition()).toBe(head);
    // The other appends of the same group commit are not touched by the refusal.
    await store.append('other', [event()], 'no_stream');
    expect(await store.readStream('claim-2')).toHaveLength(1);
  });

  it('shares one group commit with appends sent in the same turn, none touching another', async () => {
    const [single, together, refused] = await Promise.allSettled([
      store.append('a', [event()], 'no_stream'),
      store.appendAtomically([
        { streamId: 'b', events: [event()], expectedRevision: 'no_stream' },
        { streamId: 'c', events: [event()], expectedRevision: 'no_stream' },
      ]),
      store.appendAtomically([
        { streamId: 'd', events: [event()], expectedRevision: 'no_stream' },
        { streamId: 'a', events: [event()], expectedRevision: 'no_stream' },
      ]),
    ]);
    expect([single.status, together.status, refused.status]).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(await store.readStream('d')).toEqual([]);
    expect((await store.readStream('a')).length + (await store.readStream('b')).length + (await store.readStream('c')).length).toBe(3);
  });
});

describe.each(placements)('SqliteEventStore, an event with no JSON form, writer %s', (placement) => {
  it('is refused alone (nothing of its append stored) while the appends of the same group commit go on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-es-'));
    dirs.push(dir);
    const store = SqliteEventStore.open(join(dir, 'events.sqlite'), placement, { hashChains: true });
    const meta = { actorId: 'a', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };
    const event = (data: Record<string, unknown>) => ({ id: randomUUID(), type: 'T', data, metadata: meta });
    try {
      const [kept, refused] = await Promise.allSettled([
        store.append('kept', [event({ x: 1 })], 'no_stream'),
        store.appendAtomically([
          { streamId: 'with-claim', events: [event({ x: 2 })], expectedRevision: 'no_stream' },
          { streamId: 'unstorable', events: [event({ amount: 10n })], expectedRevision: 'no_stream' },
        ]),
      ]);
      expect(kept.status).toBe('fulfilled');
      expect(refused).toMatchObject({ status: 'rejected', reason: expect.any(TypeError) });
      expect(await store.readStream('with-claim')).toEqual([]);
      expect(await store.readStream('kept')).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});

describe('SqliteEventStore identity', () => {
  it('is kept in the file: the same after reopening it, another for another file', async () => {
    const file = (name: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'crm-es-'));
      dirs.push(dir);
      return join(dir, `${name}.sqlite`);
    };
    const path = file('events');
    const first = SqliteEventStore.open(path);
    const identity = await first.identity();
    await first.close();
    const reopened = SqliteEventStore.open(path);
    expect(await reopened.identity()).toBe(identity);
    await reopened.close();
    const other = SqliteEventStore.open(file('other'));
    expect(await other.identity()).not.toBe(identity);
    await other.close();
  });
});

describe('SqliteEventStore subscription readNow', () => {
  const meta = { actorId: 'a', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };
  const event = (x: number) => ({ id: randomUUID(), type: 'T', data: { x }, metadata: meta });
  /** The data of the event `next` gives, or 'waiting' if it has given none once every pending callback but timers has run. */
  const dataOrWaiting = (next: Promise<IteratorResult<{ data: unknown }>>) =>
    Promise.race([next.then(({ value }) => value.data), new Promise((resolve) => setImmediate(() => resolve('waiting')))]);
  const nextOrWaiting = (events: AsyncIterator<{ data: unknown }>) => dataOrWaiting(events.next());

  it("reads another connection's commit now, also when asked while busy with a page, and after a look at the file of its own", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-es-'));
    dirs.push(dir);
    const file = join(dir, 'events.sqlite');
    const writing = SqliteEventStore.open(file);
    const reading = SqliteEventStore.open(file);
    // Its look at the file every 100 ms comes only when the test moves the clock: else only readNow makes it read.
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const subscription = reading.subscribeToAll();
    const events = subscription[Symbol.asyncIterator]();
    try {
      await writing.append('s-1', [event(1)], 'no_stream');
      expect(await nextOrWaiting(events)).toEqual({ x: 1 });

      // Caught up and waiting: another connection's commit is not seen until readNow.
      const next = events.next();
      await writing.append('s-1', [event(2)], 0);
      expect(await dataOrWaiting(next)).toBe('waiting');
      subscription.readNow!();
      expect(await dataOrWaiting(next)).toEqual({ x: 2 });

      // Asked while the subscription was busy (its last event handed out, its wait not begun): its next wait does not wait.
      await writing.append('s-1', [event(3)], 1);
      subscription.readNow!();
      expect(await nextOrWaiting(events)).toEqual({ x: 3 });
      // And the request is used up: the next commit waits for the next readNow again.
      const fourth = events.next();
      await writing.append('s-1', [event(4)], 2);
      expect(await dataOrWaiting(fourth)).toBe('waiting');

      // Its own look at the file finds the fourth; asked while it is busy with that, it reads again at once.
      jest.advanceTimersByTime(100);
      expect(await dataOrWaiting(fourth)).toEqual({ x: 4 });
      await writing.append('s-1', [event(5)], 3);
      subscription.readNow!();
      expect(await nextOrWaiting(events)).toEqual({ x: 5 });
    } finally {
      jest.useRealTimers();
      await subscription.close();
      await writing.close();
      await reading.close();
    }
  });
});

describe('SqliteEventStore writer thread', () => {
  const meta = { actorId: 'a', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };
  const event = () => ({ id: randomUUID(), type: 'T', data: { x: 1 }, metadata: meta });
  const open = (options: EventLogWriterThreadOptions = {}) => {
    const dir = mkdtempSync(join(tmpdir(), 'crm-es-'));
    dirs.push(dir);
    const file = join(dir, 'events.sqlite');
    return { file, store: SqliteEventStore.open(file, 'writer-thread', options) };
  };
  /** What `attempt` resolves to once it does (it is tried again every 50 ms, for up to 10 s). */
  const eventually = async <T>(attempt: () => Promise<T>): Promise<T> => {
    for (let tries = 1; ; tries++) {
      try {
        return await attempt();
      } catch (error) {
        if (tries >= 200) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };

  it('fails the appends it had not answered when the thread dies, without hanging, and starts a new thread for the later ones after a pause', async () => {
    const stops: number[] = [];
    const { store } = open({ restart: { initialMs: 200, maxMs: 800, healthyAfterMs: 60_000 }, onStopped: (_error, restartInMs) => stops.push(restartInMs) });
    await store.append('before', [event()], 'no_stream');
    const pending = store.append('during', [event()], 'no_stream');
    const first = writerThreadOf(store);
    await first.terminate();
    await expect(pending).rejects.toBeInstanceOf(EventLogWriterStoppedError);
    // Refused (503 for a request) until the pause is over, then taken by a new thread.
    const after = await eventually(() => store.append('after', [event()], 'no_stream'));
    expect(writerThreadOf(store)).not.toBe(first);
    await expect(store.ping()).resolves.toBeUndefined();
    expect(after.nextExpectedRevision).toBe(0);
    // Reads go on: the acknowledged appends are there; 'during' may or may not be (the thread may have committed it).
    expect(await store.readStream('before')).toHaveLength(1);
    expect(await store.readStream('after')).toHaveLength(1);

    // A thread that dies again soon after its start is restarted after a longer pause.
    await writerThreadOf(store).terminate();
    await expect(store.ping()).rejects.toBeInstanceOf(EventLogWriterStoppedError);
    await eventually(() => store.ping());
    expect(stops).toEqual([200, 400]);
    await store.append('again', [event()], 'no_stream');
    await store.close();
    await expect(store.append('closed', [event()], 'no_stream')).rejects.toBeInstanceOf(EventLogWriterStoppedError);
  });

  it('answers every append handed over before it closes, and refuses appends after', async () => {
    const { file, store } = open();
    const appends = Array.from({ length: 50 }, (_, n) => store.append(`s-${n}`, [event()], 'no_stream'));
    const closing = store.close();
    await expect(store.append('late', [event()], 'no_stream')).rejects.toBeInstanceOf(EventLogWriterStoppedError);
    const results = await Promise.all(appends);
    await closing;
    const reopened = SqliteEventStore.open(file);
    expect(await reopened.headPosition()).toBe(results.reduce((max, r) => (r.position > max ? r.position : max), -1n));
    expect((await reopened.readAll({ maxCount: 100 })).map((e) => e.streamId).sort()).toEqual(Array.from({ length: 50 }, (_, n) => `s-${n}`).sort());
    await reopened.close();
  });
});
