import { EventStore, EventToAppend, SqliteEventStore } from '@crm/event-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Projection } from '../projections/projection';
import { leadsProjection } from '../projections/records';
import { SqliteReadStore } from '../sqlite/sqlite-read-store';
import { Projector } from './projector';

/**
 * The projector over a store that commits on a thread of its own: batch N+1 is applied while
 * batch N commits (read back from the store as N writes it). These prove it gives the documents
 * of the store that commits in place, and that a batch whose commit fails moves no checkpoint.
 */

/** Keeps every event number it saw, in order: a double-applied or lost event shows. */
const seenNumbers: Projection = {
  readModel: 'seen-numbers',
  collections: [{ name: 'seen-numbers', filters: [] }],
  keysOf: (event) => (event.type === 'Numbered' ? [{ collection: 'seen-numbers', id: 'all' }] : []),
  apply(event, docs) {
    const seen = (docs.get('seen-numbers', 'all')?.seen as number[] | undefined) ?? [];
    docs.put('seen-numbers', { id: 'all', seen: [...seen, Number(event.data.n)] }, 0);
  },
};

const meta = { actorId: 't', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };
const numbered = (n: number): EventToAppend => ({ id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, type: 'Numbered', data: { n }, metadata: meta });
const captured = (n: number): EventToAppend => ({
  id: `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`,
  type: 'LeadCaptured',
  data: { leadId: `lead-${n}`, lastName: `L${n}`, company: 'C', source: 'Web' },
  metadata: meta,
});
const renamed = (n: number, round: number): EventToAppend => ({
  id: `00000000-0000-4000-a${round}00-${String(n).padStart(12, '0')}`,
  type: 'LeadDetailsChanged',
  data: { leadId: `lead-${n}`, changes: { lastName: `L${n}-${round}` } },
  metadata: meta,
});

describe('Projector over a store that commits on a thread of its own', () => {
  let dir: string;
  let events: EventStore;
  const stores: SqliteReadStore[] = [];
  const projectors: Projector[] = [];
  const open = (name: string, commitThread: boolean) => {
    const store = SqliteReadStore.open(join(dir, name), { commitThread });
    stores.push(store);
    return store;
  };
  const run = (store: SqliteReadStore, projections: Projection[]) => {
    const p = new Projector(events, store, projections, { batchSize: 5, backoffMs: { initial: 5, max: 20 }, leaseTtlMs: 2_000 });
    projectors.push(p);
    p.start();
    return p;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'crm-pipelined-'));
    events = SqliteEventStore.open(join(dir, 'events.sqlite'));
    // Leads changed again and again across batches: each batch reads back what the one before wrote.
    for (let n = 1; n <= 12; n++) await events.append(`lead-lead-${n}`, [captured(n)], 'no_stream');
    for (let round = 1; round <= 3; round++) for (let n = 1; n <= 12; n++) await events.append(`lead-lead-${n}`, [renamed(n, round)], round - 1);
    for (let n = 1; n <= 40; n++) await events.append(`numbers-${n % 3}`, [numbered(n)], 'any');
  });
  afterEach(async () => {
    await Promise.all(projectors.splice(0).map((p) => p.stop()));
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await events.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same documents and checkpoints as the store that commits in place', async () => {
    const inPlace = open('in-place.sqlite', false);
    const behind = open('behind.sqlite', true);
    const head = await events.headPosition();
    const [a, b] = [run(inPlace, [leadsProjection, seenNumbers]), run(behind, [leadsProjection, seenNumbers])];
    expect(await a.waitFor(head, 10_000)).toBe(true);
    expect(await b.waitFor(head, 10_000)).toBe(true);
    const ids = Array.from({ length: 12 }, (_, i) => `lead-${i + 1}`);
    expect(await behind.getMany('leads', 1, ids)).toEqual(await inPlace.getMany('leads', 1, ids));
    expect((await behind.get('leads', 1, 'lead-3'))?.lastName).toBe('L3-3');
    expect(await behind.get('seen-numbers', 1, 'all')).toEqual({ id: 'all', seen: Array.from({ length: 40 }, (_, i) => i + 1) });
    for (const readModel of ['leads', 'seen-numbers']) expect(await behind.readModelState(readModel)).toEqual(await inPlace.readModelState(readModel));
  });

  it('with read models of some event types, checkpoints at the position of a log that ends in events of other types, also when only they come', async () => {
    const claimed = (n: number): EventToAppend => ({ ...numbered(n), id: `00000000-0000-4000-b000-${String(n).padStart(12, '0')}`, type: 'Claimed' });
    for (let n = 1; n <= 7; n++) await events.append(`claims-${n}`, [claimed(n)], 'no_stream');
    const inPlace = open('in-place.sqlite', false);
    const behind = open('behind.sqlite', true);
    const numbers = { ...seenNumbers, types: ['Numbered'] };
    const [a, b] = [run(inPlace, [leadsProjection, numbers]), run(behind, [leadsProjection, numbers])];
    for (const round of [1, 2]) {
      const head = await events.headPosition();
      expect(await a.waitFor(head, 10_000)).toBe(true);
      expect(await b.waitFor(head, 10_000)).toBe(true);
      for (const readModel of ['leads', 'seen-numbers']) {
        expect((await behind.readModelState(readModel)).checkpoints[1]).toBe(head);
        expect(await behind.readModelState(readModel)).toEqual(await inPlace.readModelState(readModel));
      }
      if (round === 1) await events.append('claims-8', [claimed(8)], 'no_stream'); // live: only an event of another type
    }
    expect(await behind.get('seen-numbers', 1, 'all')).toEqual({ id: 'all', seen: Array.from({ length: 40 }, (_, i) => i + 1) });
  });

  it('commits behind while catching up, and in place once caught up', async () => {
    const store = open('behind.sqlite', true);
    const commitBehind = jest.spyOn(store, 'commitBehind');
    const commit = jest.spyOn(store, 'commit');
    const p = run(store, [leadsProjection, seenNumbers]);
    expect(await p.waitFor(await events.headPosition(), 10_000)).toBe(true);
    // 88 events in batches of 5 (18): handed over but for the last one or two (the subscription may say it caught up
    // while the batch before the last is applied: it reads one event ahead).
    expect(commitBehind.mock.calls.length).toBeGreaterThanOrEqual(16);
    expect(commit.mock.calls.length).toBeLessThanOrEqual(2);
    commitBehind.mockClear();
    commit.mockClear();
    await events.append('numbers-live', [numbered(41)], 'no_stream');
    expect(await p.waitFor(await events.headPosition(), 10_000)).toBe(true);
    expect(commitBehind).not.toHaveBeenCalled();
    expect(commit).toHaveBeenCalled();
    expect(await store.get('seen-numbers', 1, 'all')).toEqual({ id: 'all', seen: Array.from({ length: 41 }, (_, i) => i + 1) });
  });

  it('moves no checkpoint for a batch whose commit fails, nor for the batch applied on top of it, and applies each event once in the end', async () => {
    const store = open('behind.sqlite', true);
    const commitBehind = store.commitBehind!;
    const seenWhenRefused: { position: bigint; stored?: bigint }[] = [];
    let calls = 0;
    // The third batch's commit is refused by the commit thread (handed over under a lease owner
    // that does not hold the lease: nothing of it is written) while the fourth is being applied.
    (store as { commitBehind: typeof commitBehind }).commitBehind = (owner, writes, checkpoints) => {
      calls++;
      if (calls !== 3) return commitBehind(owner, writes, checkpoints);
      const { committed } = commitBehind('not-the-owner', writes, checkpoints);
      return {
        committed: committed.catch(async (error: unknown) => {
          seenWhenRefused.push({ position: p.position(), stored: (await store.readModelState('seen-numbers')).checkpoints[1] });
          throw error;
        }),
      };
    };
    const p = run(store, [seenNumbers]);
    expect(await p.waitFor(await events.headPosition(), 10_000)).toBe(true);
    // Batches of 5: when the third one's commit is refused, the second one's end is where the read model is, in memory and stored.
    const secondBatchEnd = (await events.readAll({ maxCount: 10 }))[9].position;
    expect(seenWhenRefused).toEqual([{ position: secondBatchEnd, stored: secondBatchEnd }]);
    expect(await store.get('seen-numbers', 1, 'all')).toEqual({ id: 'all', seen: Array.from({ length: 40 }, (_, i) => i + 1) });
  });
});
