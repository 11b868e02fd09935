import { DocumentBatch, SqliteReadStore } from '@crm/read-models';
import { addValue, bucketCollection, bucketCollections, ValueBucket, VALUES_PER_CHUNK } from '../shared/buckets';
import { CONVERSION_TIMES } from './lead-reports.projection';
import { prng } from '../../../../bench/seeded-random';
import { ratio } from '../shared/report-window';
import { timeToConversionReport } from './lead-reports.queries';

/**
 * A value bucket that outgrows one document (a month of conversion times at a large company):
 * it is kept in bounded, sorted chunks, and the report over it is still exact.
 */
describe('Time to conversion over a bucket larger than one document', () => {
  it('keeps the bucket in chunks of at most VALUES_PER_CHUNK values, and reports exactly what a plain calculation gives', async () => {
    const store = SqliteReadStore.open(':memory:');
    try {
      for (const spec of bucketCollections(CONVERSION_TIMES)) await store.ensureCollection(spec, 1);
      await store.acquireLease('test', 60_000);
      const day = 20_000;
      const all: number[] = [];
      const random = prng(12345);
      const nextDuration = () => Math.floor(random.between(60_000, 90 * 86_400_000)); // a minute to 90 days, in ms
      // Three batches: the first seals a chunk off, the second another, the third adds a lone value.
      for (const size of [VALUES_PER_CHUNK + 20_000, VALUES_PER_CHUNK + 10_000, 1]) {
        const batch = new DocumentBatch(() => 1);
        for (let i = 0; i < size; i++) {
          const duration = nextDuration();
          all.push(duration);
          addValue(batch, CONVERSION_TIMES, 'all', null, day, duration);
        }
        await batch.foldAccumulated(store);
        await store.commit('test', batch.writes(), []);
      }

      for (const grain of ['day', 'month'] as const) {
        const documents = (await store.scan(bucketCollection(CONVERSION_TIMES, grain), 1, { filter: { dim: 'all' } })) as ValueBucket[];
        expect(documents).toHaveLength(3); // 130,001 values: two sealed chunks and the open one
        for (const { values, sum } of documents) {
          expect(values.length).toBeLessThanOrEqual(VALUES_PER_CHUNK);
          expect(values.every((value, i) => i === 0 || values[i - 1] <= value)).toBe(true);
          expect(sum).toBe(values.reduce((total, value) => total + value, 0));
        }
        expect(documents.flatMap((d) => d.values).sort((a, b) => a - b)).toEqual([...all].sort((a, b) => a - b));
      }

      const sorted = [...all].sort((a, b) => a - b);
      const nearestRank = (p: number) => sorted[Math.ceil(p * sorted.length) - 1] / 1000;
      const plain = {
        count: sorted.length,
        mean: ratio(sorted.reduce((total, value) => total + value, 0), sorted.length * 1000, 1),
        median: nearestRank(0.5),
        p90: nearestRank(0.9),
        min: sorted[0] / 1000,
        max: sorted[sorted.length - 1] / 1000,
      };
      const source = { store, versionOf: async () => 1 };
      expect((await timeToConversionReport(source, 'month', {})).total).toEqual(plain);
      expect((await timeToConversionReport(source, 'month', { from: day, to: day + 1 })).total).toEqual(plain); // from day buckets
    } finally {
      await store.close();
    }
  });
});
