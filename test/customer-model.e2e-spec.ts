import request from 'supertest';
import { fieldsOf, PROBLEM_JSON, useTestApp } from './support/test-app';

const UNKNOWN = '3f1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f60';

/** API.md's stages and their default probability (%), in pipeline order. */
const STAGES: [string, number][] = [
  ['Prospecting', 10],
  ['Qualification', 10],
  ['Needs Analysis', 20],
  ['Value Proposition', 50],
  ['Id. Decision Makers', 60],
  ['Perception Analysis', 70],
  ['Proposal/Price Quote', 75],
  ['Negotiation/Review', 90],
];

type Method = 'get' | 'post' | 'patch';
type Records = 'accounts' | 'contacts' | 'opportunities';

/**
 * A sales team's story over HTTP: open the accounts of a group, add the people there, open
 * deals on them, walk the deals through the pipeline, name who decides, and close them.
 */
describe('Accounts, contacts and opportunities over HTTP', () => {
  const t = useTestApp();

  // The story opens many accounts of one name, knowingly: the duplicate rule has its own suite (duplicates.e2e-spec.ts).
  const openAccount = (body: object = { name: 'Analytical Engines' }, headers: Record<string, string> = {}) =>
    t.http().post('/accounts?allowDuplicate=true').set(headers).send(body);
  const newAccount = async (body: object = { name: 'Analytical Engines' }): Promise<string> => {
    const res = await openAccount(body);
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const addContact = (body: object, headers: Record<string, string> = {}) => t.http().post('/contacts').set(headers).send(body);
  const newContact = async (accountId: string, body: object = {}): Promise<string> => {
    const res = await addContact({ accountId, lastName: 'Lovelace', ...body });
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const deal = (accountId: string, fields: object = {}) => ({ accountId, name: 'Difference Engine', closeDate: '2026-06-30', stage: 'Prospecting', ...fields });
  const openOpportunity = (body: object, headers: Record<string, string> = {}) => t.http().post('/opportunities').set(headers).send(body);
  const newOpportunity = async (fields: object = {}, accountId?: string): Promise<string> => {
    const res = await openOpportunity(deal(accountId ?? (await newAccount()), fields));
    expect(res.status).toBe(201);
    return res.body.id;
  };
  const history = async (records: Records, id: string) => (await t.http().get(`/${records}/${id}/history`)).body as { type: string; data: Record<string, unknown> }[];
  const historyLength = async (records: Records, id: string) => (await history(records, id)).length;
  const read = async (records: Records, id: string) => (await t.http().get(`/${records}/${id}`)).body;
  const send = (method: Method, path: string, body?: object, headers: Record<string, string> = {}) => {
    const req = t.http()[method](path).set(headers);
    return method === 'get' ? req : req.send(body ?? {});
  };
  /** A refusal: its status, problem+json, and the field it names (when given). */
  const expectProblem = (res: request.Response, status: number, field?: string) => {
    expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { status, type: expect.stringMatching(/^\/problems\//), title: expect.any(String), detail: expect.any(String) } });
    expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    if (field !== undefined) expect(fieldsOf(res.body)).toContain(field);
  };

  describe('accounts', () => {
    it('opens an account: 201, { id, revision 0, position }, ETag and Location; GET shows its fields', async () => {
      const res = await openAccount({ name: 'Analytical Engines', industry: 'Machinery', annualRevenue: 1_250_000.5, numberOfEmployees: 40, ownerId: 'rep-1', type: 'Prospect' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), revision: 0, position: expect.stringMatching(/^\d+$/) });
      expect(res.headers.etag).toBe('"0"');
      expect(res.headers.location).toBe(`/accounts/${res.body.id}`);

      const account = await t.http().get(`/accounts/${res.body.id}`);
      expect(account.status).toBe(200);
      expect(account.headers.etag).toBe('"0"');
      expect(account.body).toMatchObject({
        id: res.body.id,
        revision: 0,
        name: 'Analytical Engines',
        industry: 'Machinery',
        annualRevenue: 1_250_000.5,
        numberOfEmployees: 40,
        ownerId: 'rep-1',
        type: 'Prospect',
      });
      expect(account.body).not.toHaveProperty('parentId');
    });

    it.each(['Prospect', 'Customer', 'Partner', 'Vendor'])('takes the type %s', async (type) => {
      const id = await newAccount({ name: `A ${type}`, type });
      expect(await read('accounts', id)).toMatchObject({ type });
    });

    it('records a PATCH as AccountDetailsChanged with only the differing fields; null clears a field', async () => {
      const id = await newAccount({ name: 'Analytical Engines', industry: 'Machinery', numberOfEmployees: 40, type: 'Prospect' });
      const res = await t.http().patch(`/accounts/${id}`).send({ name: 'Analytical Engines', industry: null, numberOfEmployees: 41, type: 'Customer', ownerId: 'rep-2' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id, revision: 1, position: expect.stringMatching(/^\d+$/) });
      expect(res.headers.etag).toBe('"1"');
      const events = await history('accounts', id);
      expect(events.map((e) => e.type)).toEqual(['AccountOpened', 'AccountDetailsChanged']);
      expect(events[1].data).toEqual({ accountId: id, changes: { industry: null, numberOfEmployees: 41, type: 'Customer', ownerId: 'rep-2' } });
      const account = await read('accounts', id);
      expect(account).toMatchObject({ revision: 1, name: 'Analytical Engines', numberOfEmployees: 41, type: 'Customer', ownerId: 'rep-2' });
      expect(account).not.toHaveProperty('industry');
    });

    it('appends nothing for a PATCH that changes nothing, and answers the current revision', async () => {
      const id = await newAccount({ name: 'Same', type: 'Vendor' });
      const res = await t.http().patch(`/accounts/${id}`).send({ name: 'Same', type: 'Vendor', industry: null });
      expect(res.status).toBe(200);
      expect(res.body.revision).toBe(0);
      expect(await historyLength('accounts', id)).toBe(1);
    });

    it('builds a hierarchy: a parent that exists is accepted on open and on PATCH, and null detaches', async () => {
      const group = await newAccount({ name: 'Engines Group' });
      const other = await newAccount({ name: 'Other Group' });
      const child = await newAccount({ name: 'Engines Ltd', parentId: group });
      expect(await read('accounts', child)).toMatchObject({ parentId: group });

      await t.http().patch(`/accounts/${child}`).send({ parentId: other }).expect(200);
      expect(await read('accounts', child)).toMatchObject({ revision: 1, parentId: other });

      await t.http().patch(`/accounts/${child}`).send({ parentId: null }).expect(200);
      expect(await read('accounts', child)).not.toHaveProperty('parentId');
      expect((await history('accounts', child)).map((e) => e.data)).toEqual([
        expect.objectContaining({ accountId: child, parentId: group }),
        { accountId: child, changes: { parentId: other } },
        { accountId: child, changes: { parentId: null } },
      ]);
    });

    it('accepts a parent id in capitals and stores it as the service hands it out', async () => {
      const group = await newAccount({ name: 'Engines Group' });
      const child = await newAccount({ name: 'Engines Ltd', parentId: group.toUpperCase() });
      expect(await read('accounts', child)).toMatchObject({ parentId: group });
    });

    it('refuses an unknown parent on open with 404 naming parentId, appending nothing', async () => {
      const head = await t.store.headPosition();
      const res = await openAccount({ name: 'Orphan Ltd', parentId: UNKNOWN });
      expectProblem(res, 404, 'parentId');
      expect(res.body.detail).toContain(UNKNOWN);
      expect(await t.store.headPosition()).toBe(head);
    });

    it('refuses an unknown parent on PATCH with 404 naming parentId, appending nothing', async () => {
      const id = await newAccount();
      const res = await t.http().patch(`/accounts/${id}`).send({ parentId: UNKNOWN, industry: 'Steel' });
      expectProblem(res, 404, 'parentId');
      expect(await historyLength('accounts', id)).toBe(1);
    });

    it('refuses a cycle with 409 naming parentId: B under A when A is under B, an account under itself, or under its grandchild', async () => {
      const b = await newAccount({ name: 'B' });
      const a = await newAccount({ name: 'A', parentId: b });
      const grandchild = await newAccount({ name: 'A1', parentId: a });
      const cases: [string, string][] = [
        [b, a],
        [a, a],
        [b, grandchild],
      ];
      for (const [account, parentId] of cases) {
        const before = await historyLength('accounts', account);
        const res = await t.http().patch(`/accounts/${account}`).send({ parentId });
        expectProblem(res, 409, 'parentId');
        expect(await historyLength('accounts', account)).toBe(before);
      }
      expect(await read('accounts', b)).not.toHaveProperty('parentId');
      expect(await read('accounts', a)).toMatchObject({ parentId: b });
    });

    it.each([
      ['a missing name', {}, 'name'],
      ['a blank name', { name: '  ' }, 'name'],
      ['a name over 255 characters', { name: 'x'.repeat(256) }, 'name'],
      ['an unknown type', { name: 'A', type: 'Competitor' }, 'type'],
      ['a negative annualRevenue', { name: 'A', annualRevenue: -1 }, 'annualRevenue'],
      ['an annualRevenue with 3 decimals', { name: 'A', annualRevenue: 1.234 }, 'annualRevenue'],
      ['a fractional numberOfEmployees', { name: 'A', numberOfEmployees: 2.5 }, 'numberOfEmployees'],
      ['a parentId that is not an id', { name: 'A', parentId: 'the big one' }, 'parentId'],
      ['an empty ownerId', { name: 'A', ownerId: '' }, 'ownerId'],
      ['an unknown field', { name: 'A', website: 'example.com' }, 'website'],
    ])('refuses to open an account with %s: 400 naming the field, nothing appended', async (_label, body, field) => {
      const head = await t.store.headPosition();
      expectProblem(await openAccount(body), 400, field);
      expect(await t.store.headPosition()).toBe(head);
    });

    it.each([
      [{ name: null }, 'name'],
      [{ name: '' }, 'name'],
      [{ type: 'Competitor' }, 'type'],
      [{ numberOfEmployees: -3 }, 'numberOfEmployees'],
      [{ leadSource: 'Web' }, 'leadSource'],
    ])('refuses PATCH %j with 400 naming %s', async (body, field) => {
      const id = await newAccount();
      expectProblem(await t.http().patch(`/accounts/${id}`).send(body), 400, field);
      expect(await historyLength('accounts', id)).toBe(1);
    });

    it('shows its history and its state at revision 0', async () => {
      const id = await newAccount({ name: 'Analytical Engines', type: 'Prospect' });
      const changed = await t.http().patch(`/accounts/${id}`).send({ type: 'Customer' }).expect(200);
      const res = await t.http().get(`/accounts/${id}/history`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual([
        expect.objectContaining({ revision: 0, type: 'AccountOpened', data: { accountId: id, name: 'Analytical Engines', type: 'Prospect' }, metadata: expect.objectContaining({ actorId: 'e2e' }) }),
        expect.objectContaining({ revision: 1, position: changed.body.position, type: 'AccountDetailsChanged', data: { accountId: id, changes: { type: 'Customer' } } }),
      ]);
      const then = await t.http().get(`/accounts/${id}/state`).query({ revision: 0 });
      expect(then.status).toBe(200);
      expect(then.headers.etag).toBe('"0"');
      expect(then.body).toMatchObject({ id, revision: 0, name: 'Analytical Engines', type: 'Prospect' });
      expect((await t.http().get(`/accounts/${id}/state`)).body).toMatchObject({ revision: 1, type: 'Customer' });
      expect((await t.http().get(`/accounts/${id}/state`).query({ revision: 2 })).status).toBe(404);
    });
  });

  describe('contacts', () => {
    it('adds a contact under an existing account: 201, ETag, Location; GET shows its fields', async () => {
      const accountId = await newAccount();
      const res = await addContact({ accountId, lastName: 'Lovelace', firstName: 'Ada', email: 'ada@example.com', phone: '+44 20 7946 0000', title: 'CTO', ownerId: 'rep-1' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), revision: 0, position: expect.stringMatching(/^\d+$/) });
      expect(res.headers.etag).toBe('"0"');
      expect(res.headers.location).toBe(`/contacts/${res.body.id}`);
      const contact = await t.http().get(`/contacts/${res.body.id}`);
      expect(contact.status).toBe(200);
      expect(contact.headers.etag).toBe('"0"');
      expect(contact.body).toMatchObject({
        id: res.body.id,
        revision: 0,
        accountId,
        lastName: 'Lovelace',
        firstName: 'Ada',
        email: 'ada@example.com',
        phone: '+44 20 7946 0000',
        title: 'CTO',
        ownerId: 'rep-1',
      });
    });

    it('refuses an unknown account with 404 naming accountId, appending nothing', async () => {
      const head = await t.store.headPosition();
      const res = await addContact({ accountId: UNKNOWN, lastName: 'Lovelace' });
      expectProblem(res, 404, 'accountId');
      expect(res.body.detail).toContain(UNKNOWN);
      expect(await t.store.headPosition()).toBe(head);
    });

    it.each([
      ['a missing lastName', { firstName: 'Ada' }, 'lastName'],
      ['a blank lastName', { lastName: ' ' }, 'lastName'],
      ['an invalid email', { lastName: 'Lovelace', email: 'ada-at-example' }, 'email'],
      ['a phone over 40 characters', { lastName: 'Lovelace', phone: '1'.repeat(41) }, 'phone'],
      ['an ownerId over 100 characters', { lastName: 'Lovelace', ownerId: 'o'.repeat(101) }, 'ownerId'],
      ['an unknown field', { lastName: 'Lovelace', department: 'R&D' }, 'department'],
    ])('refuses a contact with %s: 400 naming the field, nothing appended', async (_label, body, field) => {
      const accountId = await newAccount();
      const head = await t.store.headPosition();
      expectProblem(await addContact({ accountId, ...body }), 400, field);
      expect(await t.store.headPosition()).toBe(head);
    });

    it.each([
      ['a missing accountId', {}],
      ['an accountId that is not an id', { accountId: 'acme' }],
    ])('refuses a contact with %s: 400 naming accountId', async (_label, body) => {
      const head = await t.store.headPosition();
      expectProblem(await addContact({ lastName: 'Lovelace', ...body }), 400, 'accountId');
      expect(await t.store.headPosition()).toBe(head);
    });

    it('records a PATCH as ContactDetailsChanged with only the differing fields; null clears a field', async () => {
      const accountId = await newAccount();
      const id = await newContact(accountId, { firstName: 'Ada', email: 'ada@example.com', phone: '+44 1' });
      const res = await t.http().patch(`/contacts/${id}`).send({ lastName: 'King', firstName: 'Ada', phone: null, title: 'Countess', ownerId: 'rep-3' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id, revision: 1 });
      expect(res.headers.etag).toBe('"1"');
      const events = await history('contacts', id);
      expect(events.map((e) => e.type)).toEqual(['ContactAdded', 'ContactDetailsChanged']);
      expect(events[1].data).toEqual({ contactId: id, changes: { lastName: 'King', phone: null, title: 'Countess', ownerId: 'rep-3' } });
      const contact = await read('contacts', id);
      expect(contact).toMatchObject({ revision: 1, accountId, lastName: 'King', firstName: 'Ada', email: 'ada@example.com', title: 'Countess', ownerId: 'rep-3' });
      expect(contact).not.toHaveProperty('phone');
    });

    it.each([
      [{ accountId: UNKNOWN }, 'accountId'],
      [{ lastName: null }, 'lastName'],
      [{ email: 'nope' }, 'email'],
      [{ department: 'R&D' }, 'department'],
    ])('refuses PATCH %j with 400 naming %s (a contact stays under its account)', async (body, field) => {
      const accountId = await newAccount();
      const id = await newContact(accountId);
      const other = await newAccount({ name: 'Elsewhere' });
      const res = await t.http().patch(`/contacts/${id}`).send('accountId' in body ? { accountId: other } : body);
      expectProblem(res, 400, field);
      expect(await historyLength('contacts', id)).toBe(1);
      expect(await read('contacts', id)).toMatchObject({ accountId });
    });

    it('shows its history and its state at revision 0', async () => {
      const accountId = await newAccount();
      const id = await newContact(accountId, { title: 'Analyst' });
      await t.http().patch(`/contacts/${id}`).send({ title: 'CTO' }).expect(200);
      const events = await history('contacts', id);
      expect(events).toEqual([
        expect.objectContaining({ revision: 0, type: 'ContactAdded', data: { contactId: id, accountId, lastName: 'Lovelace', title: 'Analyst' } }),
        expect.objectContaining({ revision: 1, type: 'ContactDetailsChanged', data: { contactId: id, changes: { title: 'CTO' } } }),
      ]);
      const then = await t.http().get(`/contacts/${id}/state`).query({ revision: 0 });
      expect(then.status).toBe(200);
      expect(then.body).toMatchObject({ id, revision: 0, accountId, title: 'Analyst' });
      expect((await t.http().get(`/contacts/${id}/state`)).body).toMatchObject({ revision: 1, title: 'CTO' });
    });
  });

  describe('opportunities', () => {
    it('opens an opportunity: 201, ETag, Location; GET shows its fields, open and without contact roles', async () => {
      const accountId = await newAccount();
      const res = await openOpportunity(deal(accountId, { amount: 50_000.25, ownerId: 'rep-1' }));
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), revision: 0, position: expect.stringMatching(/^\d+$/) });
      expect(res.headers.etag).toBe('"0"');
      expect(res.headers.location).toBe(`/opportunities/${res.body.id}`);
      const opportunity = await t.http().get(`/opportunities/${res.body.id}`);
      expect(opportunity.status).toBe(200);
      expect(opportunity.headers.etag).toBe('"0"');
      expect(opportunity.body).toMatchObject({
        id: res.body.id,
        revision: 0,
        accountId,
        name: 'Difference Engine',
        closeDate: '2026-06-30',
        stage: 'Prospecting',
        probability: 10,
        amount: 50_000.25,
        ownerId: 'rep-1',
        contactRoles: [],
        isClosed: false,
      });
    });

    it.each(STAGES)('opens at %s with its default probability %i%%', async (stage, probability) => {
      const id = await newOpportunity({ stage });
      expect(await read('opportunities', id)).toMatchObject({ stage, probability });
      expect((await history('opportunities', id))[0]).toMatchObject({ type: 'OpportunityOpened', data: { stage, probability } });
    });

    it('takes an explicit probability over the stage default, until the next stage change', async () => {
      const id = await newOpportunity({ stage: 'Needs Analysis', probability: 35 });
      expect(await read('opportunities', id)).toMatchObject({ stage: 'Needs Analysis', probability: 35 });
      await t.http().patch(`/opportunities/${id}`).send({ amount: 1000 }).expect(200);
      expect(await read('opportunities', id)).toMatchObject({ probability: 35 });
      await t.http().post(`/opportunities/${id}/stage`).send({ stage: 'Value Proposition' }).expect(200);
      expect(await read('opportunities', id)).toMatchObject({ stage: 'Value Proposition', probability: 50 });
    });

    it('refuses an unknown account with 404 naming accountId, appending nothing', async () => {
      const head = await t.store.headPosition();
      const res = await openOpportunity(deal(UNKNOWN));
      expectProblem(res, 404, 'accountId');
      expect(res.body.detail).toContain(UNKNOWN);
      expect(await t.store.headPosition()).toBe(head);
    });

    it.each([
      ['stage Closed Won', { stage: 'Closed Won' }, 'stage'],
      ['stage Closed Lost', { stage: 'Closed Lost' }, 'stage'],
      ['an unknown stage', { stage: 'Won-ish' }, 'stage'],
      ['a missing stage', { stage: undefined }, 'stage'],
      ['a missing name', { name: undefined }, 'name'],
      ['a missing closeDate', { closeDate: undefined }, 'closeDate'],
      ['a closeDate as DD/MM/YYYY', { closeDate: '30/06/2026' }, 'closeDate'],
      ['a closeDate with a time', { closeDate: '2026-06-30T00:00:00.000Z' }, 'closeDate'],
      ['a closeDate without leading zeros', { closeDate: '2026-6-30' }, 'closeDate'],
      ['a closeDate that is no day', { closeDate: '2026-02-30' }, 'closeDate'],
      ['a probability of 101', { probability: 101 }, 'probability'],
      ['a negative probability', { probability: -1 }, 'probability'],
      ['a negative amount', { amount: -5 }, 'amount'],
      ['an amount with 3 decimals', { amount: 10.005 }, 'amount'],
      ['an accountId that is not an id', { accountId: 'acme' }, 'accountId'],
      ['an unknown field', { discount: 10 }, 'discount'],
    ])('refuses to open with %s: 400 naming the field, nothing appended', async (_label, fields, field) => {
      const accountId = await newAccount();
      const head = await t.store.headPosition();
      expectProblem(await openOpportunity(deal(accountId, fields)), 400, field);
      expect(await t.store.headPosition()).toBe(head);
    });

    it("moves the stage, and the probability to the new stage's default", async () => {
      const id = await newOpportunity();
      const res = await t.http().post(`/opportunities/${id}/stage`).send({ stage: 'Needs Analysis' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id, revision: 1, position: expect.stringMatching(/^\d+$/) });
      expect(res.headers.etag).toBe('"1"');
      expect(await read('opportunities', id)).toMatchObject({ revision: 1, stage: 'Needs Analysis', probability: 20 });
      expect((await history('opportunities', id))[1]).toMatchObject({
        type: 'OpportunityStageChanged',
        data: { opportunityId: id, stage: 'Needs Analysis', previousStage: 'Prospecting', probability: 20 },
      });
      // Backwards too: any open stage may follow any other.
      await t.http().post(`/opportunities/${id}/stage`).send({ stage: 'Qualification' }).expect(200);
      expect(await read('opportunities', id)).toMatchObject({ revision: 2, stage: 'Qualification', probability: 10 });
    });

    it('keeps a probability set by PATCH until the next stage change', async () => {
      const id = await newOpportunity();
      await t.http().patch(`/opportunities/${id}`).send({ probability: 35 }).expect(200);
      expect(await read('opportunities', id)).toMatchObject({ stage: 'Prospecting', probability: 35 });
      await t.http().patch(`/opportunities/${id}`).send({ name: 'Analytical Engine', amount: 60_000 }).expect(200);
      expect(await read('opportunities', id)).toMatchObject({ probability: 35 });
      // The current stage again is no stage change: the override holds and nothing is appended.
      const same = await t.http().post(`/opportunities/${id}/stage`).send({ stage: 'Prospecting' });
      expect(same.status).toBe(200);
      expect(same.body.revision).toBe(2);
      expect(await read('opportunities', id)).toMatchObject({ probability: 35 });
      await t.http().post(`/opportunities/${id}/stage`).send({ stage: 'Perception Analysis' }).expect(200);
      expect(await read('opportunities', id)).toMatchObject({ revision: 3, stage: 'Perception Analysis', probability: 70 });
    });

    it('keeps a probability sent with the stage until the next stage change', async () => {
      const id = await newOpportunity();
      await t.http().post(`/opportunities/${id}/stage`).send({ stage: 'Negotiation/Review', probability: 80 }).expect(200);
      expect(await read('opportunities', id)).toMatchObject({ stage: 'Negotiation/Review', probability: 80 });
      await t.http().patch(`/opportunities/${id}`).send({ closeDate: '2026-09-30' }).expect(200);
      expect(await read('opportunities', id)).toMatchObject({ probability: 80 });
      await t.http().post(`/opportunities/${id}/stage`).send({ stage: 'Proposal/Price Quote' }).expect(200);
      expect(await read('opportunities', id)).toMatchObject({ stage: 'Proposal/Price Quote', probability: 75 });
    });

    it('records a PATCH of amount, closeDate, name, probability and ownerId as OpportunityDetailsChanged with only the differing fields', async () => {
      const id = await newOpportunity({ amount: 50_000, ownerId: 'rep-1' });
      const res = await t.http().patch(`/opportunities/${id}`).send({ amount: 75_000.5, closeDate: '2026-12-31', name: 'Analytical Engine', probability: 40, ownerId: 'rep-2' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id, revision: 1 });
      expect(res.headers.etag).toBe('"1"');
      expect(await read('opportunities', id)).toMatchObject({ revision: 1, amount: 75_000.5, closeDate: '2026-12-31', name: 'Analytical Engine', probability: 40, ownerId: 'rep-2', stage: 'Prospecting' });

      await t.http().patch(`/opportunities/${id}`).send({ name: 'Analytical Engine', amount: null, ownerId: 'rep-2' }).expect(200);
      const opportunity = await read('opportunities', id);
      expect(opportunity).not.toHaveProperty('amount');
      expect(opportunity.revision).toBe(2);
      expect((await history('opportunities', id)).slice(1)).toEqual([
        expect.objectContaining({ type: 'OpportunityDetailsChanged', data: { opportunityId: id, changes: { amount: 75_000.5, closeDate: '2026-12-31', name: 'Analytical Engine', probability: 40, ownerId: 'rep-2' } } }),
        expect.objectContaining({ type: 'OpportunityDetailsChanged', data: { opportunityId: id, changes: { amount: null } } }),
      ]);
    });

    it.each([
      [{ closeDate: '2026/12/31' }, 'closeDate'],
      [{ closeDate: '31-12-2026' }, 'closeDate'],
      [{ closeDate: null }, 'closeDate'],
      [{ probability: 101 }, 'probability'],
      [{ probability: null }, 'probability'],
      [{ probability: '50' }, 'probability'],
      [{ name: '' }, 'name'],
      [{ amount: 'lots' }, 'amount'],
      [{ ownerId: '' }, 'ownerId'],
      [{ stage: 'Needs Analysis' }, 'stage'],
      [{ accountId: UNKNOWN }, 'accountId'],
    ])('refuses PATCH %j with 400 naming %s, nothing appended', async (body, field) => {
      const id = await newOpportunity();
      expectProblem(await t.http().patch(`/opportunities/${id}`).send(body), 400, field);
      expect(await historyLength('opportunities', id)).toBe(1);
    });

    it.each([
      [{ stage: 'Closed Won' }, 'stage'],
      [{ stage: 'Closed Lost' }, 'stage'],
      [{}, 'stage'],
      [{ stage: 'Needs Analysis', probability: 101 }, 'probability'],
      [{ stage: 'Needs Analysis', won: true }, 'won'],
    ])('refuses a stage change %j with 400 naming %s, nothing appended', async (body, field) => {
      const id = await newOpportunity();
      expectProblem(await t.http().post(`/opportunities/${id}/stage`).send(body), 400, field);
      expect(await historyLength('opportunities', id)).toBe(1);
    });

    describe('contact roles', () => {
      it('names who decides: 200, GET shows contactRoles, and a new primary demotes the previous one', async () => {
        const accountId = await newAccount();
        const [ada, charles, mary] = [await newContact(accountId, { firstName: 'Ada' }), await newContact(accountId, { lastName: 'Babbage' }), await newContact(accountId, { lastName: 'Somerville' })];
        const id = await newOpportunity({}, accountId);

        const first = await t.http().post(`/opportunities/${id}/contact-roles`).send({ contactId: ada, role: 'Decision Maker', isPrimary: true });
        expect(first.status).toBe(200);
        expect(first.body).toEqual({ id, revision: 1, position: expect.stringMatching(/^\d+$/) });
        expect(first.headers.etag).toBe('"1"');
        expect((await read('opportunities', id)).contactRoles).toEqual([{ contactId: ada, role: 'Decision Maker', isPrimary: true }]);

        await t.http().post(`/opportunities/${id}/contact-roles`).send({ contactId: charles, role: 'Evaluator', isPrimary: false }).expect(200);
        expect((await read('opportunities', id)).contactRoles).toEqual([
          { contactId: ada, role: 'Decision Maker', isPrimary: true },
          { contactId: charles, role: 'Evaluator', isPrimary: false },
        ]);

        await t.http().post(`/opportunities/${id}/contact-roles`).send({ contactId: mary, role: 'Economic Buyer', isPrimary: true }).expect(200);
        const roles = (await read('opportunities', id)).contactRoles as { contactId: string; isPrimary: boolean }[];
        expect(roles.filter((r) => r.isPrimary).map((r) => r.contactId)).toEqual([mary]);
        expect(roles).toEqual([
          { contactId: ada, role: 'Decision Maker', isPrimary: false },
          { contactId: charles, role: 'Evaluator', isPrimary: false },
          { contactId: mary, role: 'Economic Buyer', isPrimary: true },
        ]);
        expect((await history('opportunities', id)).slice(1)).toEqual([
          expect.objectContaining({ type: 'OpportunityContactRoleAdded', data: { opportunityId: id, contactId: ada, role: 'Decision Maker', isPrimary: true } }),
          expect.objectContaining({ type: 'OpportunityContactRoleAdded', data: { opportunityId: id, contactId: charles, role: 'Evaluator', isPrimary: false } }),
          expect.objectContaining({ type: 'OpportunityContactRoleAdded', data: { opportunityId: id, contactId: mary, role: 'Economic Buyer', isPrimary: true } }),
        ]);
      });

      it('refuses an unknown contact with 404 naming contactId, appending nothing', async () => {
        const id = await newOpportunity();
        const res = await t.http().post(`/opportunities/${id}/contact-roles`).send({ contactId: UNKNOWN, role: 'Influencer', isPrimary: false });
        expectProblem(res, 404, 'contactId');
        expect(res.body.detail).toContain(UNKNOWN);
        expect(await historyLength('opportunities', id)).toBe(1);
      });

      it('refuses the same contact twice with 409 naming contactId, appending nothing', async () => {
        const accountId = await newAccount();
        const contactId = await newContact(accountId);
        const id = await newOpportunity({}, accountId);
        await t.http().post(`/opportunities/${id}/contact-roles`).send({ contactId, role: 'Influencer', isPrimary: false }).expect(200);
        const res = await t.http().post(`/opportunities/${id}/contact-roles`).send({ contactId, role: 'Evaluator', isPrimary: true });
        expectProblem(res, 409, 'contactId');
        expect(await historyLength('opportunities', id)).toBe(2);
        expect((await read('opportunities', id)).contactRoles).toEqual([{ contactId, role: 'Influencer', isPrimary: false }]);
      });

      it.each([
        ['a role not in the list', { role: 'Boss', isPrimary: false }, 'role'],
        ['no role', { isPrimary: false }, 'role'],
        ['a string for isPrimary', { role: 'Influencer', isPrimary: 'yes' }, 'isPrimary'],
        ['a contactId that is not an id', { contactId: 'ada', role: 'Influencer', isPrimary: false }, 'contactId'],
        ['an unknown field', { role: 'Influencer', isPrimary: false, since: '2026-01-01' }, 'since'],
      ])('refuses a contact role with %s: 400 naming the field, nothing appended', async (_label, fields, field) => {
        const accountId = await newAccount();
        const contactId = await newContact(accountId);
        const id = await newOpportunity({}, accountId);
        expectProblem(await t.http().post(`/opportunities/${id}/contact-roles`).send({ contactId, ...fields }), 400, field);
        expect(await historyLength('opportunities', id)).toBe(1);
      });
    });

    describe('closing', () => {
      it('closes won: Closed Won, probability 100, isClosed', async () => {
        const id = await newOpportunity({ amount: 50_000, stage: 'Negotiation/Review' });
        const res = await t.http().post(`/opportunities/${id}/close`).send({ won: true });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ id, revision: 1, position: expect.stringMatching(/^\d+$/) });
        expect(res.headers.etag).toBe('"1"');
        expect(await read('opportunities', id)).toMatchObject({ revision: 1, stage: 'Closed Won', probability: 100, isClosed: true, isWon: true, closedAt: expect.any(String) });
        expect((await history('opportunities', id))[1]).toMatchObject({ type: 'OpportunityWon', data: { opportunityId: id, amount: 50_000 } });
      });

      it('closes lost with a reason: Closed Lost, probability 0, lossReason', async () => {
        const id = await newOpportunity({ stage: 'Value Proposition' });
        const res = await t.http().post(`/opportunities/${id}/close`).send({ won: false, reason: 'Price' });
        expect(res.status).toBe(200);
        expect(res.body.revision).toBe(1);
        expect(await read('opportunities', id)).toMatchObject({ stage: 'Closed Lost', probability: 0, isClosed: true, isWon: false, lossReason: 'Price' });
        expect((await history('opportunities', id))[1]).toMatchObject({ type: 'OpportunityLost', data: { opportunityId: id, reason: 'Price' } });
      });

      it.each([
        ['won: false without a reason', { won: false }, 'reason'],
        ['won: false with a blank reason', { won: false, reason: '  ' }, 'reason'],
        ['no won', { reason: 'Price' }, 'won'],
        ['a string for won', { won: 'true' }, 'won'],
        ['an unknown field', { won: true, note: 'champagne' }, 'note'],
        ['won: true with a reason', { won: true, reason: 'Because' }, 'reason'],
      ])('refuses a close with %s: 400 naming the field, nothing appended', async (_label, body, field) => {
        const id = await newOpportunity();
        expectProblem(await t.http().post(`/opportunities/${id}/close`).send(body), 400, field);
        expect(await historyLength('opportunities', id)).toBe(1);
        expect(await read('opportunities', id)).toMatchObject({ isClosed: false });
      });

      const afterClosing: [string, string, object][] = [
        ['a stage change', 'stage', { stage: 'Needs Analysis' }],
        ['a PATCH', '', { amount: 1 }],
        ['a contact role', 'contact-roles', { role: 'Influencer', isPrimary: true }],
        ['a close as won', 'close', { won: true }],
        ['a close as lost', 'close', { won: false, reason: 'Price' }],
      ];
      it.each(
        [
          ['Closed Won', { won: true }],
          ['Closed Lost', { won: false, reason: 'Timing' }],
        ].flatMap(([closedAs, close]) => afterClosing.map(([label, action, body]) => [closedAs as string, label, close as object, action, body] as const)),
      )('once %s, refuses %s with 409 problem+json, appending nothing', async (closedAs, _label, close, action, body) => {
        const accountId = await newAccount();
        const contactId = await newContact(accountId);
        const id = await newOpportunity({}, accountId);
        await t.http().post(`/opportunities/${id}/close`).send(close).expect(200);
        const res = action === ''
          ? await t.http().patch(`/opportunities/${id}`).send(body)
          : await t.http().post(`/opportunities/${id}/${action}`).send(action === 'contact-roles' ? { contactId, ...body } : body);
        expectProblem(res, 409);
        expect(res.body.detail).toContain(closedAs);
        expect(await historyLength('opportunities', id)).toBe(2);
        expect(await read('opportunities', id)).toMatchObject({ revision: 1, stage: closedAs, isClosed: true });
      });
    });

    it('shows its history and its state at revision 0', async () => {
      const id = await newOpportunity({ stage: 'Qualification' });
      await t.http().post(`/opportunities/${id}/stage`).send({ stage: 'Needs Analysis' }).expect(200);
      await t.http().post(`/opportunities/${id}/close`).send({ won: true }).expect(200);
      expect((await history('opportunities', id)).map((e) => e.type)).toEqual(['OpportunityOpened', 'OpportunityStageChanged', 'OpportunityWon']);
      const then = await t.http().get(`/opportunities/${id}/state`).query({ revision: 0 });
      expect(then.status).toBe(200);
      expect(then.headers.etag).toBe('"0"');
      expect(then.body).toMatchObject({ id, revision: 0, stage: 'Qualification', probability: 10, isClosed: false });
      expect((await t.http().get(`/opportunities/${id}/state`).query({ revision: 1 })).body).toMatchObject({ revision: 1, stage: 'Needs Analysis', probability: 20 });
    });
  });

  describe('unknown ids', () => {
    const valid: Record<string, object> = {
      'patch accounts': { name: 'X' },
      'patch contacts': { title: 'X' },
      'patch opportunities': { amount: 1 },
      'post opportunities/stage': { stage: 'Needs Analysis' },
      'post opportunities/contact-roles': { contactId: UNKNOWN, role: 'Influencer', isPrimary: false },
      'post opportunities/close': { won: true },
    };
    it.each([
      ['get', 'accounts', ''],
      ['get', 'accounts', '/history'],
      ['get', 'accounts', '/state'],
      ['patch', 'accounts', ''],
      ['get', 'contacts', ''],
      ['get', 'contacts', '/history'],
      ['get', 'contacts', '/state'],
      ['patch', 'contacts', ''],
      ['get', 'opportunities', ''],
      ['get', 'opportunities', '/history'],
      ['get', 'opportunities', '/state'],
      ['patch', 'opportunities', ''],
      ['post', 'opportunities', '/stage'],
      ['post', 'opportunities', '/contact-roles'],
      ['post', 'opportunities', '/close'],
    ])('answers 404 problem+json: %s /%s/:id%s', async (method, records, suffix) => {
      for (const id of [UNKNOWN, 'not-a-uuid']) {
        const head = await t.store.headPosition();
        const res = await send(method as Method, `/${records}/${id}${suffix}`, valid[`${method} ${records}${suffix}`]);
        expectProblem(res, 404);
        expect(res.body).toMatchObject({ title: 'Not found', detail: expect.stringContaining(id) });
        expect(await t.store.headPosition()).toBe(head);
      }
    });

    it('does not take an id of one kind of record for another', async () => {
      const accountId = await newAccount();
      expectProblem(await t.http().get(`/contacts/${accountId}`), 404);
      expectProblem(await t.http().get(`/opportunities/${accountId}`), 404);
      expectProblem(await openOpportunity(deal(await newContact(accountId))), 404, 'accountId');
    });
  });

  describe('If-Match', () => {
    it.each<[string, () => Promise<[string, string, object]>]>([
      ['PATCH /accounts/:id', async () => [`/accounts/${await newAccount()}`, 'patch', { industry: 'Steel' }]],
      ['PATCH /contacts/:id', async () => [`/contacts/${await newContact(await newAccount())}`, 'patch', { title: 'CTO' }]],
      ['POST /opportunities/:id/stage', async () => [`/opportunities/${await newOpportunity()}/stage`, 'post', { stage: 'Needs Analysis' }]],
      ['POST /opportunities/:id/close', async () => [`/opportunities/${await newOpportunity()}/close`, 'post', { won: true }]],
    ])('%s: applies a current If-Match, refuses a stale one with 412 and appends nothing', async (_label, setUp) => {
      const [path, method, body] = await setUp();
      const records = path.split('/')[1] as Records;
      const id = path.split('/')[2];
      // Move the record on by one revision.
      const bump = records === 'opportunities' ? t.http().patch(`/opportunities/${id}`).send({ amount: 5 }) : t.http().patch(`/${records}/${id}`).send({ ownerId: 'rep-bump' });
      expect((await bump).status).toBe(200);

      const stale = await send(method as Method, path, body, { 'If-Match': '"0"' });
      expectProblem(stale, 412, 'If-Match');
      expect(stale.body.currentRevision).toBe(1);
      expect(await historyLength(records, id)).toBe(2);

      const current = await send(method as Method, path, body, { 'If-Match': '"1"' });
      expect(current.status).toBe(200);
      expect(current.headers.etag).toBe('"2"');
      expect(await historyLength(records, id)).toBe(3);
    });

    it('lets exactly one of 10 parallel stage changes with the same If-Match through; the others get 412', async () => {
      const id = await newOpportunity();
      const stages = STAGES.slice(1).map(([stage]) => stage);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => t.http().post(`/opportunities/${id}/stage`).set('If-Match', '"0"').send({ stage: stages[i % stages.length] })),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(412)]);
      for (const refused of results.filter((r) => r.status === 412)) expect(refused.headers['content-type']).toMatch(PROBLEM_JSON);
      const events = await history('opportunities', id);
      expect(events.map((e) => e.type)).toEqual(['OpportunityOpened', 'OpportunityStageChanged']);
      const winner = results.find((r) => r.status === 200)!;
      expect(winner.body.revision).toBe(1);
      expect((await read('opportunities', id)).stage).toBe(events[1].data.stage);
    });
  });

  describe('Idempotency-Key', () => {
    it.each<[string, () => Promise<[Records, object]>]>([
      ['POST /accounts', async () => ['accounts', { name: 'Imported Ltd', type: 'Customer' }]],
      ['POST /contacts', async () => ['contacts', { accountId: await newAccount(), lastName: 'Imported' }]],
      ['POST /opportunities', async () => ['opportunities', deal(await newAccount(), { amount: 10 })]],
    ])('%s: a replay returns the first response, the same id, and appends nothing', async (_label, setUp) => {
      const [records, body] = await setUp();
      const headers = { 'Idempotency-Key': `import-${records}-1` };
      const first = await t.http().post(`/${records}`).set(headers).send(body);
      expect(first.status).toBe(201);
      const head = await t.store.headPosition();
      const again = await t.http().post(`/${records}`).set(headers).send(body);
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.headers.location).toBe(`/${records}/${first.body.id}`);
      expect(await t.store.headPosition()).toBe(head);
      expect(await historyLength(records, first.body.id)).toBe(1);

      // Still the first response once the record has moved on.
      await t.http().patch(`/${records}/${first.body.id}`).send({ ownerId: 'rep-later' }).expect(200);
      const later = await t.http().post(`/${records}`).set(headers).send(body);
      expect(later.status).toBe(201);
      expect(later.body).toEqual(first.body);
      expect(await historyLength(records, first.body.id)).toBe(2);

      const headBefore = await t.store.headPosition();
      const other = await t.http().post(`/${records}`).set(headers).send({ ...body, ownerId: 'someone-else' });
      expectProblem(other, 422, 'Idempotency-Key');
      expect(await t.store.headPosition()).toBe(headBefore);
    });

    it('answers 422 when a key used to open one kind of record comes again to open another', async () => {
      const accountId = await newAccount();
      const headers = { 'Idempotency-Key': 'import-row-cross' };
      await openAccount({ name: 'Cross Ltd' }, headers).expect(201);
      const head = await t.store.headPosition();
      expectProblem(await addContact({ accountId, lastName: 'Cross' }, headers), 422, 'Idempotency-Key');
      expectProblem(await openOpportunity(deal(accountId), headers), 422, 'Idempotency-Key');
      expect(await t.store.headPosition()).toBe(head);
    });

    it('answers a replayed close with the first response even after a retry', async () => {
      const id = await newOpportunity();
      const sendClose = () => t.http().post(`/opportunities/${id}/close`).set('Idempotency-Key', 'close-1').send({ won: false, reason: 'Price' });
      const first = await sendClose();
      expect(first.status).toBe(200);
      const again = await sendClose();
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(await historyLength('opportunities', id)).toBe(2);
    });
  });

  it('never answers 500 to junk, whatever the route', async () => {
    const accountId = await newAccount();
    const contactId = await newContact(accountId);
    const id = await newOpportunity({}, accountId);
    const junk = [
      '[]',
      'null',
      '0',
      '"x"',
      '{"a":{"b":[1,{"c":null}]}}',
      '{"name":{"$gt":""}}',
      '{"occurredAt":1e400}',
      '{"amount":1e400}',
      '{"probability":1e400}',
      '{"won":false,"reason":{"a":1}}',
      '{"parentId":{"a":1}}',
      '{"accountId":["x"]}',
      '{"contactId":1,"role":"Other"}',
      '{"closeDate":20260101}',
      '{"stage":["Prospecting"]}',
      '\u0000',
    ];
    const routes: [Method, string][] = [
      ['post', '/accounts'],
      ['patch', `/accounts/${accountId}`],
      ['post', '/contacts'],
      ['patch', `/contacts/${contactId}`],
      ['post', '/opportunities'],
      ['patch', `/opportunities/${id}`],
      ['post', `/opportunities/${id}/stage`],
      ['post', `/opportunities/${id}/contact-roles`],
      ['post', `/opportunities/${id}/close`],
      ['post', `/opportunities/${UNKNOWN}/close`],
    ];
    const head = await t.store.headPosition();
    for (const [method, path] of routes) {
      for (const raw of junk) {
        const res = await t.http()[method](path).set('content-type', 'application/json').send(raw);
        expect({ method, path, raw, refused: res.status >= 400 && res.status < 500 }).toEqual({ method, path, raw, refused: true });
        expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      }
    }
    expect(await t.store.headPosition()).toBe(head);
  });

  it('describes every route in its OpenAPI description', async () => {
    const res = await t.http().get('/docs/openapi.json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/accounts',
        '/accounts/{id}',
        '/accounts/{id}/history',
        '/accounts/{id}/state',
        '/contacts',
        '/contacts/{id}',
        '/contacts/{id}/history',
        '/contacts/{id}/state',
        '/opportunities',
        '/opportunities/{id}',
        '/opportunities/{id}/stage',
        '/opportunities/{id}/contact-roles',
        '/opportunities/{id}/close',
        '/opportunities/{id}/history',
        '/opportunities/{id}/state',
      ]),
    );
  });
});
