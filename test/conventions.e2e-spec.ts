import { asActor, fieldsOf, PROBLEM_JSON, useTestApp } from './support/test-app';

const UNKNOWN = '3f1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f60';

/** API.md's conventions: bad input, If-Match, Idempotency-Key, business time, actor and metadata. */
describe('API conventions over HTTP', () => {
  const t = useTestApp();

  const capture = (body: object = { lastName: 'Hopper', company: 'Navy' }, headers: Record<string, string> = {}) =>
    t.http().post('/leads').set(headers).send(body);
  const historyLength = async (id: string) => (await t.http().get(`/leads/${id}/history`)).body.length;

  describe('bad input: a clear 4xx problem naming the field, and nothing appended', () => {
    const valid = { lastName: 'Hopper', company: 'Navy' };
    const future = new Date(Date.now() + 3_600_000).toISOString();
    it.each([
      ['an unknown field', { ...valid, favouriteColour: 'blue' }, 'favouriteColour'],
      ['a missing lastName', { company: 'Navy' }, 'lastName'],
      ['a blank company', { lastName: 'Hopper', company: '   ' }, 'company'],
      ['a number for a name', { lastName: 42, company: 'Navy' }, 'lastName'],
      ['a name over 255 characters', { ...valid, firstName: 'x'.repeat(256) }, 'firstName'],
      ['a description over 32,000 characters', { ...valid, description: 'x'.repeat(32001) }, 'description'],
      ['an invalid email', { ...valid, email: 'not-an-email' }, 'email'],
      ['a negative annualRevenue', { ...valid, annualRevenue: -1 }, 'annualRevenue'],
      ['an annualRevenue with 3 decimals', { ...valid, annualRevenue: 1.234 }, 'annualRevenue'],
      ['a string for annualRevenue', { ...valid, annualRevenue: '1000' }, 'annualRevenue'],
      ['a fractional numberOfEmployees', { ...valid, numberOfEmployees: 2.5 }, 'numberOfEmployees'],
      ['an unknown source', { ...valid, source: 'Carrier Pigeon' }, 'source'],
      ['an unknown rating', { ...valid, rating: 'Lukewarm' }, 'rating'],
      ['an empty ownerId', { ...valid, ownerId: '' }, 'ownerId'],
      ['an ownerId over 100 characters', { ...valid, ownerId: 'o'.repeat(101) }, 'ownerId'],
      ['a future occurredAt', { ...valid, occurredAt: future }, 'occurredAt'],
      ['an occurredAt that is not a timestamp', { ...valid, occurredAt: 'yesterday' }, 'occurredAt'],
    ])('capture with %s: 400', async (_label, body, field) => {
      const head = await t.store.headPosition();
      const res = await capture(body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(res.body).toMatchObject({ type: '/problems/validation-error', status: 400, title: expect.any(String), detail: expect.any(String) });
      expect(fieldsOf(res.body)).toContain(field);
      expect(await t.store.headPosition()).toBe(head);
    });

    it.each([
      ['malformed JSON', 'application/json', '{"lastName": "Hopper",', 400],
      ['a JSON array', 'application/json', '[1,2]', 400],
      ['a JSON string', 'application/json', '"hello"', 400],
      ['JSON null', 'application/json', 'null', 400],
      ['an empty JSON body', 'application/json', '', 400],
      ['text/plain', 'text/plain', 'lastName=Hopper', 415],
      ['a form', 'application/x-www-form-urlencoded', 'lastName=Hopper&company=Navy', 415],
      ['a body over 1 MiB', 'application/json', JSON.stringify({ lastName: 'H', company: 'N', description: 'x'.repeat(1024 * 1024) }), 413],
      ['a prototype-poisoning body', 'application/json', '{"lastName":"H","company":"N","__proto__":{"admin":true}}', 400],
    ])('capture with %s: %i problem naming the body', async (_label, type, raw, status) => {
      const head = await t.store.headPosition();
      const res = await t.http().post('/leads').set('content-type', type).send(raw);
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(res.body).toMatchObject({ status, type: expect.stringMatching(/^\/problems\//), detail: expect.any(String) });
      expect(fieldsOf(res.body)).toContain('body');
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.(js|ts):\d+/);
      expect(await t.store.headPosition()).toBe(head);
    });

    it('accepts application/*+json bodies as JSON', async () => {
      const res = await t.http().post('/leads').set('content-type', 'application/merge-patch+json').send(JSON.stringify({ lastName: 'H', company: 'N' }));
      expect(res.status).toBe(201);
    });

    it.each([
      ['work', { status: 'Converted' }, 'status'],
      ['work', {}, 'status'],
      ['assign', {}, 'ownerId'],
      ['disqualify', {}, 'reason'],
      ['disqualify', { reason: '' }, 'reason'],
      ['qualify', { budget: 12 }, 'budget'],
      ['qualify', { note: 'n'.repeat(32001) }, 'note'],
      ['reopen', { because: 'why not' }, 'because'],
    ])('%s with %j: 400 naming %s, nothing appended', async (action, body, field) => {
      const { id } = (await capture()).body;
      const res = await t.http().post(`/leads/${id}/${action}`).send(body);
      expect(res.status).toBe(400);
      expect(fieldsOf(res.body)).toContain(field);
      expect(await historyLength(id)).toBe(1);
    });

    it.each([
      [{ lastName: null }, 'lastName'],
      [{ company: '' }, 'company'],
      [{ source: null }, 'source'],
      [{ status: 'Qualified' }, 'status'],
      [{ email: 'nope' }, 'email'],
    ])('PATCH with %j: 400 naming %s', async (body, field) => {
      const { id } = (await capture()).body;
      const res = await t.http().patch(`/leads/${id}`).send(body);
      expect(res.status).toBe(400);
      expect(fieldsOf(res.body)).toContain(field);
      expect(await historyLength(id)).toBe(1);
    });

    it('never answers 500 to junk, whatever the route', async () => {
      const { id } = (await capture()).body;
      const junk = ['{}', '[]', 'null', '0', '"x"', '{"a":{"b":[1,{"c":null}]}}', '{"lastName":{"$gt":""}}', '{"occurredAt":1e400}', '{"annualRevenue":1e400}', '\u0000'];
      const routes: [string, string][] = [
        ['post', '/leads'],
        ['patch', `/leads/${id}`],
        ['post', `/leads/${id}/assign`],
        ['post', `/leads/${id}/work`],
        ['post', `/leads/${id}/qualify`],
        ['post', `/leads/${id}/disqualify`],
        ['post', `/leads/${id}/reopen`],
        ['post', `/leads/${UNKNOWN}/qualify`],
      ];
      for (const [method, path] of routes) {
        for (const raw of junk) {
          const res = await t.http()[method as 'post' | 'patch'](path).set('content-type', 'application/json').send(raw);
          expect({ method, path, raw, status: res.status < 500 }).toEqual({ method, path, raw, status: true });
          expect(res.headers['content-type']).toMatch(res.status >= 400 ? PROBLEM_JSON : /json/);
        }
      }
    });
  });

  describe('If-Match', () => {
    it('applies a command whose If-Match names the current revision', async () => {
      const { id } = (await capture()).body;
      const res = await t.http().post(`/leads/${id}/work`).set('If-Match', '"0"').send({ status: 'Working' });
      expect(res.status).toBe(200);
      expect(res.headers.etag).toBe('"1"');
    });

    it('refuses a stale If-Match with 412 and appends nothing', async () => {
      const { id } = (await capture()).body;
      await t.http().post(`/leads/${id}/work`).send({ status: 'Working' }).expect(200);
      const res = await t.http().post(`/leads/${id}/qualify`).set('If-Match', '"0"').send({});
      expect(res.status).toBe(412);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(res.body).toMatchObject({ status: 412, currentRevision: 1 });
      expect(fieldsOf(res.body)).toContain('If-Match');
      expect(await historyLength(id)).toBe(2);
    });

    it('refuses a malformed If-Match with 400', async () => {
      const { id } = (await capture()).body;
      const res = await t.http().post(`/leads/${id}/qualify`).set('If-Match', 'yesterday').send({});
      expect(res.status).toBe(400);
      expect(fieldsOf(res.body)).toContain('If-Match');
    });

    it('lets only one of two writers holding the same ETag through', async () => {
      const { id } = (await capture()).body;
      const [a, b] = await Promise.all([
        t.http().patch(`/leads/${id}`).set('If-Match', '"0"').send({ title: 'A' }),
        t.http().patch(`/leads/${id}`).set('If-Match', '"0"').send({ title: 'B' }),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 412]);
      expect(await historyLength(id)).toBe(2);
    });
  });

  describe('Idempotency-Key', () => {
    it('answers a repeated capture with the first response and appends nothing', async () => {
      const headers = { 'Idempotency-Key': 'import-row-17' };
      const first = await capture({ lastName: 'Hopper', company: 'Navy' }, headers);
      const head = await t.store.headPosition();
      const again = await capture({ company: 'Navy', lastName: 'Hopper' }, headers);
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(await t.store.headPosition()).toBe(head);
    });

    it('answers a repeated command with the first response even after the record moved on', async () => {
      const { id } = (await capture()).body;
      const send = () => t.http().post(`/leads/${id}/qualify`).set('Idempotency-Key', 'q-1').send({ budget: '10k' });
      const first = await send();
      await t.http().post(`/leads/${id}/assign`).send({ ownerId: 'rep-9' }).expect(200);
      const again = await send();
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(await historyLength(id)).toBe(3);
    });

    it('answers 422 when the same key comes with a different body, appending nothing', async () => {
      const headers = { 'Idempotency-Key': 'import-row-18' };
      await capture({ lastName: 'Hopper', company: 'Navy' }, headers).expect(201);
      const head = await t.store.headPosition();
      const res = await capture({ lastName: 'Hopper', company: 'Army' }, headers);
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(fieldsOf(res.body)).toContain('Idempotency-Key');
      expect(await t.store.headPosition()).toBe(head);
    });

    it('answers 422 when the same key comes for another route', async () => {
      const a = (await capture()).body.id;
      const b = (await capture()).body.id;
      await t.http().post(`/leads/${a}/qualify`).set('Idempotency-Key', 'k-route').send({}).expect(200);
      const res = await t.http().post(`/leads/${b}/qualify`).set('Idempotency-Key', 'k-route').send({});
      expect(res.status).toBe(422);
      expect(await historyLength(b)).toBe(1);
    });

    it('keeps keys of different actors apart', async () => {
      const a = await capture({ lastName: 'A', company: 'A' }, { 'Idempotency-Key': 'same', ...asActor('importer-a') });
      const b = await capture({ lastName: 'A', company: 'A' }, { 'Idempotency-Key': 'same', ...asActor('importer-b') });
      expect(a.status).toBe(201);
      expect(b.status).toBe(201);
      expect(b.body.id).not.toBe(a.body.id);
    });

    it('refuses a key over 200 characters with 400', async () => {
      const res = await capture(undefined, { 'Idempotency-Key': 'k'.repeat(201) });
      expect(res.status).toBe(400);
      expect(fieldsOf(res.body)).toContain('Idempotency-Key');
    });

    it('gives one lead to 10 parallel captures with the same key', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, () => capture({ lastName: 'P', company: 'Q' }, { 'Idempotency-Key': 'burst' })));
      expect(new Set(results.map((r) => r.status))).toEqual(new Set([201]));
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      expect(await historyLength(results[0].body.id)).toBe(1);
    });
  });

  describe('business time, actor and metadata', () => {
    it('stores a back-filled occurredAt beside the recorded time, with actor, correlation and causation', async () => {
      const res = await capture({ lastName: 'Old', company: 'Import', occurredAt: '2025-03-01T09:30:00+01:00' }, { ...asActor('importer'), 'X-Correlation-Id': 'batch-42' });
      const [event] = (await t.http().get(`/leads/${res.body.id}/history`)).body;
      expect(event).toMatchObject({
        revision: 0,
        position: res.body.position,
        type: 'LeadCaptured',
        metadata: { actorId: 'importer', occurredAt: '2025-03-01T08:30:00.000Z', correlationId: 'batch-42', causationId: expect.any(String) },
      });
      expect(Date.now() - Date.parse(event.metadata.recordedAt)).toBeLessThan(60_000);
      expect((await t.http().get(`/leads/${res.body.id}`)).body.capturedAt).toBe('2025-03-01T08:30:00.000Z');
    });

    it('refuses an occurredAt earlier than the record\'s last event with 409 naming occurredAt', async () => {
      const { id } = (await capture({ lastName: 'A', company: 'B', occurredAt: '2025-06-01T00:00:00.000Z' })).body;
      const res = await t.http().post(`/leads/${id}/qualify`).send({ occurredAt: '2025-05-01T00:00:00.000Z' });
      expect(res.status).toBe(409);
      expect(fieldsOf(res.body)).toContain('occurredAt');
      expect(await historyLength(id)).toBe(1);
    });
  });
});
