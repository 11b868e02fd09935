import { fieldsOf, PROBLEM_JSON, useTestApp } from './support/test-app';

/** Assignment rules and lead scoring over HTTP: a rep's day, fairness under concurrency, re-scoring, MQL. */
describe('Working leads over HTTP: assignment rules and scoring', () => {
  const t = useTestApp();

  const putRules = (rules: object[]) => t.http().put('/assignment-rules').send({ rules });
  const putModel = (model: object) => t.http().put('/scoring-model').send(model);
  const capture = (body: object) => t.http().post('/leads').send({ lastName: 'Noether', company: `Algebra ${Math.random()}`, ...body });
  const historyOf = async (leadId: string) => (await t.http().get(`/leads/${leadId}/history`)).body as { type: string; data: Record<string, unknown> }[];
  const countsOf = (owners: string[]) => owners.reduce<Record<string, number>>((counts, owner) => ({ ...counts, [owner]: (counts[owner] ?? 0) + 1 }), {});

  it("a rep's day: captured → auto-assigned by rule → called → follow-up task → qualified", async () => {
    expect((await putRules([{ name: 'DACH web', when: { source: 'Web', country: 'DE' }, ownerIds: ['rep-anna'] }])).status).toBe(200);
    const captured = await capture({ source: 'Web', country: 'DE', productInterest: 'Forecasting', email: `emmy-${Math.random()}@example.com` });
    expect(captured.status).toBe(201);
    expect(captured.body.revision).toBe(1); // LeadCaptured, then LeadAssigned
    const leadId = captured.body.id;
    expect((await historyOf(leadId)).map((e) => [e.type, e.data.ownerId, e.data.ruleName])).toEqual([
      ['LeadCaptured', undefined, undefined],
      ['LeadAssigned', 'rep-anna', 'DACH web'],
    ]);
    expect((await t.http().get(`/leads/${leadId}`)).body).toMatchObject({ ownerId: 'rep-anna', country: 'DE', productInterest: 'Forecasting', status: 'New' });
    expect((await t.http().get('/leads?ownerId=rep-anna&country=DE')).body.items.map((l: { id: string }) => l.id)).toContain(leadId);

    // The rep calls, plans a follow-up, does it, and qualifies the lead.
    expect((await t.http().post('/activities').send({ kind: 'Call', subject: 'First call', relatedTo: { type: 'lead', id: leadId }, ownerId: 'rep-anna' })).status).toBe(201);
    const dueDate = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const task = await t.http().post('/tasks').send({ subject: 'Send the case study', dueDate, ownerId: 'rep-anna', relatedTo: { type: 'lead', id: leadId } });
    expect(task.status).toBe(201);
    expect((await t.http().get(`/tasks?ownerId=rep-anna&status=Open&relatedTo=${leadId}`)).body.items.map((x: { id: string }) => x.id)).toEqual([task.body.id]);
    expect((await t.http().post(`/tasks/${task.body.id}/complete`).send({ outcome: 'Sent' })).status).toBe(200);
    expect((await t.http().post(`/leads/${leadId}/qualify`).send({ need: 'forecasting' })).status).toBe(200);

    expect((await t.http().get(`/leads/${leadId}`)).body).toMatchObject({ status: 'Qualified', ownerId: 'rep-anna' });
    expect((await t.http().get(`/leads/${leadId}/activities`)).body.items.map((a: { subject: string }) => a.subject)).toEqual(['First call']);
    expect((await t.http().get(`/tasks?ownerId=rep-anna&status=Open&relatedTo=${leadId}`)).body.items).toEqual([]);
  });

  it('takes the first matching rule; an explicit ownerId wins; no match leaves the lead without an owner', async () => {
    await putRules([
      { name: 'Analytics', when: { productInterest: 'Analytics' }, ownerIds: ['rep-ana'] },
      { name: 'French', when: { country: 'FR' }, ownerIds: ['rep-fra'] },
    ]);
    const both = (await capture({ country: 'FR', productInterest: 'Analytics' })).body.id;
    const french = (await capture({ country: 'FR' })).body.id;
    const explicit = (await capture({ country: 'FR', ownerId: 'rep-own' })).body.id;
    const none = await capture({ country: 'IT' });
    expect(none.body.revision).toBe(0);
    const owners = await Promise.all([both, french, explicit, none.body.id].map(async (id) => (await t.http().get(`/leads/${id}`)).body.ownerId));
    expect(owners).toEqual(['rep-ana', 'rep-fra', 'rep-own', undefined]);
  });

  it('round robin is fair under 50 concurrent captures: no owner gets two more than another, and every assignment names the rule', async () => {
    await putRules([{ name: 'Pool', when: { source: 'Partner Referral' }, ownerIds: ['pool-1', 'pool-2', 'pool-3'] }]);
    const responses = await Promise.all(Array.from({ length: 50 }, () => capture({ source: 'Partner Referral' })));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(201));
    const assigned = await Promise.all(responses.map(async (r) => (await historyOf(r.body.id)).find((e) => e.type === 'LeadAssigned')!.data));
    expect(new Set(assigned.map((a) => a.ruleName))).toEqual(new Set(['Pool']));
    // 50 leads over 3 owners in turn: 17, 17, 16, whatever order the captures ran in.
    expect(Object.values(countsOf(assigned.map((a) => a.ownerId as string))).sort()).toEqual([16, 17, 17]);
  });

  it('a capture refused after taking its turn (a duplicate email) gives the turn back: the owners stay even', async () => {
    await putRules([{ name: 'Pair', when: { source: 'Event' }, ownerIds: ['pair-1', 'pair-2'] }]);
    const email = `twice-${Math.random()}@example.com`;
    const owners: string[] = [];
    const first = await capture({ source: 'Event', email });
    owners.push((await t.http().get(`/leads/${first.body.id}`)).body.ownerId);
    expect((await capture({ source: 'Event', email })).status).toBe(409);
    for (let i = 0; i < 3; i++) owners.push((await t.http().get(`/leads/${(await capture({ source: 'Event' })).body.id}`)).body.ownerId);
    expect(owners).toEqual(['pair-1', 'pair-2', 'pair-1', 'pair-2']);
  });

  it('a capture retried under its Idempotency-Key is answered with the first attempt and takes no second turn', async () => {
    await putRules([{ name: 'Retry pair', when: { source: 'Email' }, ownerIds: ['retry-1', 'retry-2'] }]);
    const body = { lastName: 'Franklin', company: 'Helix', source: 'Email' };
    const first = await t.http().post('/leads').set('Idempotency-Key', 'capture-franklin').send(body);
    const again = await t.http().post('/leads').set('Idempotency-Key', 'capture-franklin').send(body);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect((await historyOf(first.body.id)).filter((e) => e.type === 'LeadAssigned')).toHaveLength(1);
    const next = (await capture({ source: 'Email' })).body.id;
    expect([(await t.http().get(`/leads/${first.body.id}`)).body.ownerId, (await t.http().get(`/leads/${next}`)).body.ownerId]).toEqual(['retry-1', 'retry-2']);
  });

  it('changing the rules changes only later captures', async () => {
    await putRules([{ name: 'Phone v1', when: { source: 'Phone' }, ownerIds: ['old-owner'] }]);
    const earlier = (await capture({ source: 'Phone' })).body.id;
    const rules = await putRules([{ name: 'Phone v2', when: { source: 'Phone' }, ownerIds: ['new-owner'] }]);
    expect(rules.status).toBe(200);
    const later = (await capture({ source: 'Phone' })).body.id;
    expect((await t.http().get(`/leads/${earlier}`)).body.ownerId).toBe('old-owner');
    expect((await t.http().get(`/leads/${later}`)).body.ownerId).toBe('new-owner');
    const current = await t.http().get('/assignment-rules');
    expect(current.body).toEqual({ rules: [{ name: 'Phone v2', when: { source: 'Phone' }, ownerIds: ['new-owner'] }], revision: rules.body.revision, changedAt: expect.any(String) });
    expect(current.headers.etag).toBe(`"${rules.body.revision}"`);
  });

  it('PUT /assignment-rules follows the conventions: If-Match (412), Idempotency-Key (replay), the same rules again append nothing', async () => {
    const current = (await t.http().get('/assignment-rules')).body;
    const rules = [{ name: 'Ads', when: { source: 'Advertisement' }, ownerIds: ['ads-1'] }];
    expect((await t.http().put('/assignment-rules').set('If-Match', `"${current.revision + 5}"`).send({ rules })).status).toBe(412);
    const first = await t.http().put('/assignment-rules').set('Idempotency-Key', 'rules-ads').send({ rules });
    expect(first.status).toBe(200);
    const head = await t.store.headPosition();
    const replay = await t.http().put('/assignment-rules').set('Idempotency-Key', 'rules-ads').send({ rules });
    expect(replay.body).toEqual(first.body);
    const same = await putRules(rules);
    expect(same.body.revision).toBe(first.body.revision);
    expect(await t.store.headPosition()).toBe(head);
  });

  describe('scoring', () => {
    const model = {
      fit: [
        { field: 'industry', equals: 'Software', points: 20 },
        { field: 'country', in: ['DE', 'AT'], points: 10 },
        { field: 'numberOfEmployees', min: 500, points: 15 },
      ],
      engagement: { PricingPageVisit: 10, WebVisit: 1 },
      mqlThreshold: 40,
    };
    const scoreOf = async (id: string) => {
      const { score, scoreBreakdown, isMql, mqlAt } = (await t.http().get(`/leads/${id}`)).body;
      return { score, scoreBreakdown, isMql, mqlAt };
    };
    const engage = (id: string, kind: string, occurredAt?: string) => t.http().post(`/leads/${id}/engagements`).send({ kind, ...(occurredAt && { occurredAt }) });

    it('scores fit from the fields now and engagement from LeadEngaged; crossing the threshold sets mqlAt once', async () => {
      expect((await putModel(model)).status).toBe(200);
      const id = (await capture({ industry: 'Software', country: 'AT', numberOfEmployees: 120, occurredAt: '2026-06-01T08:00:00.000Z' })).body.id;
      expect(await scoreOf(id)).toEqual({
        score: 30,
        scoreBreakdown: [
          { reason: 'industry is Software', points: 20 },
          { reason: 'country is one of DE, AT', points: 10 },
        ],
        isMql: false,
        mqlAt: undefined,
      });
      const engaged = await engage(id, 'WebVisit', '2026-06-02T08:00:00.000Z');
      expect(engaged.status).toBe(200);
      expect(engaged.body).toMatchObject({ id, revision: 1 });
      expect((await scoreOf(id)).score).toBe(31);
      await engage(id, 'PricingPageVisit', '2026-06-03T08:00:00.000Z');
      expect(await scoreOf(id)).toMatchObject({ score: 41, isMql: true, mqlAt: '2026-06-03T08:00:00.000Z' });

      // Fields now: a change of industry takes its points away; the lead stays an MQL from its first crossing.
      await t.http().patch(`/leads/${id}`).send({ industry: 'Mining', occurredAt: '2026-06-04T08:00:00.000Z' });
      expect(await scoreOf(id)).toMatchObject({ score: 21, isMql: true, mqlAt: '2026-06-03T08:00:00.000Z' });
      await engage(id, 'PricingPageVisit', '2026-06-05T08:00:00.000Z');
      await engage(id, 'PricingPageVisit', '2026-06-06T08:00:00.000Z');
      expect(await scoreOf(id)).toMatchObject({ score: 41, mqlAt: '2026-06-03T08:00:00.000Z' });
    });

    it('a new model re-scores every lead; a lead it lifts over the threshold becomes an MQL at the model change; mqlAt keeps its first value', async () => {
      await putModel(model);
      const big = (await capture({ numberOfEmployees: 900, country: 'DE' })).body.id; // 25
      const small = (await capture({ numberOfEmployees: 10 })).body.id; // 0
      const hot = (await capture({ industry: 'Software', country: 'DE', occurredAt: '2026-07-01T08:00:00.000Z' })).body.id; // 30
      await engage(hot, 'PricingPageVisit', '2026-07-02T08:00:00.000Z'); // 40: MQL
      expect((await scoreOf(hot)).mqlAt).toBe('2026-07-02T08:00:00.000Z');

      const changed = await putModel({ ...model, fit: [{ field: 'numberOfEmployees', min: 500, points: 50 }] });
      expect(changed.status).toBe(200);
      const { changedAt } = (await t.http().get('/scoring-model')).body;
      expect(await scoreOf(big)).toEqual({ score: 50, scoreBreakdown: [{ reason: 'numberOfEmployees is at least 500', points: 50 }], isMql: true, mqlAt: changedAt });
      expect(await scoreOf(small)).toMatchObject({ score: 0, isMql: false });
      expect(await scoreOf(hot)).toEqual({ score: 10, scoreBreakdown: [{ reason: 'PricingPageVisit × 1', points: 10 }], isMql: true, mqlAt: '2026-07-02T08:00:00.000Z' });

      // The scores are a projection of the log: rebuilt from the first event, they come out the same, mqlAt included.
      const before = await Promise.all([big, small, hot].map(scoreOf));
      const versionBefore = (await t.http().get('/projections')).body.find((p: { name: string }) => p.name === 'lead-scores').version;
      expect((await t.http().post('/projections/lead-scores/rebuild')).status).toBe(202);
      let scores: { version: number; status: string } | undefined;
      const swapped = () => scores !== undefined && scores.version === versionBefore + 1 && scores.status === 'live';
      for (let i = 0; i < 200 && !swapped(); i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        scores = (await t.http().get('/projections')).body.find((p: { name: string }) => p.name === 'lead-scores');
      }
      expect(scores).toMatchObject({ version: versionBefore + 1, status: 'live' });
      expect(await Promise.all([big, small, hot].map(scoreOf))).toEqual(before);
    });

    it("GET /leads?sort=score&minScore= is a rep's call list: highest first, then newest; minScore alone keeps newest first", async () => {
      await putModel({ fit: [{ field: 'productInterest', equals: 'CallList', points: 5 }], engagement: { FormFill: 7 }, mqlThreshold: 1000 });
      const owner = `caller-${Math.random()}`;
      const a = (await capture({ productInterest: 'CallList', ownerId: owner })).body.id; // 5 + 14 = 19
      const b = (await capture({ productInterest: 'CallList', ownerId: owner })).body.id; // 5
      const c = (await capture({ ownerId: owner })).body.id; // 14
      const d = (await capture({ ownerId: owner })).body.id; // 0
      const e = (await capture({ productInterest: 'CallList', ownerId: owner })).body.id; // 5, newer than b
      for (const id of [a, a, c, c]) await engage(id, 'FormFill');
      const list = async (query: string) => {
        const res = await t.http().get(`/leads?ownerId=${owner}&${query}`);
        expect(res.status).toBe(200);
        return { ids: res.body.items.map((l: { id: string }) => l.id), scores: res.body.items.map((l: { score: number }) => l.score), nextCursor: res.body.nextCursor };
      };
      expect(await list('sort=score')).toEqual({ ids: [a, c, e, b, d], scores: [19, 14, 5, 5, 0], nextCursor: null });
      expect(await list('sort=score&minScore=14')).toEqual({ ids: [a, c], scores: [19, 14], nextCursor: null });
      expect(await list('minScore=5')).toEqual({ ids: [e, c, b, a], scores: [5, 14, 5, 19], nextCursor: null });
      expect(await list('')).toEqual({ ids: [e, d, c, b, a], scores: [5, 0, 14, 5, 19], nextCursor: null });

      const pages: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { ids: string[]; nextCursor: string | null } = await list(`sort=score&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        pages.push(page.ids.join(','));
        cursor = page.nextCursor;
      } while (cursor);
      expect(pages).toEqual([`${a},${c}`, `${e},${b}`, d]);
      const minPage = await list('minScore=5&limit=3');
      expect(minPage.ids).toEqual([e, c, b]);
      expect((await list(`minScore=5&limit=3&cursor=${minPage.nextCursor}`)).ids).toEqual([a]);
    });

    it('PUT /scoring-model and GET: the model with its revision', async () => {
      const put = await putModel({ fit: [], engagement: { WebinarAttended: 25 }, mqlThreshold: 50 });
      const got = await t.http().get('/scoring-model');
      expect(got.body).toEqual({ fit: [], engagement: { WebinarAttended: 25 }, mqlThreshold: 50, revision: put.body.revision, changedAt: expect.any(String) });
    });

    it('an engagement on a converted or unknown lead is refused (409, 404), appending nothing', async () => {
      const id = (await capture({})).body.id;
      await t.http().post(`/leads/${id}/qualify`).send({});
      expect((await t.http().post(`/leads/${id}/convert`).send({})).status).toBe(200);
      const before = await t.store.headPosition();
      const refused = await engage(id, 'WebVisit');
      expect(refused.status).toBe(409);
      expect(refused.headers['content-type']).toMatch(PROBLEM_JSON);
      expect((await engage('00000000-0000-4000-8000-000000000000', 'WebVisit')).status).toBe(404);
      expect(await t.store.headPosition()).toBe(before);
    });
  });

  describe('bad input: 4xx problem+json naming the field, nothing appended', () => {
    const rule = { name: 'R', when: {}, ownerIds: ['o'] };
    const okModel = { fit: [], engagement: {}, mqlThreshold: 10 };
    const cases: [string, string, object, string][] = [
      ['PUT', '/assignment-rules', {}, 'rules'],
      ['PUT', '/assignment-rules', { rules: [{ ...rule, name: '' }] }, 'rules.0.name'],
      ['PUT', '/assignment-rules', { rules: [{ ...rule, ownerIds: [] }] }, 'rules.0.ownerIds'],
      ['PUT', '/assignment-rules', { rules: [{ ...rule, ownerIds: ['a', 'a'] }] }, 'rules.0.ownerIds'],
      ['PUT', '/assignment-rules', { rules: [{ ...rule, when: { country: 'de' } }] }, 'rules.0.when.country'],
      ['PUT', '/assignment-rules', { rules: [{ ...rule, when: { source: 'Radio' } }] }, 'rules.0.when.source'],
      ['PUT', '/assignment-rules', { rules: [{ ...rule, when: { region: 'EMEA' } }] }, 'rules.0.when.region'],
      ['PUT', '/assignment-rules', { rules: [{ name: 'R', ownerIds: ['o'] }] }, 'rules.0.when'],
      ['PUT', '/assignment-rules', { rules: [rule, rule] }, 'rules.1.name'],
      ['PUT', '/scoring-model', { ...okModel, mqlThreshold: 1.5 }, 'mqlThreshold'],
      ['PUT', '/scoring-model', { fit: [], mqlThreshold: 10 }, 'engagement'],
      ['PUT', '/scoring-model', { ...okModel, engagement: { Tweet: 3 } }, 'engagement.Tweet'],
      ['PUT', '/scoring-model', { ...okModel, fit: [{ field: 'shoeSize', equals: 3, points: 1 }] }, 'fit.0.field'],
      ['PUT', '/scoring-model', { ...okModel, fit: [{ field: 'industry', points: 1 }] }, 'fit.0'],
      ['PUT', '/scoring-model', { ...okModel, fit: [{ field: 'industry', equals: 'A', min: 3, points: 1 }] }, 'fit.0'],
      ['PUT', '/scoring-model', { ...okModel, fit: [{ field: 'industry', min: 3, points: 1 }] }, 'fit.0.min'],
      ['PUT', '/scoring-model', { ...okModel, fit: [{ field: 'annualRevenue', equals: 'lots', points: 1 }] }, 'fit.0.equals'],
      ['PUT', '/scoring-model', { ...okModel, fit: [{ field: 'industry', equals: 'A', points: 'many' }] }, 'fit.0.points'],
      ['POST', '/leads/:id/engagements', { kind: 'Tweet' }, 'kind'],
      ['POST', '/leads/:id/engagements', {}, 'kind'],
      ['POST', '/leads', { lastName: 'X', company: 'Y', country: 'Germany' }, 'country'],
      ['POST', '/leads', { lastName: 'X', company: 'Y', country: 'XX' }, 'country'],
      ['POST', '/leads', { lastName: 'X', company: 'Y', productInterest: 'p'.repeat(101) }, 'productInterest'],
      ['PATCH', '/leads/:id', { country: 'Deutschland' }, 'country'],
      ['PATCH', '/leads/:id', { productInterest: ' ' }, 'productInterest'],
      ['GET', '/leads?sort=name', {}, 'sort'],
      ['GET', '/leads?minScore=lots', {}, 'minScore'],
      ['GET', '/leads?country=de', {}, 'country'],
    ];
    it.each(cases)('%s %s %j names %s', async (method, route, body, field) => {
      const leadId = (await capture({})).body.id;
      const path = route.replace(':id', leadId);
      const before = await t.store.headPosition();
      const send = { GET: () => t.http().get(path), PUT: () => t.http().put(path).send(body), PATCH: () => t.http().patch(path).send(body), POST: () => t.http().post(path).send(body) };
      const res = await send[method as keyof typeof send]();
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(fieldsOf(res.body)).toContain(field);
      expect(await t.store.headPosition()).toBe(before);
    });
  });
});
