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

  it.each([
    ['conversion-rate', {}, 'groupBy'],
    ['conversion-rate', { groupBy: 'stage' }, 'groupBy'],
    ['pipeline', { groupBy: 'month' }, 'groupBy'],
    ['time-to-conversion', { groupBy: 'month', from: '2025-13-01' }, 'from'],
    ['time-to-conversion', { groupBy: 'month', from: '2025-01-01T00:00:00Z' }, 'from'],
    ['pipeline', { groupBy: 'stage', from: '2025-02-01', to: '2025-01-01' }, 'to'],
  ])('refuses %s with %j: 400 naming %s', async (name, params, field) => {
    const res = await t.http().get(`/reports/${name}`).query(params);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(fieldsOf(res.body)).toContain(field);
  });
});
