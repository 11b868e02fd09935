import { generateHistory, History } from './support/history-generator';
import {
  plainCloseDatePushes,
  plainConversionRate,
  plainConvertedLeads,
  plainPipeline,
  plainPipelineAsOf,
  plainPipelineMovement,
  plainSourceRevenue,
  plainSpeedToLead,
  plainStageDuration,
  plainTimeToConversion,
  Window,
} from './support/plain-reports';
import { EMBEDDED_BACKEND } from './support/backend';
import { fieldsOf, PROBLEM_JSON, newDataDir, removeDataDir, startTestApp, TestApp } from './support/test-app';

const WINDOWS: [string, Window][] = [
  ['all time', {}],
  ['one month', { from: '2025-06-01', to: '2025-07-01' }],
  ['one day', { from: '2025-09-17', to: '2025-09-18' }],
  ['across months, from mid-month to mid-month', { from: '2025-03-15', to: '2025-11-20' }],
  ['across years, a whole year inside', { from: '2024-11-15', to: '2026-01-20' }],
  ['an open start', { to: '2025-05-10' }],
  ['an open end', { from: '2026-02-03' }],
  ['an empty window', { from: '2025-06-10', to: '2025-06-10' }],
];

/** Instants for the pipeline as it stood: before any data, mid-history (odd times of day), and after the last event. */
const AS_OF = ['2024-06-30T12:00:00.000Z', '2025-01-01T00:00:00.000Z', '2025-04-17T13:45:10.123Z', '2025-09-30T23:59:59.999Z', '2026-02-14T08:00:00.000Z', '2027-01-01T00:00:00.000Z'];

/** Movement windows: before any data, one month, one day, across months, the whole history, empty. */
const MOVEMENTS: [string, string][] = [
  ['2024-01-01', '2024-06-01'],
  ['2025-06-01', '2025-07-01'],
  ['2025-09-17', '2025-09-18'],
  ['2025-03-15', '2025-11-20'],
  ['2024-12-01', '2026-12-01'],
  ['2025-06-10', '2025-06-10'],
];

/** Every row of every report, for every groupBy and window, against a plain calculation of a generated history. */
describe('Reports against a generated history', () => {
  let t: TestApp;
  let history: History;
  beforeAll(async () => {
    t = await startTestApp();
    history = await generateHistory(t, { leads: 1500, seed: 20261122 });
  }, 180_000);
  afterAll(async () => {
    await t.close();
    removeDataDir(t.dataDir);
  });

  it('generated a realistic mix of lifecycles', () => {
    const leads = history.leads;
    expect(leads.length).toBe(1500);
    expect(leads.filter((l) => l.convertedAt !== null && l.withOpportunity).length).toBeGreaterThan(200);
    expect(leads.filter((l) => l.convertedAt !== null && !l.withOpportunity).length).toBeGreaterThan(100);
    expect(leads.filter((l) => l.merged).length).toBeGreaterThan(20);
    expect(leads.filter((l) => l.ownerId === null).length).toBeGreaterThan(50);
    expect(history.opportunities.filter((o) => !o.open && o.won).length).toBeGreaterThan(30);
    expect(history.opportunities.filter((o) => !o.open && !o.won).length).toBeGreaterThan(30);
    expect(history.opportunities.filter((o) => o.open).length).toBeGreaterThan(100);
  });

  const query = (window: Window, groupBy: string) => ({ groupBy, ...window });

  describe.each(WINDOWS)('over %s', (_label, window) => {
    it.each(['source', 'ownerId', 'month'] as const)('conversion-rate by %s equals the plain calculation', async (groupBy) => {
      const res = await t.http().get('/reports/conversion-rate').query(query(window, groupBy));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(plainConversionRate(history, groupBy, window));
    });

    it.each(['source', 'ownerId', 'month'] as const)('time-to-conversion by %s equals the plain calculation', async (groupBy) => {
      const res = await t.http().get('/reports/time-to-conversion').query(query(window, groupBy));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(plainTimeToConversion(history, groupBy, window));
    });

    it.each(['stage', 'ownerId', 'closeMonth'] as const)('pipeline by %s equals the plain calculation', async (groupBy) => {
      const res = await t.http().get('/reports/pipeline').query(query(window, groupBy));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(plainPipeline(history, groupBy, window));
    });

    it.each(['stage', 'ownerId', 'closeMonth'] as const)('pipeline by %s as of each instant equals the plain fold of each opportunity up to it', async (groupBy) => {
      for (const asOf of AS_OF) {
        const res = await t.http().get('/reports/pipeline').query({ ...query(window, groupBy), asOf });
        expect(res.status).toBe(200);
        expect({ asOf, body: res.body }).toEqual({ asOf, body: plainPipelineAsOf(history, groupBy, window, asOf) });
      }
    });

    it.each(['stage', 'ownerId'] as const)('stage-duration by %s equals the plain calculation', async (groupBy) => {
      const res = await t.http().get('/reports/stage-duration').query(query(window, groupBy));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(plainStageDuration(history, groupBy, window));
    });

    it.each(['ownerId', 'stage', 'month'] as const)('close-date-pushes by %s equals the plain calculation', async (groupBy) => {
      const res = await t.http().get('/reports/close-date-pushes').query(query(window, groupBy));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(plainCloseDatePushes(history, groupBy, window));
    });

    it.each(['source', 'ownerId', 'month'] as const)('speed-to-lead by %s equals the plain calculation', async (groupBy) => {
      const res = await t.http().get('/reports/speed-to-lead').query(query(window, groupBy));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(plainSpeedToLead(history, groupBy, window));
    });

    it.each(['source', 'month'] as const)('source-revenue by %s equals the plain calculation', async (groupBy) => {
      const res = await t.http().get('/reports/source-revenue').query(query(window, groupBy));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(plainSourceRevenue(history, groupBy, window));
    });

    it('lists the leads converted in the window, with and without a deal', async () => {
      const window2 = { ...(window.from && { convertedFrom: window.from }), ...(window.to && { convertedTo: window.to }) };
      for (const withOpportunity of [undefined, true, false]) {
        if (withOpportunity === undefined && Object.keys(window2).length === 0) continue; // no conversion filter: every lead
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const res = await t.http().get('/leads').query({ ...window2, ...(withOpportunity !== undefined && { withOpportunity }), limit: 200, ...(cursor && { cursor }) });
          expect(res.status).toBe(200);
          ids.push(...res.body.items.map((l: { id: string }) => l.id));
          cursor = res.body.nextCursor ?? undefined;
        } while (cursor);
        expect(new Set(ids).size).toBe(ids.length);
        expect([...ids].sort()).toEqual(plainConvertedLeads(history, { withOpportunity, convertedFrom: window.from, convertedTo: window.to }).sort());
      }
    });
  });

  it.each(MOVEMENTS)('pipeline-movement from %s to %s equals the plain calculation, and closing = opening + new + increased − decreased − won − lost', async (from, to) => {
    const res = await t.http().get('/reports/pipeline-movement').query({ from, to });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(plainPipelineMovement(history, from, to));
    const m = res.body.total;
    expect(Math.round((m.opening + m.new + m.increased - m.decreased - m.won - m.lost) * 100)).toBe(Math.round(m.closing * 100));
  });

  it('gives the pipeline now when asked as of now', async () => {
    const now = await t.http().get('/reports/pipeline').query({ groupBy: 'stage', asOf: new Date().toISOString() });
    const plain = await t.http().get('/reports/pipeline').query({ groupBy: 'stage' });
    expect(now.body).toEqual(plain.body);
  });

  it('answers the same after its report views are rebuilt from the first event', async () => {
    const reports = () => [
      t.http().get('/reports/conversion-rate').query({ groupBy: 'ownerId' }),
      t.http().get('/reports/time-to-conversion').query({ groupBy: 'month' }),
      t.http().get('/reports/pipeline').query({ groupBy: 'stage', from: '2025-04-01' }),
      t.http().get('/reports/pipeline').query({ groupBy: 'ownerId', asOf: '2025-08-08T08:08:08.008Z' }),
      t.http().get('/reports/pipeline-movement').query({ from: '2025-02-01', to: '2025-10-15' }),
      t.http().get('/reports/stage-duration').query({ groupBy: 'ownerId' }),
      t.http().get('/reports/close-date-pushes').query({ groupBy: 'month', from: '2025-03-10' }),
      t.http().get('/reports/speed-to-lead').query({ groupBy: 'ownerId' }),
      t.http().get('/reports/source-revenue').query({ groupBy: 'source' }),
    ];
    const before = await Promise.all(reports());
    expect(before.every((r) => r.status === 200)).toBe(true);
    for (const name of ['lead-reports', 'opportunity-reports', 'opportunity-history']) {
      expect((await t.http().post(`/projections/${name}/rebuild`)).status).toBe(202);
    }
    for (let i = 0; i < 400; i++) {
      const projections = (await t.http().get('/projections')).body as { name: string; version: number; status: string }[];
      if (projections.filter((p) => p.name.endsWith('-reports')).every((p) => p.version === 2 && p.status === 'live')) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const after = await Promise.all(reports());
    expect(after.map((r) => r.body)).toEqual(before.map((r) => r.body));
  });

  it.each([
    ['stage-duration', { groupBy: 'stage' }, ['key', 'count', 'mean', 'median', 'p90', 'min', 'max']],
    ['close-date-pushes', { groupBy: 'month' }, ['key', 'pushes', 'opportunities', 'daysPushed']],
    ['speed-to-lead', { groupBy: 'ownerId' }, ['key', 'captured', 'touched', 'untouched', 'median', 'p90', 'within5Minutes', 'within5MinutesRate']],
    ['source-revenue', { groupBy: 'source' }, ['key', 'won', 'lost', 'wonAmount', 'lostAmount', 'winRate']],
    ['pipeline', { groupBy: 'closeMonth', asOf: '2025-10-01T00:00:00.000Z' }, ['key', 'count', 'amount', 'weightedAmount']],
    ['time-to-conversion', { groupBy: 'source', from: '2025-02-01' }, ['key', 'count', 'mean', 'median', 'p90', 'min', 'max']],
  ] as const)('answers %s %j as CSV: the JSON rows line by line, then the total', async (name, params, columns) => {
    const json = (await t.http().get(`/reports/${name}`).query(params).expect(200)).body;
    const res = await t.http().get(`/reports/${name}`).query(params).set('Accept', 'text/csv').expect(200);
    const cell = (value: unknown) => (value === null ? '' : String(value));
    const expected = [columns.join(','), ...json.rows.map((row: Record<string, unknown>) => columns.map((c) => cell(row[c])).join(',')), ['total', ...columns.slice(1).map((c) => cell(json.total[c]))].join(',')];
    expect(json.rows.length).toBeGreaterThan(1);
    expect(res.text).toBe(expected.join('\r\n') + '\r\n');
  });

  it('answers CSV with a header row when asked for text/csv', async () => {
    const json = (await t.http().get('/reports/conversion-rate').query({ groupBy: 'source' })).body;
    const res = await t.http().get('/reports/conversion-rate').query({ groupBy: 'source' }).set('Accept', 'text/csv');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const lines = res.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('key,captured,qualified,converted,convertedWithOpportunity,conversionRate,leadToOpportunityRate');
    expect(lines).toHaveLength(json.rows.length + 2); // v2: the rows, then the total
    const total = json.total;
    expect(lines[lines.length - 1]).toBe(['total', total.captured, total.qualified, total.converted, total.convertedWithOpportunity, total.conversionRate, total.leadToOpportunityRate].join(','));
    const first = json.rows[0];
    expect(lines[1]).toBe([first.key, first.captured, first.qualified, first.converted, first.convertedWithOpportunity, first.conversionRate, first.leadToOpportunityRate].join(','));
    const pipeline = await t.http().get('/reports/pipeline').query({ groupBy: 'ownerId' }).set('Accept', 'text/csv');
    expect(pipeline.text.split('\r\n')[0]).toBe('key,count,amount,weightedAmount');
    expect(pipeline.text.split('\r\n')[1]).toMatch(/^,\d+,/); // the null owner: an empty key, first
  });
});

/**
 * The edge cases, each a small story with exact numbers over the whole log, so each needs an empty
 * log of its own: a fresh embedded store per case. An EventStoreDB server keeps one log for all
 * of them (and for the generated history above), so these run embedded whatever the environment.
 */
describe('Report edge cases (embedded backend only: each case needs an empty event log)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp(newDataDir(), EMBEDDED_BACKEND);
  });
  afterEach(async () => {
    await t.close();
    removeDataDir(t.dataDir);
  });

  const at = (iso: string) => ({ occurredAt: iso });
  async function lead(fields: object, captured: string): Promise<string> {
    return (await t.http().post('/leads').send({ lastName: 'L', company: `C ${Math.random()}`, ...fields, ...at(captured) }).expect(201)).body.id;
  }
  const report = async (name: string, params: object) => (await t.http().get(`/reports/${name}`).query(params).expect(200)).body;

  it('gives 0 for a rate whose divisor is 0, and empty rows with zero or null totals for an empty window', async () => {
    await lead({ source: 'Web' }, '2025-02-10T10:00:00.000Z');
    const byOwner = await report('conversion-rate', { groupBy: 'source' });
    expect(byOwner.rows).toEqual([{ key: 'Web', captured: 1, qualified: 0, converted: 0, convertedWithOpportunity: 0, conversionRate: 0, leadToOpportunityRate: 0 }]);
    expect(await report('conversion-rate', { groupBy: 'month', from: '2025-03-01', to: '2025-04-01' })).toEqual({
      groupBy: 'month',
      rows: [],
      total: { captured: 0, qualified: 0, converted: 0, convertedWithOpportunity: 0, conversionRate: 0, leadToOpportunityRate: 0 },
    });
    expect((await report('time-to-conversion', { groupBy: 'month' })).total).toEqual({ count: 0, mean: null, median: null, p90: null, min: null, max: null });
    expect(await report('pipeline', { groupBy: 'stage', from: '2025-01-01', to: '2025-01-01' })).toEqual({
      groupBy: 'stage',
      rows: [],
      total: { count: 0, amount: 0, weightedAmount: 0, wonAmount: 0, lostAmount: 0 },
    });
  });

  it('counts a lead captured inside the window but converted after it as converted in its cohort, and times it in the month it converted', async () => {
    const id = await lead({ source: 'Event' }, '2025-03-31T23:00:00.000Z');
    await t.http().post(`/leads/${id}/qualify`).send(at('2025-04-01T01:00:00.000Z')).expect(200);
    await t.http().post(`/leads/${id}/convert`).send(at('2025-04-02T23:00:00.500Z')).expect(200);
    const march = { from: '2025-03-01', to: '2025-04-01' };
    expect((await report('conversion-rate', { groupBy: 'month', ...march })).rows).toEqual([
      { key: '2025-03', captured: 1, qualified: 1, converted: 1, convertedWithOpportunity: 0, conversionRate: 1, leadToOpportunityRate: 0 },
    ]);
    expect((await report('time-to-conversion', { groupBy: 'month', ...march })).rows).toEqual([]);
    expect((await report('time-to-conversion', { groupBy: 'month' })).rows).toEqual([
      { key: '2025-04', count: 1, mean: 172800.5, median: 172800.5, p90: 172800.5, min: 172800.5, max: 172800.5 },
    ]);
  });

  it('groups by the current owner: a reassigned lead counts under its new owner only; no owner is key null, first', async () => {
    const moved = await lead({ ownerId: 'ana' }, '2025-05-01T09:00:00.000Z');
    await lead({}, '2025-05-02T09:00:00.000Z');
    await t.http().post(`/leads/${moved}/assign`).send({ ownerId: 'bo', ...at('2025-05-03T09:00:00.000Z') }).expect(200);
    const rows = (await report('conversion-rate', { groupBy: 'ownerId' })).rows;
    expect(rows.map((r: { key: string | null; captured: number }) => [r.key, r.captured])).toEqual([
      [null, 1],
      ['bo', 1],
    ]);
  });

  it('counts a merged lead nowhere', async () => {
    const survivor = await lead({ source: 'Web' }, '2025-06-01T09:00:00.000Z');
    const duplicate = await lead({ source: 'Phone' }, '2025-06-02T09:00:00.000Z');
    await t.http().post(`/leads/${duplicate}/qualify`).send(at('2025-06-03T09:00:00.000Z')).expect(200);
    await t.http().post(`/leads/${survivor}/merge`).send({ duplicateIds: [duplicate], ...at('2025-06-04T09:00:00.000Z') }).expect(200);
    const bySource = await report('conversion-rate', { groupBy: 'source' });
    expect(bySource.rows.map((r: { key: string }) => r.key)).toEqual(['Web']);
    expect(bySource.total).toMatchObject({ captured: 1, qualified: 0 });
  });

  it('counts a reopened lead that was qualified again once, as qualified', async () => {
    const id = await lead({ source: 'Email' }, '2025-07-01T09:00:00.000Z');
    await t.http().post(`/leads/${id}/qualify`).send(at('2025-07-02T09:00:00.000Z')).expect(200);
    await t.http().post(`/leads/${id}/disqualify`).send({ reason: 'x', ...at('2025-07-03T09:00:00.000Z') }).expect(200);
    await t.http().post(`/leads/${id}/reopen`).send(at('2025-07-04T09:00:00.000Z')).expect(200);
    await t.http().post(`/leads/${id}/qualify`).send(at('2025-07-05T09:00:00.000Z')).expect(200);
    await t.http().post(`/leads/${id}/convert`).send({ opportunity: { name: 'D', amount: 1000, closeDate: '2025-09-30', stage: 'Prospecting' }, ...at('2025-07-06T09:00:00.000Z') }).expect(200);
    expect((await report('conversion-rate', { groupBy: 'source' })).rows).toEqual([
      { key: 'Email', captured: 1, qualified: 1, converted: 1, convertedWithOpportunity: 1, conversionRate: 1, leadToOpportunityRate: 1 },
    ]);
  });

  it('weighs open deals by their probability and totals what closed in the window', async () => {
    const account = (await t.http().post('/accounts').send({ name: 'Acme', ...at('2025-01-01T00:00:00.000Z') }).expect(201)).body.id;
    const open = async (amount: number, stage: string, closeDate: string) =>
      (await t.http().post('/opportunities').send({ accountId: account, name: 'D', amount, stage, closeDate, ...at('2025-01-02T00:00:00.000Z') }).expect(201)).body.id;
    await open(1000.1, 'Value Proposition', '2025-03-10'); // 50 %: 500.05
    const overridden = await open(333.33, 'Prospecting', '2025-03-20');
    await t.http().patch(`/opportunities/${overridden}`).send({ probability: 33.33, ...at('2025-01-03T00:00:00.000Z') }).expect(200); // 111.0989 → 111.10
    const won = await open(250, 'Negotiation/Review', '2025-03-25');
    await t.http().post(`/opportunities/${won}/close`).send({ won: true, ...at('2025-02-14T12:00:00.000Z') }).expect(200);
    const lost = await open(75.5, 'Prospecting', '2025-04-02');
    await t.http().post(`/opportunities/${lost}/close`).send({ won: false, reason: 'Price', ...at('2025-02-20T12:00:00.000Z') }).expect(200);
    expect(await report('pipeline', { groupBy: 'closeMonth', from: '2025-02-01', to: '2025-04-01' })).toEqual({
      groupBy: 'closeMonth',
      rows: [{ key: '2025-03', count: 2, amount: 1333.43, weightedAmount: 611.15 }],
      total: { count: 2, amount: 1333.43, weightedAmount: 611.15, wonAmount: 250, lostAmount: 75.5 },
    });
  });

  async function opportunity(fields: object, opened: string): Promise<string> {
    const account = (await t.http().post('/accounts').send({ name: `A ${Math.random()}`, ...at('2024-01-01T00:00:00.000Z') }).expect(201)).body.id;
    return (await t.http().post('/opportunities').send({ accountId: account, name: 'D', closeDate: '2025-06-30', stage: 'Prospecting', ...fields, ...at(opened) }).expect(201)).body.id;
  }
  const change = (id: string, path: string, body: object, when: string) => t.http().post(`/opportunities/${id}${path}`).send({ ...body, ...at(when) }).expect(200);
  const patch = (id: string, body: object, when: string) => t.http().patch(`/opportunities/${id}`).send({ ...body, ...at(when) }).expect(200);

  it('shows the pipeline as it stood at an instant, to the millisecond: stage, amount, owner and close date as they were, closes by then in won/lost', async () => {
    const deal = await opportunity({ amount: 1000, ownerId: 'ana' }, '2025-03-10T10:00:00.000Z');
    await change(deal, '/stage', { stage: 'Value Proposition' }, '2025-03-10T15:00:00.000Z');
    await patch(deal, { amount: 1500, ownerId: 'bo', closeDate: '2025-07-31' }, '2025-04-02T09:00:00.000Z');
    const lost = await opportunity({ amount: 200.5 }, '2025-03-11T00:00:00.000Z');
    await change(lost, '/close', { won: false, reason: 'Price' }, '2025-03-20T12:00:00.000Z');
    const pipeline = (asOf: string, extra: object = {}) => report('pipeline', { groupBy: 'stage', asOf, ...extra });
    const empty = { groupBy: 'stage', rows: [], total: { count: 0, amount: 0, weightedAmount: 0, wonAmount: 0, lostAmount: 0 } };
    expect(await pipeline('1999-12-31T23:59:59.999Z')).toEqual(empty);
    expect(await pipeline('2025-03-10T09:59:59.999Z')).toEqual(empty);
    expect(await pipeline('2025-03-10T10:00:00.000Z')).toEqual({
      groupBy: 'stage',
      rows: [{ key: 'Prospecting', count: 1, amount: 1000, weightedAmount: 100 }],
      total: { count: 1, amount: 1000, weightedAmount: 100, wonAmount: 0, lostAmount: 0 },
    });
    expect((await pipeline('2025-03-10T15:00:00.000Z')).rows).toEqual([{ key: 'Value Proposition', count: 1, amount: 1000, weightedAmount: 500 }]);
    expect((await report('pipeline', { groupBy: 'ownerId', asOf: '2025-03-15T00:00:00.000Z' })).rows).toEqual([
      { key: null, count: 1, amount: 200.5, weightedAmount: 20.05 },
      { key: 'ana', count: 1, amount: 1000, weightedAmount: 500 },
    ]);
    const afterClose = await report('pipeline', { groupBy: 'ownerId', asOf: '2025-03-20T12:00:00.000Z' });
    expect(afterClose.rows).toEqual([{ key: 'ana', count: 1, amount: 1000, weightedAmount: 500 }]);
    expect(afterClose.total).toMatchObject({ lostAmount: 200.5, wonAmount: 0 });
    // The close counts only when its day is in the window (business time of the close).
    expect((await report('pipeline', { groupBy: 'ownerId', asOf: '2025-03-20T12:00:00.000Z', from: '2025-03-21' })).total.lostAmount).toBe(0);
    expect((await report('pipeline', { groupBy: 'closeMonth', asOf: '2025-04-02T09:00:00.000Z' })).rows).toEqual([{ key: '2025-07', count: 1, amount: 1500, weightedAmount: 750 }]);
    expect((await report('pipeline', { groupBy: 'ownerId', asOf: '2025-04-02T08:59:59.999Z', from: '2025-06-01', to: '2025-07-01' })).rows).toEqual([
      { key: 'ana', count: 1, amount: 1000, weightedAmount: 500 },
    ]);
    expect((await report('pipeline', { groupBy: 'ownerId', asOf: '2025-04-02T09:00:00.000Z', from: '2025-06-01', to: '2025-07-01' })).rows).toEqual([]);
  });

  it('moves the pipeline from opening to closing: new, increased, decreased, won and lost between two day starts; a missing amount is 0', async () => {
    const before = await opportunity({ amount: 100 }, '2025-04-30T23:59:59.999Z');
    const noAmount = await opportunity({}, '2025-05-01T00:00:00.000Z');
    const won = await opportunity({ amount: 300 }, '2025-05-02T00:00:00.000Z');
    await patch(before, { amount: 250 }, '2025-05-03T00:00:00.000Z');
    await patch(won, { amount: 280 }, '2025-05-04T00:00:00.000Z');
    await change(won, '/close', { won: true }, '2025-05-05T00:00:00.000Z');
    await patch(noAmount, { amount: 50 }, '2025-06-01T00:00:00.000Z'); // at T: not in [F, T)
    expect(await report('pipeline-movement', { from: '2025-05-01', to: '2025-06-01' })).toEqual({
      groupBy: null,
      rows: [],
      total: { opening: 100, new: 300, increased: 150, decreased: 20, won: 280, lost: 0, closing: 250, openingCount: 1, newCount: 2, wonCount: 1, lostCount: 0, closingCount: 2 },
    });
    const csv = (await t.http().get('/reports/pipeline-movement').query({ from: '2025-05-01', to: '2025-06-01' }).set('Accept', 'text/csv').expect(200)).text;
    expect(csv).toBe('key,opening,new,increased,decreased,won,lost,closing,openingCount,newCount,wonCount,lostCount,closingCount\r\ntotal,100,300,150,20,280,0,250,1,2,1,0,2\r\n');
  });

  it('times stage stays: a change to the same stage does not end one; the close ends the last; ownerId is the owner now; null over none', async () => {
    const deal = await opportunity({ amount: 10, ownerId: 'ana' }, '2025-02-01T00:00:00.000Z');
    await change(deal, '/stage', { stage: 'Prospecting', probability: 15 }, '2025-02-01T06:00:00.000Z'); // same stage: the stay goes on
    await change(deal, '/stage', { stage: 'Needs Analysis' }, '2025-02-02T00:00:00.000Z'); // a day in Prospecting
    await change(deal, '/close', { won: true }, '2025-02-02T00:00:01.500Z'); // 1.5 s in Needs Analysis
    const other = await opportunity({ ownerId: 'ana' }, '2025-02-01T00:00:00.000Z');
    await change(other, '/stage', { stage: 'Needs Analysis' }, '2025-02-01T00:00:10.000Z');
    await patch(other, { ownerId: 'bo' }, '2025-02-03T00:00:00.000Z'); // its ended stay moves to bo
    expect(await report('stage-duration', { groupBy: 'stage' })).toEqual({
      groupBy: 'stage',
      rows: [
        { key: 'Needs Analysis', count: 1, mean: 1.5, median: 1.5, p90: 1.5, min: 1.5, max: 1.5 },
        { key: 'Prospecting', count: 2, mean: 43205, median: 10, p90: 86400, min: 10, max: 86400 },
      ],
      total: { count: 3, mean: 28803.8, median: 10, p90: 86400, min: 1.5, max: 86400 },
    });
    expect((await report('stage-duration', { groupBy: 'ownerId' })).rows).toEqual([
      { key: 'ana', count: 2, mean: 43200.8, median: 1.5, p90: 86400, min: 1.5, max: 86400 },
      { key: 'bo', count: 1, mean: 10, median: 10, p90: 10, min: 10, max: 10 },
    ]);
    expect((await report('stage-duration', { groupBy: 'stage', from: '2025-02-02' })).rows.map((r: { key: string }) => r.key)).toEqual(['Needs Analysis', 'Prospecting']);
    expect(await report('stage-duration', { groupBy: 'ownerId', from: '2025-03-01' })).toEqual({
      groupBy: 'ownerId',
      rows: [],
      total: { count: 0, mean: null, median: null, p90: null, min: null, max: null },
    });
    const csv = (await t.http().get('/reports/stage-duration').query({ groupBy: 'ownerId', from: '2025-03-01' }).set('Accept', 'text/csv').expect(200)).text;
    expect(csv).toBe('key,count,mean,median,p90,min,max\r\ntotal,0,,,,,\r\n');
  });

  it('counts close-date pushes to a later date only, each opportunity once per row, under its owner now', async () => {
    const deal = await opportunity({ ownerId: 'ana', closeDate: '2025-06-30' }, '2025-05-01T00:00:00.000Z');
    await patch(deal, { closeDate: '2025-07-10' }, '2025-05-10T00:00:00.000Z'); // +10 days, in Prospecting
    await patch(deal, { closeDate: '2025-07-01' }, '2025-05-20T00:00:00.000Z'); // earlier: not a push
    await change(deal, '/stage', { stage: 'Qualification' }, '2025-05-25T00:00:00.000Z');
    await patch(deal, { closeDate: '2025-08-01' }, '2025-06-05T00:00:00.000Z'); // +31 days, in Qualification
    await patch(deal, { ownerId: 'bo' }, '2025-06-06T00:00:00.000Z');
    const other = await opportunity({ closeDate: '2025-06-30' }, '2025-05-01T00:00:00.000Z');
    await patch(other, { closeDate: '2025-07-02' }, '2025-06-10T00:00:00.000Z'); // +2 days, no owner
    expect(await report('close-date-pushes', { groupBy: 'ownerId' })).toEqual({
      groupBy: 'ownerId',
      rows: [
        { key: null, pushes: 1, opportunities: 1, daysPushed: 2 },
        { key: 'bo', pushes: 2, opportunities: 1, daysPushed: 41 },
      ],
      total: { pushes: 3, opportunities: 2, daysPushed: 43 },
    });
    expect((await report('close-date-pushes', { groupBy: 'month' })).rows).toEqual([
      { key: '2025-05', pushes: 1, opportunities: 1, daysPushed: 10 },
      { key: '2025-06', pushes: 2, opportunities: 2, daysPushed: 33 },
    ]);
    expect((await report('close-date-pushes', { groupBy: 'stage' })).rows).toEqual([
      { key: 'Prospecting', pushes: 2, opportunities: 2, daysPushed: 12 },
      { key: 'Qualification', pushes: 1, opportunities: 1, daysPushed: 31 },
    ]);
    expect((await report('close-date-pushes', { groupBy: 'ownerId', from: '2025-05-15' })).total).toEqual({ pushes: 2, opportunities: 2, daysPushed: 33 });
  });

  it('times the first touch of each captured lead: within 5 minutes is at most 300 s; untouched and merged leads; null median over none', async () => {
    const quick = await lead({ source: 'Web', ownerId: 'ana' }, '2025-08-01T10:00:00.000Z');
    await t.http().post(`/leads/${quick}/work`).send({ status: 'Working', ...at('2025-08-01T10:05:00.000Z') }).expect(200); // 300 s: within
    const slow = await lead({ source: 'Web' }, '2025-08-01T10:00:00.000Z');
    await t.http().post(`/leads/${slow}/disqualify`).send({ reason: 'x', ...at('2025-08-01T10:05:00.001Z') }).expect(200);
    await lead({ source: 'Phone' }, '2025-08-02T10:00:00.000Z'); // untouched
    const merged = await lead({ source: 'Phone' }, '2025-08-02T11:00:00.000Z');
    await t.http().post(`/leads/${merged}/work`).send({ status: 'Working', ...at('2025-08-02T11:00:01.000Z') }).expect(200);
    const survivor = await lead({ source: 'Email' }, '2025-08-03T11:00:00.000Z');
    await t.http().post(`/leads/${survivor}/merge`).send({ duplicateIds: [merged], ...at('2025-08-04T09:00:00.000Z') }).expect(200);
    expect(await report('speed-to-lead', { groupBy: 'source' })).toEqual({
      groupBy: 'source',
      rows: [
        { key: 'Email', captured: 1, touched: 0, untouched: 1, median: null, p90: null, within5Minutes: 0, within5MinutesRate: 0 },
        { key: 'Phone', captured: 1, touched: 0, untouched: 1, median: null, p90: null, within5Minutes: 0, within5MinutesRate: 0 },
        { key: 'Web', captured: 2, touched: 2, untouched: 0, median: 300, p90: 300.001, within5Minutes: 1, within5MinutesRate: 0.5 },
      ],
      total: { captured: 4, touched: 2, untouched: 2, median: 300, p90: 300.001, within5Minutes: 1, within5MinutesRate: 0.25 },
    });
    await t.http().post(`/leads/${quick}/assign`).send({ ownerId: 'bo', ...at('2025-08-05T00:00:00.000Z') }).expect(200);
    expect((await report('speed-to-lead', { groupBy: 'ownerId' })).rows).toEqual([
      { key: null, captured: 3, touched: 1, untouched: 2, median: 300.001, p90: 300.001, within5Minutes: 0, within5MinutesRate: 0 },
      { key: 'bo', captured: 1, touched: 1, untouched: 0, median: 300, p90: 300, within5Minutes: 1, within5MinutesRate: 1 },
    ]);
  });

  it('totals closed deals by the lead source they carry: null for one opened without a lead', async () => {
    const id = await lead({ source: 'Partner Referral' }, '2025-01-05T00:00:00.000Z');
    await t.http().post(`/leads/${id}/qualify`).send(at('2025-01-06T00:00:00.000Z')).expect(200);
    const converted = await t.http().post(`/leads/${id}/convert`).send({ opportunity: { name: 'D', amount: 999.99, closeDate: '2025-03-01', stage: 'Prospecting' }, ...at('2025-01-07T00:00:00.000Z') }).expect(200);
    await change(converted.body.opportunityId, '/close', { won: true }, '2025-02-01T00:00:00.000Z');
    const direct = await opportunity({ amount: 10 }, '2025-01-10T00:00:00.000Z');
    await change(direct, '/close', { won: false, reason: 'x' }, '2025-03-01T00:00:00.000Z');
    expect(await report('source-revenue', { groupBy: 'source' })).toEqual({
      groupBy: 'source',
      rows: [
        { key: null, won: 0, lost: 1, wonAmount: 0, lostAmount: 10, winRate: 0 },
        { key: 'Partner Referral', won: 1, lost: 0, wonAmount: 999.99, lostAmount: 0, winRate: 1 },
      ],
      total: { won: 1, lost: 1, wonAmount: 999.99, lostAmount: 10, winRate: 0.5 },
    });
    expect((await report('source-revenue', { groupBy: 'month', from: '2025-02-15' })).rows).toEqual([{ key: '2025-03', won: 0, lost: 1, wonAmount: 0, lostAmount: 10, winRate: 0 }]);
    const leads = async (params: object) => (await t.http().get('/leads').query(params).expect(200)).body.items.map((l: { id: string }) => l.id);
    expect(await leads({ withOpportunity: 'true' })).toEqual([id]);
    expect(await leads({ withOpportunity: 'false' })).toEqual([]);
    expect(await leads({ convertedFrom: '2025-01-07', convertedTo: '2025-01-08' })).toEqual([id]);
    expect(await leads({ convertedFrom: '2025-01-08' })).toEqual([]);
    expect(await leads({ convertedTo: '2025-01-07' })).toEqual([]);
  });

  it.each([
    ['conversion-rate', {}, 'groupBy'],
    ['conversion-rate', { groupBy: 'stage' }, 'groupBy'],
    ['pipeline', { groupBy: 'month' }, 'groupBy'],
    ['time-to-conversion', { groupBy: 'month', from: '2025-13-01' }, 'from'],
    ['time-to-conversion', { groupBy: 'month', from: '2025-01-01T00:00:00Z' }, 'from'],
    ['pipeline', { groupBy: 'stage', from: '2025-02-01', to: '2025-01-01' }, 'to'],
    ['pipeline', { groupBy: 'stage', asOf: '2025-02-30T00:00:00Z' }, 'asOf'],
    ['pipeline', { groupBy: 'stage', asOf: 'yesterday' }, 'asOf'],
    ['pipeline-movement', { from: '2025-01-01' }, 'to'],
    ['pipeline-movement', { to: '2025-01-01' }, 'from'],
    ['pipeline-movement', { from: '2025-02-01', to: '2025-01-01' }, 'to'],
    ['stage-duration', { groupBy: 'month' }, 'groupBy'],
    ['close-date-pushes', { groupBy: 'source' }, 'groupBy'],
    ['speed-to-lead', { groupBy: 'stage' }, 'groupBy'],
    ['source-revenue', { groupBy: 'ownerId' }, 'groupBy'],
    ['source-revenue', { groupBy: 'source', from: '2025-1-01' }, 'from'],
  ])('refuses %s with %j: 400 naming %s', async (name, params, field) => {
    const res = await t.http().get(`/reports/${name}`).query(params);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(fieldsOf(res.body)).toContain(field);
  });

  it.each([
    [{ withOpportunity: 'yes' }, 'withOpportunity'],
    [{ convertedFrom: '2025-02-30' }, 'convertedFrom'],
    [{ convertedFrom: '2025-02-01', convertedTo: '2025-01-01' }, 'convertedTo'],
  ])('refuses GET /leads with %j: 400 naming %s', async (params, field) => {
    const res = await t.http().get('/leads').query(params);
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toContain(field);
  });
});
