import { randomUUID } from 'node:crypto';
import { ACCOUNT_NAME, LEAD_EMAIL } from '../apps/api/src/records/aggregate-type';
import { claimStreamId, PENDING_CLAIM_MS } from '../apps/api/src/records/uniqueness-claims';
import { fieldsOf, PROBLEM_JSON, useTestApp } from './support/test-app';

/**
 * API.md v2, "Duplicates": the rules hold at the moment of the write, not eventually. None of
 * these tests waits for the read side: every request is sent right after the one before, or at
 * the same moment as others.
 */
describe('Duplicate rules at the moment of the write', () => {
  const t = useTestApp();

  let serial = 0;
  /** A value no other test uses. */
  const fresh = (what: string) => `${what}-${++serial}-${Math.random().toString(36).slice(2, 8)}`;
  const freshEmail = () => `${fresh('dup')}@example.com`;

  const capture = (fields: object, query = '') => t.http().post(`/leads${query}`).send({ lastName: 'Hopper', company: fresh('Company'), ...fields });
  async function captured(fields: object): Promise<string> {
    return (await capture(fields).expect(201)).body.id;
  }
  async function qualified(fields: object): Promise<string> {
    const id = await captured(fields);
    await t.http().post(`/leads/${id}/qualify`).send({}).expect(200);
    return id;
  }
  const statuses = (responses: { status: number }[]) => responses.map((r) => r.status).sort();

  describe('emails of open leads', () => {
    it('refuses a duplicate sent right after the first capture, naming the first, and writes nothing', async () => {
      const email = freshEmail();
      const first = await captured({ email });
      const head = await t.store.headPosition();
      const res = await capture({ email });
      expect(res.status).toBe(409);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(res.body).toMatchObject({ type: '/problems/duplicate-lead', status: 409, duplicates: [first] });
      expect(fieldsOf(res.body)).toContain('email');
      expect(await t.store.headPosition()).toBe(head);
    });

    it('treats emails that differ only in case as one, on capture and on PATCH', async () => {
      // (An email with surrounding spaces is refused by validation with 400; the claim trims anyway, see the domain spec.)
      const email = freshEmail();
      const first = await captured({ email });
      expect((await capture({ email: email.toUpperCase() })).body).toMatchObject({ status: 409, duplicates: [first] });
      const other = await captured({ email: freshEmail() });
      expect((await t.http().patch(`/leads/${other}`).send({ email: email.replace('dup', 'DUP') })).body).toMatchObject({ status: 409, duplicates: [first] });
    });

    it.each([1, 2, 3])('of 20 concurrent captures with one email, exactly one gets 201 and the others 409 naming it (round %i)', async () => {
      const email = freshEmail();
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => capture({ email, lastName: `Racer ${i}` })));
      expect(statuses(responses)).toEqual([201, ...Array(19).fill(409)]);
      const winner = responses.find((r) => r.status === 201)!.body.id;
      for (const refused of responses.filter((r) => r.status === 409)) expect(refused.body.duplicates).toEqual([winner]);
      const leads = (await t.http().get('/leads').query({ limit: 100 })).body.items.filter((l: { email?: string }) => l.email === email);
      expect(leads.map((l: { id: string }) => l.id)).toEqual([winner]);
    });

    it('captures a duplicate knowingly with ?allowDuplicate=true, and then names both', async () => {
      const email = freshEmail();
      const first = await captured({ email });
      const second = (await capture({ email }, '?allowDuplicate=true').expect(201)).body.id;
      const res = await capture({ email });
      expect(res.status).toBe(409);
      expect([...res.body.duplicates].sort()).toEqual([first, second].sort());
    });

    it('takes every one of 10 concurrent captures with ?allowDuplicate=true', async () => {
      const email = freshEmail();
      const responses = await Promise.all(Array.from({ length: 10 }, () => capture({ email }, '?allowDuplicate=true')));
      expect(statuses(responses)).toEqual(Array(10).fill(201));
      expect((await capture({ email })).body.duplicates).toHaveLength(10);
    });

    it('refuses a PATCH of a lead to an email another open lead has, unless ?allowDuplicate=true', async () => {
      const email = freshEmail();
      const holder = await captured({ email });
      const other = await captured({ email: freshEmail() });
      const head = await t.store.headPosition();
      const res = await t.http().patch(`/leads/${other}`).send({ email: email.toUpperCase(), phone: '555' });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ type: '/problems/duplicate-lead', duplicates: [holder] });
      expect(await t.store.headPosition()).toBe(head);
      await t.http().patch(`/leads/${other}?allowDuplicate=true`).send({ email }).expect(200);
      expect((await t.http().get(`/leads/${other}`)).body.email).toBe(email);
    });

    it('lets a PATCH that keeps the email (or changes only its case) through, and frees the old email of a changed one at once', async () => {
      const email = freshEmail();
      const lead = await captured({ email });
      await t.http().patch(`/leads/${lead}`).send({ email: email.toUpperCase(), title: 'CTO' }).expect(200);
      const next = freshEmail();
      await t.http().patch(`/leads/${lead}`).send({ email: next }).expect(200);
      await capture({ email }).expect(201);
      expect((await capture({ email: next })).body.duplicates).toEqual([lead]);
    });

    it('frees the email of a converted lead at once: a capture right after the conversion succeeds', async () => {
      const email = freshEmail();
      const lead = await qualified({ email });
      await t.http().post(`/leads/${lead}/convert`).send({}).expect(200);
      await capture({ email }).expect(201);
    });

    it('frees the email of a merged duplicate at once; the survivor keeps its own', async () => {
      const [survivorEmail, duplicateEmail] = [freshEmail(), freshEmail()];
      const survivor = await captured({ email: survivorEmail });
      const duplicate = await captured({ email: duplicateEmail });
      await t.http().post(`/leads/${survivor}/merge`).send({ duplicateIds: [duplicate] }).expect(200);
      await capture({ email: duplicateEmail }).expect(201);
      expect((await capture({ email: survivorEmail })).body.duplicates).toEqual([survivor]);
    });

    it('gives a survivor without an email the duplicate\'s by the merge, and it then holds it', async () => {
      const email = freshEmail();
      const survivor = await captured({});
      const duplicate = await captured({ email });
      await t.http().post(`/leads/${survivor}/merge`).send({ duplicateIds: [duplicate] }).expect(200);
      expect((await capture({ email })).body).toMatchObject({ status: 409, duplicates: [survivor] });
    });

    it('merges even when a third open lead has the email the survivor takes from a duplicate: then both hold it', async () => {
      const email = freshEmail();
      const duplicate = await captured({ email });
      const third = (await capture({ email }, '?allowDuplicate=true').expect(201)).body.id;
      const survivor = await captured({});
      await t.http().post(`/leads/${survivor}/merge`).send({ duplicateIds: [duplicate] }).expect(200);
      expect([...(await capture({ email })).body.duplicates].sort()).toEqual([survivor, third].sort());
    });

    it('lets a lead be captured again under the same Idempotency-Key: the claim it holds is its own', async () => {
      const email = freshEmail();
      const key = fresh('key');
      const body = { lastName: 'Hopper', company: 'Navy', email };
      const first = await t.http().post('/leads').set('Idempotency-Key', key).send(body).expect(201);
      const again = await t.http().post('/leads').set('Idempotency-Key', key).send(body).expect(201);
      expect(again.body.id).toBe(first.body.id);
    });
  });

  describe('account names', () => {
    it('refuses a conversion without accountId right after an account of that name opened, unless allowDuplicateAccount', async () => {
      const company = fresh('Umbrella');
      const account = (await t.http().post('/accounts').send({ name: company }).expect(201)).body.id;
      const lead = await qualified({ company: ` ${company.toUpperCase()} ` });
      const res = await t.http().post(`/leads/${lead}/convert`).send({});
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ type: '/problems/duplicate-account', duplicates: [account] });
      expect(fieldsOf(res.body)).toContain('accountId');
      await t.http().post(`/leads/${lead}/convert`).send({ allowDuplicateAccount: true }).expect(200);
    });

    it('of 10 concurrent conversions of leads from one company, opens one account; the others 409 naming it', async () => {
      const company = fresh('Initech');
      const leads: string[] = [];
      for (let i = 0; i < 10; i++) leads.push(await qualified({ company, email: freshEmail() }));
      const responses = await Promise.all(leads.map((id) => t.http().post(`/leads/${id}/convert`).send({})));
      expect(statuses(responses)).toEqual([200, ...Array(9).fill(409)]);
      const accountId = responses.find((r) => r.status === 200)!.body.accountId;
      for (const refused of responses.filter((r) => r.status === 409)) expect(refused.body.duplicates).toEqual([accountId]);
      expect((await t.http().get(`/accounts/${accountId}`)).body.name).toBe(company);
      // The refused leads are still Qualified and convert into the account that was opened.
      const refusedLead = leads[responses.findIndex((r) => r.status === 409)];
      expect((await t.http().post(`/leads/${refusedLead}/convert`).send({ accountId })).body.accountId).toBe(accountId);
    });

    it('keeps the name of an account that one of 10 concurrent conversions of one lead opened', async () => {
      const company = fresh('Soylent');
      const lead = await qualified({ company });
      const responses = await Promise.all(Array.from({ length: 10 }, () => t.http().post(`/leads/${lead}/convert`).send({})));
      expect(statuses(responses)).toEqual([200, ...Array(9).fill(409)]);
      const { accountId } = responses.find((r) => r.status === 200)!.body;
      expect((await t.http().post('/accounts').send({ name: company })).body).toMatchObject({ status: 409, duplicates: [accountId] });
    });

    it('refuses POST /accounts right after a conversion decided to open an account of that name', async () => {
      const company = fresh('Globex');
      const lead = await qualified({ company });
      const { accountId } = (await t.http().post(`/leads/${lead}/convert`).send({}).expect(200)).body;
      expect((await t.http().post('/accounts').send({ name: company.toLowerCase() })).body).toMatchObject({ status: 409, duplicates: [accountId] });
    });

    it.each([1, 2])('of 20 concurrent POST /accounts with one name, exactly one gets 201 (round %i)', async () => {
      const name = fresh('Acme');
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => t.http().post('/accounts').send({ name: i % 2 ? name : ` ${name.toUpperCase()}` })));
      expect(statuses(responses)).toEqual([201, ...Array(19).fill(409)]);
      const winner = responses.find((r) => r.status === 201)!.body.id;
      for (const refused of responses.filter((r) => r.status === 409)) {
        expect(refused.body).toMatchObject({ type: '/problems/duplicate-account', duplicates: [winner] });
        expect(fieldsOf(refused.body)).toContain('name');
      }
    });

    it('opens a second account of a name knowingly with ?allowDuplicate=true', async () => {
      const name = fresh('Hooli');
      const first = (await t.http().post('/accounts').send({ name }).expect(201)).body.id;
      const second = (await t.http().post('/accounts?allowDuplicate=true').send({ name }).expect(201)).body.id;
      expect([...(await t.http().post('/accounts').send({ name })).body.duplicates].sort()).toEqual([first, second].sort());
    });

    it('refuses an account PATCH of name to another account\'s name unless ?allowDuplicate=true, and frees a renamed account\'s old name', async () => {
      const [taken, old] = [fresh('Stark'), fresh('Wayne')];
      const holder = (await t.http().post('/accounts').send({ name: taken }).expect(201)).body.id;
      const account = (await t.http().post('/accounts').send({ name: old }).expect(201)).body.id;
      const res = await t.http().patch(`/accounts/${account}`).send({ name: taken.toUpperCase() });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ type: '/problems/duplicate-account', duplicates: [holder] });
      await t.http().patch(`/accounts/${account}`).send({ name: `${old} Renamed` }).expect(200);
      await t.http().post('/accounts').send({ name: old }).expect(201);
      await t.http().patch(`/accounts/${account}?allowDuplicate=true`).send({ name: taken }).expect(200);
      // Changing fields other than the name never asks about it.
      await t.http().patch(`/accounts/${account}`).send({ industry: 'Defence' }).expect(200);
    });

    it('of 10 concurrent renames to one name, exactly one succeeds', async () => {
      const name = fresh('Cyberdyne');
      const accounts: string[] = [];
      for (let i = 0; i < 10; i++) accounts.push((await t.http().post('/accounts').send({ name: fresh('Before') }).expect(201)).body.id);
      const responses = await Promise.all(accounts.map((id) => t.http().patch(`/accounts/${id}`).send({ name })));
      expect(statuses(responses)).toEqual([200, ...Array(9).fill(409)]);
    });
  });

  describe('claims left behind by a crash', () => {
    const metadata = () => ({ actorId: 'rep', occurredAt: new Date().toISOString(), correlationId: 'c', causationId: 'c' });
    /** A claim as a process leaves it that died between the claim and the record's own append. */
    const claimLeftBehind = (streamId: string, holder: object) =>
      t.store.append(streamId, [{ id: randomUUID(), type: 'UniqueValueClaimed', data: { holders: [{ since: 0, ...holder }] }, metadata: metadata() }], 'no_stream');
    /** Runs `act` with the service's clock moved past the grace of a pending claim (the grace is not waited out for real). */
    async function afterTheGrace<T>(act: () => Promise<T>): Promise<T> {
      const now = Date.now();
      const clock = jest.spyOn(Date, 'now').mockReturnValue(now + PENDING_CLAIM_MS + 1_000);
      try {
        return await act();
      } finally {
        clock.mockRestore();
      }
    }

    it('counts a holder whose lead was never written as holding the email for a short grace only', async () => {
      const email = freshEmail();
      const orphan = randomUUID();
      await claimLeftBehind(claimStreamId(LEAD_EMAIL, email), { id: orphan });
      expect((await capture({ email })).body).toMatchObject({ status: 409, duplicates: [orphan] });
      const id = (await afterTheGrace(() => capture({ email }))).body.id;
      expect(id).toEqual(expect.any(String));
      expect((await capture({ email })).body.duplicates).toEqual([id]);
    });

    it('keeps the name of an account a recorded conversion will open held until recovery opens it; a decision never recorded holds it for the grace only', async () => {
      const company = fresh('Pending Account');
      const lead = await qualified({ company });
      const accountId = randomUUID();
      await claimLeftBehind(claimStreamId(ACCOUNT_NAME, company.toLowerCase()), { id: accountId, decidedBy: lead });
      const decision = {
        leadId: lead, leadSource: 'Other', accountId, newAccount: { name: company }, accountFill: null,
        contactId: randomUUID(), newContact: { lastName: 'Hopper' }, opportunityId: null, opportunity: null,
      };
      await t.store.append(`lead-${lead}`, [{ id: randomUUID(), type: 'LeadConverted', data: decision, metadata: metadata() }], 1);
      expect((await afterTheGrace(() => t.http().post('/accounts').send({ name: company }))).body).toMatchObject({ status: 409, duplicates: [accountId] });

      const other = fresh('Never Decided');
      await claimLeftBehind(claimStreamId(ACCOUNT_NAME, other.toLowerCase()), { id: randomUUID(), decidedBy: await qualified({ company: other }) });
      expect((await t.http().post('/accounts').send({ name: other })).status).toBe(409);
      expect((await afterTheGrace(() => t.http().post('/accounts').send({ name: other }))).status).toBe(201);
    });
  });

  it('documents the rule, ?allowDuplicate on each route that takes it, and the parked decisions, in the OpenAPI description', async () => {
    const { paths } = (await t.http().get('/docs/openapi.json').expect(200)).body;
    const allowDuplicate = (operation: { parameters?: { name: string; in: string }[] }) => operation.parameters?.some((p) => p.name === 'allowDuplicate' && p.in === 'query');
    for (const [path, method] of [['/leads', 'post'], ['/leads/{id}', 'patch'], ['/accounts', 'post'], ['/accounts/{id}', 'patch']]) {
      expect(allowDuplicate(paths[path][method])).toBe(true);
      expect(paths[path][method].description).toMatch(/at the moment of the write/);
    }
    expect(paths['/leads/{id}/convert'].post.description).toMatch(/allowDuplicateAccount/);
    expect(paths['/processes/parked'].get.description).toMatch(/parked/);
    expect(paths['/processes/parked/{decisionId}/retry'].post).toBeDefined();
  });

  describe('claims in the log', () => {
    it('carry no email or name, are left out of every read model and record history, and keep the projections live', async () => {
      const email = freshEmail();
      const name = fresh('Claimed Name');
      const lead = await captured({ email });
      await t.http().post('/accounts').send({ name }).expect(201);
      for (const streamId of [claimStreamId(LEAD_EMAIL, email), claimStreamId(ACCOUNT_NAME, name.toLowerCase())]) {
        const events = await t.store.readStream(streamId);
        expect(events.map((e) => e.type)).toEqual(['UniqueValueClaimed']);
        const text = JSON.stringify(events.map((e) => [e.streamId, e.data, e.metadata]));
        expect(text).not.toContain(email);
        expect(text.toLowerCase()).not.toContain(name.toLowerCase());
      }
      expect((await t.http().get(`/leads/${lead}/history`)).body.map((e: { type: string }) => e.type)).toEqual(['LeadCaptured']);
      const head = String(await t.store.headPosition());
      await t.catchUp();
      for (const projection of (await t.http().get('/projections')).body) expect(projection).toMatchObject({ position: head, lag: 0, status: 'live' });
    });
  });
});
