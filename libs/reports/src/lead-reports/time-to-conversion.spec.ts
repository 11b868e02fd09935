import { DocumentBatch, SqliteReadStore } from '@crm/read-models';
import { bucketCollection } from '../shared/buckets';
import { addHistogramValue, binCollection, HistogramBin, HistogramBucket, histogramCollections } from '../shared/value-histogram';
import { CONVERSION_TIMES } from './lead-reports.projection';
import { prng } from '../../../../bench/seeded-random';
import { ratio } from '../shared/report-window';
import { timeToConversionReport } from './lead-reports.queries';

/**
 * A large bucket (a month of conversion times at a large company): its values are spread over
 * the documents of its bins, each a small share of them, and the report over it is still exact.
 */
describe('Time to conversion over a large bucket', () => {
  it('keeps the bucket as a summary and bins of a small share of its values each, and reports exactly what a plain calculation gives', async () => {
    const store = SqliteReadStore.open(':memory:');
    try {
      for (const spec of histogramCollections(CONVERSION_TIMES)) await store.ensureCollection(spec, 1);
      await store.acquireLease('test', 60_000);
      const day = 20_000;
      const all: number[] = [];
      const random = prng(12345);
      const nextDuration = () => Math.floor(random.between(60_000, 90 * 86_400_000)); // a minute to 90 days, in ms
      // Three batches: two large ones, then a lone value.
      for (const size of [70_000, 60_000, 1]) {
        const batch = new DocumentBatch(() => 1);
        for (let i = 0; i < size; i++) {
          const duration = nextDuration();
          all.push(duration);
          addHistogramValue(batch, CONVERSION_TIMES, 'all', null, day, duration);
        }
        await batch.foldAccumulated(store);
        await store.commit('test', batch.writes(), []);
      }

      for (const grain of ['day', 'month'] as const) {
        const [summary, ...others] = (await store.scan(bucketCollection(CONVERSION_TIMES, grain), 1, { filter: { dim: 'all' } })) as HistogramBucket[];
        expect(others).toHaveLength(0);
        expect(summary.count).toBe(all.length);
        expect(summary.counts.reduce((n, c) => n + c, 0)).toBe(all.length);
        expect(summary.sum).toBe(all.reduce((total, value) => total + value, 0));
      }
      const bins = (await store.scan(binCollection(CONVERSION_TIMES), 1, { filter: {} })) as HistogramBin[];
      for (const { values, counts } of bins) {
        expect(values.every((value, i) => i === 0 || values[i - 1] < value)).toBe(true);
        expect(counts.reduce((n, c) => n + c, 0)).toBeLessThan(all.length / 20); // a bin is a small share of the bucket
      }
      // Each grain's bins hold every value once.
      const dayBins = bins.filter((bin) => bin.id.startsWith('day|'));
      expect(dayBins.flatMap((bin) => bin.values.flatMap((value, i) => Array<number>(bin.counts[i]).fill(value))).sort((a, b) => a - b)).toEqual([...all].sort((a, b) => a - b));

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
