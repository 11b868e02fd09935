import { DocumentBatch, ReadDocument, SqliteReadStore } from '@crm/read-models';
import { addHistogramValue, binCollection, binOf, BINS_PER_OCTAVE, histogramCollections, removeHistogramValue } from './value-histogram';
import { dayOfDate, monthKey } from './calendar';
import { prng } from '../../../../bench/seeded-random';
import { DayWindow } from './report-window';
import { valueStatisticsByKey } from './report-queries';
import { kthOfBins, nearestRank } from './value-statistics';

const VIEW = 'test-values';
const KEYS = ['a', 'b', null] as const;

/** One value of the test view: its key (dim `source`; every value is also in `all`), day and ms. */
interface Value {
  key: string | null;
  day: number;
  ms: number;
}

type Operation = { put: boolean } & Value;

async function openStore(): Promise<SqliteReadStore> {
  const store = SqliteReadStore.open(':memory:');
  for (const spec of histogramCollections(VIEW)) await store.ensureCollection(spec, 1);
  await store.acquireLease('test', 60_000);
  return store;
}

/** Applies the operations in batches of the given sizes (the rest in one), as the projector would: accumulate, fold, commit. */
async function project(store: SqliteReadStore, operations: Operation[], batchSizes: number[]): Promise<void> {
  let start = 0;
  for (let b = 0; start < operations.length; b++) {
    const size = batchSizes[b] ?? operations.length;
    const batch = new DocumentBatch(() => 1);
    for (const { put, key, day, ms } of operations.slice(start, start + size)) {
      for (const [dim, k] of [['source', key], ['all', null]] as const) (put ? addHistogramValue : removeHistogramValue)(batch, VIEW, dim, k, day, ms);
    }
    await batch.foldAccumulated(store);
    await store.commit('test', batch.writes(), []);
    start += size;
  }
}

/** What a report must say, by a plain sort of the values left in the window. */
function plain(values: Value[], ps: number[]) {
  const sorted = values.map((v) => v.ms).sort((a, b) => a - b);
  return {
    count: sorted.length,
    sum: sorted.reduce((total, ms) => total + ms, 0),
    ranks: ps.map((p) => (sorted.length === 0 ? null : sorted[Math.max(1, Math.ceil(p * sorted.length)) - 1])),
  };
}

const inWindow = (window: DayWindow) => (v: Value) => (window.from === undefined || v.day >= window.from) && (window.to === undefined || v.day < window.to);

async function everyDocument(store: SqliteReadStore): Promise<ReadDocument[]> {
  const docs = await Promise.all(histogramCollections(VIEW).map((spec) => store.scan(spec.name, 1, { filter: {} })));
  return docs.flat().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

describe('Value histograms: exact order statistics', () => {
  it('bins values in order: a smaller value never has a larger bin; values under 64 ms have a bin each; an octave has BINS_PER_OCTAVE bins', () => {
    const random = prng(7);
    const values = [0, 1, 63, 64, 65, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 40 + 3, -1, -64, -65, -(2 ** 33)];
    for (let i = 0; i < 5_000; i++) values.push(Math.floor(random.between(-1e6, 1e6)), Math.floor(2 ** random.between(0, 42)));
    values.sort((a, b) => a - b);
    for (let i = 1; i < values.length; i++) expect(binOf(values[i - 1])).toBeLessThanOrEqual(binOf(values[i]));
    for (let v = 0; v < 64; v++) expect(binOf(v)).toBe(v);
    expect(binOf(2 ** 20 * 2) - binOf(2 ** 20)).toBe(BINS_PER_OCTAVE);
    expect(binOf(-1)).toBeLessThan(binOf(0));
  });

  it('selects the k-th value of several bins with counts, as a plain sort of their values does', () => {
    const random = prng(11);
    for (let round = 0; round < 200; round++) {
      const parts = Array.from({ length: 1 + Math.floor(random.next() * 4) }, () => {
        const distinct = [...new Set(Array.from({ length: 1 + Math.floor(random.next() * 20) }, () => Math.floor(random.between(0, 50))))].sort((a, b) => a - b);
        return { values: distinct, counts: distinct.map(() => 1 + Math.floor(random.next() * 3)) };
      });
      const all = parts.flatMap((part) => part.values.flatMap((v, i) => Array<number>(part.counts[i]).fill(v))).sort((a, b) => a - b);
      for (let k = 1; k <= all.length; k++) expect(kthOfBins(parts, k)).toBe(all[k - 1]);
    }
  });

  it('answers count, sum and nearest-rank values as a plain sort does: random histories with ties, removals, one value, none; every window and groupBy; whatever the batches', async () => {
    const random = prng(2026);
    const first = dayOfDate('2024-11-20');
    const windows: DayWindow[] = [
      {},
      { from: dayOfDate('2025-01-01') },
      { to: dayOfDate('2025-01-01') },
      { from: dayOfDate('2024-12-01'), to: dayOfDate('2025-01-01') },
      { from: dayOfDate('2024-12-30'), to: dayOfDate('2025-02-03') },
      { from: first + 3, to: first + 4 },
      { from: dayOfDate('2030-01-01') },
    ];
    const distributions = [
      () => Math.floor(random.between(0, 5 * 86_400_000)), // wide: up to five days
      () => 60_000 * Math.floor(random.between(0, 6)), // many ties: whole minutes
      () => 3_600_000, // all the same
      () => Math.floor(2 ** random.between(0, 36)), // spread over every scale
      () => Math.floor(random.between(-100_000, 100_000)), // some negative (a back-dated event)
    ];
    for (let round = 0; round < 60; round++) {
      const size = [0, 1, 2, 5, 50, 400][round % 6];
      const next = distributions[Math.floor(round / 6) % distributions.length];
      const operations: Operation[] = [];
      const live: Value[] = [];
      for (let i = 0; i < size; i++) {
        const value: Value = { key: random.pick(KEYS), day: first + Math.floor(random.between(0, 90)), ms: next() };
        operations.push({ put: true, ...value });
        live.push(value);
        // Now and then a value leaves (its record moved to another group or was merged away).
        if (random.chance(0.25)) {
          const [gone] = live.splice(Math.floor(random.next() * live.length), 1);
          operations.push({ put: false, ...gone });
        }
      }
      const ps = [0.5, 0.9, 0, 1, random.next()];
      const inBatches = [1 + Math.floor(random.next() * 7), 1 + Math.floor(random.next() * 40)];
      const store = await openStore();
      const inOne = await openStore();
      try {
        await project(store, operations, [...inBatches, ...inBatches, ...inBatches, ...inBatches]);
        await project(inOne, operations, []);
        // Where the batches fell makes no difference to what is stored (crm verify replays in other batches).
        expect(await everyDocument(store)).toEqual(await everyDocument(inOne));
        const source = { store, versionOf: async () => 1 };
        for (const window of windows) {
          const inIt = live.filter(inWindow(window));
          const bySource = await valueStatisticsByKey(source, 1, VIEW, 'source', window, ps);
          expect(bySource.total).toEqual(plain(inIt, ps));
          for (const key of KEYS) {
            const ofKey = inIt.filter((v) => v.key === key);
            if (ofKey.length > 0) expect(bySource.groups.get(key)).toEqual(plain(ofKey, ps));
            else expect(bySource.groups.get(key)?.count ?? 0).toBe(0);
          }
          const byMonth = await valueStatisticsByKey(source, 1, VIEW, 'month', window, ps);
          expect(byMonth.total).toEqual(plain(inIt, ps));
          for (const month of new Set(inIt.map((v) => monthKey(v.day)))) expect(byMonth.groups.get(month)).toEqual(plain(inIt.filter((v) => monthKey(v.day) === month), ps));
        }
        if (live.length === 0) expect(await everyDocument(store)).toEqual([]); // nothing left: no summary, no bin
      } finally {
        await store.close();
        await inOne.close();
      }
    }
  });

  it('reads only the bins that hold the ranks asked for', async () => {
    const store = await openStore();
    try {
      const day = dayOfDate('2025-03-10');
      // 1..10,000 ms: about 140 bins.
      await project(store, Array.from({ length: 10_000 }, (_, i) => ({ put: true, key: 'a', day, ms: i + 1 })), [2_500]);
      const read: string[][] = [];
      const getMany = store.getMany.bind(store);
      store.getMany = async (collection, version, ids) => (collection === binCollection(VIEW) && read.push(ids), getMany(collection, version, ids));
      const { total } = await valueStatisticsByKey({ store, versionOf: async () => 1 }, 1, VIEW, 'source', { from: day, to: day + 1 }, [0.5, 0.9]);
      expect(total.ranks).toEqual([nearestRank(0.5, 10_000), nearestRank(0.9, 10_000)]);
      expect(read).toHaveLength(1); // one read for the whole report
      expect(read[0].length).toBeLessThanOrEqual(4); // the group's and the total's bins of two ranks (the same bins here)
    } finally {
      await store.close();
    }
  });
});
