import { PROBLEM_JSON, useTestApp } from './support/test-app';

/** A service's story over HTTP: capture a lead, work it, qualify it, and read it back. */
describe('Leads over HTTP', () => {
  const t = useTestApp();

  const capture = (body: object = { lastName: 'Lovelace', company: 'Analytical Engines' }) => t.http().post('/leads').send(body);

  it('captures a lead: 201, { id, revision 0, position }, ETag and Location', async () => {
    const res = await capture({ lastName: 'Lovelace', company: 'Analytical Engines', email: 'ada@example.com', annualRevenue: 1200.5, numberOfEmployees: 12, rating: 'Hot' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), revision: 0, position: expect.stringMatching(/^\d+$/) });
    expect(res.headers.etag).toBe('"0"');
    expect(res.headers.location).toBe(`/leads/${res.body.id}`);

    const lead = await t.http().get(`/leads/${res.body.id}`);
    expect(lead.status).toBe(200);
    expect(lead.headers.etag).toBe('"0"');
    expect(lead.body).toMatchObject({
      id: res.body.id,
      revision: 0,
      status: 'New',
      source: 'Other',
      lastName: 'Lovelace',
      company: 'Analytical Engines',
      email: 'ada@example.com',
      annualRevenue: 1200.5,
      numberOfEmployees: 12,
      rating: 'Hot',
      isConverted: false,
    });
  });

  it('works, qualifies, disqualifies, reopens, assigns and edits a lead, one revision per change', async () => {
    const { id } = (await capture()).body;
    const steps: [string, string, object, object][] = [
      ['post', 'work', { status: 'Nurturing' }, { status: 'Nurturing' }],
      ['post', 'work', { status: 'Working' }, { status: 'Working' }],
      ['post', 'qualify', { budget: '50k', authority: 'CFO', need: 'forecasts', timeline: 'Q3', note: 'warm intro' }, { status: 'Qualified', qualification: { budget: '50k', authority: 'CFO' } }],
      ['post', 'disqualify', { reason: 'Budget frozen' }, { status: 'Unqualified', disqualificationReason: 'Budget frozen' }],
      ['post', 'reopen', {}, { status: 'Working' }],
      ['post', 'assign', { ownerId: 'rep-7' }, { ownerId: 'rep-7' }],
      ['patch', '', { title: 'Countess', company: 'Engines Ltd' }, { title: 'Countess', company: 'Engines Ltd' }],
    ];
    let positions: bigint[] = [];
    for (const [index, [method, action, body, expected]] of steps.entries()) {
      const path = action ? `/leads/${id}/${action}` : `/leads/${id}`;
      const res = await (method === 'post' ? t.http().post(path) : t.http().patch(path)).send(body);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect(res.body).toMatchObject({ id, revision: index + 1 });
      expect(res.headers.etag).toBe(`"${index + 1}"`);
      positions = [...positions, BigInt(res.body.position)];
      const lead = await t.http().get(`/leads/${id}`);
      expect(lead.body).toMatchObject({ ...expected, revision: index + 1 });
    }
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
  });

  it('answers a reopen without a body (its fields are all optional)', async () => {
    const { id } = (await capture()).body;
    await t.http().post(`/leads/${id}/disqualify`).send({ reason: 'Student' }).expect(200);
    const res = await t.http().post(`/leads/${id}/reopen`);
    expect(res.status).toBe(200);
    expect(res.body.revision).toBe(2);
  });

  it('appends nothing for a command that changes nothing, and answers the current revision', async () => {
    const { id } = (await capture({ lastName: 'A', company: 'B', ownerId: 'rep-1' })).body;
    const same = await t.http().post(`/leads/${id}/assign`).send({ ownerId: 'rep-1' });
    expect(same.status).toBe(200);
    expect(same.body.revision).toBe(0);
    const emptyPatch = await t.http().patch(`/leads/${id}`).send({ company: 'B' });
    expect(emptyPatch.body.revision).toBe(0);
    expect((await t.http().get(`/leads/${id}/history`)).body).toHaveLength(1);
  });

  it('records a PATCH as LeadDetailsChanged with only the changed fields; null clears a field', async () => {
    const { id } = (await capture({ lastName: 'A', company: 'B', phone: '+1 555' })).body;
    await t.http().patch(`/leads/${id}`).send({ lastName: 'A', phone: null, industry: 'Steel' }).expect(200);
    const history = (await t.http().get(`/leads/${id}/history`)).body;
    expect(history[1]).toMatchObject({ type: 'LeadDetailsChanged', data: { leadId: id, changes: { phone: null, industry: 'Steel' } } });
    const lead = (await t.http().get(`/leads/${id}`)).body;
    expect(lead).not.toHaveProperty('phone');
    expect(lead.industry).toBe('Steel');
  });

  it.each([
    ['qualify a Qualified lead', ['qualify'], 'qualify', {}, 'Qualified'],
    ['reopen a New lead', [], 'reopen', {}, 'New'],
    ['work an Unqualified lead', ['disqualify'], 'work', { status: 'Working' }, 'Unqualified'],
    ['disqualify an Unqualified lead', ['disqualify'], 'disqualify', { reason: 'again' }, 'Unqualified'],
    ['work a Qualified lead', ['qualify'], 'work', { status: 'Nurturing' }, 'Qualified'],
  ])('refuses to %s with 409 naming the status, appending nothing', async (_label, before, action, body, status) => {
    const { id } = (await capture()).body;
    for (const step of before) await t.http().post(`/leads/${id}/${step}`).send(step === 'disqualify' ? { reason: 'x' } : {}).expect(200);
    const res = await t.http().post(`/leads/${id}/${action}`).send(body);
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(res.body).toMatchObject({ status: 409, type: '/problems/lead-transition-refused', detail: expect.stringContaining(status) });
    expect((await t.http().get(`/leads/${id}/history`)).body).toHaveLength(1 + before.length);
  });

  it.each([
    ['get', ''],
    ['get', '/history'],
    ['get', '/state'],
    ['patch', ''],
    ['post', '/assign'],
    ['post', '/work'],
    ['post', '/qualify'],
    ['post', '/disqualify'],
    ['post', '/reopen'],
  ])('answers 404 problem+json for an unknown lead: %s /leads/:id%s', async (method, suffix) => {
    const valid: Record<string, object> = { '/assign': { ownerId: 'x' }, '/work': { status: 'Working' }, '/disqualify': { reason: 'x' } };
    for (const id of ['3f1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f60', 'not-a-uuid']) {
      const req = t.http()[method as 'get' | 'post' | 'patch'](`/leads/${id}${suffix}`);
      const res = method === 'get' ? await req : await req.send(valid[suffix] ?? {});
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(res.body).toMatchObject({ status: 404, title: 'Not found', detail: expect.stringContaining(id) });
    }
  });

  it('applies 20 parallel changes of one lead that send no occurredAt, each after the other', async () => {
    const { id } = (await capture()).body;
    const results = await Promise.all(Array.from({ length: 20 }, (_, n) => t.http().post(`/leads/${id}/assign`).send({ ownerId: `rep-${n}` })));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const history = (await t.http().get(`/leads/${id}/history`)).body as { metadata: { occurredAt: string } }[];
    expect(history).toHaveLength(21);
    const times = history.map((e) => Date.parse(e.metadata.occurredAt));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('lets exactly one of 10 parallel qualifications of one lead succeed; the others get 409', async () => {
    const { id } = (await capture()).body;
    const results = await Promise.all(Array.from({ length: 10 }, () => t.http().post(`/leads/${id}/qualify`).send({})));
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(409)]);
    const history = (await t.http().get(`/leads/${id}/history`)).body;
    expect(history.map((e: { type: string }) => e.type)).toEqual(['LeadCaptured', 'LeadQualified']);
  });

  it('serves its OpenAPI description at /docs', async () => {
    const res = await t.http().get('/docs/openapi.json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/leads', '/leads/{id}', '/leads/{id}/history', '/leads/{id}/state', '/leads/{id}/qualify']));
    expect((await t.http().get('/docs')).status).toBe(200);
  });
});
