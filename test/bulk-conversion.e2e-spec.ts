import request from 'supertest';
import { ROLES } from '@crm/runtime/api-keys';
import { EMBEDDED_BACKEND, openEventStore } from './support/backend';
import { startCrashingService } from './support/service-process';
import { asActor, fieldsOf, newDataDir, PROBLEM_JSON, removeDataDir, startTestApp, useTestApp } from './support/test-app';

/** POST /leads/convert (API.md v2, "Working leads"; issue 17.3): per-item results, all-or-none also across a crash. */

type Client = () => ReturnType<ReturnType<typeof useTestApp>['http']>;
let serial = 0;

/** A Qualified lead of a company of its own. */
async function qualifiedLead(http: Client, overrides: Record<string, unknown> = {}): Promise<string> {
  serial++;
  const body = { lastName: `Buyer ${serial}`, company: `Bulk Co ${serial} ${Math.random()}`, email: `bulk-${serial}-${Math.random()}@example.com`, source: 'Web', ...overrides };
  const id = (await http().post('/leads').send(body).expect(201)).body.id;
  await http().post(`/leads/${id}/qualify`).send({}).expect(200);
  return id;
}

const deal = (name: string) => ({ opportunity: { name, closeDate: '2027-06-30', stage: 'Prospecting', amount: 1000 } });

describe('Bulk conversion', () => {
  const t = useTestApp(EMBEDDED_BACKEND);

  it('converts each lead on its own (allOrNone false): the refused one carries its problem, the others their /convert response', async () => {
    const a = await qualifiedLead(() => t.http());
    const b = await qualifiedLead(() => t.http());
    const notQualified = (await t.http().post('/leads').send({ lastName: 'New', company: `Unqualified ${Math.random()}` }).expect(201)).body.id;
    const response = await t.http().post('/leads/convert').send({ conversions: [{ leadId: a, ...deal('A deal') }, { leadId: notQualified }, { leadId: b }], allOrNone: false }).expect(200);
    expect(response.body).toMatchObject({ allOrNone: false, converted: 2 });
    const [first, refused, third] = response.body.results;
    expect(first).toMatchObject({ leadId: a, status: 200, id: a, accountId: expect.any(String), contactId: expect.any(String), opportunityId: expect.any(String) });
    expect(refused).toMatchObject({ leadId: notQualified, status: 409, type: '/problems/lead-transition-refused' });
    expect(third).toMatchObject({ leadId: b, status: 200, opportunityId: null });
    const at = { minPosition: third.position };
    expect((await t.http().get(`/leads/${a}`).query(at).expect(200)).body).toMatchObject({ status: 'Converted', convertedOpportunityId: first.opportunityId });
    expect((await t.http().get(`/opportunities/${first.opportunityId}`).query(at).expect(200)).body).toMatchObject({ name: 'A deal', accountId: first.accountId });
    expect((await t.http().get(`/leads/${notQualified}`).query(at).expect(200)).body).toMatchObject({ status: 'New' });
  });

  it('converts none when one is refused (allOrNone true): the refused one carries its problem, the others 424, nothing is appended', async () => {
    const a = await qualifiedLead(() => t.http());
    const b = await qualifiedLead(() => t.http());
    const notQualified = (await t.http().post('/leads').send({ lastName: 'New', company: `Unqualified ${Math.random()}` }).expect(201)).body.id;
    const head = await t.store.headPosition();
    const response = await t.http().post('/leads/convert').send({ conversions: [{ leadId: a, ...deal('A') }, { leadId: b }, { leadId: notQualified }], allOrNone: true }).expect(200);
    expect(response.body).toMatchObject({ allOrNone: true, converted: 0 });
    expect(response.body.results).toEqual([
      expect.objectContaining({ leadId: a, status: 424, type: '/problems/not-converted' }),
      expect.objectContaining({ leadId: b, status: 424, type: '/problems/not-converted' }),
      expect.objectContaining({ leadId: notQualified, status: 409 }),
    ]);
    expect(await t.store.headPosition()).toBe(head);
    for (const id of [a, b]) expect((await t.http().get(`/leads/${id}`).query({ minPosition: String(head) }).expect(200)).body).toMatchObject({ status: 'Qualified', isConverted: false });
  });

  it('converts every lead when none is refused (allOrNone true), each with the records it names', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await qualifiedLead(() => t.http()));
    const response = await t.http().post('/leads/convert').send({ conversions: ids.map((leadId, i) => ({ leadId, ...(i % 2 === 0 ? deal(`Deal ${i}`) : {}) })), allOrNone: true }).expect(200);
    expect(response.body).toMatchObject({ allOrNone: true, converted: 5 });
    for (const [i, result] of response.body.results.entries()) {
      expect(result).toMatchObject({ leadId: ids[i], status: 200, id: ids[i] });
      // Read at the position the conversion answered (read-your-writes), not whenever the projector happens to be there.
      const at = { minPosition: result.position };
      expect((await t.http().get(`/leads/${ids[i]}`).query(at).expect(200)).body).toMatchObject({ status: 'Converted', convertedAccountId: result.accountId, convertedContactId: result.contactId });
      await t.http().get(`/accounts/${result.accountId}`).query(at).expect(200);
      await t.http().get(`/contacts/${result.contactId}`).query(at).expect(200);
      if (i % 2 === 0) await t.http().get(`/opportunities/${result.opportunityId}`).query(at).expect(200);
      else expect(result.opportunityId).toBeNull();
    }
  });

  it('counts an all-or-none batch in crm_commands_total as each conversion on its own is counted: converted ones succeeded, the refused one refused', async () => {
    const convertCounts = async () => {
      const metrics = (await t.http().get('/metrics').expect(200)).text;
      const count = (outcome: string) => Number(new RegExp(`^crm_commands_total\\{command="ConvertLead",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
      return { succeeded: count('succeeded'), refused: count('refused') };
    };
    const before = await convertCounts();
    const [a, b, c] = [await qualifiedLead(() => t.http()), await qualifiedLead(() => t.http()), await qualifiedLead(() => t.http())];
    const notQualified = (await t.http().post('/leads').send({ lastName: 'New', company: `Unqualified ${Math.random()}` }).expect(201)).body.id;
    expect((await t.http().post('/leads/convert').send({ conversions: [{ leadId: a }, { leadId: b }], allOrNone: true }).expect(200)).body.converted).toBe(2);
    expect((await t.http().post('/leads/convert').send({ conversions: [{ leadId: c }, { leadId: notQualified }], allOrNone: true }).expect(200)).body.converted).toBe(0);
    // The one not converted because of the other's refusal (424) was not decided on its own: not counted.
    expect(await convertCounts()).toEqual({ succeeded: before.succeeded + 2, refused: before.refused + 1 });
  });

  it('refuses, all or none, a second conversion of the batch opening an account of the same name (even with allowDuplicateAccount), naming the first', async () => {
    const company = `Twin Co ${Math.random()}`;
    const a = await qualifiedLead(() => t.http(), { company });
    const b = await qualifiedLead(() => t.http(), { company: `  ${company.toUpperCase()} ` });
    const head = await t.store.headPosition();
    for (const allowDuplicateAccount of [false, true]) {
      const response = await t.http().post('/leads/convert').send({ conversions: [{ leadId: a }, { leadId: b, allowDuplicateAccount }], allOrNone: true }).expect(200);
      expect(response.body.results).toEqual([
        expect.objectContaining({ leadId: a, status: 424 }),
        expect.objectContaining({ leadId: b, status: 409, type: '/problems/duplicate-account-in-batch', leadIds: [a], errors: [expect.objectContaining({ field: 'conversions.1.accountId' })] }),
      ]);
    }
    expect(await t.store.headPosition()).toBe(head);
    // Into the first's account, the second converts.
    const first = (await t.http().post('/leads/convert').send({ conversions: [{ leadId: a }], allOrNone: true }).expect(200)).body.results[0];
    const second = (await t.http().post('/leads/convert').send({ conversions: [{ leadId: b, accountId: first.accountId }], allOrNone: true }).expect(200)).body.results[0];
    expect(second).toMatchObject({ status: 200, accountId: first.accountId });
  });

  it('replays under the same Idempotency-Key without converting twice', async () => {
    const ids = [await qualifiedLead(() => t.http()), await qualifiedLead(() => t.http())];
    const body = { conversions: ids.map((leadId) => ({ leadId, ...deal('Once') })), allOrNone: true };
    const first = await t.http().post('/leads/convert').set('Idempotency-Key', 'bulk-once').send(body).expect(200);
    const head = await t.store.headPosition();
    const again = await t.http().post('/leads/convert').set('Idempotency-Key', 'bulk-once').send(body).expect(200);
    expect(again.body.results.map((r: { accountId: string }) => r.accountId)).toEqual(first.body.results.map((r: { accountId: string }) => r.accountId));
    expect(await t.store.headPosition()).toBe(head);
    const other = await t.http().post('/leads/convert').set('Idempotency-Key', 'bulk-once').send({ ...body, allOrNone: false }).expect(200);
    expect(other.body.results.map((r: { status: number }) => r.status)).toEqual([422, 422]);
  });

  it('refuses bad input with a problem naming the field, appending nothing', async () => {
    const lead = await qualifiedLead(() => t.http());
    const head = await t.store.headPosition();
    const cases: [unknown, string][] = [
      [{ conversions: [], allOrNone: true }, 'conversions'],
      [{ conversions: Array.from({ length: 201 }, () => ({ leadId: lead })) }, 'conversions'],
      [{ conversions: [{ leadId: 'not-a-uuid' }] }, 'conversions.0.leadId'],
      [{ conversions: [{ leadId: lead }, { leadId: lead.toUpperCase() }] }, 'conversions.1.leadId'],
      [{ conversions: [{ leadId: lead, opportunity: { name: 'x', closeDate: 'soon', stage: 'Prospecting' } }] }, 'conversions.0.opportunity.closeDate'],
      [{ conversions: [{ leadId: lead, colour: 'red' }] }, 'conversions.0.colour'],
      [{ conversions: [{ leadId: lead }], allOrNone: 'yes' }, 'allOrNone'],
      [{ conversions: [{ leadId: lead }], extra: 1 }, 'extra'],
      [{}, 'conversions'],
    ];
    for (const [body, field] of cases) {
      const response = await t.http().post('/leads/convert').send(body as object).expect(400);
      expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(fieldsOf(response.body)).toContain(field);
    }
    expect(await t.store.headPosition()).toBe(head);
  });
});

describe('Bulk conversion after a crash (embedded: all or none across streams needs its one transaction)', () => {
  let dataDir: string;
  beforeEach(() => (dataDir = newDataDir()));
  afterEach(() => removeDataDir(dataDir));

  it('completes every conversion of an all-or-none batch killed right after its decisions, and opens each record once', async () => {
    const key = `e2e:${asActor('e2e').Authorization.slice('Bearer '.length)}=${ROLES.join(',')}`;
    const service = await startCrashingService(dataDir, { type: 'LeadConverted', count: 1 }, key);
    const ids: string[] = [];
    try {
      const http = () => request(service.base);
      for (let i = 0; i < 6; i++) {
        const id = (await http().post('/leads').set(asActor('e2e')).send({ lastName: `Crash ${i}`, company: `Crash Co ${i}`, email: `crash-${i}@example.com` }).expect(201)).body.id;
        await http().post(`/leads/${id}/qualify`).set(asActor('e2e')).send({}).expect(200);
        ids.push(id);
      }
      const conversions = ids.map((leadId, i) => ({ leadId, ...(i % 2 === 0 ? deal(`Crash deal ${i}`) : {}) }));
      await expect(http().post('/leads/convert').set(asActor('e2e')).send({ conversions, allOrNone: true })).rejects.toThrow();
      const [, signal] = await service.exited;
      expect(signal).toBe('SIGKILL');
    } finally {
      service.killIfRunning();
    }
    // Killed after the one transaction of decisions: every lead is converted in the log, none of its records opened yet.
    const store = openEventStore(dataDir);
    try {
      for (const id of ids) expect((await store.readStream(`lead-${id}`)).map((e) => e.type)).toEqual(['LeadCaptured', 'LeadQualified', 'LeadConverted']);
    } finally {
      await store.close();
    }

    const t = await startTestApp(dataDir, EMBEDDED_BACKEND);
    try {
      // Read once the read models hold everything the recovery on start wrote.
      const at = { minPosition: String(await t.store.headPosition()) };
      for (const [i, id] of ids.entries()) {
        const lead = (await t.http().get(`/leads/${id}`).query(at).expect(200)).body;
        expect(lead).toMatchObject({ status: 'Converted', isConverted: true });
        const account = (await t.http().get(`/accounts/${lead.convertedAccountId}`).query(at).expect(200)).body;
        expect(account).toMatchObject({ name: `Crash Co ${i}` });
        expect((await t.http().get(`/contacts/${lead.convertedContactId}`).query(at).expect(200)).body).toMatchObject({ accountId: account.id, lastName: `Crash ${i}` });
        const records = [`/accounts/${account.id}`, `/contacts/${lead.convertedContactId}`];
        if (i % 2 === 0) records.push(`/opportunities/${lead.convertedOpportunityId}`);
        else expect(lead.convertedOpportunityId ?? null).toBeNull();
        for (const path of records) expect((await t.http().get(`${path}/history`).expect(200)).body).toHaveLength(1);
      }
    } finally {
      await t.close();
    }
  }, 120_000);
});
