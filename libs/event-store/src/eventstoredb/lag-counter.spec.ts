import { LagCounter } from './lag-counter';

/** A log of positions in memory, counting how many events each read returned. */
function log(size: number) {
  const positions = Array.from({ length: size }, (_, n) => BigInt(n * 10)); // gaps, as byte offsets have
  const reads = { events: 0 };
  const readPositions = async (after: bigint, maxCount: number) => {
    const page = positions.filter((p) => p > after).slice(0, maxCount);
    reads.events += page.length;
    return page;
  };
  const append = (count: number) => {
    const last = positions[positions.length - 1] ?? -10n;
    for (let n = 1; n <= count; n++) positions.push(last + BigInt(n * 10));
  };
  const naive = (after: bigint, cap: number) => Math.min(cap, positions.filter((p) => p > after).length);
  return { positions, reads, readPositions, append, naive };
}

describe('LagCounter', () => {
  it('counts the events after a position, up to the cap', async () => {
    const l = log(2500);
    const counter = new LagCounter(l.readPositions, 100);
    expect(await counter.countAfter(-1n, 1_000_000)).toBe(2500);
    expect(await counter.countAfter(l.positions[2399], 1_000_000)).toBe(100);
    expect(await counter.countAfter(l.positions[2499], 1_000_000)).toBe(0);
    expect(await new LagCounter(l.readPositions, 100).countAfter(-1n, 700)).toBe(700);
    expect(await counter.countAfter(-1n, 0)).toBe(0);
  });

  it('asked again, reads only what was appended since', async () => {
    const l = log(5000);
    const counter = new LagCounter(l.readPositions, 500);
    expect(await counter.countAfter(-1n, 1_000_000)).toBe(5000);
    l.reads.events = 0;
    expect(await counter.countAfter(-1n, 1_000_000)).toBe(5000);
    expect(l.reads.events).toBe(0);
    l.append(30);
    expect(await counter.countAfter(-1n, 1_000_000)).toBe(5030);
    expect(l.reads.events).toBe(30);
  });

  it('follows a projector that moves on by reading the span it applied, not the whole lag', async () => {
    const l = log(10_000);
    const counter = new LagCounter(l.readPositions, 1000);
    let checkpoint = -1n;
    await counter.countAfter(checkpoint, 1_000_000);
    for (let step = 1; step <= 5; step++) {
      checkpoint = l.positions[step * 1000 - 1];
      l.append(50);
      l.reads.events = 0;
      expect(await counter.countAfter(checkpoint, 1_000_000)).toBe(l.naive(checkpoint, 1_000_000));
      expect(l.reads.events).toBeLessThanOrEqual(1000 + 50); // progress + appends; the lag is over 5000
    }
  });

  it('stops at the cap when it starts from nothing, and stays exact as the lag shrinks below it', async () => {
    const l = log(20_000);
    const counter = new LagCounter(l.readPositions, 1000);
    expect(await counter.countAfter(-1n, 3000)).toBe(3000);
    expect(l.reads.events).toBe(3000);
    for (const index of [999, 9999, 17_999, 19_499]) {
      const after = l.positions[index];
      expect(await counter.countAfter(after, 3000)).toBe(l.naive(after, 3000));
    }
  });

  it('keeps separate positions apart (read models at different checkpoints)', async () => {
    const l = log(3000);
    const counter = new LagCounter(l.readPositions, 250);
    const a = l.positions[99];
    const b = l.positions[2899];
    expect(await counter.countAfter(a, 1_000_000)).toBe(2900);
    expect(await counter.countAfter(b, 1_000_000)).toBe(100);
    l.append(7);
    expect(await counter.countAfter(a, 1_000_000)).toBe(2907);
    expect(await counter.countAfter(b, 1_000_000)).toBe(107);
  });
});
