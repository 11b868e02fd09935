import { fieldsOf, PROBLEM_JSON, useTestApp } from './support/test-app';

/** Activities and follow-up tasks over HTTP, as reps use them. */
describe('Working leads over HTTP: activities and tasks', () => {
  const t = useTestApp();

  const captureLead = async (body: object = {}) => (await t.http().post('/leads').send({ lastName: 'Curie', company: `Radium ${Math.random()}`, ...body })).body.id as string;
  const logActivity = (body: object) => t.http().post('/activities').send(body);
  const activitiesOf = async (path: string) => {
    const res = await t.http().get(`${path}/activities`);
    expect(res.status).toBe(200);
    return res.body.items as { id: string; subject: string; kind: string; occurredAt: string; relatedTo: { type: string; id: string } }[];
  };

  describe('activities', () => {
    it('logs a call on a lead: 201 with Location; listed on the lead newest first by business time; its history and state like any record', async () => {
      const leadId = await captureLead();
      const first = await logActivity({ kind: 'Email', subject: 'Welcome mail', relatedTo: { type: 'lead', id: leadId }, occurredAt: '2026-01-10T09:00:00.000Z' });
      expect(first.status).toBe(201);
      expect(first.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), revision: 0, position: expect.stringMatching(/^\d+$/) });
      expect(first.headers.location).toBe(`/activities/${first.body.id}`);
      // Logged later but happened earlier: the list follows business time.
      await logActivity({ kind: 'Note', subject: 'Met at the fair', relatedTo: { type: 'lead', id: leadId }, occurredAt: '2026-01-05T09:00:00.000Z' });
      await logActivity({ kind: 'Call', subject: 'Intro call', relatedTo: { type: 'lead', id: leadId }, ownerId: 'rep-1', description: 'Asked for pricing' });

      expect((await activitiesOf(`/leads/${leadId}`)).map((a) => a.subject)).toEqual(['Intro call', 'Welcome mail', 'Met at the fair']);
      const one = await t.http().get(`/activities/${first.body.id}`);
      expect(one.body).toMatchObject({ id: first.body.id, kind: 'Email', subject: 'Welcome mail', relatedTo: { type: 'lead', id: leadId }, occurredAt: '2026-01-10T09:00:00.000Z', revision: 0 });
      const history = await t.http().get(`/activities/${first.body.id}/history`);
      // A Call, Email or Meeting on a lead is marked as a touch of it, for the speed-to-lead report.
      expect(history.body).toEqual([expect.objectContaining({ type: 'ActivityLogged', data: expect.objectContaining({ kind: 'Email', touchesLead: true }) })]);
    });

    it("lists an account's own activities with those of its contacts and opportunities; a contact's and an opportunity's only their own", async () => {
      const accountId = (await t.http().post('/accounts').send({ name: `Acme ${Math.random()}` })).body.id;
      const contactId = (await t.http().post('/contacts').send({ accountId, lastName: 'Meitner' })).body.id;
      const opportunityId = (await t.http().post('/opportunities').send({ accountId, name: 'Fleet deal', closeDate: '2027-03-31', stage: 'Prospecting' })).body.id;
      await logActivity({ kind: 'Meeting', subject: 'Kick-off', relatedTo: { type: 'account', id: accountId }, occurredAt: '2026-02-01T10:00:00.000Z' });
      await logActivity({ kind: 'Call', subject: 'Call Lise', relatedTo: { type: 'contact', id: contactId }, occurredAt: '2026-02-02T10:00:00.000Z' });
      await logActivity({ kind: 'Email', subject: 'Proposal sent', relatedTo: { type: 'opportunity', id: opportunityId }, occurredAt: '2026-02-03T10:00:00.000Z' });

      expect((await activitiesOf(`/accounts/${accountId}`)).map((a) => a.subject)).toEqual(['Proposal sent', 'Call Lise', 'Kick-off']);
      expect((await activitiesOf(`/contacts/${contactId}`)).map((a) => a.subject)).toEqual(['Call Lise']);
      expect((await activitiesOf(`/opportunities/${opportunityId}`)).map((a) => a.subject)).toEqual(['Proposal sent']);
    });

    it("a converted lead's activities follow it to the contact and the account it became; the lead then takes no new one (409)", async () => {
      const leadId = await captureLead({ email: `marie-${Math.random()}@example.com`, country: 'PL', productInterest: 'Isotopes' });
      await logActivity({ kind: 'Call', subject: 'Discovery call', relatedTo: { type: 'lead', id: leadId }, occurredAt: '2026-03-01T10:00:00.000Z' });
      await logActivity({ kind: 'Note', subject: 'Budget approved', relatedTo: { type: 'lead', id: leadId }, occurredAt: '2026-03-02T10:00:00.000Z' });
      await t.http().post(`/leads/${leadId}/qualify`).send({});
      const converted = await t.http().post(`/leads/${leadId}/convert`).send({ opportunity: { name: 'First order', closeDate: '2027-01-31', stage: 'Qualification' } });
      expect(converted.status).toBe(200);
      const { contactId, accountId, opportunityId } = converted.body;
      // The capture fields of v2 map at conversion: country to the account, productInterest to the opportunity.
      expect((await t.http().get(`/accounts/${accountId}`)).body).toMatchObject({ country: 'PL' });
      expect((await t.http().get(`/opportunities/${opportunityId}`)).body).toMatchObject({ productInterest: 'Isotopes' });
      await logActivity({ kind: 'Email', subject: 'Contract draft', relatedTo: { type: 'opportunity', id: opportunityId }, occurredAt: '2026-03-03T10:00:00.000Z' });

      expect((await activitiesOf(`/contacts/${contactId}`)).map((a) => a.subject)).toEqual(['Budget approved', 'Discovery call']);
      expect((await activitiesOf(`/accounts/${accountId}`)).map((a) => a.subject)).toEqual(['Contract draft', 'Budget approved', 'Discovery call']);
      expect((await activitiesOf(`/leads/${leadId}`)).map((a) => a.subject)).toEqual(['Budget approved', 'Discovery call']);

      const before = await t.store.headPosition();
      const refused = await logActivity({ kind: 'Call', subject: 'Follow-up', relatedTo: { type: 'lead', id: leadId } });
      expect(refused.status).toBe(409);
      expect(refused.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(fieldsOf(refused.body)).toEqual(['relatedTo.id']);
      expect(refused.body.detail).toContain(contactId);
      expect(await t.store.headPosition()).toBe(before);
    });

    it("a merged duplicate's activities show on the lead it was merged into", async () => {
      const survivor = await captureLead();
      const duplicate = await captureLead();
      await logActivity({ kind: 'Call', subject: 'Called the duplicate', relatedTo: { type: 'lead', id: duplicate }, occurredAt: '2026-04-01T10:00:00.000Z' });
      expect((await t.http().post(`/leads/${survivor}/merge`).send({ duplicateIds: [duplicate] })).status).toBe(200);
      expect((await activitiesOf(`/leads/${survivor}`)).map((a) => a.subject)).toEqual(['Called the duplicate']);
    });

    it('pages a long list with nextCursor, newest first', async () => {
      const leadId = await captureLead();
      for (let day = 1; day <= 5; day++) {
        await logActivity({ kind: 'Note', subject: `Note ${day}`, relatedTo: { type: 'lead', id: leadId }, occurredAt: `2026-05-0${day}T10:00:00.000Z` });
      }
      const first = await t.http().get(`/leads/${leadId}/activities?limit=3`);
      const second = await t.http().get(`/leads/${leadId}/activities?limit=3&cursor=${first.body.nextCursor}`);
      expect([...first.body.items, ...second.body.items].map((a: { subject: string }) => a.subject)).toEqual(['Note 5', 'Note 4', 'Note 3', 'Note 2', 'Note 1']);
      expect(second.body.nextCursor).toBeNull();
    });

    it('answers 404 for the activities of a record that does not exist', async () => {
      const res = await t.http().get('/contacts/00000000-0000-4000-8000-000000000000/activities');
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    });

    it('replays a logged activity under the same Idempotency-Key, appending nothing', async () => {
      const leadId = await captureLead();
      const body = { kind: 'Call', subject: 'Once', relatedTo: { type: 'lead', id: leadId } };
      const first = await logActivity(body).set('Idempotency-Key', `activity-${leadId}`);
      const head = await t.store.headPosition();
      const again = await logActivity(body).set('Idempotency-Key', `activity-${leadId}`);
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(await t.store.headPosition()).toBe(head);
    });
  });

  describe('tasks', () => {
    const openTask = (body: object) => t.http().post('/tasks').send(body);
    const subjects = async (query: string) => {
      const res = await t.http().get(`/tasks?${query}`);
      expect(res.status).toBe(200);
      return res.body.items.map((task: { subject: string }) => task.subject);
    };

    it('opens tasks with a due date and an owner, lists them soonest due first by owner, status, overdue and record; completing is final', async () => {
      const leadId = await captureLead();
      const otherLead = await captureLead();
      const owner = `owner-${Math.random()}`;
      const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      const inAWeek = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
      const overdue = await openTask({ subject: 'Send pricing', dueDate: yesterday, ownerId: owner, relatedTo: { type: 'lead', id: leadId } });
      expect(overdue.status).toBe(201);
      expect(overdue.headers.location).toBe(`/tasks/${overdue.body.id}`);
      await openTask({ subject: 'Book demo', dueDate: inAWeek, ownerId: owner, relatedTo: { type: 'lead', id: leadId }, description: 'Bring the CTO' });
      await openTask({ subject: 'Old follow-up', dueDate: '2026-01-02', ownerId: owner, relatedTo: { type: 'lead', id: otherLead } });
      await openTask({ subject: 'Not mine', dueDate: '2026-01-01', ownerId: `${owner}-else`, relatedTo: { type: 'lead', id: leadId } });

      expect(await subjects(`ownerId=${owner}`)).toEqual(['Old follow-up', 'Send pricing', 'Book demo']);
      expect(await subjects(`ownerId=${owner}&overdue=true`)).toEqual(['Old follow-up', 'Send pricing']);
      expect(await subjects(`ownerId=${owner}&relatedTo=${leadId}`)).toEqual(['Send pricing', 'Book demo']);

      const done = await t.http().post(`/tasks/${overdue.body.id}/complete`).send({ outcome: 'Sent the price list' });
      expect(done.status).toBe(200);
      expect(done.body).toMatchObject({ id: overdue.body.id, revision: 1 });
      expect(await subjects(`ownerId=${owner}&overdue=true`)).toEqual(['Old follow-up']);
      expect(await subjects(`ownerId=${owner}&status=Completed`)).toEqual(['Send pricing']);
      expect(await subjects(`ownerId=${owner}&status=Open`)).toEqual(['Old follow-up', 'Book demo']);
      const task = await t.http().get(`/tasks/${overdue.body.id}`);
      expect(task.body).toMatchObject({ status: 'Completed', outcome: 'Sent the price list', completedAt: expect.any(String), relatedTo: { type: 'lead', id: leadId } });

      const before = await t.store.headPosition();
      const again = await t.http().post(`/tasks/${overdue.body.id}/complete`).send({});
      expect(again.status).toBe(409);
      expect(again.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(await t.store.headPosition()).toBe(before);
    });

    it('refuses a task on a record that does not exist (404 naming relatedTo.id), and completing an unknown task (404)', async () => {
      const res = await openTask({ subject: 'Ghost', dueDate: '2026-06-01', ownerId: 'rep-1', relatedTo: { type: 'account', id: '00000000-0000-4000-8000-000000000000' } });
      expect(res.status).toBe(404);
      expect(fieldsOf(res.body)).toEqual(['relatedTo.id']);
      expect((await t.http().post('/tasks/00000000-0000-4000-8000-000000000000/complete').send({})).status).toBe(404);
    });

    it('If-Match: completing a task that moved on is 412', async () => {
      const leadId = await captureLead();
      const { id } = (await openTask({ subject: 'Call back', dueDate: '2026-06-01', ownerId: 'rep-1', relatedTo: { type: 'lead', id: leadId } })).body;
      expect((await t.http().post(`/tasks/${id}/complete`).set('If-Match', '"5"').send({})).status).toBe(412);
      expect((await t.http().post(`/tasks/${id}/complete`).set('If-Match', '"0"').send({})).status).toBe(200);
    });
  });

  describe('bad input: 400 problem+json naming the field, nothing appended', () => {
    const lead = () => '00000000-0000-4000-8000-000000000001';
    const cases: [string, string, object, string, () => string][] = [
      ['POST', '/activities', { subject: 'x', relatedTo: { type: 'lead', id: lead() } }, 'kind', () => '/activities'],
      ['POST', '/activities', { kind: 'Fax', subject: 'x', relatedTo: { type: 'lead', id: lead() } }, 'kind', () => '/activities'],
      ['POST', '/activities', { kind: 'Call', subject: '', relatedTo: { type: 'lead', id: lead() } }, 'subject', () => '/activities'],
      ['POST', '/activities', { kind: 'Call', subject: 'x'.repeat(201), relatedTo: { type: 'lead', id: lead() } }, 'subject', () => '/activities'],
      ['POST', '/activities', { kind: 'Call', subject: 'x' }, 'relatedTo', () => '/activities'],
      ['POST', '/activities', { kind: 'Call', subject: 'x', relatedTo: { type: 'campaign', id: lead() } }, 'relatedTo.type', () => '/activities'],
      ['POST', '/activities', { kind: 'Call', subject: 'x', relatedTo: { type: 'lead', id: 'nope' } }, 'relatedTo.id', () => '/activities'],
      ['POST', '/activities', { kind: 'Call', subject: 'x', relatedTo: { type: 'lead', id: lead() }, colour: 'red' }, 'colour', () => '/activities'],
      ['POST', '/activities', { kind: 'Call', subject: 'x', relatedTo: { type: 'lead', id: lead() }, occurredAt: '2999-01-01T00:00:00.000Z' }, 'occurredAt', () => '/activities'],
      ['POST', '/tasks', { dueDate: '2026-06-01', ownerId: 'r', relatedTo: { type: 'lead', id: lead() } }, 'subject', () => '/tasks'],
      ['POST', '/tasks', { subject: 'x', dueDate: '01/06/2026', ownerId: 'r', relatedTo: { type: 'lead', id: lead() } }, 'dueDate', () => '/tasks'],
      ['POST', '/tasks', { subject: 'x', dueDate: '2026-06-01', relatedTo: { type: 'lead', id: lead() } }, 'ownerId', () => '/tasks'],
      ['POST', '/tasks', { subject: 'x', dueDate: '2026-06-01', ownerId: 'r' }, 'relatedTo', () => '/tasks'],
      ['POST', '/tasks/:id/complete', { outcome: 7 }, 'outcome', () => `/tasks/${lead()}/complete`],
      ['GET', '/tasks', {}, 'overdue', () => '/tasks?overdue=yes'],
      ['GET', '/tasks', {}, 'status', () => '/tasks?status=Done'],
      ['GET', '/tasks', {}, 'relatedTo', () => '/tasks?relatedTo=nope'],
      ['GET', '/leads/:id/activities', {}, 'limit', () => `/leads/${lead()}/activities?limit=0`],
    ];
    it.each(cases)('%s %s %j names %s', async (method, _route, body, field, path) => {
      const before = await t.store.headPosition();
      const res = method === 'GET' ? await t.http().get(path()) : await t.http().post(path()).send(body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(fieldsOf(res.body)).toContain(field);
      expect(await t.store.headPosition()).toBe(before);
    });
  });
});
