import { SqliteEventStore } from '@crm/event-store';
import { READ_STORE, ReadStore } from '@crm/read-models';
import { CompletionRecovery } from '../apps/api/src/processes/completion-recovery';
import { PARK_AFTER_FAILED_SWEEPS, RECOVERY_LEDGER_STREAM } from '../apps/api/src/processes/parked-decisions';
import { PROBLEM_JSON, useTestApp } from './support/test-app';

/**
 * Recovery that gives up loudly: a conversion whose steps keep failing is parked after a bounded
 * number of sweeps, listed for admins, passed over by later sweeps (it no longer holds their
 * position back), and completed when an admin retries it once the cause is gone.
 *
 * The failing step is a contact append refused as a failing disk would refuse it: a spy on the
 * embedded store's append stands in for the disk, which cannot be made to fail here.
 */
describe('Parked conversions and merges', () => {
  const t = useTestApp();
  const append = SqliteEventStore.prototype.append;
  let failContacts = false;
  beforeAll(() => {
    jest.spyOn(SqliteEventStore.prototype, 'append').mockImplementation(function (this: SqliteEventStore, ...args: Parameters<typeof append>) {
      if (failContacts && args[0].startsWith('contact-')) return Promise.reject(new Error('disk I/O error'));
      return append.apply(this, args);
    });
  });
  afterAll(() => jest.restoreAllMocks());

  it('parks a conversion whose steps fail on every sweep, lists it, passes over it, and completes it on an admin\'s retry', async () => {
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
    await t.store.append(`lead-${leadId}`, [{ id: decisionId, type: 'LeadConverted', data: decision, metadata }], 1);
    await t.http().post('/leads').send({ lastName: 'Meitner', company: 'KWI' }).expect(201);
    const swept = () => recovery.sweptPosition();
    failContacts = true;

    for (let sweep = 1; sweep < PARK_AFTER_FAILED_SWEEPS; sweep++) {
      await expect(recovery.sweep()).rejects.toThrow(`failed ${sweep} of ${PARK_AFTER_FAILED_SWEEPS} sweeps`);
      expect(await swept()).toBe(beforeDecision); // still held back at the failing decision
      expect((await t.http().get('/processes/parked').expect(200)).body).toEqual([]);
    }
    // The last allowed failure parks it: the sweep itself succeeds and moves past it, to the end of what it read.
    const head = await t.store.headPosition();
    expect(await recovery.sweep()).toBe(0);
    expect(await swept()).toBe(head);

    const parked = (await t.http().get('/processes/parked').expect(200)).body;
    expect(parked).toEqual([
      {
        decisionId, type: 'LeadConverted', streamId: `lead-${leadId}`, position: String(beforeDecision + 1n),
        failures: PARK_AFTER_FAILED_SWEEPS, reason: 'disk I/O error', parkedAt: expect.any(String),
      },
    ]);
    // Later sweeps pass over it: nothing is tried or recorded again, and the position stays past it.
    const ledger = (await t.store.readStream(RECOVERY_LEDGER_STREAM)).length;
    expect(await recovery.sweep()).toBe(0);
    expect((await t.store.readStream(RECOVERY_LEDGER_STREAM)).length).toBe(ledger);

    // A retry while the cause remains: 409 with the reason, still parked, the failure counted.
    const refused = await t.http().post(`/processes/parked/${decisionId}/retry`).send({});
    expect(refused.status).toBe(409);
    expect(refused.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(refused.body).toMatchObject({ type: '/problems/completion-failed', reason: 'disk I/O error' });
    expect((await t.http().get('/processes/parked')).body).toMatchObject([{ decisionId, failures: PARK_AFTER_FAILED_SWEEPS + 1 }]);

    // The cause is gone: the retry completes the conversion, and it is parked no more.
    failContacts = false;
    const retried = await t.http().post(`/processes/parked/${decisionId}/retry`).send({}).expect(200);
    expect(retried.body).toEqual({ decisionId, status: 'completed', position: expect.stringMatching(/^\d+$/) });
    expect((await t.http().get(`/contacts/${contactId}`).expect(200)).body).toMatchObject({ accountId, lastName: 'Franklin' });
    expect((await t.http().get(`/accounts/${accountId}/history`)).body).toHaveLength(1);
    expect((await t.http().get('/processes/parked')).body).toEqual([]);
    expect((await t.http().post(`/processes/parked/${decisionId}/retry`).send({})).status).toBe(404);
  });
});
