import { asActor, fieldsOf, PROBLEM_JSON, useTestApp } from './support/test-app';

/** Converting a qualified lead into the customer model, and merging duplicate leads. */
describe('Lead conversion and merge over HTTP', () => {
  const t = useTestApp();

  const leadFields = {
    firstName: 'Ada',
    lastName: 'Lovelace',
    company: 'Analytical Engines',
    email: 'ada@example.com',
    phone: '+44 20 7946 0000',
    title: 'Countess',
    source: 'Partner Referral',
    industry: 'Computing',
    annualRevenue: 250000,
    numberOfEmployees: 12,
    ownerId: 'rep-1',
  };
  const deal = { name: 'Difference Engine No. 2', amount: 120000, closeDate: '2026-12-31', stage: 'Proposal/Price Quote' };

  /** Each lead its own company and email, so that the duplicate checks stay out of the way. */
  let serial = 0;
  const unique = (fields: typeof leadFields) => ({ ...fields, company: `${fields.company} #${++serial}`, email: `lead${serial}@example.com` });

  async function qualifiedLead(fields: object = unique(leadFields)): Promise<string> {
    const { id } = (await t.http().post('/leads').send(fields).expect(201)).body;
    await t.http().post(`/leads/${id}/qualify`).send({}).expect(200);
    return id;
  }
  const convert = (id: string, body: object = {}, headers: Record<string, string> = {}) => t.http().post(`/leads/${id}/convert`).set(headers).send(body);
  const get = async (path: string) => (await t.http().get(path)).body;

  it('opens an account, a contact and an opportunity with the lead\'s data, and marks the lead converted', async () => {
    const leadId = await qualifiedLead();
    const res = await convert(leadId, { opportunity: deal }, { ...asActor('rep-1'), 'X-Correlation-Id': 'conv-1' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: leadId,
      revision: 2,
      position: expect.stringMatching(/^\d+$/),
      accountId: expect.any(String),
      contactId: expect.any(String),
      opportunityId: expect.any(String),
    });
    const { accountId, contactId, opportunityId } = res.body;

    const lead = await get(`/leads/${leadId}`);
    expect(lead).toMatchObject({ status: 'Converted', isConverted: true, convertedAt: expect.any(String), convertedAccountId: accountId, convertedContactId: contactId, convertedOpportunityId: opportunityId });
    expect(await get(`/accounts/${accountId}`)).toMatchObject({
      id: accountId,
      name: expect.stringMatching(/^Analytical Engines #\d+$/),
      industry: 'Computing',
      annualRevenue: 250000,
      numberOfEmployees: 12,
      leadSource: 'Partner Referral',
      ownerId: 'rep-1',
      revision: 0,
    });
    expect(await get(`/contacts/${contactId}`)).toMatchObject({
      accountId,
      firstName: 'Ada',
      lastName: 'Lovelace',
      email: expect.stringMatching(/^lead\d+@example\.com$/),
      phone: '+44 20 7946 0000',
      title: 'Countess',
      leadSource: 'Partner Referral',
      ownerId: 'rep-1',
    });
    expect(await get(`/opportunities/${opportunityId}`)).toMatchObject({
      accountId,
      name: 'Difference Engine No. 2',
      amount: 120000,
      closeDate: '2026-12-31',
      stage: 'Proposal/Price Quote',
      probability: 75,
      leadSource: 'Partner Referral',
      ownerId: 'rep-1',
    });

    const [decision] = (await get(`/leads/${leadId}/history`)).filter((e: { type: string }) => e.type === 'LeadConverted');
    for (const path of [`/accounts/${accountId}`, `/contacts/${contactId}`, `/opportunities/${opportunityId}`]) {
      const history = await get(`${path}/history`);
      expect(history).toHaveLength(1);
      expect(history[0].metadata).toMatchObject({ actorId: 'rep-1', correlationId: 'conv-1', causationId: decision.id, occurredAt: decision.metadata.occurredAt });
    }
    expect(BigInt(res.body.position)).toBeGreaterThan(BigInt(decision.position));
  });

  it.each([['omitted', {}], ['null', { opportunity: null }]])('opens no opportunity when it is %s', async (_label, body) => {
    const leadId = await qualifiedLead();
    const res = await convert(leadId, body);
    expect(res.status).toBe(200);
    expect(res.body.opportunityId).toBeNull();
    expect((await get(`/leads/${leadId}`)).convertedOpportunityId).toBeNull();
  });

  it('gives the new records the owner named in the body', async () => {
    const leadId = await qualifiedLead();
    const { accountId, contactId, opportunityId } = (await convert(leadId, { opportunity: deal, ownerId: 'ae-7' })).body;
    for (const path of [`/accounts/${accountId}`, `/contacts/${contactId}`, `/opportunities/${opportunityId}`]) {
      expect((await get(path)).ownerId).toBe('ae-7');
    }
  });

  it('converts into an existing account, filling only its blank fields', async () => {
    const account = (await t.http().post('/accounts').send({ name: 'Engines Group', industry: 'Manufacturing' }).expect(201)).body.id;
    const leadId = await qualifiedLead();
    const res = await convert(leadId, { accountId: account });
    expect(res.status).toBe(200);
    expect(res.body.accountId).toBe(account);
    expect(await get(`/accounts/${account}`)).toMatchObject({ name: 'Engines Group', industry: 'Manufacturing', annualRevenue: 250000, numberOfEmployees: 12 });
    expect(await get(`/contacts/${res.body.contactId}`)).toMatchObject({ accountId: account, lastName: 'Lovelace' });
  });

  it('takes ids in the body in any case', async () => {
    const account = (await t.http().post('/accounts').send({ name: 'Upper Case Ltd' }).expect(201)).body.id as string;
    const res = await convert(await qualifiedLead(), { accountId: account.toUpperCase() });
    expect(res.status).toBe(200);
    expect(res.body.accountId).toBe(account);
    const contacts = (await t.http().get('/contacts').query({ accountId: account.toUpperCase() })).body.items;
    expect(contacts.map((c: { id: string }) => c.id)).toEqual([res.body.contactId]);
  });

  it('links an existing contact of the account instead of adding one', async () => {
    const account = (await t.http().post('/accounts').send({ name: 'Babbage Ltd' }).expect(201)).body.id;
    const contact = (await t.http().post('/contacts').send({ accountId: account, lastName: 'Babbage' }).expect(201)).body.id;
    const leadId = await qualifiedLead();
    const res = await convert(leadId, { accountId: account, contactId: contact, opportunity: deal });
    expect(res.status).toBe(200);
    expect(res.body.contactId).toBe(contact);
    expect(await get(`/contacts/${contact}/history`)).toHaveLength(1);
    expect(await get(`/opportunities/${res.body.opportunityId}`)).toMatchObject({ accountId: account });
  });

  describe('refusals change nothing', () => {
    async function expectRefused(leadId: string, body: object, status: number, field?: string) {
      const head = await t.store.headPosition();
      const res = await convert(leadId, body);
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      if (field) expect(fieldsOf(res.body)).toContain(field);
      expect(await t.store.headPosition()).toBe(head);
      return res;
    }

    it.each([
      ['New', []],
      ['Working', ['work']],
      ['Unqualified', ['disqualify']],
    ])('refuses to convert a %s lead with 409 naming its status', async (status, steps) => {
      const { id } = (await t.http().post('/leads').send(unique(leadFields)).expect(201)).body;
      for (const step of steps) await t.http().post(`/leads/${id}/${step}`).send(step === 'work' ? { status: 'Working' } : { reason: 'x' }).expect(200);
      const res = await expectRefused(id, {}, 409);
      expect(res.body.detail).toContain(status);
    });

    it('refuses a second conversion with 409', async () => {
      const leadId = await qualifiedLead();
      await convert(leadId).expect(200);
      const res = await expectRefused(leadId, {}, 409);
      expect(res.body.detail).toContain('Converted');
    });

    it('refuses an unknown account with 404 naming accountId', async () => {
      await expectRefused(await qualifiedLead(), { accountId: '6f1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f60' }, 404, 'accountId');
    });

    it('refuses an unknown contact with 404 naming contactId', async () => {
      const account = (await t.http().post('/accounts').send({ name: 'A' }).expect(201)).body.id;
      await expectRefused(await qualifiedLead(), { accountId: account, contactId: '6f1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f61' }, 404, 'contactId');
    });

    it('refuses a contact of another account with 409 naming contactId', async () => {
      const [a, b] = [(await t.http().post('/accounts').send({ name: 'A' })).body.id, (await t.http().post('/accounts').send({ name: 'B' })).body.id];
      const contact = (await t.http().post('/contacts').send({ accountId: b, lastName: 'X' }).expect(201)).body.id;
      await expectRefused(await qualifiedLead(), { accountId: a, contactId: contact }, 409, 'contactId');
      await expectRefused(await qualifiedLead(), { contactId: contact }, 409, 'contactId');
    });

    it.each([
      [{ opportunity: { ...deal, stage: 'Closed Won' } }, 'opportunity.stage'],
      [{ opportunity: { ...deal, name: undefined } }, 'opportunity.name'],
      [{ opportunity: { ...deal, closeDate: '31/12/2026' } }, 'opportunity.closeDate'],
      [{ opportunity: { ...deal, amount: -5 } }, 'opportunity.amount'],
      [{ opportunity: { ...deal, colour: 'red' } }, 'opportunity.colour'],
      [{ opportunity: 'yes' }, 'opportunity'],
      [{ opportunity: [] }, 'opportunity'],
      [{ opportunity: [deal] }, 'opportunity'],
      [{ accountId: 'not-a-uuid' }, 'accountId'],
      [{ allowDuplicateAccount: 'yes' }, 'allowDuplicateAccount'],
    ])('refuses %j with 400 naming %s', async (body, field) => {
      await expectRefused(await qualifiedLead(), body, 400, field);
    });

    it('refuses a back-dated command on a converted lead as closed, not as out of order', async () => {
      const leadId = await qualifiedLead();
      await convert(leadId).expect(200);
      const res = await t.http().post(`/leads/${leadId}/qualify`).send({ occurredAt: '2020-01-01T00:00:00.000Z' });
      expect(res.status).toBe(409);
      expect(res.body.type).toBe('/problems/lead-closed');
    });

    it.each([
      ['patch', '', { title: 'x' }],
      ['post', '/assign', { ownerId: 'x' }],
      ['post', '/work', { status: 'Working' }],
      ['post', '/qualify', {}],
      ['post', '/disqualify', { reason: 'x' }],
      ['post', '/reopen', {}],
    ])('refuses %s /leads/:id%s on a converted lead with 409', async (method, suffix, body) => {
      const leadId = await qualifiedLead();
      await convert(leadId).expect(200);
      const res = await t.http()[method as 'post' | 'patch'](`/leads/${leadId}${suffix}`).send(body);
      expect(res.status).toBe(409);
      expect(res.body.type).toBe('/problems/lead-closed');
    });
  });

  it('answers a repeated conversion with the same Idempotency-Key with the first response', async () => {
    const leadId = await qualifiedLead();
    const first = await convert(leadId, { opportunity: deal }, { 'Idempotency-Key': 'convert-once' });
    const head = await t.store.headPosition();
    const again = await convert(leadId, { opportunity: deal }, { 'Idempotency-Key': 'convert-once' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await t.store.headPosition()).toBe(head);
  });

  it('lets exactly one of 20 parallel conversions of one lead succeed, opening each record once', async () => {
    const company = `Parallel Works ${Date.now()}`;
    const leadId = await qualifiedLead({ ...unique(leadFields), company });
    const results = await Promise.all(Array.from({ length: 20 }, () => convert(leadId, { opportunity: deal })));
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(19).fill(409)]);
    const { accountId, contactId, opportunityId } = results.find((r) => r.status === 200)!.body;
    const counts = { LeadConverted: 0, AccountOpened: 0, ContactAdded: 0, OpportunityOpened: 0 };
    for (let after = -1n; ; ) {
      const page = await t.store.readAll({ after, maxCount: 500 });
      if (page.length === 0) break;
      for (const e of page) {
        const mine = e.data.leadId === leadId || e.data.name === company || e.data.accountId === accountId;
        if (mine && e.type in counts) counts[e.type as keyof typeof counts]++;
      }
      after = page[page.length - 1].position;
    }
    expect(counts).toEqual({ LeadConverted: 1, AccountOpened: 1, ContactAdded: 1, OpportunityOpened: 1 });
    expect(await get(`/accounts/${accountId}/history`)).toHaveLength(1);
    expect(await get(`/contacts/${contactId}/history`)).toHaveLength(1);
    expect(await get(`/opportunities/${opportunityId}/history`)).toHaveLength(1);
  });

  describe('merge', () => {
    const capture = async (fields: object) => (await t.http().post('/leads').send({ lastName: 'Dup', company: 'Dup Co', ...fields }).expect(201)).body.id as string;

    it('folds duplicates into the survivor: blanks filled from them, each duplicate Merged', async () => {
      const survivor = await capture({ email: 'keep@example.com' });
      const first = await capture({ email: 'other@example.com', phone: '111' });
      const second = await capture({ phone: '222', title: 'CFO', industry: 'Retail' });
      const res = await t.http().post(`/leads/${survivor}/merge`).send({ duplicateIds: [first, second] });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: survivor, revision: 1, mergedIds: [first, second] });
      expect(await get(`/leads/${survivor}`)).toMatchObject({ email: 'keep@example.com', phone: '111', title: 'CFO', industry: 'Retail', status: 'New' });
      for (const duplicate of [first, second]) {
        expect(await get(`/leads/${duplicate}`)).toMatchObject({ status: 'Merged', mergedIntoId: survivor });
        const history = await get(`/leads/${duplicate}/history`);
        expect(history[history.length - 1]).toMatchObject({ type: 'LeadMergedInto', data: { survivorId: survivor } });
        const refused = await t.http().post(`/leads/${duplicate}/qualify`).send({});
        expect(refused.status).toBe(409);
      }
      const survivorHistory = await get(`/leads/${survivor}/history`);
      expect(survivorHistory[1]).toMatchObject({ type: 'LeadMerged', data: { duplicateIds: [first, second], filled: { phone: '111', title: 'CFO', industry: 'Retail' } } });
    });

    it('refuses a converted duplicate with 409 naming duplicateIds, changing nothing', async () => {
      const survivor = await capture({});
      const converted = await qualifiedLead();
      await convert(converted).expect(200);
      const head = await t.store.headPosition();
      const res = await t.http().post(`/leads/${survivor}/merge`).send({ duplicateIds: [converted] });
      expect(res.status).toBe(409);
      expect(fieldsOf(res.body)).toContain('duplicateIds');
      expect(await t.store.headPosition()).toBe(head);
    });

    it.each([
      ['an unknown duplicate', () => ['7f1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f62'], 404],
      ['the lead itself', (self: string) => [self], 400],
      ['no duplicates', () => [], 400],
      ['the same duplicate twice', (_: string, dup: string) => [dup, dup], 400],
      ['a malformed id', () => ['abc'], 400],
    ])('refuses %s, naming duplicateIds', async (_label, ids, status) => {
      const survivor = await capture({});
      const duplicate = await capture({});
      const head = await t.store.headPosition();
      const res = await t.http().post(`/leads/${survivor}/merge`).send({ duplicateIds: (ids as (s: string, d: string) => string[])(survivor, duplicate) });
      expect(res.status).toBe(status);
      expect(fieldsOf(res.body)).toContain('duplicateIds');
      expect(await t.store.headPosition()).toBe(head);
    });

    it('refuses to merge into a converted lead with 409', async () => {
      const converted = await qualifiedLead();
      await convert(converted).expect(200);
      const res = await t.http().post(`/leads/${converted}/merge`).send({ duplicateIds: [await capture({})] });
      expect(res.status).toBe(409);
    });
  });
});
