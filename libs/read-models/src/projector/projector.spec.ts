import { AllSubscription, EventStore, EventToAppend, RecordedEvent, SqliteEventStore } from '@crm/event-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Accumulator, Projection } from '../projections/projection';
import { leadsProjection } from '../projections/records';
import { MAX_COMMIT_BYTES, ReadStore } from '../read-store.port';
import { SqliteReadStore } from '../sqlite/sqlite-read-store';
import { Projector } from './projector';

/** Counts every event it sees: any double-applied or lost event shows in the count. */
function countingProjection(options: { failOn?: (n: number) => boolean } = {}): Projection & { failing: boolean } {
  const projection = {
    readModel: 'event-counts',
    collections: [{ name: 'event-counts', filters: [] }],
    failing: true,
    keysOf: () => [{ collection: 'event-counts', id: 'all' }],
    apply(event, docs) {
      const n = Number(event.data.n);
      if (projection.failing && options.failOn?.(n)) throw new Error(`projection fails on event ${n}`);
      const doc = docs.get('event-counts', 'all');
      const seen = [...((doc?.seen as number[]) ?? []), n];
      docs.put('event-counts', { id: 'all', count: seen.length, seen }, 0);
    },
  } satisfies Projection & { failing: boolean };
  return projection;
}

const meta = { actorId: 't', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };
const numbered = (n: number): EventToAppend => ({ id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, type: 'Numbered', data: { n }, metadata: meta });

/** The projector reaches the log's last position (within 5 s). */
async function expectHeadReached(projector: Projector, log: EventStore): Promise<void> {
  expect(await projector.waitFor(await log.headPosition(), 5_000)).toBe(true);
}

describe('Projector', () => {
  let dir: string;
  let file: string;
  let events: EventStore;
  let store: ReadStore;
  const projectors: Projector[] = [];
  const projector = (projections: Projection[], batchSize = 1000) => {
    const p = new Projector(events, store, projections, { batchSize, backoffMs: { initial: 5, max: 20 }, leaseTtlMs: 2_000 });
    projectors.push(p);
    return p;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-projector-'));
    file = join(dir, 'crm.sqlite');
    events = SqliteEventStore.open(file);
    store = SqliteReadStore.open(file);
  });
  afterEach(async () => {
    await Promise.all(projectors.splice(0).map((p) => p.stop()));
    await events.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function appendNumbered(from: number, to: number) {
    for (let n = from; n <= to; n++) await events.append(`numbers-${n % 7}`, [numbered(n)], 'any');
  }
  const counts = async (version = 1) => store.get('event-counts', version, 'all');

  it('whenStarted resolves once the projector has left starting: live or catching up with the lease, or on standby without it', async () => {
    await appendNumbered(1, 5);
    const first = projector([countingProjection()]);
    expect(first.reports()[0].status).toBe('starting');
    first.start();
    await first.whenStarted(5_000);
    expect(['catching-up', 'live']).toContain(first.reports()[0].status);
    const second = projector([countingProjection()]);
    second.start();
    await second.whenStarted(5_000);
    expect(second.reports()[0].status).toBe('standby');
  });

  it('projects leads: the document is the lead as its events make it, with revision and filters', async () => {
    const leadMeta = (at: string) => ({ ...meta, occurredAt: at });
    await events.append(
      'lead-l1',
      [
        { id: '10000000-0000-4000-8000-000000000001', type: 'LeadCaptured', data: { leadId: 'l1', lastName: 'Ng', company: 'Acme', email: ' Ng@Acme.COM ', source: 'Web' }, metadata: leadMeta('2026-01-01T00:00:00.000Z') },
        { id: '10000000-0000-4000-8000-000000000002', type: 'LeadQualified', data: { leadId: 'l1', previousStatus: 'New', need: 'CRM' }, metadata: leadMeta('2026-01-02T00:00:00.000Z') },
      ],
      'no_stream',
    );
    const p = projector([leadsProjection]);
    p.start();
    await expectHeadReached(p, events);
    expect(await store.get('leads', 1, 'l1')).toEqual({
      id: 'l1',
      revision: 1,
      status: 'Qualified',
      lastName: 'Ng',
      company: 'Acme',
      email: ' Ng@Acme.COM ',
      source: 'Web',
      isConverted: false,
      capturedAt: '2026-01-01T00:00:00.000Z',
      lastModifiedAt: '2026-01-02T00:00:00.000Z',
      qualification: { need: 'CRM' },
      qualifiedAt: '2026-01-02T00:00:00.000Z',
      _withOpportunity: null, // derived filter keys (not converted), never shown to clients
      _convertedAtMs: null,
    });
    expect((await store.find('leads', 1, { filter: { status: 'Qualified', source: 'Web' }, limit: 10 })).items.map((d) => d.id)).toEqual(['l1']);
  });

  it('applies every event exactly once, and follows new events live', async () => {
    await appendNumbered(1, 250);
    const p = projector([countingProjection()], 40);
    p.start();
    await expectHeadReached(p, events);
    await appendNumbered(251, 260);
    await expectHeadReached(p, events);
    const doc = await counts();
    expect(doc?.count).toBe(260);
    expect(new Set(doc?.seen as number[]).size).toBe(260);
    expect((await store.readModelState('event-counts')).checkpoints[1]).toBe(await events.headPosition());
  });

  it('lets the event loop run between batches of a catch-up (the embedded store answers synchronously)', async () => {
    await appendNumbered(1, 200);
    const p = projector([countingProjection()], 10);
    const head = await events.headPosition();
    p.start();
    // Without a turn between batches, this timer could fire only once all 20 batches were applied.
    const positionWhenTimerFired = await new Promise<bigint>((resolve) => setTimeout(() => resolve(p.position()), 0));
    expect(positionWhenTimerFired).toBeLessThan(head);
    expect(await p.waitFor(head, 5_000)).toBe(true);
  });

  it('says live once nothing is left to apply, also when the last batch was full and after a restart', async () => {
    await appendNumbered(1, 20);
    const head = await events.headPosition();
    const statusOf = (p: Projector) => p.reports()[0].status;
    const first = projector([countingProjection()], 10); // 20 events: two full batches, none that ends early
    first.start();
    expect(await first.waitFor(head, 5_000)).toBe(true);
    expect(await eventually(() => statusOf(first) === 'live')).toBe(true);
    await first.stop();
    const restarted = projector([countingProjection()], 10); // nothing new to apply after its checkpoint
    restarted.start();
    expect(await eventually(() => statusOf(restarted) === 'live')).toBe(true);
    expect((await counts())?.count).toBe(20);
  });

  it('leaves documents and checkpoint unchanged when a batch fails half-way, then applies it once', async () => {
    await appendNumbered(1, 30);
    const projection = countingProjection({ failOn: (n) => n === 25 });
    const p = projector([projection], 10);
    p.start();
    // Batches of 10: events 1–20 land, the batch holding 25 fails as a whole.
    for (let i = 0; i < 100 && (await store.readModelState('event-counts')).checkpoints[1] === undefined; i++) await sleep(10);
    await sleep(100);
    const stuck = await counts();
    expect(stuck?.count).toBe(20);
    const checkpoint = (await store.readModelState('event-counts')).checkpoints[1];
    const [twentieth] = (await events.readAll({ after: -1n, maxCount: 30 })).slice(19, 20);
    expect(checkpoint).toBe(twentieth.position);
    expect(p.reports()[0]).toMatchObject({ status: 'failed', lastError: expect.stringContaining('event 25') });

    projection.failing = false;
    await expectHeadReached(p, events);
    const doc = await counts();
    expect(doc?.count).toBe(30);
    expect([...(doc?.seen as number[])].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('resumes from its checkpoint after a restart mid-stream without counting anything twice', async () => {
    await appendNumbered(1, 500);
    const first = projector([countingProjection()], 25);
    first.start();
    const checkpoint = async () => (await store.readModelState('event-counts')).checkpoints[1];
    for (let i = 0; i < 500 && ((await checkpoint()) === undefined || ((await counts())?.count as number) < 100); i++) await sleep(2);
    await first.stop();
    const partial = (await counts())?.count as number;
    expect(partial).toBeGreaterThan(0);

    const second = projector([countingProjection()], 25);
    second.start();
    await expectHeadReached(second, events);
    const doc = await counts();
    expect(doc?.count).toBe(500);
    expect(new Set(doc?.seen as number[]).size).toBe(500);
  });

  it('rebuilds a read model into a new version that deep-equals the live one, and swaps it in', async () => {
    await appendNumbered(1, 120);
    const p = projector([countingProjection()], 50);
    p.start();
    await expectHeadReached(p, events);
    const before = await counts(1);

    const rebuilding = p.rebuild('event-counts');
    await appendNumbered(121, 130); // writes during the rebuild reach both versions
    await rebuilding;
    await expectHeadReached(p, events);
    expect(p.versionOf('event-counts')).toBe(2);
    expect((await store.readModelState('event-counts')).activeVersion).toBe(2);
    const rebuilt = await counts(2);
    expect(rebuilt?.count).toBe(130);
    expect([...(rebuilt?.seen as number[])].sort((a, b) => a - b)).toEqual(Array.from({ length: 130 }, (_, i) => i + 1));
    expect((before?.seen as number[]).every((n) => (rebuilt?.seen as number[]).includes(n))).toBe(true);
  });

  it('lets only one projector apply the read models; the other waits on standby', async () => {
    await appendNumbered(1, 50);
    const a = projector([countingProjection()], 10);
    const b = projector([countingProjection()], 10);
    a.start();
    await expectHeadReached(a, events);
    b.start();
    await appendNumbered(51, 60);
    await expectHeadReached(a, events);
    await sleep(50);
    expect(b.reports()[0].status).toBe('standby');
    expect((await counts())?.count).toBe(60);

    await a.stop(); // releases the lease: the other takes over from the stored checkpoint
    await appendNumbered(61, 70);
    expect(await b.waitFor(await events.headPosition(), 10_000)).toBe(true);
    expect((await counts())?.count).toBe(70);
  });

  describe('read models of some event types', () => {
    /** The event types the projector handed to a read model. */
    const handed = new Set<string>();
    beforeEach(() => handed.clear());
    /** Counts the events of its types (as a projection's `types` says, keysOf names nothing for others). */
    const countingOf = (readModel: string, types: string[]): Projection => ({
      readModel,
      types,
      collections: [{ name: readModel, filters: [] }],
      keysOf: (event) => {
        handed.add(event.type);
        return types.includes(event.type) ? [{ collection: readModel, id: 'all' }] : [];
      },
      apply(_event, docs) {
        docs.put(readModel, { id: 'all', count: Number(docs.get(readModel, 'all')?.count ?? 0) + 1 }, 0);
      },
    });
    const countOf = async (readModel: string) => (await store.get(readModel, 1, 'all'))?.count;
    const checkpointOf = async (readModel: string) => (await store.readModelState(readModel)).checkpoints[1];
    /** Events no read model here reads, as a uniqueness claim or an assignment turn is for the service's. */
    async function appendClaims(from: number, to: number) {
      for (let n = from; n <= to; n++) await events.append(`claims-${n}`, [{ ...numbered(n), id: `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`, type: 'Claimed' }], 'no_stream');
    }

    it('reads only those types, and checkpoints at the log\'s last position when the log ends in events of other types, also live', async () => {
      await appendNumbered(1, 5);
      await appendClaims(1, 3);
      const p = projector([countingOf('numbers', ['Numbered'])]);
      p.start();
      await expectHeadReached(p, events);
      expect(await countOf('numbers')).toBe(5);
      expect(await checkpointOf('numbers')).toBe(await events.headPosition());
      expect(p.reports()[0].position).toBe(String(await events.headPosition()));

      // Live: only events of other types come, and the checkpoint follows them.
      await appendClaims(4, 6);
      await expectHeadReached(p, events);
      expect(await checkpointOf('numbers')).toBe(await events.headPosition());
      expect(p.reports()[0].status).toBe('live');
      await appendNumbered(6, 7);
      await appendClaims(7, 7);
      await expectHeadReached(p, events);
      expect(await countOf('numbers')).toBe(7);
      expect(await checkpointOf('numbers')).toBe(await events.headPosition());
      expect([...handed]).toEqual(['Numbered']); // the claims were not read
    });

    it('reads the types of all its read models, and one that catches up alone reads its own types', async () => {
      await appendNumbered(1, 5);
      await appendClaims(1, 3);
      const first = projector([countingOf('numbers', ['Numbered'])]);
      first.start();
      await expectHeadReached(first, events);
      await first.stop();
      // A new read model beside it catches up alone from the first event, then joins the main loop.
      const reads = jest.spyOn(events, 'readAll');
      const subscriptions = jest.spyOn(events, 'subscribeToAll');
      const second = projector([countingOf('numbers', ['Numbered']), countingOf('claims', ['Claimed'])]);
      second.start();
      await expectHeadReached(second, events);
      expect([await countOf('numbers'), await countOf('claims')]).toEqual([5, 3]);
      expect(reads.mock.calls.length).toBeGreaterThan(0);
      expect(reads.mock.calls.every(([options]) => JSON.stringify(options.types) === '["Claimed"]')).toBe(true);
      expect(subscriptions.mock.calls.length).toBeGreaterThan(0);
      expect(subscriptions.mock.calls.every(([options]) => JSON.stringify(options?.types) === '["Numbered","Claimed"]')).toBe(true);
      await appendClaims(4, 5);
      await appendNumbered(6, 6);
      await expectHeadReached(second, events);
      expect([await countOf('numbers'), await countOf('claims')]).toEqual([6, 5]);
      expect([await checkpointOf('numbers'), await checkpointOf('claims')]).toEqual([await events.headPosition(), await events.headPosition()]);
    });
  });
});

describe('Projector, on what its stores tell it', () => {
  let dir: string;
  let events: SqliteEventStore;
  let store: SqliteReadStore;
  const projectors: Projector[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-projector-'));
    events = SqliteEventStore.open(join(dir, 'crm.sqlite'));
    store = SqliteReadStore.open(join(dir, 'crm.sqlite'));
  });
  afterEach(async () => {
    await Promise.all(projectors.splice(0).map((p) => p.stop()));
    await events.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = (eventStore: EventStore, projections: Projection[], options: ConstructorParameters<typeof Projector>[3] = {}) => {
    const p = new Projector(eventStore, store, projections, { backoffMs: { initial: 5, max: 20 }, leaseTtlMs: 2_000, ...options });
    projectors.push(p);
    p.start();
    return p;
  };
  const append = async (from: number, to: number) => {
    for (let n = from; n <= to; n++) await events.append(`numbers-${n}`, [numbered(n)], 'no_stream');
  };

  /**
   * The log as a remote store hands it over: one event per socket read (a macrotask apart), and
   * "caught up" only once the backlog that was stored when it subscribed has been delivered.
   */
  function overSlowSocket(inner: EventStore): EventStore & { caughtUpSaid: () => boolean } {
    let said = false;
    const remote = Object.create(inner) as EventStore & { caughtUpSaid: () => boolean };
    remote.caughtUpSaid = () => said;
    remote.subscribeToAll = (options = {}): AllSubscription => {
      let closed = false;
      let caughtUp = false;
      async function* deliver(): AsyncGenerator<RecordedEvent> {
        const backlogEnd = await inner.headPosition();
        let after = options.after ?? -1n;
        while (!closed && after < backlogEnd) {
          const [event] = await inner.readAll({ after, maxCount: 1 });
          await new Promise((resolve) => setTimeout(resolve, 1));
          if (event.position >= backlogEnd) caughtUp = said = true;
          yield event;
          after = event.position;
        }
        caughtUp = said = true;
        while (!closed) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const iterator = deliver();
      return {
        [Symbol.asyncIterator]: () => iterator,
        get caughtUp() {
          return caughtUp;
        },
        // Of every type: it never moves; subscribedLog takes a batch as read to its last event.
        readTo: options.after ?? -1n,
        readBeyond: () => new Promise<void>(() => undefined),
        close: async () => {
          closed = true;
        },
      };
    };
    return remote;
  }

  it('batches a slow catch-up by count and time, and says live only once the store says it caught up', async () => {
    await append(1, 150);
    const remote = overSlowSocket(events);
    const commit = jest.spyOn(store, 'commit');
    const statuses = new Set<string>();
    const p = start(remote, [countingProjection()], { batchSize: 1000, batchWaitMs: 40 });
    const watch = setInterval(() => {
      if (!remote.caughtUpSaid()) statuses.add(p.reports()[0].status);
    }, 1);
    try {
      expect(await p.waitFor(await events.headPosition(), 10_000)).toBe(true);
    } finally {
      clearInterval(watch);
    }
    expect(statuses.has('live')).toBe(false);
    expect(statuses.has('catching-up')).toBe(true);
    // 150 events a macrotask apart: a batch per socket read would be 150 commits.
    expect(commit.mock.calls.length).toBeLessThan(30);
    expect((await store.get('event-counts', 1, 'all'))?.count).toBe(150);
    expect(await eventually(() => p.reports()[0].status === 'live')).toBe(true);
  });

  it('commits a batch too large for one commit in parts, each within the bound', async () => {
    const big: Projection = {
      readModel: 'big',
      collections: [{ name: 'big', filters: [] }],
      keysOf: (event) => [{ collection: 'big', id: String(event.data.n) }],
      apply: (event, docs) => docs.put('big', { id: String(event.data.n), text: 'x'.repeat(MAX_COMMIT_BYTES / 4) }, 0),
    };
    await append(1, 10);
    const commit = jest.spyOn(store, 'commit');
    const p = start(events, [big], { batchSize: 100 });
    expect(await p.waitFor(await events.headPosition(), 10_000)).toBe(true);
    expect((await store.getMany('big', 1, Array.from({ length: 10 }, (_, n) => String(n + 1)))).size).toBe(10);
    const outcomes = await Promise.allSettled(commit.mock.results.map((result) => result.value as Promise<void>));
    const committed = outcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [commit.mock.calls[index][1].length] : []));
    expect(outcomes.some((outcome) => outcome.status === 'rejected')).toBe(true); // the whole batch at once was refused
    expect(committed.reduce((sum, writes) => sum + writes, 0)).toBe(10);
    expect(Math.max(...committed)).toBeLessThan(4); // a quarter of the bound each: at most three fit
  });

  it('forgets, after a rebuild, the checkpoint of the version it replaced (checkpoints are per read model)', async () => {
    const named = { ...countingProjection(), readModel: 'counting' }; // its collection is event-counts
    await append(1, 20);
    const p = start(events, [named], { batchSize: 5 });
    await expectHeadReached(p, events);
    await p.rebuild('counting');
    expect(await store.readModelState('counting')).toEqual({ readModel: 'counting', activeVersion: 2, checkpoints: { 2: await events.headPosition() } });
  });

  describe('a read store and the event log it came from', () => {
    it('projects a new log afresh into a read store projected from another one, and says so', async () => {
      await append(1, 30);
      const notices: string[] = [];
      const first = start(events, [countingProjection()]);
      await expectHeadReached(first, events);
      await first.stop();
      // A new event log beside the old read store (a wiped server, another store): its positions mean other events.
      const newLog = SqliteEventStore.open(join(dir, 'new-log.sqlite'));
      try {
        for (let n = 101; n <= 105; n++) await newLog.append(`numbers-${n}`, [numbered(n)], 'no_stream');
        await store.saveLogPosition('completion-recovery', 30n);
        const second = start(newLog, [countingProjection()], { onNotice: (message) => notices.push(message) });
        expect(await second.waitFor(await newLog.headPosition(), 5_000)).toBe(true);
        expect((await store.get('event-counts', 1, 'all'))?.seen).toEqual([101, 102, 103, 104, 105]);
        expect(await store.logIdentity()).toBe(await newLog.identity());
        expect(await store.readLogPosition('completion-recovery')).toBeUndefined();
        expect(notices).toEqual([expect.stringMatching(/reset.*another event log/)]);
        await second.stop();
      } finally {
        await newLog.close();
      }
    });

    it('takes a read store from before logs had identities as its log\'s, unless its checkpoints lie beyond the log', async () => {
      await append(1, 10);
      const head = await events.headPosition();
      await store.acquireLease('old', 60_000);
      await store.ensureCollection({ name: 'event-counts', filters: [] }, 1);
      await store.commit('old', [{ collection: 'event-counts', version: 1, id: 'all', sortKey: 0, doc: { id: 'all', count: 10, seen: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] } }], [{ readModel: 'event-counts', version: 1, position: head }]);
      await store.releaseLease('old');
      const adopting = start(events, [countingProjection()]);
      expect(await adopting.waitFor(head, 5_000)).toBe(true);
      expect((await store.get('event-counts', 1, 'all'))?.count).toBe(10); // kept, not projected again
      await adopting.stop();

      await store.acquireLease('old', 60_000);
      await store.commit('old', [], [{ readModel: 'event-counts', version: 1, position: head + 1000n }]); // ahead of this log…
      await store.releaseLease('old');
      const db = (store as unknown as { db: import('better-sqlite3').Database }).db;
      db.exec('DELETE FROM event_log_binding'); // …and bound to none, as before logs had identities
      const resetting = start(events, [countingProjection()]);
      expect(await eventually(() => resetting.position() === head)).toBe(true);
      expect((await store.get('event-counts', 1, 'all'))?.count).toBe(10); // projected again from the first event, once
      expect((await store.readModelState('event-counts')).checkpoints).toEqual({ 1: head });
    });
  });
});

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls a condition for up to 2 s. */
async function eventually(condition: () => boolean): Promise<boolean> {
  for (let waited = 0; waited < 2_000 && !condition(); waited += 10) await sleep(10);
  return condition();
}

describe('DocumentBatch', () => {
  it('gives a document deleted and written again in one batch the sort key of the new write', async () => {
    const { DocumentBatch } = await import('./document-batch');
    const batch = new DocumentBatch(() => 1);
    batch.put('c', { id: 'a' }, 5);
    batch.put('c', { id: 'a', again: true }, 9);
    batch.delete('c', 'a');
    batch.put('c', { id: 'a', reborn: true }, 7);
    expect(batch.writes()).toEqual([{ collection: 'c', version: 1, id: 'a', sortKey: 7, doc: { id: 'a', reborn: true } }]);
  });

  it('folds the changes accumulated on a document into it once, after the events, and removes it when the fold says so', async () => {
    const { DocumentBatch } = await import('./document-batch');
    const store = SqliteReadStore.open(':memory:');
    await store.ensureCollection({ name: 'sums', filters: [] }, 1);
    await store.acquireLease('test', 60_000);
    const stored = (id: string, total: number) => ({ collection: 'sums', version: 1, id, sortKey: 1, doc: { id, total } });
    await store.commit('test', [stored('a', 5), stored('d', 5)], []);
    let folds = 0;
    const sums: Accumulator<number> = {
      combine: (into, change) => into + change,
      fold(current, change) {
        folds++;
        const total = Number(current?.total ?? 0) + change;
        return total === 0 ? null : { id: String(current?.id ?? 'b'), total };
      },
    };
    const batch = new DocumentBatch(() => 1);
    batch.accumulate('sums', 'a', 1, 2, sums);
    batch.accumulate('sums', 'a', 1, 3, sums);
    batch.accumulate('sums', 'b', 1, 4, sums);
    batch.accumulate('sums', 'd', 1, -5, sums);
    await batch.foldAccumulated(store);
    expect(folds).toBe(3);
    expect(batch.writes()).toEqual([
      { collection: 'sums', version: 1, id: 'a', sortKey: 1, doc: { id: 'a', total: 10 } },
      { collection: 'sums', version: 1, id: 'b', sortKey: 1, doc: { id: 'b', total: 4 } },
      { collection: 'sums', version: 1, id: 'd', sortKey: 0, doc: null },
    ]);
    await store.close();
  });

  it('loads a collection named whole: all() has its stored documents as the batch changed them, and an id it lacks reads as absent', async () => {
    const { DocumentBatch } = await import('./document-batch');
    const store = SqliteReadStore.open(':memory:');
    await store.ensureCollection({ name: 'scores', filters: [] }, 1);
    await store.acquireLease('test', 60_000);
    await store.commit('test', ['a', 'b', 'c'].map((id) => ({ collection: 'scores', version: 1, id, sortKey: 1, doc: { id, score: 1 } })), []);
    const batch = await new DocumentBatch(() => 1).load(store, [{ collection: 'scores', all: true }, { collection: 'scores', id: 'new' }]);
    expect(batch.get('scores', 'new')).toBeNull();
    batch.put('scores', { id: 'new', score: 5 }, 1);
    batch.put('scores', { id: 'a', score: 2 }, 1);
    batch.delete('scores', 'b');
    expect(batch.all('scores').sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'a', score: 2 },
      { id: 'c', score: 1 },
      { id: 'new', score: 5 },
    ]);
    expect(() => batch.all('other')).toThrow(/not named whole/);
    await store.close();
  });

  it('refuses to read a document that keysOf did not name, instead of reading it as absent', async () => {
    const { DocumentBatch } = await import('./document-batch');
    const batch = new DocumentBatch(() => 1);
    expect(() => batch.get('c', 'unnamed')).toThrow(/not named by keysOf/);
  });
});
