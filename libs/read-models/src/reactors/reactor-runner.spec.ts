import type { LeadEvent } from '@crm/domain';
import { EventStore, EventToAppend, RecordedEvent, SqliteEventStore } from '@crm/event-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IGNORED } from '../projections/define-projection';
import { SqliteReadStore } from '../sqlite/sqlite-read-store';
import { defineReactor, Reactor } from './define-reactor';
import { ReactorParking, ReactorRunner, ReactorRunnerOptions, ReactorStep, ReactorStepsFailing } from './reactor-runner';

const meta = { actorId: 't', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };
const leadId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const captured = (n: number): EventToAppend => ({ id: leadId(n), type: 'LeadCaptured', data: { leadId: leadId(n), lastName: `L${n}`, company: 'C', source: 'Web' }, metadata: meta });
const reopened = (n: number): EventToAppend => ({ id: `10000000-0000-4000-8000-${String(n).padStart(12, '0')}`, type: 'LeadReopened', data: { leadId: leadId(n) }, metadata: meta });

/** Records every captured lead's number it reacts to; fails on `failOn` while `failing`. */
function capturesReactor(name: string, options: { version?: number; failOn?: number } = {}) {
  const seen: number[] = [];
  const state = { failing: true, attempts: 0 };
  const reactor = defineReactor<LeadEvent>({
    name,
    version: options.version,
    streams: ['lead'],
    handlers: {
      LeadCaptured: async (event) => {
        const n = Number(event.data.lastName.slice(1));
        if (n === options.failOn) {
          state.attempts++;
          if (state.failing) throw new Error(`cannot react to lead ${n}`);
        }
        seen.push(n);
      },
      LeadEngaged: IGNORED,
      LeadDetailsChanged: IGNORED,
      LeadAssigned: IGNORED,
      LeadStatusChanged: IGNORED,
      LeadQualified: IGNORED,
      LeadDisqualified: IGNORED,
      LeadReopened: IGNORED,
      LeadConverted: IGNORED,
      LeadMerged: IGNORED,
      LeadMergedInto: IGNORED,
      PersonalDataErased: IGNORED,
    },
  });
  return { reactor, seen, state };
}

/** The parking port kept in memory (the API's keeps it in an event-store stream; see parked-decisions.ts). */
class InMemoryParking implements ReactorParking {
  readonly failures = new Map<string, number>();
  readonly parked = new Map<string, ReactorStep>();
  async read(_reactor: string) {
    return { failures: new Map(this.failures), parked: new Set(this.parked.keys()) };
  }
  async failed(step: ReactorStep, failures: number, _error: unknown, park: boolean) {
    this.failures.set(step.eventId, failures);
    if (park) this.parked.set(step.eventId, step);
  }
}

describe('defineReactor', () => {
  it('reacts to the event types it handles, from its streams only; IGNORED ones and other streams are not its steps', async () => {
    const { reactor, seen } = capturesReactor('captures');
    const recorded = (event: EventToAppend, streamId: string): RecordedEvent => ({ ...event, streamId, revision: 0, position: 1n, recordedAt: meta.occurredAt });
    expect(reactor.handles(recorded(captured(1), `lead-${leadId(1)}`))).toBe(true);
    expect(reactor.handles(recorded(reopened(1), `lead-${leadId(1)}`))).toBe(false);
    expect(reactor.handles(recorded(captured(1), `import-${leadId(1)}`))).toBe(false);
    expect(reactor.handles(recorded({ ...captured(1), type: 'SomethingElse' }, `lead-${leadId(1)}`))).toBe(false);
    await reactor.react(recorded(captured(1), `lead-${leadId(1)}`));
    expect(seen).toEqual([1]);
  });

  it('names every event type of the union, handled or IGNORED (a missing or unknown one does not compile)', () => {
    const handlers = {
      LeadCaptured: IGNORED, LeadEngaged: IGNORED, LeadDetailsChanged: IGNORED, LeadAssigned: IGNORED, LeadStatusChanged: IGNORED, LeadQualified: IGNORED,
      LeadDisqualified: IGNORED, LeadReopened: IGNORED, LeadConverted: IGNORED, LeadMerged: IGNORED, LeadMergedInto: IGNORED, PersonalDataErased: IGNORED,
    } as const;
    const { LeadMergedInto: _left, ...missingOne } = handlers;
    // @ts-expect-error LeadMergedInto is an event type of the union that the reactor does not name
    defineReactor<LeadEvent>({ name: 'missing', streams: ['lead'], handlers: missingOne });
    // @ts-expect-error LeadRenamed is no event type of the union (a renamed or misspelled one)
    defineReactor<LeadEvent>({ name: 'unknown', streams: ['lead'], handlers: { ...handlers, LeadRenamed: IGNORED } });
    expect(defineReactor<LeadEvent>({ name: 'complete', streams: ['lead'], handlers }).handles).toBeInstanceOf(Function);
  });

  it('names the event types it handles (not the IGNORED ones), for the runner to read only those', () => {
    expect(capturesReactor('captures').reactor.types).toEqual(['LeadCaptured']);
  });
});

describe('ReactorRunner: reactors with their own checkpoints and parked steps', () => {
  let dir: string;
  let events: EventStore;
  let store: SqliteReadStore;
  let parking: InMemoryParking;
  const runners: ReactorRunner[] = [];
  const start = (reactors: Reactor[], options: ReactorRunnerOptions = {}) => {
    const runner = new ReactorRunner(events, store, reactors, parking, { backoffMs: { initial: 5, max: 20 }, batchSize: 4, pollMs: 10, ...options });
    runners.push(runner);
    runner.start();
    return runner;
  };
  const stopAll = () => Promise.all(runners.splice(0).map((r) => r.stop()));
  const capture = async (from: number, to: number) => {
    for (let n = from; n <= to; n++) await events.append(`lead-${leadId(n)}`, [captured(n)], 'no_stream');
  };
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-reactors-'));
    events = SqliteEventStore.open(join(dir, 'crm.sqlite'));
    store = SqliteReadStore.open(join(dir, 'crm.sqlite'));
    parking = new InMemoryParking();
  });
  afterEach(async () => {
    await stopAll();
    await events.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands each reactor its events once, in log order, live, and resumes from its own checkpoint after a restart', async () => {
    await capture(1, 10);
    const first = capturesReactor('captures');
    const runner = start([first.reactor]);
    await runner.settled(await events.headPosition(), 5_000);
    await capture(11, 12); // followed live
    await runner.settled(await events.headPosition(), 5_000);
    expect(first.seen).toEqual(range(1, 12));
    expect(runner.reports()).toEqual([{ name: 'captures', kind: 'reactor', version: 1, position: String(await events.headPosition()), status: 'live' }]);
    await stopAll();

    await capture(13, 14);
    const again = capturesReactor('captures');
    const restarted = start([again.reactor]);
    await restarted.settled(await events.headPosition(), 5_000);
    expect(again.seen).toEqual([13, 14]); // nothing before its checkpoint is handed again
  });

  it('keeps a checkpoint per reactor: a new reactor starts from the first event, a new version of one too, the others resume', async () => {
    await capture(1, 6);
    const old = capturesReactor('old');
    await start([old.reactor]).settled(await events.headPosition(), 5_000);
    await stopAll();

    await capture(7, 8);
    const resumed = capturesReactor('old');
    const added = capturesReactor('added');
    const runner = start([resumed.reactor, added.reactor]);
    await runner.settled(await events.headPosition(), 5_000);
    expect(resumed.seen).toEqual([7, 8]);
    expect(added.seen).toEqual(range(1, 8));
    expect(runner.reports().map((r) => [r.name, r.position])).toEqual([['old', String(await events.headPosition())], ['added', String(await events.headPosition())]]);
    await stopAll();

    const v2 = capturesReactor('old', { version: 2 });
    const bumped = start([v2.reactor]);
    await bumped.settled(await events.headPosition(), 5_000);
    expect(v2.seen).toEqual(range(1, 8));
    expect(bumped.reports()[0]).toMatchObject({ name: 'old', version: 2 });
  });

  it('reads only the event types its reactors handle, and moves their checkpoints to the head though the log ends in other types', async () => {
    await capture(1, 5);
    for (const n of [1, 2, 3]) await events.append(`lead-${leadId(n)}`, [reopened(n)], 0);
    await capture(6, 9);
    for (const n of [6, 7]) await events.append(`lead-${leadId(n)}`, [reopened(n)], 0);
    const readAll = jest.spyOn(events, 'readAll');
    const first = capturesReactor('captures');
    const runner = start([first.reactor]); // pages of 4: full ones, then a short one
    const head = await events.headPosition();
    await runner.settled(head, 5_000);
    expect(first.seen).toEqual(range(1, 9));
    expect(runner.reports()[0]).toMatchObject({ position: String(head), status: 'live' });
    expect(readAll.mock.calls.every(([options]) => options.types?.join() === 'LeadCaptured')).toBe(true);
    const pages = await Promise.all(readAll.mock.results.map((result) => result.value as Promise<RecordedEvent[]>));
    expect(pages.flat().every((event) => event.type === 'LeadCaptured')).toBe(true);

    // Only other types since: followed live to the new head, and after a restart nothing is read again from before it.
    await events.append(`lead-${leadId(8)}`, [reopened(8)], 0);
    await runner.settled(await events.headPosition(), 5_000);
    await stopAll();
    const again = capturesReactor('captures');
    const restarted = start([again.reactor]);
    await restarted.settled(await events.headPosition(), 5_000);
    expect(again.seen).toEqual([]);
    expect(restarted.reports()[0].position).toBe(String(await events.headPosition()));
  });

  it('holds a failing step\'s checkpoint right before it, though the events of other types before it were not read', async () => {
    await capture(1, 2);
    for (const n of [1, 2]) await events.append(`lead-${leadId(n)}`, [reopened(n)], 0);
    const before = await events.headPosition();
    await capture(3, 3);
    const failing = capturesReactor('captures', { failOn: 3 });
    const runner = start([failing.reactor], { parkAfterFailures: 1_000 });
    await expect(runner.settled(await events.headPosition(), 5_000)).rejects.toThrow(ReactorStepsFailing);
    expect(runner.reports()[0]).toMatchObject({ status: 'failed', position: String(before), error: { position: String(before + 1n) } });
    expect(failing.seen).toEqual([1, 2]);
  });

  it('tries a failing step again with backoff (failed, its checkpoint held), parks it after the bound, goes on, and does not try it again after a restart', async () => {
    await capture(1, 3);
    const before = await events.headPosition();
    await capture(4, 6);
    const failing = capturesReactor('captures', { failOn: 4 });
    const healthy = capturesReactor('healthy');
    const runner = start([failing.reactor, healthy.reactor], { parkAfterFailures: 1_000 });
    // Failing: tried again and again, reported, and `settled` says so instead of waiting.
    await expect(runner.settled(await events.headPosition(), 5_000)).rejects.toThrow(ReactorStepsFailing);
    expect(runner.reports()[0]).toMatchObject({ status: 'failed', position: String(before), error: { position: String(before + 1n), eventType: 'LeadCaptured', message: 'cannot react to lead 4', failures: expect.any(Number) } });
    const attempts = failing.state.attempts;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(failing.state.attempts).toBeGreaterThan(attempts);
    expect(failing.seen).toEqual([1, 2, 3]);
    expect(parking.parked.size).toBe(0);
    await stopAll();

    // With a bound of 3 (counting the attempts before the restart), it is parked and the reactor goes on to the head.
    const counted = parking.failures.get(leadId(4))!;
    expect(counted).toBeGreaterThanOrEqual(2);
    const bounded = capturesReactor('captures', { failOn: 4 });
    const second = start([bounded.reactor, healthy.reactor], { parkAfterFailures: counted + 1 });
    await second.settled(await events.headPosition(), 5_000);
    expect(bounded.state.attempts).toBe(1);
    expect([...parking.parked.values()]).toEqual([{ reactor: 'captures', eventId: leadId(4), type: 'LeadCaptured', streamId: `lead-${leadId(4)}`, position: before + 1n }]);
    expect(bounded.seen).toEqual([5, 6]);
    expect(second.reports()[0]).toMatchObject({ status: 'live', position: String(await events.headPosition()) });
    expect(healthy.seen).toEqual(range(1, 6));
    await stopAll();

    // A parked step is passed over when the log is read again (a new version reads it from the first event).
    const v2 = capturesReactor('captures', { version: 2, failOn: 4 });
    await start([v2.reactor]).settled(await events.headPosition(), 5_000);
    expect(v2.state.attempts).toBe(0);
    expect(v2.seen).toEqual([1, 2, 3, 5, 6]);
  });
});
