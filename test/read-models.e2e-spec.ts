import { Projector } from '@crm/read-models';
import request from 'supertest';
import { asActor, fieldsOf, PROBLEM_JSON, useTestApp } from './support/test-app';

/** Reading: lists, read-your-writes, duplicate checks from the read models, and projection operations. */
describe('Read models over HTTP', () => {
  const t = useTestApp();

  const capture = async (fields: object, query = '') => (await t.http().post(`/leads${query}`).send({ lastName: 'L', company: 'C', ...fields }).expect(201)).body.id as string;
  /** Every page of a list, following nextCursor. */
  async function all(path: string, query: Record<string, string>, limit = 3): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await t.http().get(path).query({ ...query, limit: String(limit), ...(cursor && { cursor }) });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(limit);
      ids.push(...res.body.items.map((item: { id: string }) => item.id));
      cursor = res.body.nextCursor ?? undefined;
    } while (cursor);
    return ids;
  }

  describe('lists', () => {
    it('lists leads newest first, filtered by status, owner and source, across pages', async () => {
      const owner = `owner-${Date.now()}`;
      const ids: string[] = [];
      for (let n = 0; n < 8; n++) ids.push(await capture({ ownerId: owner, source: n % 2 ? 'Web' : 'Event' }));
      await t.http().post(`/leads/${ids[1]}/qualify`).send({}).expect(200);
      await t.http().post(`/leads/${ids[3]}/qualify`).send({}).expect(200);

      expect(await all('/leads', { ownerId: owner })).toEqual([...ids].reverse());
      expect(await all('/leads', { ownerId: owner, source: 'Web' })).toEqual([ids[7], ids[5], ids[3], ids[1]]);
      expect(await all('/leads', { ownerId: owner, status: 'Qualified' })).toEqual([ids[3], ids[1]]);
      expect(await all('/leads', { ownerId: owner, status: 'Qualified', source: 'Event' })).toEqual([]);
      const page = (await t.http().get('/leads').query({ ownerId: owner, limit: '8' })).body;
      expect(page.nextCursor).toBeNull();
      expect(page.items[0]).toMatchObject({ id: ids[7], revision: 0, status: 'New', ownerId: owner });
      expect(Object.keys(page.items[0]).some((key) => key.startsWith('_'))).toBe(false);
    });

    it('lists accounts by owner and parent, contacts by account, opportunities by account, stage and owner', async () => {
      const owner = `am-${Date.now()}`;
      const parent = (await t.http().post('/accounts').send({ name: 'Parent Co', ownerId: owner }).expect(201)).body.id;
      const child = (await t.http().post('/accounts').send({ name: 'Child Co', ownerId: owner, parentId: parent }).expect(201)).body.id;
      expect(await all('/accounts', { ownerId: owner })).toEqual([child, parent]);
      expect(await all('/accounts', { parentId: parent })).toEqual([child]);

      const contacts = [];
      for (const lastName of ['A', 'B', 'C']) contacts.push((await t.http().post('/contacts').send({ accountId: child, lastName }).expect(201)).body.id);
      expect(await all('/contacts', { accountId: child }, 2)).toEqual([...contacts].reverse());

      const open = (stage: string, ownerId: string) => t.http().post('/opportunities').send({ accountId: child, name: stage, closeDate: '2026-12-01', stage, ownerId }).expect(201);
      const a = (await open('Prospecting', owner)).body.id;
      const b = (await open('Negotiation/Review', owner)).body.id;
      const c = (await open('Prospecting', 'someone-else')).body.id;
      expect(await all('/opportunities', { accountId: child })).toEqual([c, b, a]);
      expect(await all('/opportunities', { accountId: child, stage: 'Prospecting' })).toEqual([c, a]);
      expect(await all('/opportunities', { accountId: child, stage: 'Prospecting', ownerId: owner })).toEqual([a]);
      await t.http().post(`/opportunities/${b}/close`).send({ won: true }).expect(200);
      expect(await all('/opportunities', { accountId: child, stage: 'Closed Won' })).toEqual([b]);
    });

    it.each([
      ['/leads', { limit: '0' }, 'limit'],
      ['/leads', { limit: '201' }, 'limit'],
      ['/leads', { limit: 'ten' }, 'limit'],
      ['/leads', { status: 'Lost' }, 'status'],
      ['/leads', { colour: 'red' }, 'colour'],
      ['/leads', { cursor: 'not-a-cursor' }, 'cursor'],
      ['/opportunities', { stage: 'Won' }, 'stage'],
      ['/contacts', { accountId: 'abc' }, 'accountId'],
      ['/leads', { minPosition: '-5' }, 'minPosition'],
    ])('refuses GET %s?%j with 400 naming %s', async (path, query, field) => {
      const res = await t.http().get(path).query(query);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(fieldsOf(res.body)).toContain(field);
    });
  });

  describe('read-your-writes (minPosition)', () => {
    it('answers a query with minPosition only once the read models have the write', async () => {
      const raw = request.agent(t.app.getHttpServer()).set(asActor('e2e'));
      const { id, position } = (await raw.post('/leads').send({ lastName: 'Fresh', company: 'Now' }).expect(201)).body;
      const res = await raw.get(`/leads/${id}`).query({ minPosition: position });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id, lastName: 'Fresh', revision: 0 });
      const after = await raw.post(`/leads/${id}/qualify`).send({}).expect(200);
      expect((await raw.get('/leads').query({ minPosition: after.body.position, status: 'Qualified', limit: '200' })).body.items.map((i: { id: string }) => i.id)).toContain(id);
    });

    it('answers 503 with Retry-After when the read models do not get there within 5 s', async () => {
      const projector = t.app.get(Projector);
      await projector.stop();
      try {
        const raw = request.agent(t.app.getHttpServer()).set(asActor('e2e'));
        const { id, position } = (await raw.post('/leads').send({ lastName: 'Late', company: 'Later' }).expect(201)).body;
        const res = await raw.get(`/leads/${id}`).query({ minPosition: position });
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBe('1');
        expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      } finally {
        projector.start();
      }
    }, 15_000);
  });

  describe('duplicate checks', () => {
    it('refuses a capture whose email matches an open lead (case-insensitive), naming the duplicates', async () => {
      const first = await capture({ email: 'grace@navy.example' });
      const head = await t.store.headPosition();
      const res = await t.http().post('/leads').send({ lastName: 'Hopper', company: 'Navy', email: '  GRACE@Navy.Example ' });
      expect(res.status).toBe(400); // not an email with spaces: validation comes first
      const dup = await t.http().post('/leads').send({ lastName: 'Hopper', company: 'Navy', email: 'GRACE@Navy.Example' });
      expect(dup.status).toBe(409);
      expect(dup.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(dup.body).toMatchObject({ type: '/problems/duplicate-lead', duplicates: [first] });
      expect(fieldsOf(dup.body)).toContain('email');
      expect(await t.store.headPosition()).toBe(head);
      expect(await capture({ email: 'grace@navy.example' }, '?allowDuplicate=true')).toEqual(expect.any(String));
    });

    it.each([
      ['converted', async (id: string) => {
        await t.http().post(`/leads/${id}/qualify`).send({}).expect(200);
        await t.http().post(`/leads/${id}/convert`).send({ allowDuplicateAccount: true }).expect(200);
      }],
      // The survivor has an email of its own, so it does not take the duplicate's.
      ['merged', async (id: string) => void (await t.http().post(`/leads/${await capture({ email: `survivor-${id}@example.com` })}/merge`).send({ duplicateIds: [id] }).expect(200))],
    ])('lets a capture reuse the email of a %s lead', async (_label, close) => {
      const email = `reuse-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
      await close(await capture({ email }));
      expect((await t.http().post('/leads').send({ lastName: 'Again', company: 'C', email })).status).toBe(201);
    });

    it('keeps refusing the email of a disqualified lead: it is still open (API.md v2: open is neither Converted nor Merged)', async () => {
      const email = `disqualified-${Date.now()}@example.com`;
      const id = await capture({ email });
      await t.http().post(`/leads/${id}/disqualify`).send({ reason: 'x' }).expect(200);
      const res = await t.http().post('/leads').send({ lastName: 'Again', company: 'C', email });
      expect(res.status).toBe(409);
      expect(res.body.duplicates).toEqual([id]);
    });

    it('refuses a conversion that would open a second account of the same name, naming the duplicates', async () => {
      const existing = (await t.http().post('/accounts').send({ name: '  Umbrella Corp ' }).expect(201)).body.id;
      const lead = await capture({ company: 'umbrella corp' });
      await t.http().post(`/leads/${lead}/qualify`).send({}).expect(200);
      const head = await t.store.headPosition();
      const res = await t.http().post(`/leads/${lead}/convert`).send({});
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ type: '/problems/duplicate-account', duplicates: [existing] });
      expect(await t.store.headPosition()).toBe(head);
      expect((await t.http().post(`/leads/${lead}/convert`).send({ allowDuplicateAccount: true })).status).toBe(200);
    });

    it('converts into the named account without a duplicate check', async () => {
      const existing = (await t.http().post('/accounts').send({ name: 'Initech' }).expect(201)).body.id;
      const lead = await capture({ company: 'Initech' });
      await t.http().post(`/leads/${lead}/qualify`).send({}).expect(200);
      expect((await t.http().post(`/leads/${lead}/convert`).send({ accountId: existing })).body.accountId).toBe(existing);
    });
  });

  describe('operations', () => {
    it('reports every read model with its position, lag and status', async () => {
      await capture({});
      const head = String(await t.store.headPosition());
      const res = await t.http().get('/projections');
      expect(res.status).toBe(200);
      expect(res.body.map((p: { name: string }) => p.name).sort()).toEqual(['accounts', 'activities', 'campaigns', 'contacts', 'lead-reports', 'lead-scores', 'leads', 'opportunities', 'opportunity-history', 'opportunity-reports', 'tasks']);
      for (const projection of res.body) expect(projection).toMatchObject({ position: head, lag: 0, status: 'live' });
    });

    it('rebuilds a read model from the first event while the old one serves, then swaps to an equal one', async () => {
      const owner = `rebuild-${Date.now()}`;
      for (let n = 0; n < 5; n++) await capture({ ownerId: owner });
      const before = (await t.http().get('/leads').query({ limit: '200' })).body.items;
      const res = await t.http().post('/projections/leads/rebuild');
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ name: 'leads', status: 'rebuilding' });
      const served = await t.http().get('/leads').query({ ownerId: owner });
      expect(served.status).toBe(200);
      let leads: { version: number; status: string } | undefined;
      for (let i = 0; i < 200; i++) {
        leads = (await t.http().get('/projections')).body.find((p: { name: string }) => p.name === 'leads');
        if (leads?.version === 2 && leads.status === 'live') break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(leads).toMatchObject({ version: 2, status: 'live', lag: 0 });
      expect((await t.http().get('/leads').query({ limit: '200' })).body.items).toEqual(before);
    });

    it('answers 404 for a read model that does not exist', async () => {
      const res = await t.http().post('/projections/nope/rebuild');
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    });

    it('answers /health with 200 when both stores answer', async () => {
      const res = await t.http().get('/health');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', info: { eventStore: { status: 'up' }, readStore: { status: 'up' } } });
    });
  });
});
