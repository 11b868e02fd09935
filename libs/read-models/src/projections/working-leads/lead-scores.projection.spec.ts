import type { RecordedEvent } from '@crm/event-store';
import { projectBatch } from '../../projector/document-batch';
import { SqliteReadStore } from '../../sqlite/sqlite-read-store';
import { LEAD_SCORE_RANKS, LEAD_SCORES, leadScoresProjection, rankSortKey } from './lead-scores.projection';

let position = 0n;
const event = (streamId: string, type: string, data: object, occurredAt: string): RecordedEvent => ({
  id: `e-${position}`,
  streamId,
  revision: 0,
  position: position++,
  type,
  data: data as Record<string, unknown>,
  metadata: { actorId: 't', occurredAt, correlationId: 'c', causationId: 'c' },
  recordedAt: occurredAt,
});
const captured = (id: string, fields: object, at = '2026-01-01T00:00:00.000Z') => event(`lead-${id}`, 'LeadCaptured', { leadId: id, lastName: 'X', company: 'Y', source: 'Web', ...fields }, at);
const model = (threshold: number, at: string) =>
  event('scoring-model-current', 'ScoringModelChanged', { fit: [{ field: 'industry', equals: 'Software', points: 30 }], engagement: { WebVisit: 5 }, mqlThreshold: threshold }, at);

/** The lead-scores projection applied by the projector's own batch code to the embedded read store. */
describe('lead-scores projection', () => {
  let store: SqliteReadStore;
  const apply = async (events: RecordedEvent[]) => {
    const writes = await projectBatch(store, [{ projection: leadScoresProjection, version: 1, after: -1n }], events);
    await store.commit('test', writes, []);
  };
  const scoreOf = async (id: string) => store.get(LEAD_SCORES, 1, id);

  beforeEach(async () => {
    position = 0n;
    store = SqliteReadStore.open(':memory:');
    for (const spec of leadScoresProjection.collections) await store.ensureCollection(spec, 1);
    await store.acquireLease('test', 60_000);
  });
  afterEach(() => store.close());

  it('re-scores every lead on a model change, also those captured earlier in the same batch, and those already stored', async () => {
    await apply([captured('a', { industry: 'Software' })]);
    await apply([captured('b', { industry: 'Software' }), captured('c', {}), model(25, '2026-02-01T00:00:00.000Z')]);
    expect(await scoreOf('a')).toMatchObject({ score: 30, isMql: true, mqlAt: '2026-02-01T00:00:00.000Z' });
    expect(await scoreOf('b')).toMatchObject({ score: 30, isMql: true, mqlAt: '2026-02-01T00:00:00.000Z' });
    expect(await scoreOf('c')).toMatchObject({ score: 0, isMql: false });
    const ranks = await store.find(LEAD_SCORE_RANKS, 1, { filter: {}, limit: 10 });
    expect(ranks.items.map((rank) => [rank.leadId, rank.score])).toEqual([['b', 30], ['a', 30], ['c', 0]]);
  });

  it('keeps one rank per lead as its score moves, and mqlAt from the first crossing', async () => {
    await apply([model(40, '2026-01-01T00:00:00.000Z'), captured('a', { industry: 'Software' }, '2026-01-02T00:00:00.000Z')]);
    await apply([event('lead-a', 'LeadEngaged', { leadId: 'a', kind: 'WebVisit' }, '2026-01-03T00:00:00.000Z')]);
    await apply([event('lead-a', 'LeadEngaged', { leadId: 'a', kind: 'WebVisit' }, '2026-01-04T00:00:00.000Z')]);
    await apply([event('lead-a', 'LeadDetailsChanged', { leadId: 'a', changes: { industry: null } }, '2026-01-05T00:00:00.000Z'), model(5, '2026-01-06T00:00:00.000Z')]);
    expect(await scoreOf('a')).toMatchObject({ score: 10, isMql: true, mqlAt: '2026-01-04T00:00:00.000Z', scoreBreakdown: [{ reason: 'WebVisit × 2', points: 10 }] });
    const ranks = await store.find(LEAD_SCORE_RANKS, 1, { filter: {}, limit: 10 });
    expect(ranks.items.map((rank) => rank.id)).toEqual(['a:10']);
  });

  it('writes only the leads a new model scores differently', async () => {
    await apply([model(100, '2026-01-01T00:00:00.000Z'), captured('a', { industry: 'Software' }), captured('b', { industry: 'Mining' })]);
    const changed = event('scoring-model-current', 'ScoringModelChanged', { fit: [{ field: 'industry', equals: 'Software', points: 35 }], engagement: {}, mqlThreshold: 100 }, '2026-01-02T00:00:00.000Z');
    const writes = await projectBatch(store, [{ projection: leadScoresProjection, version: 1, after: -1n }], [changed]);
    // The model itself, lead a's score, its old rank gone and its new one; lead b (0 before and after) is not touched.
    expect(writes.map((w) => `${w.collection}/${w.id}${w.doc ? '' : ' deleted'}`).sort()).toEqual(['lead-score-ranks/a:30 deleted', 'lead-score-ranks/a:35', 'lead-scores/a', 'scoring-model/current']);
  });

  it('ranks by score first, then by capture time, newest first', () => {
    expect(rankSortKey(10, '2026-01-01T00:00:00Z')).toBeGreaterThan(rankSortKey(9, '2026-12-31T00:00:00Z'));
    expect(rankSortKey(10, '2026-01-02T00:00:00Z')).toBeGreaterThan(rankSortKey(10, '2026-01-01T00:00:00Z'));
    expect(rankSortKey(-5, '2026-01-01T00:00:00Z')).toBeLessThan(rankSortKey(0, '1970-01-01T00:00:00Z'));
    expect(Number.isSafeInteger(rankSortKey(2 ** 30, '2100-01-01T00:00:00Z'))).toBe(true);
  });
});
