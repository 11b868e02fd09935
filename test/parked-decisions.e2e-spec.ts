import { CompletionRecovery } from '../apps/api/src/processes/completion-recovery';
import { RECOVERY_LEDGER_STREAM } from '../apps/api/src/processes/parked-decisions';
import { failingAppendsTo, until } from './support/failing-appends';
import { PROBLEM_JSON, useTestApp } from './support/test-app';

/** Parked after this many failed attempts in this suite (the default is 8, about a minute of backoff). */
const PARK_AFTER = 3;

/**
 * The completion reactor gives up loudly: a conversion whose steps keep failing is tried again
 * with backoff (the reactor is `failed` on GET /processes/reactors, its checkpoint held at the
 * decision), parked after a bounded number of attempts, listed for admins, passed over (the
 * reactor goes on and its checkpoint moves past it), and completed when an admin retries it
 * once the cause is gone.
 *
 * The failing step is a contact append refused as a failing disk would refuse it: a spy on the
 * embedded store's append stands in for the disk, which cannot be made to fail here.
 */
describe('Parked conversions and merges', () => {
  const t = useTestApp({ reactorParkAfterFailures: PARK_AFTER });
  const failContacts = failingAppendsTo('contact-');

  const reactor = async () => (await t.http().get('/processes/reactors').expect(200)).body.find((r: { name: string }) => r.name === 'completion');

  it('lists the completion reactor beside the projections\' shape, with its own checkpoint, live at the head', async () => {
    await t.http().post('/leads').send({ lastName: 'Hodgkin', company: 'Oxford' }).expect(201);
    const head = String(await t.store.headPosition());
    expect(await until(reactor, (r) => r.position === head)).toEqual({ name: 'completion', kind: 'reactor', version: 1, position: head, lag: 0, status: 'live' });
  });

  it('passes over conversions and merges their requests completed: it waits for the request, and repeats no step', async () => {
    const recovery = t.app.get(CompletionRecovery);
    await recovery.sweep(); // what earlier tests left
    const ids: string[] = [];
    for (const fields of [{ email: 'inline-a@example.com' }, { phone: '555' }]) {
      ids.push((await t.http().post('/leads').send({ lastName: 'Inline', company: 'Requests', ...fields }).expect(201)).body.id);
    }
    await t.http().post(`/leads/${ids[0]}/merge`).send({ duplicateIds: [ids[1]] }).expect(200);
    await t.http().post(`/leads/${ids[0]}/qualify`).send({}).expect(200);
    const converted = (await t.http().post(`/leads/${ids[0]}/convert`).send({}).expect(200)).body;
    // The reactor has handled both decisions and completed neither itself.
    expect(await recovery.sweep()).toBe(0);
    expect((await t.http().get(`/accounts/${converted.accountId}/history`)).body).toHaveLength(1);
    expect((await t.http().get(`/leads/${ids[1]}/history`)).body.map((e: { type: string }) => e.type)).toEqual(['LeadCaptured', 'LeadMergedInto']);
  });

  it('tries a failing conversion again, parks it after a bound, lists it, passes over it, and completes it on an admin\'s retry', async () => {
    const recovery = t.app.get(CompletionRecovery);
    const leadId = (await t.http().post('/leads').send({ lastName: 'Franklin', company: 'Parked College' }).expect(201)).body.id;
    await t.http().post(`/leads/${leadId}/qualify`).send({}).expect(200);
    // The decision as a process that died before its steps left it, with a contact step that cannot be written.
    const accountId = '6a1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f01';
    const contactId = '6a1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f02';
    const decisionId = '6a1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f03';
    const decision = {
      leadId, leadSource: 'Other', accountId, newAccount: { name: 'Parked College' }, accountFill: null,
      contactId, newContact: { lastName: 'Franklin' }, opportunityId: null, opportunity: null,
    };
    const metadata = { actorId: 'rep', occurredAt: new Date().toISOString(), correlationId: 'c', causationId: 'c' };
    const beforeDecision = await t.store.headPosition();
    failContacts.on = true;
    await t.store.append(`lead-${leadId}`, [{ id: decisionId, type: 'LeadConverted', data: decision, metadata }], 1);

    // Failing: tried again with backoff, its checkpoint held just before the decision, not parked yet.
    const failing = await until(reactor, (r) => r.status === 'failed');
    expect(failing).toMatchObject({ status: 'failed', position: String(beforeDecision), error: { position: String(beforeDecision + 1n), eventType: 'LeadConverted', message: 'disk I/O error' } });
    expect(failing.lag).toBeGreaterThan(0);
    expect((await t.http().get('/processes/parked').expect(200)).body).toEqual([]);

    // After PARK_AFTER attempts it is parked, and the reactor goes on past it to the head.
    const parked = await until(async () => (await t.http().get('/processes/parked').expect(200)).body, (body) => body.length > 0);
    expect(parked).toEqual([
      {
        decisionId, type: 'LeadConverted', streamId: `lead-${leadId}`, position: String(beforeDecision + 1n),
        failures: PARK_AFTER, reason: 'disk I/O error', parkedAt: expect.any(String),
      },
    ]);
    await t.http().post('/leads').send({ lastName: 'Meitner', company: 'KWI' }).expect(201);
    const head = String(await t.store.headPosition());
    expect(await until(reactor, (r) => r.position === head)).toMatchObject({ status: 'live', position: head });
    // Passed over: nothing is tried or recorded again.
    const ledger = (await t.store.readStream(RECOVERY_LEDGER_STREAM)).length;
    expect(await recovery.sweep()).toBe(0);
    expect((await t.store.readStream(RECOVERY_LEDGER_STREAM)).length).toBe(ledger);

    // A retry while the cause remains: 409 with the reason, still parked, the failure counted.
    const refused = await t.http().post(`/processes/parked/${decisionId}/retry`).send({});
    expect(refused.status).toBe(409);
    expect(refused.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(refused.body).toMatchObject({ type: '/problems/completion-failed', reason: 'disk I/O error' });
    expect((await t.http().get('/processes/parked')).body).toMatchObject([{ decisionId, failures: PARK_AFTER + 1 }]);

    // The cause is gone: the retry completes the conversion, and it is parked no more.
    failContacts.on = false;
    const retried = await t.http().post(`/processes/parked/${decisionId}/retry`).send({}).expect(200);
    expect(retried.body).toEqual({ decisionId, status: 'completed', position: expect.stringMatching(/^\d+$/) });
    expect((await t.http().get(`/contacts/${contactId}`).expect(200)).body).toMatchObject({ accountId, lastName: 'Franklin' });
    expect((await t.http().get(`/accounts/${accountId}/history`)).body).toHaveLength(1);
    expect((await t.http().get('/processes/parked')).body).toEqual([]);
    expect((await t.http().post(`/processes/parked/${decisionId}/retry`).send({})).status).toBe(404);
  });

  it('completes a decision no request completed as soon as it is in the log, without waiting for a sweep', async () => {
    const leadId = (await t.http().post('/leads').send({ lastName: 'Lovelace', company: 'Analytical' }).expect(201)).body.id;
    await t.http().post(`/leads/${leadId}/qualify`).send({}).expect(200);
    const accountId = '7b1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f01';
    const decision = {
      leadId, leadSource: 'Other', accountId, newAccount: { name: 'Analytical' }, accountFill: null,
      contactId: '7b1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f02', newContact: { lastName: 'Lovelace' }, opportunityId: null, opportunity: null,
    };
    const metadata = { actorId: 'rep', occurredAt: new Date().toISOString(), correlationId: 'c', causationId: 'c' };
    await t.store.append(`lead-${leadId}`, [{ id: '7b1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f03', type: 'LeadConverted', data: decision, metadata }], 1);
    // Nothing here asks for a sweep: the reactor follows the log and completes it (the bound: within seconds, not 30 s).
    const account = await until(async () => (await t.http().get(`/accounts/${accountId}`)).status, (status) => status === 200);
    expect(account).toBe(200);
  });
});
