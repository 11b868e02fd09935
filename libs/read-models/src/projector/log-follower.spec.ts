import { EventStore, EventToAppend, SqliteEventStore } from '@crm/event-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogBatch, LogFollower, LogSource, polledLog, subscribedLog } from './log-follower';

const meta = { actorId: 't', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };
const leadId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const captured = (n: number): EventToAppend => ({ id: leadId(n), type: 'LeadCaptured', data: { leadId: leadId(n), lastName: `L${n}`, company: 'C', source: 'Web' }, metadata: meta });
const HOUR = 3_600_000;

type Reading = 'subscribed' | 'polled';
type FollowOptions = { backoffMs?: { initial: number; max: number }; pollMs?: number; types?: readonly string[] };

/** The smallest kind: one processor that keeps the positions it was handed; `failures` batches throw first (a store that fails). */
class Collector extends LogFollower {
  readonly seen: bigint[] = [];
  private checkpoint = -1n;
  private readonly pollMs: number;
  private readonly types?: readonly string[];

  constructor(
    private readonly events: EventStore,
    private readonly reading: Reading,
    private failures: number,
    options: FollowOptions = {},
  ) {
    super(options.backoffMs ?? { initial: 5, max: 20 });
    this.pollMs = options.pollMs ?? 10;
    this.types = options.types;
  }

  state() {
    return { status: this.status, lastError: this.lastError };
  }

  protected async prepare(): Promise<boolean> {
    this.followed = this.checkpoint;
    return true;
  }

  protected openLog(after: bigint): LogSource {
    return this.reading === 'subscribed'
      ? subscribedLog(this.events, after, { batchSize: 3, catchUpBatchSize: 3, batchWaitMs: 5, ...(this.types && { types: this.types }) })
      : polledLog(
          async (from, maxCount) => {
            const events = await this.events.readAll({ after: from, maxCount });
            return { events, readTo: events.length > 0 ? events[events.length - 1].position : from };
          },
          after,
          { batchSize: 3, pollMs: this.pollMs },
        );
  }

  protected async applyBatch({ events, readTo, caughtUp }: LogBatch): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('the store is away');
    }
    for (const event of events) this.seen.push(event.position);
    this.checkpoint = this.followed = readTo;
    this.applying(caughtUp() ? 'live' : 'catching-up');
  }

  protected *checkpoints(): Iterable<bigint> {
    yield this.checkpoint;
  }
}

describe('LogFollower: the one runner core of projections and reactors', () => {
  let dir: string;
  let events: EventStore;
  const followers: Collector[] = [];
  const follow = (reading: Reading, failures: number, options?: FollowOptions) => {
    const follower = new Collector(events, reading, failures, options);
    followers.push(follower);
    follower.start();
    return follower;
  };
  const capture = async (from: number, to: number) => {
    for (let n = from; n <= to; n++) await events.append(`lead-${leadId(n)}`, [captured(n)], 'no_stream');
  };
  const positions = async () => (await events.readAll({ after: -1n, maxCount: 1_000 })).map((event) => event.position);
  async function until(done: () => boolean): Promise<void> {
    for (let i = 0; i < 250 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-follower-'));
    events = SqliteEventStore.open(join(dir, 'crm.sqlite'));
  });
  afterEach(async () => {
    await Promise.all(followers.splice(0).map((f) => f.stop()));
    await events.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each<Reading>(['subscribed', 'polled'])('follows the log %s, batch by batch, each event once and in order, live once caught up and as events come', async (reading) => {
    await capture(1, 7);
    const follower = follow(reading, 0);
    expect(await follower.waitFor(await events.headPosition(), 5_000)).toBe(true);
    await capture(8, 9);
    expect(await follower.waitFor(await events.headPosition(), 5_000)).toBe(true);
    await until(() => follower.state().status === 'live');
    expect(follower.seen).toEqual(await positions());
    expect(follower.state()).toEqual({ status: 'live', lastError: undefined });
  });

  it.each<Reading>(['subscribed', 'polled'])('after a store failure (%s) is failed with the error, follows again from where it got to after a backoff, and is live again', async (reading) => {
    await capture(1, 5);
    const follower = follow(reading, 3);
    expect(await follower.waitFor(await events.headPosition(), 5_000)).toBe(true);
    expect(follower.seen).toEqual(await positions());
    await until(() => follower.state().status === 'live');
    expect(follower.state()).toEqual({ status: 'live', lastError: undefined });
  });

  it('is failed with the error while the store fails, and stop cuts the backoff pause short', async () => {
    await capture(1, 2);
    const follower = follow('subscribed', Infinity, { backoffMs: { initial: HOUR, max: HOUR } });
    await until(() => follower.state().status === 'failed');
    expect(follower.state()).toEqual({ status: 'failed', lastError: 'the store is away' });
    await follower.stop(); // an hour's pause would outlast the test
    expect(follower.state().status).toBe('stopped');
    expect(await follower.waitFor(0n, 5_000)).toBe(false);
  });

  it('follows the log subscribed to some event types: hands over those only, and reaches the position of events of other types, also live', async () => {
    const claim = (n: number): EventToAppend => ({ ...captured(n), id: `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`, type: 'Claimed' });
    await capture(1, 4);
    for (const n of [1, 2]) await events.append(`claim-${n}`, [claim(n)], 'no_stream');
    const follower = follow('subscribed', 0, { types: ['LeadCaptured'] });
    expect(await follower.waitFor(await events.headPosition(), 5_000)).toBe(true);
    await until(() => follower.state().status === 'live');
    expect(follower.seen).toEqual((await events.readAll({ maxCount: 1_000, types: ['LeadCaptured'] })).map((event) => event.position));
    // Only an event of another type comes: the follower reaches it, in a batch of no events.
    await events.append('claim-3', [claim(3)], 'no_stream');
    expect(await follower.waitFor(await events.headPosition(), 5_000)).toBe(true);
    await capture(5, 5);
    expect(await follower.waitFor(await events.headPosition(), 5_000)).toBe(true);
    expect(follower.seen).toEqual((await events.readAll({ maxCount: 1_000, types: ['LeadCaptured'] })).map((event) => event.position));
    expect(follower.state()).toEqual({ status: 'live', lastError: undefined });
  });

  it('reads the log at once when woken rather than at the next poll', async () => {
    const follower = follow('polled', 0, { pollMs: HOUR });
    await until(() => follower.state().status === 'live');
    await capture(1, 1);
    follower.wake();
    expect(await follower.waitFor(await events.headPosition(), 5_000)).toBe(true);
    expect(follower.seen).toEqual(await positions());
  });
});
