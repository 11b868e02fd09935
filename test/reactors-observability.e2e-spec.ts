import { CompletionRecovery } from '../apps/api/src/processes/completion-recovery';
import { failingAppendsTo, until } from './support/failing-appends';
import { useTestApp } from './support/test-app';

/** Parked after this many failed attempts in this suite (the default is 8, about a minute of backoff). */
const PARK_AFTER = 3;

/**
 * The reactors are in readiness and metrics as the projections are: /health/ready names each one
 * with its status, and /metrics has its checkpoint, lag and status. A reactor whose step keeps
 * failing is named `failed` on /health/ready without making the service unready (requests are
 * served as before; the step is parked after a bound), and its lag grows on /metrics.
 *
 * The failing step is a contact append refused as a failing disk would refuse it: a spy on the
 * embedded store's append stands in for the disk, which cannot be made to fail here.
 */
describe('Reactors in readiness and metrics', () => {
  const t = useTestApp({ reactorParkAfterFailures: PARK_AFTER });
  const failContacts = failingAppendsTo('contact-');

  const metrics = async () => {
    const text = (await t.http().get('/metrics').expect(200)).text;
    return (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1]);
  };
  const readyReactors = async () => {
    const res = await t.http().get('/health/ready');
    return { status: res.status, reactors: res.body.details?.reactors ?? res.body.checks?.reactors };
  };

  it('lists the completion reactor on /health/ready and has its checkpoint, lag and status on /metrics', async () => {
    await t.http().post('/leads').send({ lastName: 'Noether', company: 'Erlangen' }).expect(201);
    await t.app.get(CompletionRecovery).sweep();
    const head = String(await t.store.headPosition());
    expect(await readyReactors()).toEqual({ status: 200, reactors: { status: 'up', reactors: [{ name: 'completion', status: 'live' }] } });
    const value = await metrics();
    expect(String(value('crm_reactor_position{reactor="completion"}'))).toBe(head);
    expect(value('crm_reactor_lag_events{reactor="completion"}')).toBe(0);
    expect(value('crm_reactor_status{reactor="completion",status="live"}')).toBe(1);
    expect(value('crm_reactor_status{reactor="completion",status="failed"}')).toBe(0);
  });

  it('names a reactor whose step keeps failing on /health/ready, stays ready, and shows it failed and behind on /metrics until the step is parked', async () => {
    const leadId = (await t.http().post('/leads').send({ lastName: 'Curie', company: 'Sorbonne' }).expect(201)).body.id;
    await t.http().post(`/leads/${leadId}/qualify`).send({}).expect(200);
    // The decision as a process that died before its steps left it, with a contact step that cannot be written.
    const decision = {
      leadId, leadSource: 'Other', accountId: '8c1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f01', newAccount: { name: 'Sorbonne' }, accountFill: null,
      contactId: '8c1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f02', newContact: { lastName: 'Curie' }, opportunityId: null, opportunity: null,
    };
    const metadata = { actorId: 'rep', occurredAt: new Date().toISOString(), correlationId: 'c', causationId: 'c' };
    const beforeDecision = await t.store.headPosition();
    failContacts.on = true;
    try {
      await t.store.append(`lead-${leadId}`, [{ id: '8c1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f03', type: 'LeadConverted', data: decision, metadata }], 1);
      const failing = await until(readyReactors, (ready) => ready.reactors?.reactors?.[0]?.status === 'failed');
      expect(failing).toEqual({ status: 200, reactors: { status: 'up', reactors: [{ name: 'completion', status: 'failed' }] } });
      const value = await metrics();
      expect(value('crm_reactor_status{reactor="completion",status="failed"}')).toBe(1);
      expect(String(value('crm_reactor_position{reactor="completion"}'))).toBe(String(beforeDecision));
      expect(value('crm_reactor_lag_events{reactor="completion"}')).toBeGreaterThan(0);
      // Health is open: the step's error itself is for admins, on /processes/reactors.
      expect(JSON.stringify((await t.http().get('/health/ready')).body)).not.toContain('disk I/O error');

      // Parked after PARK_AFTER attempts: the reactor goes on, live again.
      await until(async () => (await t.http().get('/processes/parked').expect(200)).body, (body) => body.length > 0);
      expect(await until(readyReactors, (ready) => ready.reactors?.reactors?.[0]?.status === 'live')).toEqual({ status: 200, reactors: { status: 'up', reactors: [{ name: 'completion', status: 'live' }] } });
    } finally {
      failContacts.on = false;
    }
  });
});
