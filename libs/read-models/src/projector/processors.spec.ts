import { EventStore, EventToAppend, SqliteEventStore } from '@crm/event-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Projection } from '../projections/projection';
import { LEAD_SCORES, leadScoresProjection } from '../projections/working-leads/lead-scores.projection';
import { SqliteReadStore } from '../sqlite/sqlite-read-store';
import { Projector, ProjectorOptions } from './projector';

const meta = { actorId: 't', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };
const numbered = (n: number): EventToAppend => ({ id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, type: 'Numbered', data: { n }, metadata: meta });

/** One document per event, `{ n, by }`: `by` names the code that wrote it, so a rebuild by new code shows. */
function perEvent(readModel: string, options: { version?: number; by?: string; failOn?: number } = {}): Projection & { failing: boolean } {
  const projection = {
    readModel,
    version: options.version,
    collections: [{ name: readModel, filters: [] }],
    failing: true,
    keysOf: (event) => [{ collection: readModel, id: String(event.data.n) }],
    apply(event, docs) {
      const n = Number(event.data.n);
      if (projection.failing && n === options.failOn) throw new Error(`cannot take event ${n}`);
      docs.put(readModel, { id: String(n), n, by: options.by ?? 'v1' }, n);
    },
  } satisfies Projection & { failing: boolean };
  return projection;
}

/** The runner's own guarantees: each read model has its checkpoint, its faults and its code version. */
describe('Projector: one checkpoint, faults and version per read model', () => {
  let dir: string;
  let file: string;
  let events: EventStore;
  let store: SqliteReadStore;
  const projectors: Projector[] = [];
  const notices: string[] = [];
  const start = (projections: Projection[], options: ProjectorOptions = {}) => {
    const p = new Projector(events, store, projections, { batchSize: 10, backoffMs: { initial: 5, max: 20 }, leaseTtlMs: 2_000, onNotice: (m) => notices.push(m), ...options });
    projectors.push(p);
    p.start();
    return p;
  };
  const stopAll = () => Promise.all(projectors.splice(0).map((p) => p.stop()));
  const append = async (from: number, to: number) => {
    for (let n = from; n <= to; n++) await events.append(`numbers-${n}`, [numbered(n)], 'no_stream');
  };
  const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
  const docs = async (collection: string, version: number, from: number, to: number) => [...(await store.getMany(collection, version, ids(from, to))).values()];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crm-processors-'));
    file = join(dir, 'crm.sqlite');
    events = SqliteEventStore.open(file);
    store = SqliteReadStore.open(file);
    notices.length = 0;
  });
  afterEach(async () => {
    await stopAll();
    await events.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('faults the read model that cannot apply an event, leaves its writes out, and keeps the others live; retry resumes it', async () => {
    await append(1, 30);
    const broken = perEvent('broken', { failOn: 15 });
    const p = start([perEvent('healthy'), broken], { faultAfterFailures: 3 });
    expect(await eventually(() => p.reports().find((r) => r.name === 'broken')?.status === 'faulted')).toBe(true);
    const [fifteenth] = (await events.readAll({ after: -1n, maxCount: 30 })).slice(14, 15);
    const report = p.reports().find((r) => r.name === 'broken')!;
    expect(report.error).toEqual({ position: String(fifteenth.position), eventType: 'Numbered', message: 'cannot take event 15' });
    // Kept in the store too, for an API process that does not run the projector.
    expect(await eventually(async () => (await store.faults()).broken?.faulted === true)).toBe(true);
    expect((await store.faults()).broken).toEqual({ ...report.error, faulted: true });
    // Its batch (11–20) is left out whole; the healthy one applied everything and follows new events.
    expect((await docs('broken', 1, 1, 30)).map((d) => d.n).sort((a, b) => Number(a) - Number(b))).toEqual(ids(1, 10).map(Number));
    await append(31, 32);
    const head = await events.headPosition();
    expect(await p.waitFor(head, 5_000)).toBe(true); // the faulted one does not hold queries back
    expect(await docs('healthy', 1, 1, 32)).toHaveLength(32);
    expect(p.reports().find((r) => r.name === 'healthy')).toMatchObject({ status: 'live', position: String(head) });
    expect(p.reports().find((r) => r.name === 'broken')!.position).toBe(String((await events.readAll({ after: -1n, maxCount: 10 }))[9].position));
    expect(p.retryRefusal('healthy')).toMatch(/not faulted/);

    broken.failing = false;
    await p.retry('broken');
    expect(await docs('broken', 1, 1, 32)).toHaveLength(32);
    expect(p.reports().find((r) => r.name === 'broken')).toMatchObject({ status: 'live', position: String(head) });
    expect(p.reports().find((r) => r.name === 'broken')!.error).toBeUndefined();
    expect(await store.faults()).toEqual({});
  });

  it('keeps a faulted read model faulted across a restart (a restart is no fix) until it is retried; the others go on', async () => {
    await append(1, 20);
    const broken = perEvent('broken', { failOn: 7 });
    const first = start([perEvent('healthy'), broken], { faultAfterFailures: 2 });
    expect(await eventually(() => first.reports().find((r) => r.name === 'broken')?.status === 'faulted')).toBe(true);
    expect(await eventually(async () => (await store.faults()).broken?.faulted === true)).toBe(true);
    const error = first.reports().find((r) => r.name === 'broken')!.error;
    await stopAll();

    // Started again with the same (still broken) code: it is faulted at once, not tried again.
    let attempts = 0;
    const counting = perEvent('broken', { failOn: 7 });
    const apply = counting.apply;
    counting.apply = (event, docs) => {
      attempts++;
      apply(event, docs);
    };
    await append(21, 22);
    const second = start([perEvent('healthy'), counting], { faultAfterFailures: 2 });
    expect(await second.waitFor(await events.headPosition(), 5_000)).toBe(true);
    expect(second.reports().find((r) => r.name === 'broken')).toMatchObject({ status: 'faulted', error });
    expect(second.reports().find((r) => r.name === 'healthy')).toMatchObject({ status: 'live', position: String(await events.headPosition()) });
    expect(attempts).toBe(0);
    expect(second.retryRefusal('broken')).toBeUndefined();

    // The operator's retry (after the fix) resumes it.
    counting.failing = false;
    await second.retry('broken');
    expect(await docs('broken', 1, 1, 22)).toHaveLength(22);
    expect(second.reports().find((r) => r.name === 'broken')).toMatchObject({ status: 'live' });
    expect(await store.faults()).toEqual({});
  });

  it('forgets a kept fault when the code version changed (the fix deployed) and rebuilds with the new code', async () => {
    await append(1, 10);
    const first = start([perEvent('broken', { failOn: 4 })], { faultAfterFailures: 1 });
    expect(await eventually(async () => (await store.faults()).broken?.faulted === true)).toBe(true);
    await stopAll();

    const second = start([perEvent('broken', { version: 2, by: 'v2' })], { faultAfterFailures: 1 });
    expect(await eventually(() => second.reports()[0].status === 'live' && second.reports()[0].codeVersion === 2)).toBe(true);
    expect(second.reports()[0].error).toBeUndefined();
    expect((await docs('broken', second.reports()[0].version, 1, 10)).every((d) => d.by === 'v2')).toBe(true);
    expect(await docs('broken', second.reports()[0].version, 1, 10)).toHaveLength(10);
    expect(await store.faults()).toEqual({});
  });

  it('faults the read model whose keysOf throws (its own code reading an event) and keeps the others live', async () => {
    await append(1, 20);
    const broken = perEvent('broken-keys');
    broken.keysOf = (event) => {
      if (Number(event.data.n) === 7) throw new Error('cannot name the documents of event 7');
      return [{ collection: 'broken-keys', id: String(event.data.n) }];
    };
    const p = start([perEvent('healthy'), broken], { faultAfterFailures: 1 });
    expect(await eventually(() => p.reports().find((r) => r.name === 'broken-keys')?.status === 'faulted')).toBe(true);
    expect(p.reports().find((r) => r.name === 'broken-keys')!.error).toMatchObject({ eventType: 'Numbered', message: 'cannot name the documents of event 7' });
    expect(await p.waitFor(await events.headPosition(), 5_000)).toBe(true);
    expect(await docs('healthy', 1, 1, 20)).toHaveLength(20);
  });

  it('rebuilds a read model whose code version changed into a new stored version while the old one serves, then swaps', async () => {
    await append(1, 40);
    const first = start([perEvent('numbers', { by: 'v1' }), perEvent('other')]);
    expect(await first.waitFor(await events.headPosition(), 5_000)).toBe(true);
    await stopAll();

    // The new code, slowed down so that the old version is seen serving while the new one fills.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const v2 = perEvent('numbers', { version: 2, by: 'v2' });
    let applied = 0;
    const slowStore = Object.create(store) as SqliteReadStore;
    slowStore.commit = async (...args) => {
      if (args[2].some((c) => c.readModel === 'numbers' && c.version === 2) && ++applied === 2) await gate;
      return store.commit(...args);
    };
    const second = new Projector(events, slowStore, [v2, perEvent('other')], { batchSize: 10, backoffMs: { initial: 5, max: 20 }, leaseTtlMs: 2_000, onNotice: (m) => notices.push(m) });
    projectors.push(second);
    second.start();
    expect(await eventually(() => second.reports()[0].status === 'rebuilding')).toBe(true);
    // The old version serves, and takes new events meanwhile.
    await append(41, 41);
    expect(await second.waitFor(await events.headPosition(), 5_000)).toBe(true);
    expect(second.versionOf('numbers')).toBe(1);
    expect((await docs('numbers', 1, 1, 41)).length).toBe(41);
    expect(second.reports()[0]).toMatchObject({ status: 'rebuilding', version: 1, codeVersion: 1, rebuild: { version: 2 } });
    expect(notices.some((n) => n.includes('version 1 of its code, this is version 2'))).toBe(true);

    release();
    expect(await eventually(() => second.versionOf('numbers') === 2)).toBe(true);
    expect((await docs('numbers', 2, 1, 41)).every((d) => d.by === 'v2')).toBe(true);
    expect(await docs('numbers', 2, 1, 41)).toHaveLength(41);
    expect(second.reports()[0]).toMatchObject({ status: 'live', version: 2, codeVersion: 2 });
    expect(await store.codeVersions('numbers')).toEqual({ 2: 2 });
    expect((await store.readModelState('other')).activeVersion).toBe(1); // the other read model was not rebuilt
    // After a restart the new version is the served one: nothing is rebuilt again.
    await stopAll();
    const third = start([perEvent('numbers', { version: 2, by: 'v2' })]);
    expect(await third.waitFor(await events.headPosition(), 5_000)).toBe(true);
    expect(third.reports()[0]).toMatchObject({ version: 2, codeVersion: 2 });
    expect(third.reports()[0].rebuild).toBeUndefined();
  });

  it('catches a new read model up alone, without applying any event again to the others', async () => {
    await append(1, 50);
    const first = start([perEvent('old')]);
    expect(await first.waitFor(await events.headPosition(), 5_000)).toBe(true);
    await stopAll();

    const commit = jest.spyOn(store, 'commit');
    const second = start([perEvent('old'), perEvent('new')]);
    expect(await second.waitFor(await events.headPosition(), 5_000)).toBe(true);
    expect(await docs('new', 1, 1, 50)).toHaveLength(50);
    // The old read model was given no event again: no commit wrote one of its documents or moved its checkpoint.
    expect(commit.mock.calls.some(([, writes, checkpoints]) => writes.some((w) => w.collection === 'old') || checkpoints.some((c) => c.readModel === 'old'))).toBe(false);
    expect(second.reports().map((r) => [r.name, r.eventsApplied])).toEqual([
      ['old', 0],
      ['new', 50],
    ]);
    // Both follow the log together from there.
    await append(51, 52);
    expect(await second.waitFor(await events.headPosition(), 5_000)).toBe(true);
    expect(await docs('old', 1, 51, 52)).toHaveLength(2);
    expect(await docs('new', 1, 51, 52)).toHaveLength(2);
  });

  it('re-scores every lead on a scoring-model change too large for one commit by a rebuild in bounded commits; the old scores serve until the swap', async () => {
    await store.close();
    // A commit bound of 8 KiB: a re-scoring of 60 leads (about 300 bytes each, with their ranks) exceeds it.
    store = SqliteReadStore.open(file, { maxCommitBytes: 8 * 1024 });
    const leadMeta = (at: string) => ({ ...meta, occurredAt: at });
    const model = (points: number, at: string): EventToAppend => ({
      id: `00000000-0000-4000-9000-${String(points).padStart(12, '0')}`,
      type: 'ScoringModelChanged',
      data: { fit: [{ field: 'industry', equals: 'Software', points }], engagement: {}, mqlThreshold: 1000 },
      metadata: leadMeta(at),
    });
    await events.append('scoring-model-current', [model(10, '2026-01-01T00:00:00.000Z')], 'no_stream');
    const leadIds = Array.from({ length: 60 }, (_, n) => `00000000-0000-4000-a000-${String(n).padStart(12, '0')}`);
    for (const id of leadIds) {
      await events.append(`lead-${id}`, [{ id, type: 'LeadCaptured', data: { leadId: id, lastName: 'X', company: 'Y', source: 'Web', industry: 'Software' }, metadata: leadMeta('2026-01-02T00:00:00.000Z') }], 'no_stream');
    }
    const commit = jest.spyOn(store, 'commit');
    const p = start([leadScoresProjection], { batchSize: 5 });
    expect(await p.waitFor(await events.headPosition(), 10_000)).toBe(true);
    expect((await store.get(LEAD_SCORES, 1, leadIds[0]))?.score).toBe(10);

    // Slow the rebuild's commits down, to see the old scores serve meanwhile.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const commitNow = commit.getMockImplementation() ?? SqliteReadStore.prototype.commit;
    commit.mockImplementation(async function (this: SqliteReadStore, ...args) {
      if (args[2].some((c) => c.version === 2)) await gate;
      return commitNow.apply(store, args);
    });
    await events.append('scoring-model-current', [model(20, '2026-02-01T00:00:00.000Z')], 0);
    expect(await eventually(() => p.reports()[0].status === 'rebuilding')).toBe(true);
    expect(await p.waitFor(await events.headPosition(), 5_000)).toBe(true);
    expect(p.versionOf('lead-scores')).toBe(1);
    expect((await store.get(LEAD_SCORES, 1, leadIds[0]))?.score).toBe(10); // the old scores serve
    expect(notices.some((n) => n.includes('cannot take the event') && n.includes('rebuilt'))).toBe(true);

    release();
    expect(await eventually(() => p.versionOf('lead-scores') === 2)).toBe(true);
    const rescored = await store.getMany(LEAD_SCORES, 2, leadIds);
    expect([...rescored.values()].map((doc) => doc.score)).toEqual(leadIds.map(() => 20));
    // The re-scoring was refused as one commit (in the served version, then in the rebuild) and went through in parts.
    const outcomes = await Promise.allSettled(commit.mock.results.map((result) => result.value as Promise<void>));
    expect(outcomes.filter((outcome) => outcome.status === 'rejected').length).toBeGreaterThanOrEqual(2);
    const rescoringParts = outcomes.filter((outcome, index) => outcome.status === 'fulfilled' && commit.mock.calls[index][1].some((w) => w.collection === LEAD_SCORES && w.version === 2 && w.doc?.score === 20));
    expect(rescoringParts.length).toBeGreaterThan(1);
    expect(p.reports()[0]).toMatchObject({ status: 'live', version: 2 });
    // Lead events after the swap are scored with the new model.
    const late = '00000000-0000-4000-a000-999999999999';
    await events.append(`lead-${late}`, [{ id: late, type: 'LeadCaptured', data: { leadId: late, lastName: 'X', company: 'Y', source: 'Web', industry: 'Software' }, metadata: leadMeta('2026-02-02T00:00:00.000Z') }], 'no_stream');
    expect(await p.waitFor(await events.headPosition(), 5_000)).toBe(true);
    expect((await store.get(LEAD_SCORES, 2, late))?.score).toBe(20);
  });
});

async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}
