import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { READ_STORE, ReadStore, SqliteReadStore, verifyReadModels } from '@crm/read-models';
import { ALL_PROJECTIONS } from '@crm/runtime/projection-list';
import { prng } from '../bench/seeded-random';
import { fieldsOf, PROBLEM_JSON, useTestApp } from './support/test-app';

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Campaigns over HTTP: launching, members, campaignId at capture, primary campaign through conversion, the campaign-influence report. */
describe('Campaigns over HTTP', () => {
  const t = useTestApp();

  const launch = async (body: object = {}) => {
    // Launched (business time) before the back-dated members of these stories: a stream's business time runs forwards.
    const res = await t.http().post('/campaigns').send({ name: 'Spring webinar', type: 'Webinar', startDate: '2026-03-01', occurredAt: '2026-02-01T00:00:00.000Z', ...body });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const capture = async (body: object = {}) => {
    const res = await t.http().post('/leads').send({ lastName: 'Curie', company: `Radium ${Math.random()}`, ...body });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const addMember = (campaignId: string, body: object) => t.http().post(`/campaigns/${campaignId}/members`).send(body);
  const member = async (campaignId: string, body: object) => {
    const res = await addMember(campaignId, body);
    expect(res.status).toBe(200);
    return res.body as { revision: number };
  };
  const convertWithDeal = async (leadId: string, occurredAt?: string) => {
    expect((await t.http().post(`/leads/${leadId}/qualify`).send(occurredAt ? { occurredAt } : {})).status).toBe(200);
    const converted = await t.http().post(`/leads/${leadId}/convert`).send({ opportunity: { name: 'Deal', closeDate: '2027-01-31', stage: 'Qualification', amount: 1000 }, ...(occurredAt && { occurredAt }) });
    expect(converted.status).toBe(200);
    return converted.body as { accountId: string; contactId: string; opportunityId: string };
  };
  const headPosition = async () => (await t.store.headPosition()).toString();
  /** Sends a bad request and checks it was refused with a problem naming the field, and that nothing was appended. */
  const refused = async (send: () => Promise<{ status: number; headers: Record<string, string>; body: { errors?: { field: string }[] } }>, status: number, field: string) => {
    const before = await headPosition();
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(fieldsOf(res.body)).toContain(field);
    expect(await headPosition()).toBe(before);
  };

  describe('POST /campaigns and reading them', () => {
    it('launches a campaign: 201 with Location; GET shows it with its counts and revision; history like any record', async () => {
      const res = await t.http().post('/campaigns').send({ name: 'Trade show', type: 'Event', startDate: '2026-04-01', endDate: '2026-04-03', budget: 12000.5 });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), revision: 0, position: expect.stringMatching(/^\d+$/) });
      expect(res.headers.location).toBe(`/campaigns/${res.body.id}`);
      const campaign = await t.http().get(`/campaigns/${res.body.id}`);
      expect(campaign.status).toBe(200);
      expect(campaign.headers.etag).toBe('"0"');
      expect(campaign.body).toMatchObject({ id: res.body.id, name: 'Trade show', type: 'Event', startDate: '2026-04-01', endDate: '2026-04-03', budget: 12000.5, sent: 0, responded: 0, revision: 0 });
      const history = await t.http().get(`/campaigns/${res.body.id}/history`);
      expect(history.body).toEqual([expect.objectContaining({ type: 'CampaignLaunched', metadata: expect.objectContaining({ actorId: 'e2e' }) })]);
    });

    it('refuses bad input naming the field, appending nothing', async () => {
      const post = (body: object) => () => t.http().post('/campaigns').send(body);
      await refused(post({ type: 'Webinar', startDate: '2026-03-01' }), 400, 'name');
      await refused(post({ name: 'X', type: 'Podcast', startDate: '2026-03-01' }), 400, 'type');
      await refused(post({ name: 'X', type: 'Webinar' }), 400, 'startDate');
      await refused(post({ name: 'X', type: 'Webinar', startDate: '2026-02-30' }), 400, 'startDate');
      await refused(post({ name: 'X', type: 'Webinar', startDate: '2026-03-01', endDate: '2026-02-28' }), 400, 'endDate');
      await refused(post({ name: 'X', type: 'Webinar', startDate: '2026-03-01', budget: -1 }), 400, 'budget');
      await refused(post({ name: 'X', type: 'Webinar', startDate: '2026-03-01', budget: 1.234 }), 400, 'budget');
      await refused(post({ name: 'X', type: 'Webinar', startDate: '2026-03-01', colour: 'red' }), 400, 'colour');
      await refused(post({ name: 'X', type: 'Webinar', startDate: '2026-03-01', occurredAt: '2999-01-01T00:00:00.000Z' }), 400, 'occurredAt');
      const unknown = await t.http().get('/campaigns/00000000-0000-4000-8000-000000000000');
      expect(unknown.status).toBe(404);
      expect(unknown.headers['content-type']).toMatch(PROBLEM_JSON);
    });

    it('replays a launch sent again with the same Idempotency-Key; another body under that key is 422', async () => {
      const key = `launch-${Math.random()}`;
      const body = { name: 'Mailing', type: 'Email', startDate: '2026-05-01' };
      const first = await t.http().post('/campaigns').set('Idempotency-Key', key).send(body);
      const again = await t.http().post('/campaigns').set('Idempotency-Key', key).send(body);
      expect(first.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect((await t.http().get(`/campaigns/${first.body.id}/history`)).body).toHaveLength(1);
      await refused(() => t.http().post('/campaigns').set('Idempotency-Key', key).send({ ...body, name: 'Other' }), 422, 'Idempotency-Key');
    });

    it('lists campaigns newest first (launch business time) with their member counts, in pages', async () => {
      const names = ['List A', 'List B', 'List C'].map((name) => `${name} ${Math.random()}`);
      const ids: string[] = [];
      for (const [i, name] of names.entries()) ids.push(await launch({ name, occurredAt: `2020-0${i + 1}-01T00:00:00.000Z` }));
      await addMember(ids[1], { leadId: await capture(), status: 'Sent' });
      await addMember(ids[1], { leadId: await capture(), status: 'Responded' });
      const all: { id: string; name: string; sent: number; responded: number }[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: { items: typeof all; nextCursor: string | null } } = await t.http().get('/campaigns').query({ limit: 2, ...(cursor && { cursor }) });
        expect(page.status).toBe(200);
        all.push(...page.body.items);
        cursor = page.body.nextCursor;
      } while (cursor);
      const ours = all.filter((c) => ids.includes(c.id));
      expect(ours.map((c) => c.id)).toEqual([ids[2], ids[1], ids[0]]);
      expect(ours[1]).toMatchObject({ sent: 1, responded: 1 });
      expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
    });
  });

  describe('POST /campaigns/:id/members', () => {
    it('adds a lead as Sent, then records its response; sending either again changes nothing; Sent after a response takes nothing back', async () => {
      const campaignId = await launch();
      const leadId = await capture();
      const sent = await addMember(campaignId, { leadId, status: 'Sent', occurredAt: '2026-03-02T10:00:00.000Z' });
      expect(sent.status).toBe(200);
      expect(sent.body).toMatchObject({ id: campaignId, revision: 1 });
      expect((await addMember(campaignId, { leadId, status: 'Sent' })).body).toMatchObject({ revision: 1 });
      expect((await t.http().get(`/campaigns/${campaignId}`)).body).toMatchObject({ sent: 1, responded: 0 });
      const responded = await addMember(campaignId, { leadId, status: 'Responded', occurredAt: '2026-03-05T10:00:00.000Z' });
      expect(responded.body).toMatchObject({ revision: 2 });
      expect((await addMember(campaignId, { leadId, status: 'Responded' })).body).toMatchObject({ revision: 2 });
      expect((await addMember(campaignId, { leadId, status: 'Sent' })).body).toMatchObject({ revision: 2 });
      expect((await t.http().get(`/campaigns/${campaignId}`)).body).toMatchObject({ sent: 0, responded: 1, revision: 2 });
      const history = (await t.http().get(`/campaigns/${campaignId}/history`)).body as { type: string; data: object }[];
      expect(history.map((e) => e.type)).toEqual(['CampaignLaunched', 'CampaignMemberAdded', 'CampaignMemberResponded']);
      // Members are named by id only: no personal data in campaign events.
      expect(history[1].data).toEqual({ campaignId, member: { type: 'lead', id: leadId }, status: 'Sent' });
      // Field history lists the campaign's fields; membership is not a field (it is in the history above).
      const fields = (await t.http().get(`/campaigns/${campaignId}/field-history`)).body as { field: string }[];
      expect(fields.map((c) => c.field).sort()).toEqual(['launchedAt', 'name', 'startDate', 'type']);
    });

    it('adds a contact; a lead and a contact are members of their own', async () => {
      const campaignId = await launch();
      const accountId = (await t.http().post('/accounts').send({ name: `Acme ${Math.random()}` })).body.id;
      const contactId = (await t.http().post('/contacts').send({ accountId, lastName: 'Meitner' })).body.id;
      expect((await addMember(campaignId, { contactId, status: 'Responded' })).status).toBe(200);
      expect((await t.http().get(`/campaigns/${campaignId}`)).body).toMatchObject({ sent: 0, responded: 1 });
    });

    it('replays a member command sent again with the same Idempotency-Key; another body under that key is 422', async () => {
      const campaignId = await launch();
      const leadId = await capture();
      const key = `member-${Math.random()}`;
      const first = await t.http().post(`/campaigns/${campaignId}/members`).set('Idempotency-Key', key).send({ leadId, status: 'Sent' });
      await member(campaignId, { leadId, status: 'Responded' });
      const again = await t.http().post(`/campaigns/${campaignId}/members`).set('Idempotency-Key', key).send({ leadId, status: 'Sent' });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      await refused(() => t.http().post(`/campaigns/${campaignId}/members`).set('Idempotency-Key', key).send({ leadId, status: 'Responded' }), 422, 'Idempotency-Key');
      expect((await t.http().get(`/campaigns/${campaignId}`)).body).toMatchObject({ sent: 0, responded: 1, revision: 2 });
    });

    it('honours If-Match: a stale revision is 412 and appends nothing', async () => {
      const campaignId = await launch();
      const leadId = await capture();
      await refused(() => t.http().post(`/campaigns/${campaignId}/members`).set('If-Match', '"5"').send({ leadId, status: 'Sent' }), 412, 'If-Match');
      expect((await t.http().post(`/campaigns/${campaignId}/members`).set('If-Match', '"0"').send({ leadId, status: 'Sent' })).status).toBe(200);
    });

    it('refuses bad input and unknown or closed records naming the field, appending nothing', async () => {
      const campaignId = await launch();
      const leadId = await capture();
      const post = (body: object, id = campaignId) => () => t.http().post(`/campaigns/${id}/members`).send(body);
      await refused(post({ status: 'Sent' }), 400, 'leadId');
      await refused(post({ leadId, contactId: leadId, status: 'Sent' }), 400, 'contactId');
      await refused(post({ leadId }), 400, 'status');
      await refused(post({ leadId, status: 'Opened' }), 400, 'status');
      await refused(post({ leadId: 'not-an-id', status: 'Sent' }), 400, 'leadId');
      await refused(post({ leadId: '00000000-0000-4000-8000-000000000000', status: 'Sent' }), 404, 'leadId');
      await refused(post({ contactId: '00000000-0000-4000-8000-000000000000', status: 'Sent' }), 404, 'contactId');
      const unknownCampaign = await post({ leadId, status: 'Sent' }, '00000000-0000-4000-8000-000000000000')();
      expect(unknownCampaign.status).toBe(404);
      expect(unknownCampaign.headers['content-type']).toMatch(PROBLEM_JSON);
      const { contactId } = await convertWithDeal(leadId);
      const closed = await post({ leadId, status: 'Responded' })();
      expect(closed.status).toBe(409);
      expect(fieldsOf(closed.body)).toEqual(['leadId']);
      expect(closed.body.detail).toContain(contactId);
    });
  });

  describe('campaignId at capture, the lead list, and the primary campaign through conversion', () => {
    it('a lead captured with campaignId is a responded member; adding it again changes nothing; an unknown campaign is 404 naming campaignId; PATCH does not take it', async () => {
      const campaignId = await launch();
      const leadId = await capture({ campaignId });
      expect((await t.http().get(`/leads/${leadId}`)).body).toMatchObject({ campaignId });
      expect((await t.http().get(`/campaigns/${campaignId}`)).body).toMatchObject({ sent: 0, responded: 1, revision: 0 });
      expect((await addMember(campaignId, { leadId, status: 'Responded' })).body).toMatchObject({ revision: 0 });
      expect((await t.http().get(`/campaigns/${campaignId}`)).body).toMatchObject({ responded: 1 });
      await refused(() => t.http().post('/leads').send({ lastName: 'X', company: 'Y', campaignId: '00000000-0000-4000-8000-000000000000' }), 404, 'campaignId');
      await refused(() => t.http().post('/leads').send({ lastName: 'X', company: 'Y', campaignId: 'webinar' }), 400, 'campaignId');
      await refused(() => t.http().patch(`/leads/${leadId}`).send({ campaignId }), 400, 'campaignId');
    });

    it('GET /leads?campaignId= lists the campaign\'s lead members newest first, in pages; other filters with it are 400', async () => {
      const campaignId = await launch();
      const first = await capture({ campaignId, occurredAt: '2026-01-01T00:00:00.000Z' });
      const second = await capture({ occurredAt: '2026-01-02T00:00:00.000Z' });
      const third = await capture({ occurredAt: '2026-01-03T00:00:00.000Z' });
      await capture();
      await addMember(campaignId, { leadId: third, status: 'Sent' });
      await addMember(campaignId, { leadId: second, status: 'Responded' });
      const page1 = await t.http().get('/leads').query({ campaignId, limit: 2 });
      expect(page1.status).toBe(200);
      expect(page1.body.items.map((l: { id: string }) => l.id)).toEqual([third, second]);
      expect(page1.body.items[0]).toHaveProperty('score');
      const page2 = await t.http().get('/leads').query({ campaignId, limit: 2, cursor: page1.body.nextCursor });
      expect(page2.body).toEqual({ items: [expect.objectContaining({ id: first })], nextCursor: null });
      const combined = await t.http().get('/leads').query({ campaignId, status: 'New' });
      expect(combined.status).toBe(400);
      expect(fieldsOf(combined.body)).toEqual(['status']);
      expect((await t.http().get('/leads').query({ campaignId: 'nope' })).status).toBe(400);
    });

    it('the opportunity of a conversion carries the last campaign the lead responded to before it; later responses elsewhere do not move it', async () => {
      const [webinar, mailing, fair] = [await launch({ name: 'W' }), await launch({ name: 'M', type: 'Email' }), await launch({ name: 'F', type: 'Event' })];
      const leadId = await capture({ campaignId: webinar, occurredAt: '2026-03-01T00:00:00.000Z' });
      await member(mailing, { leadId, status: 'Sent', occurredAt: '2026-03-02T00:00:00.000Z' });
      await member(mailing, { leadId, status: 'Responded', occurredAt: '2026-03-03T00:00:00.000Z' });
      // Responding to the webinar again keeps its first response (at capture): the mailing stays the last.
      expect(await member(webinar, { leadId, status: 'Responded', occurredAt: '2026-03-04T00:00:00.000Z' })).toMatchObject({ revision: 0 });
      // Sent only: not a response.
      await member(fair, { leadId, status: 'Sent', occurredAt: '2026-03-05T00:00:00.000Z' });
      const { opportunityId, contactId } = await convertWithDeal(leadId, '2026-03-06T00:00:00.000Z');
      const opportunity = await t.http().get(`/opportunities/${opportunityId}`);
      expect(opportunity.body).toMatchObject({ id: opportunityId, primaryCampaignId: mailing });
      // The contact it became responds to the fair later: the deal's attribution stays.
      await member(fair, { contactId, status: 'Responded', occurredAt: '2026-03-07T00:00:00.000Z' });
      expect((await t.http().get(`/opportunities/${opportunityId}`)).body).toMatchObject({ primaryCampaignId: mailing });
      const listed = await t.http().get('/opportunities').query({ accountId: opportunity.body.accountId });
      expect(listed.body.items).toEqual([expect.objectContaining({ id: opportunityId, primaryCampaignId: mailing })]);
      // An opportunity opened without a lead has none.
      const direct = (await t.http().post('/opportunities').send({ accountId: opportunity.body.accountId, name: 'Upsell', closeDate: '2027-06-30', stage: 'Prospecting' })).body.id;
      expect((await t.http().get(`/opportunities/${direct}`)).body).toMatchObject({ primaryCampaignId: null });
    });

    it('a merge\'s survivor takes the duplicate\'s campaign responses: it is listed under the campaign and its deal is attributed to it', async () => {
      const campaignId = await launch();
      const duplicate = await capture({ campaignId, occurredAt: '2026-03-01T00:00:00.000Z' });
      const survivor = await capture({ occurredAt: '2026-03-02T00:00:00.000Z' });
      expect((await t.http().post(`/leads/${survivor}/merge`).send({ duplicateIds: [duplicate] })).status).toBe(200);
      const listed = await t.http().get('/leads').query({ campaignId });
      expect(listed.body.items.map((l: { id: string }) => l.id)).toEqual([survivor, duplicate]);
      const { opportunityId } = await convertWithDeal(survivor);
      expect((await t.http().get(`/opportunities/${opportunityId}`)).body).toMatchObject({ primaryCampaignId: campaignId });
    });
  });

  describe('GET /reports/campaign-influence', () => {
    it('refuses bad input naming the field', async () => {
      for (const [query, field] of [[{}, 'groupBy'], [{ groupBy: 'source' }, 'groupBy'], [{ groupBy: 'campaign', from: '2026-13-01' }, 'from'], [{ groupBy: 'campaign', from: '2026-03-02', to: '2026-03-01' }, 'to']] as const) {
        const res = await t.http().get('/reports/campaign-influence').query(query);
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(fieldsOf(res.body)).toContain(field);
      }
    });
  });
});

interface LeadPlan {
  id: string;
  capturedAt: number;
  /** First response per campaign, in time order. */
  responses: { campaignId: string; at: number }[];
  /** A merge's survivor: the responses of the duplicates it absorbed (they count for its primary campaign, not as its memberships). */
  inherited: { campaignId: string; at: number }[];
  convertedAt: number | null;
  opportunityId: string | null;
  wonAmount: number | null;
  merged: boolean;
}

/**
 * The report against a plain calculation from a seeded history (embedded backend only: the
 * expected rows count every lead of the log, which must be this file's own).
 */
describe('Campaign influence against a seeded history (embedded backend only: it compares whole reports over an empty log)', () => {
  const t = useTestApp();
  const random = prng(1717);
  const START = Date.parse('2025-02-01T00:00:00.000Z');
  const campaigns: { id: string; budget?: number }[] = [];
  const leads: LeadPlan[] = [];

  const ok = async (res: Promise<{ status: number; body: any }>, status = 200) => {
    const answered = await res;
    if (answered.status !== status) throw new Error(`expected ${status}, got ${answered.status}: ${JSON.stringify(answered.body)}`);
    return answered.body;
  };

  beforeAll(async () => {
    const budgets = [5000, 12000.5, undefined, 800, 30000];
    for (const [i, budget] of budgets.entries()) {
      const body = await ok(t.http().post('/campaigns').send({ name: `Campaign ${i}`, type: 'Other', startDate: '2025-01-01', occurredAt: iso(START - DAY * (10 - i)), ...(budget !== undefined && { budget }) }), 201);
      campaigns.push({ id: body.id, budget });
    }
    // Every action with its business time, sent in time order so each stream's business time runs forwards.
    type Action = { at: number; run: () => Promise<void> };
    const actions: Action[] = [];
    /** Sent after all the others, in the order queued (a conversion before its deal's close). */
    const late: Action[] = [];
    for (let i = 0; i < 140; i++) {
      const plan: LeadPlan = { id: '', capturedAt: Math.round(START + random.next() * 180 * DAY), responses: [], inherited: [], convertedAt: null, opportunityId: null, wonAmount: null, merged: false };
      leads.push(plan);
      const atCapture = random.chance(0.3) ? random.pick(campaigns).id : undefined;
      if (atCapture) plan.responses.push({ campaignId: atCapture, at: plan.capturedAt });
      actions.push({
        at: plan.capturedAt,
        run: async () => {
          plan.id = (await ok(t.http().post('/leads').send({ lastName: `Lead ${i}`, company: `Company ${i}`, occurredAt: iso(plan.capturedAt), ...(atCapture && { campaignId: atCapture }) }), 201)).id;
        },
      });
      let at = plan.capturedAt;
      const membership = new Map<string, 'Sent' | 'Responded'>(atCapture ? [[atCapture, 'Responded']] : []);
      for (let step = Math.floor(random.next() * 4); step > 0; step--) {
        at += Math.round(random.between(60_000, 20 * DAY));
        const campaignId = random.pick(campaigns).id;
        const status = random.chance(0.4) ? 'Sent' : 'Responded';
        if (status === 'Responded' && membership.get(campaignId) !== 'Responded') plan.responses.push({ campaignId, at });
        if (!(status === 'Sent' && membership.get(campaignId) === 'Responded')) membership.set(campaignId, status);
        const when = at;
        actions.push({ at: when, run: async () => void (await ok(t.http().post(`/campaigns/${campaignId}/members`).send({ leadId: plan.id, status, occurredAt: iso(when) }))) });
      }
      if (random.chance(0.45)) {
        // Some conversions are recorded last but back-dated between the lead's responses: responses after it (business time) do not count.
        const backdated = at > plan.capturedAt && random.chance(0.35);
        const convertAt = backdated ? Math.round(plan.capturedAt + (at - plan.capturedAt) / 2) : (at += Math.round(random.between(60_000, 10 * DAY)));
        const queue = backdated ? late : actions;
        const withDeal = random.chance(0.75);
        const amount = Math.round(random.between(100, 90_000) * 100) / 100;
        const close = random.chance(0.6) ? (random.chance(0.6) ? 'won' : 'lost') : null;
        plan.convertedAt = convertAt;
        if (withDeal && close === 'won') plan.wonAmount = amount;
        queue.push({
          at: convertAt,
          run: async () => {
            await ok(t.http().post(`/leads/${plan.id}/qualify`).send({ occurredAt: iso(convertAt) }));
            const opportunity = withDeal ? { name: `Deal ${i}`, closeDate: '2026-06-30', stage: 'Qualification', amount } : null;
            plan.opportunityId = (await ok(t.http().post(`/leads/${plan.id}/convert`).send({ occurredAt: iso(convertAt), opportunity }))).opportunityId;
          },
        });
        if (withDeal && close) {
          const closeAt = convertAt + Math.round(random.between(DAY, 30 * DAY));
          queue.push({
            at: closeAt,
            run: async () => void (await ok(t.http().post(`/opportunities/${plan.opportunityId}/close`).send(close === 'won' ? { won: true, occurredAt: iso(closeAt) } : { won: false, reason: 'Budget', occurredAt: iso(closeAt) }))),
          });
        }
      }
    }
    actions.sort((a, b) => a.at - b.at);
    for (const action of actions) await action.run();
    for (const action of late) await action.run();
    // A few open leads merged into others: they count nowhere.
    const open = leads.filter((lead) => lead.convertedAt === null);
    for (let i = 0; i + 1 < Math.min(open.length, 12); i += 2) {
      const [survivor, duplicate] = [open[i], open[i + 1]];
      await ok(t.http().post(`/leads/${survivor.id}/merge`).send({ duplicateIds: [duplicate.id] }));
      duplicate.merged = true;
      // The survivor takes the duplicate's campaign responses.
      survivor.inherited.push(...duplicate.responses);
    }
  }, 120_000);

  /** The plain calculation: per lead, its primary campaign from its responses, then sums per campaign. */
  function expected(from?: string, to?: string) {
    const lo = from === undefined ? -Infinity : Date.parse(`${from}T00:00:00.000Z`);
    const hi = to === undefined ? Infinity : Date.parse(`${to}T00:00:00.000Z`);
    const rows = new Map<string | null, { leads: number; converted: number; opportunities: number; wonCents: number }>();
    for (const lead of leads) {
      if (lead.merged || lead.capturedAt < lo || lead.capturedAt >= hi) continue;
      const before = [...lead.responses, ...lead.inherited].filter((r) => lead.convertedAt === null || r.at <= lead.convertedAt);
      const primary = before.length === 0 ? null : before.reduce((last, r) => (r.at >= last.at ? r : last)).campaignId;
      const row = rows.get(primary) ?? { leads: 0, converted: 0, opportunities: 0, wonCents: 0 };
      row.leads += 1;
      if (lead.convertedAt !== null) row.converted += 1;
      if (lead.opportunityId) row.opportunities += 1;
      if (lead.opportunityId && lead.wonAmount !== null) row.wonCents += Math.round(lead.wonAmount * 100);
      rows.set(primary, row);
    }
    const budgetOf = (key: string | null) => campaigns.find((c) => c.id === key)?.budget;
    const cost = (budget: number, count: number) => Math.round((budget / count) * 100) / 100;
    const out = [...rows]
      .map(([key, r]) => ({ key, leads: r.leads, converted: r.converted, opportunities: r.opportunities, wonAmount: r.wonCents / 100, costPerLead: budgetOf(key) === undefined ? null : cost(budgetOf(key)!, r.leads) }))
      .sort((a, b) => (a.key === b.key ? 0 : a.key === null ? -1 : b.key === null ? 1 : a.key < b.key ? -1 : 1));
    const sum = (f: (r: (typeof out)[number]) => number) => out.reduce((s, r) => s + f(r), 0);
    const budgeted = out.filter((r) => budgetOf(r.key) !== undefined);
    const budgetTotal = budgeted.reduce((s, r) => s + budgetOf(r.key)!, 0);
    const budgetedLeads = budgeted.reduce((s, r) => s + r.leads, 0);
    return {
      groupBy: 'campaign',
      rows: out,
      total: {
        leads: sum((r) => r.leads),
        converted: sum((r) => r.converted),
        opportunities: sum((r) => r.opportunities),
        wonAmount: Math.round(sum((r) => r.wonAmount * 100)) / 100,
        costPerLead: budgetedLeads === 0 ? null : cost(budgetTotal, budgetedLeads),
      },
    };
  }

  it('generated a history with attributed, unattributed, converted, won and merged leads', () => {
    expect(leads.filter((l) => l.responses.length > 1).length).toBeGreaterThan(10);
    expect(leads.filter((l) => l.responses.length === 0).length).toBeGreaterThan(10);
    expect(leads.filter((l) => l.wonAmount !== null && l.opportunityId).length).toBeGreaterThan(5);
    expect(leads.filter((l) => l.convertedAt !== null && l.responses.some((r) => r.at > l.convertedAt!)).length).toBeGreaterThan(0);
    expect(leads.filter((l) => l.inherited.length > 0).length).toBeGreaterThan(0);
  });

  const WINDOWS: [string, string | undefined, string | undefined][] = [
    ['all time', undefined, undefined],
    ['from March 2025', '2025-03-01', undefined],
    ['until mid-May 2025', undefined, '2025-05-15'],
    ['April to June 2025', '2025-04-01', '2025-07-01'],
    ['one day', '2025-04-10', '2025-04-11'],
    ['before any lead', '2024-01-01', '2024-02-01'],
  ];

  it.each(WINDOWS)('matches the plain calculation over %s, in JSON and in CSV with its total row', async (_label, from, to) => {
    const query = { groupBy: 'campaign', ...(from && { from }), ...(to && { to }) };
    const res = await t.http().get('/reports/campaign-influence').query(query);
    expect(res.status).toBe(200);
    const want = expected(from, to);
    expect(res.body).toEqual(want);
    const csv = await t.http().get('/reports/campaign-influence').query(query).set('Accept', 'text/csv');
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const cell = (value: number | string | null) => (value === null ? '' : String(value));
    const lines = [
      'key,leads,converted,opportunities,wonAmount,costPerLead',
      ...want.rows.map((r) => [cell(r.key), r.leads, r.converted, r.opportunities, r.wonAmount, cell(r.costPerLead)].join(',')),
      ['total', want.total.leads, want.total.converted, want.total.opportunities, want.total.wonAmount, cell(want.total.costPerLead)].join(','),
    ];
    expect(csv.text.trimEnd().split('\r\n')).toEqual(lines);
  });

  it('gives each converted lead\'s opportunity its primary campaign', async () => {
    for (const lead of leads.filter((l) => l.opportunityId)) {
      const before = lead.responses.filter((r) => r.at <= lead.convertedAt!);
      const primary = before.length === 0 ? null : before.reduce((last, r) => (r.at >= last.at ? r : last)).campaignId;
      expect((await t.http().get(`/opportunities/${lead.opportunityId}`)).body).toMatchObject({ primaryCampaignId: primary });
    }
  });

  it('counts each campaign\'s members: responded and sent', async () => {
    const listed = (await t.http().get('/campaigns').query({ limit: 200 })).body.items as { id: string; sent: number; responded: number }[];
    for (const campaign of campaigns) {
      const responded = leads.filter((l) => l.responses.some((r) => r.campaignId === campaign.id)).length;
      expect(listed.find((c) => c.id === campaign.id)).toMatchObject({ responded });
    }
  });

  it('crm verify: a replay of the log gives exactly the read models served, the campaigns read model included', async () => {
    await t.catchUp();
    const scratchDir = mkdtempSync(join(tmpdir(), 'crm-verify-campaigns-'));
    const scratch = SqliteReadStore.open(join(scratchDir, 'scratch.sqlite'));
    try {
      const result = await verifyReadModels({ events: t.store, live: t.app.get<ReadStore>(READ_STORE), scratch, projections: ALL_PROJECTIONS });
      expect(result.inconclusive).toBeUndefined();
      expect(result.differences).toEqual([]);
      expect(ALL_PROJECTIONS.map((p) => p.readModel)).toContain('campaigns');
    } finally {
      await scratch.close();
      rmSync(scratchDir, { recursive: true, force: true });
    }
  });
});
