/** Positions of the user events strictly after `after`, in order, at most `maxCount` of them. */
export type ReadPositions = (after: bigint, maxCount: number) => Promise<bigint[]>;

/** An exact count of the events in (after, through]. */
interface Tally {
  through: bigint;
  count: number;
}

const PAGE_SIZE = 1000;
/** Read models usually share a position; a few more cover a rebuild and its old version. */
const MAX_TALLIES = 16;

/**
 * Counts the events after a position for `countEventsAfter` (projection lag on GET /projections)
 * where the store keeps no count: EventStoreDB can only read $all, payloads included.
 *
 * Each answer is kept as a tally of (after, through]. Asked again for the same position, only
 * the events appended since are read; asked for a later position inside a tally (a projector
 * that moved on), the tally is narrowed by reading the span the projector just applied. So a
 * request reads about the new events plus the projector's progress, never the whole lag again,
 * and at most `cap` events when it starts from nothing. The log only grows (this product deletes
 * no streams), so a tally stays exact.
 */
export class LagCounter {
  private readonly tallies = new Map<bigint, Tally>();

  constructor(
    private readonly readPositions: ReadPositions,
    private readonly pageSize = PAGE_SIZE,
  ) {}

  async countAfter(after: bigint, cap: number): Promise<number> {
    if (!(cap > 0)) return 0;
    let tally = this.tallies.get(after) ?? (await this.narrowed(after)) ?? { through: after, count: 0 };
    if (tally.count < cap) tally = await this.extended(tally, cap);
    this.remember(after, tally);
    return Math.min(tally.count, cap);
  }

  /** The tally of the nearest earlier position whose span holds `after`, without (earlier, after]. */
  private async narrowed(after: bigint): Promise<Tally | undefined> {
    let nearest: [bigint, Tally] | undefined;
    for (const entry of this.tallies) {
      const [from, tally] = entry;
      if (from < after && after <= tally.through && (nearest === undefined || from > nearest[0])) nearest = entry;
    }
    if (!nearest) return undefined;
    const [from, tally] = nearest;
    const between = await this.countBetween(from, after);
    return { through: tally.through, count: tally.count - between };
  }

  /** Counts on from the end of the tally, to the head or until `cap` is reached. */
  private async extended(tally: Tally, cap: number): Promise<Tally> {
    let { through, count } = tally;
    while (count < cap) {
      const wanted = Math.min(this.pageSize, cap - count);
      const page = await this.readPositions(through, wanted);
      if (page.length > 0) {
        count += page.length;
        through = page[page.length - 1];
      }
      if (page.length < wanted) break; // reached the head
    }
    return { through, count };
  }

  /** Events in (from, to]. */
  private async countBetween(from: bigint, to: bigint): Promise<number> {
    let count = 0;
    for (let cursor = from; cursor < to; ) {
      const page = await this.readPositions(cursor, this.pageSize);
      const inside = page.filter((position) => position <= to);
      count += inside.length;
      if (inside.length < page.length || page.length < this.pageSize) break;
      cursor = page[page.length - 1];
    }
    return count;
  }

  private remember(after: bigint, tally: Tally): void {
    this.tallies.delete(after); // re-inserted last: the Map's order is the least recently used first
    this.tallies.set(after, tally);
    if (this.tallies.size > MAX_TALLIES) this.tallies.delete(this.tallies.keys().next().value!);
  }
}
