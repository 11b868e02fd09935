import type { ReadModelDocuments } from '@crm/read-models';
import { binCollection, binId, HistogramBin, HistogramBucket } from './value-histogram';

/** The values of a group of histogram buckets: how many, their sum, and the nearest-rank value at each p asked for (null over no values). */
export interface ValueStatistics {
  count: number;
  sum: number;
  ranks: (number | null)[];
}

/** The nearest rank of p over count values: element ceil(p × count), 1-based (p = 0 the smallest, p = 1 the largest). */
export const nearestRank = (p: number, count: number) => Math.max(1, Math.ceil(p * count));

/** A rank to find: in which bin, at which rank inside the bin, and the buckets whose bin documents hold it. */
interface Wanted {
  group: number;
  rank: number;
  bin: number;
  inBin: number;
  buckets: HistogramBucket[];
}

/**
 * Count, sum and the nearest-rank values at `ps` of each group of histogram buckets (a group: the
 * buckets of one report row, over the window). Exact: the summed bin counts say which bin holds
 * each rank and at which rank inside it; only those bins' documents are read, all of the groups'
 * at once (one getMany), and the rank is counted out over their values.
 */
export async function valueStatistics(store: ReadModelDocuments, version: number, view: string, groups: HistogramBucket[][], ps: number[]): Promise<ValueStatistics[]> {
  const wanted: Wanted[] = [];
  const statistics = groups.map((buckets, group): ValueStatistics => {
    const withValues = buckets.filter((bucket) => bucket.count > 0);
    const count = withValues.reduce((n, bucket) => n + bucket.count, 0);
    const sum = withValues.reduce((total, bucket) => total + bucket.sum, 0);
    if (count === 0) return { count, sum, ranks: ps.map(() => null) };
    const first = Math.min(...withValues.map((bucket) => bucket.first));
    const last = Math.max(...withValues.map((bucket) => bucket.first + bucket.counts.length - 1));
    const perBin = new Float64Array(last - first + 1);
    for (const bucket of withValues) for (let i = 0; i < bucket.counts.length; i++) perBin[bucket.first - first + i] += bucket.counts[i];
    ps.forEach((p, rank) => {
      let left = nearestRank(p, count);
      let index = 0;
      while (left > perBin[index]) left -= perBin[index++];
      const bin = first + index;
      wanted.push({ group, rank, bin, inBin: left, buckets: withValues.filter((bucket) => bucket.first <= bin && (bucket.counts[bin - bucket.first] ?? 0) > 0) });
    });
    return { count, sum, ranks: ps.map(() => null) };
  });
  const ids = new Set(wanted.flatMap(({ bin, buckets }) => buckets.map((bucket) => binId(bucket.grain, bucket.id, bin))));
  const found = ids.size === 0 ? new Map() : await store.getMany(binCollection(view), version, [...ids]);
  for (const { group, rank, bin, inBin, buckets } of wanted) {
    const parts = buckets.map((bucket) => {
      const doc = found.get(binId(bucket.grain, bucket.id, bin)) as HistogramBin | undefined;
      // Summaries and bins are written in the same commits: a bin counted but missing is a broken view.
      if (!doc) throw new Error(`${binCollection(view)}: bin ${bin} of ${bucket.id} is counted in its summary but has no document`);
      return doc;
    });
    statistics[group].ranks[rank] = kthOfBins(parts, inBin);
  }
  return statistics;
}

/**
 * The k-th smallest (1-based) value of several bins' (value, count) lists together: a merge of the
 * sorted lists, walked until the rank (a bin's lists are few: one per bucket of the window).
 */
export function kthOfBins(parts: { values: number[]; counts: number[] }[], k: number): number {
  const next = parts.map(() => 0);
  let left = k;
  for (;;) {
    let smallest = -1;
    for (let p = 0; p < parts.length; p++) {
      if (next[p] < parts[p].values.length && (smallest < 0 || parts[p].values[next[p]] < parts[smallest].values[next[smallest]])) smallest = p;
    }
    if (smallest < 0) throw new Error(`rank ${k} is past the ${k - left} values of its bin`);
    const { values, counts } = parts[smallest];
    const at = next[smallest]++;
    if (left <= counts[at]) return values[at];
    left -= counts[at];
  }
}
