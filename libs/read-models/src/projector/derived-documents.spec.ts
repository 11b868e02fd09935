import { EventStore, RecordedEvent, SqliteEventStore } from '@crm/event-store';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Accumulator, DocumentSet, Projection, DerivedDocuments } from '../projections/projection';
import { ReadDocument } from '../read-store.port';
import { SqliteReadStore } from '../sqlite/sqlite-read-store';
import { ProjectionFault, projectBatch } from './document-batch';
import { Projector } from './projector';

/**
 * A record per stream holds a value and a colour; the totals per colour sum the records' values,
 * as report buckets sum the records' facts. The totals are moved by `derived`, once per batch.
 */
interface Tally extends ReadDocument {
  colour: string;
  value: number;
}
const TALLIES = 'tallies';
const TOTALS = 'totals';
/** A total adds up its changes; one that comes to zero is removed. */
const adding: Accumulator<{ colour: string; n: number }> = {
  combine: (into, change) => ({ colour: into.colour, n: into.n + change.n }),
  fold: (current, { colour, n }) => {
    const total = ((current?.total as number | undefined) ?? 0) + n;
    return total === 0 ? null : { id: colour, total };
  },
};
const addTo = (docs: DocumentSet, tally: Tally | null, sign: 1 | -1) => {
  if (tally) docs.accumulate(TOTALS, tally.colour, 0, { colour: tally.colour, n: sign * tally.value }, adding);
};

function talliesProjection(moves: { before: Tally | null; after: Tally | null }[], derivedOverride: Partial<DerivedDocuments> = {}): Projection {
  return {
    readModel: 'tallies',
    collections: [
      { name: TALLIES, filters: [] },
      { name: TOTALS, filters: [] },
    ],
    keysOf: (event) => [{ collection: TALLIES, id: event.streamId }],
    apply(event, docs) {
      const before = docs.get(TALLIES, event.streamId) as Tally | null;
      const data = event.data as { add?: number; colour?: string };
      docs.put(TALLIES, { id: event.streamId, colour: data.colour ?? before?.colour ?? 'none', value: (before?.value ?? 0) + (data.add ?? 0) } satisfies Tally, 0);
    },
    derived: [
      {
        collection: TALLIES,
        move(before, after, docs) {
          moves.push({ before: before as Tally | null, after: after as Tally | null });
          addTo(docs, before as Tally | null, -1);
          addTo(docs, after as Tally | null, 1);
        },
        ...derivedOverride,
      },
    ],
  };
}

const meta = { actorId: 't', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };

describe('Documents that others are derived from (Projection.derived)', () => {
  let dir: string;
  let events: EventStore;
  let store: SqliteReadStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-derived-'));
    events = SqliteEventStore.open(join(dir, 'crm.sqlite'));
    store = SqliteReadStore.open(join(dir, 'crm.sqlite'));
  });
  afterEach(async () => {
    await events.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ensureCollections = async () => {
    for (const spec of talliesProjection([]).collections) await store.ensureCollection(spec, 1);
  };

  /** Three records, four events each, their colours changing on the way; the plain sums at the end. */
  async function appendHistory(): Promise<{ head: bigint; expected: Record<string, number> }> {
    const lives: Record<string, { add?: number; colour?: string }[]> = {
      'tally-a': [{ add: 5, colour: 'red' }, { add: 2 }, { colour: 'blue' }, { add: -1 }],
      'tally-b': [{ add: 3, colour: 'blue' }, { colour: 'red' }, { add: 4 }, { colour: 'green' }],
      'tally-c': [{ add: 1, colour: 'green' }, { add: 1 }, { add: -2 }, { add: 9, colour: 'red' }],
    };
    for (let step = 0; step < 4; step++) {
      for (const [stream, life] of Object.entries(lives)) await events.append(stream, [{ id: randomUUID(), type: 'Tallied', data: life[step], metadata: meta }], 'any');
    }
    // a: 6 blue; b: 7 green; c: 9 red (green's 0 leaves no total document)
    return { head: await events.headPosition(), expected: { blue: 6, green: 7, red: 9 } };
  }

  async function totalsAfterProjecting(batchSize: number, moves: { before: Tally | null; after: Tally | null }[]) {
    const projector = new Projector(events, store, [talliesProjection(moves)], { batchSize, catchUpBatchSize: batchSize, backoffMs: { initial: 5, max: 20 } });
    const { head, expected } = await appendHistory();
    projector.start();
    expect(await projector.waitFor(head, 10_000)).toBe(true);
    await projector.stop();
    const totals = Object.fromEntries(
      await Promise.all(['red', 'blue', 'green', 'none'].map(async (colour) => [colour, (await store.get(TOTALS, 1, colour))?.total] as const)),
    );
    return { totals, expected };
  }

  it('sums come out as the plain sums with every event in one batch (a move per record)', async () => {
    const moves: { before: Tally | null; after: Tally | null }[] = [];
    const oneBatch = await totalsAfterProjecting(1000, moves);
    expect(oneBatch.totals).toEqual({ ...oneBatch.expected, none: undefined });
    expect(moves).toHaveLength(3);
  });

  it('sums come out as the plain sums with a batch per event (a move per event)', async () => {
    const moves: { before: Tally | null; after: Tally | null }[] = [];
    const perEvent = await totalsAfterProjecting(1, moves);
    expect(perEvent.totals).toEqual({ ...perEvent.expected, none: undefined });
    expect(moves).toHaveLength(12);
  });

  it('moves a document once per batch, from what it was before the batch to what it is after it', async () => {
    const { head } = await appendHistory();
    const all = await events.readAll({ maxCount: 100 });
    expect(all.map((e) => e.position).at(-1)).toBe(head);
    await ensureCollections();
    const moves: { before: Tally | null; after: Tally | null }[] = [];
    const projection = talliesProjection(moves);
    // The first two events of each record in one batch, committed; the last two in another.
    const [first, second] = [all.filter((e) => e.revision < 2), all.filter((e) => e.revision >= 2)];
    expect(await store.acquireLease('test', 60_000)).toBe(true);
    await store.commit('test', await projectBatch(store, [{ projection, version: 1, after: -1n }], first), []);
    expect(moves).toEqual([
      { before: null, after: { id: 'tally-a', colour: 'red', value: 7 } },
      { before: null, after: { id: 'tally-b', colour: 'red', value: 3 } },
      { before: null, after: { id: 'tally-c', colour: 'green', value: 2 } },
    ]);
    moves.length = 0;
    await projectBatch(store, [{ projection, version: 1, after: -1n }], second);
    expect(moves).toEqual([
      { before: { id: 'tally-a', colour: 'red', value: 7 }, after: { id: 'tally-a', colour: 'blue', value: 6 } },
      { before: { id: 'tally-b', colour: 'red', value: 3 }, after: { id: 'tally-b', colour: 'green', value: 7 } },
      { before: { id: 'tally-c', colour: 'green', value: 2 }, after: { id: 'tally-c', colour: 'red', value: 9 } },
    ]);
  });

  it("a move that throws is the projection's fault, told at the last event that changed that document (not at whatever ends the batch)", async () => {
    await appendHistory();
    const all = await events.readAll({ maxCount: 100 });
    await ensureCollections();
    const failing = talliesProjection([], {
      move: (_before, after) => {
        if (after?.id === 'tally-b') throw new Error('cannot sum');
      },
    });
    const lastOfB = all.filter((e) => e.streamId === 'tally-b').at(-1)!;
    expect(lastOfB.position).not.toBe(all.at(-1)!.position);
    for (const batch of [all, all.slice(0, -1)]) {
      const attempt = projectBatch(store, [{ projection: failing, version: 1, after: -1n }], batch);
      await expect(attempt).rejects.toBeInstanceOf(ProjectionFault);
      await expect(attempt).rejects.toMatchObject({ readModel: 'tallies', position: lastOfB.position, eventType: 'Tallied', reason: 'cannot sum' });
    }
  });

  it('a document others derive from, put without being named by keysOf is refused (its state before the batch was never read)', async () => {
    await appendHistory();
    const [event] = await events.readAll({ maxCount: 1 });
    await ensureCollections();
    // It puts the record without reading it, so only the move would have needed it loaded.
    const blind = talliesProjection([]);
    const unnamed: Projection = {
      ...blind,
      keysOf: (e: RecordedEvent) => [{ collection: TOTALS, id: e.streamId }],
      apply: (e, docs) => docs.put(TALLIES, { id: e.streamId, colour: 'red', value: 1 }, 0),
    };
    await expect(projectBatch(store, [{ projection: unnamed, version: 1, after: -1n }], [event])).rejects.toMatchObject({ reason: expect.stringContaining('not named by keysOf') });
  });
});
