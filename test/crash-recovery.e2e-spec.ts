import { READ_STORE, ReadStore } from '@crm/read-models';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import request from 'supertest';
import { CompletionRecovery } from '../apps/api/src/processes/completion-recovery';
import { backendEnv, eventStoreClass, openEventStore } from './support/backend';
import { newDataDir, removeDataDir, startTestApp } from './support/test-app';

/**
 * All-or-nothing across streams: the process dies right after the decision of a conversion (or
 * merge) is appended; on restart, recovery completes it, and every record it names exists once.
 */

describe('Crash recovery of multi-stream commands', () => {
  let dataDir: string;
  /** The crashing server's address, once it listens. */
  let base = '';
  beforeEach(() => {
    dataDir = newDataDir();
  });
  afterEach(() => removeDataDir(dataDir));

  /** Runs `act` against a server that SIGKILLs itself right after the next decision is durable. */
  async function crashDuring(act: () => Promise<unknown>): Promise<void> {
    const child = fork(join(__dirname, 'support', 'crash-after-decision.server.ts'), [], {
      env: { ...process.env, ...backendEnv(dataDir), PORT: '0', HOST: '127.0.0.1' },
      execArgv: ['-r', join(__dirname, 'support', 'register-ts.js')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    try {
      const [message] = await once(child, 'message');
      base = `http://127.0.0.1:${(message as { port: number }).port}`;
      const exited = once(child, 'exit');
      await act();
      const [, signal] = await exited;
      expect(signal).toBe('SIGKILL');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }

  async function streamTypes(streamId: string): Promise<string[]> {
    const store = openEventStore(dataDir);
    try {
      return (await store.readStream(streamId)).map((e) => e.type);
    } finally {
      await store.close();
    }
  }

  it('completes a conversion interrupted right after LeadConverted, opening each record exactly once', async () => {
    let leadId = '';
    await crashDuring(async () => {
      leadId = (await request(base).post('/leads').send({ lastName: 'Franklin', firstName: 'Rosalind', company: 'King\'s College', email: 'rf@example.com', industry: 'Research', source: 'Event' }).expect(201)).body.id;
      await request(base).post(`/leads/${leadId}/qualify`).send({}).expect(200);
      await expect(request(base).post(`/leads/${leadId}/convert`).send({ opportunity: { name: 'Photo 51', closeDate: '2026-09-30', stage: 'Needs Analysis', amount: 5000 } })).rejects.toThrow();
    });
    expect(await streamTypes(`lead-${leadId}`)).toEqual(['LeadCaptured', 'LeadQualified', 'LeadConverted']);

    for (let restart = 1; restart <= 2; restart++) {
      const t = await startTestApp(dataDir);
      try {
        const lead = (await t.http().get(`/leads/${leadId}`).expect(200)).body;
        expect(lead).toMatchObject({ status: 'Converted', isConverted: true });
        const account = (await t.http().get(`/accounts/${lead.convertedAccountId}`).expect(200)).body;
        expect(account).toMatchObject({ name: "King's College", industry: 'Research', leadSource: 'Event' });
        const contact = (await t.http().get(`/contacts/${lead.convertedContactId}`).expect(200)).body;
        expect(contact).toMatchObject({ accountId: account.id, lastName: 'Franklin', firstName: 'Rosalind', email: 'rf@example.com', leadSource: 'Event' });
        const opportunity = (await t.http().get(`/opportunities/${lead.convertedOpportunityId}`).expect(200)).body;
        expect(opportunity).toMatchObject({ accountId: account.id, name: 'Photo 51', stage: 'Needs Analysis', probability: 20, amount: 5000, leadSource: 'Event' });
        for (const path of [`/accounts/${account.id}`, `/contacts/${contact.id}`, `/opportunities/${opportunity.id}`]) {
          expect((await t.http().get(`${path}/history`)).body).toHaveLength(1);
        }
      } finally {
        await t.close();
      }
    }
  });

  it('completes a merge interrupted right after LeadMerged, closing every duplicate', async () => {
    const ids: string[] = [];
    await crashDuring(async () => {
      for (const fields of [{ email: 'a@example.com' }, { phone: '123' }, { title: 'CEO' }]) {
        ids.push((await request(base).post('/leads').send({ lastName: 'Meitner', company: 'KWI', ...fields }).expect(201)).body.id);
      }
      await expect(request(base).post(`/leads/${ids[0]}/merge`).send({ duplicateIds: [ids[1], ids[2]] })).rejects.toThrow();
    });
    expect(await streamTypes(`lead-${ids[1]}`)).toEqual(['LeadCaptured']);

    const t = await startTestApp(dataDir);
    try {
      expect((await t.http().get(`/leads/${ids[0]}`)).body).toMatchObject({ phone: '123', title: 'CEO', status: 'New' });
      for (const duplicate of [ids[1], ids[2]]) {
        expect((await t.http().get(`/leads/${duplicate}`)).body).toMatchObject({ status: 'Merged', mergedIntoId: ids[0] });
        expect((await t.http().get(`/leads/${duplicate}/history`)).body.map((e: { type: string }) => e.type)).toEqual(['LeadCaptured', 'LeadMergedInto']);
      }
    } finally {
      await t.close();
    }
  });

  it('completes, on its periodic sweep, a decision whose steps never ran while the app is up', async () => {
    const t = await startTestApp(dataDir);
    try {
      const leadId = (await t.http().post('/leads').send({ lastName: 'Noether', company: 'Erlangen' }).expect(201)).body.id;
      await t.http().post(`/leads/${leadId}/qualify`).send({}).expect(200);
      // A decision appended straight to the store, as if its process died before any step ran.
      const accountId = '8f1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f63';
      const contactId = '8f1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f64';
      const decision = {
        leadId, leadSource: 'Other', accountId, newAccount: { name: 'Erlangen' }, accountFill: null,
        contactId, newContact: { lastName: 'Noether' }, opportunityId: null, opportunity: null,
      };
      const metadata = { actorId: 'rep', occurredAt: new Date().toISOString(), correlationId: 'c', causationId: 'c' };
      await t.store.append(`lead-${leadId}`, [{ id: '8f1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f65', type: 'LeadConverted', data: decision, metadata }], 1);
      expect((await t.http().get(`/accounts/${accountId}`)).status).toBe(404);

      expect(await t.app.get(CompletionRecovery).sweep()).toBe(1);
      await t.catchUp();
      expect((await t.http().get(`/accounts/${accountId}`)).body).toMatchObject({ name: 'Erlangen' });
      expect((await t.http().get(`/contacts/${contactId}`)).body).toMatchObject({ accountId, lastName: 'Noether' });
      expect(await t.app.get(CompletionRecovery).sweep()).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('keeps its position per event log: a position left by another log (a wiped server, another file) is not where it starts', async () => {
    const t = await startTestApp(dataDir);
    try {
      const leadId = (await t.http().post('/leads').send({ lastName: 'Noether', company: 'Göttingen' }).expect(201)).body.id;
      await t.http().post(`/leads/${leadId}/qualify`).send({}).expect(200);
      // The read store remembers a sweep far ahead, of another log (and one under the name used before logs had identities).
      const positions = t.app.get<ReadStore>(READ_STORE);
      await positions.saveLogPosition('completion-recovery', 1_000_000n);
      await positions.saveLogPosition('completion-recovery:another-log', 1_000_000n);
      const accountId = '9a1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f63';
      const decision = {
        leadId, leadSource: 'Other', accountId, newAccount: { name: 'Göttingen' }, accountFill: null,
        contactId: '9a1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f64', newContact: { lastName: 'Noether' }, opportunityId: null, opportunity: null,
      };
      const metadata = { actorId: 'rep', occurredAt: new Date().toISOString(), correlationId: 'c', causationId: 'c' };
      await t.store.append(`lead-${leadId}`, [{ id: '9a1d6c1e-8d2a-4a7e-9a59-3d1b2c4e5f65', type: 'LeadConverted', data: decision, metadata }], 1);
      expect(await t.app.get(CompletionRecovery).sweep()).toBe(1);
      await t.catchUp();
      expect((await t.http().get(`/accounts/${accountId}`)).body).toMatchObject({ name: 'Göttingen' });
    } finally {
      await t.close();
    }
  });

  it('resumes its sweeps after a restart where the last one ended, instead of reading the whole log again', async () => {
    let swept: bigint;
    const first = await startTestApp(dataDir);
    try {
      for (const lastName of ['Hopper', 'Hamilton', 'Lovelace']) await first.http().post('/leads').send({ lastName, company: 'Navy' }).expect(201);
      await first.app.get(CompletionRecovery).sweep();
      swept = await first.store.headPosition();
    } finally {
      await first.close();
    }
    const readAll = jest.spyOn(eventStoreClass().prototype, 'readAll');
    try {
      const restarted = await startTestApp(dataDir);
      await restarted.close();
      // The projector follows a subscription: the only readAll on start is the sweep's.
      expect(readAll.mock.calls.map(([options]) => options.after)).toEqual([swept]);
    } finally {
      readAll.mockRestore();
    }
  });

  it('tries a decision whose steps fail again on the next sweeps (until it is parked), instead of passing over it', async () => {
    const t = await startTestApp(dataDir);
    try {
      const leadId = (await t.http().post('/leads').send({ lastName: 'Curie', company: 'Sorbonne' }).expect(201)).body.id;
      await t.http().post(`/leads/${leadId}/qualify`).send({}).expect(200);
      // A decision naming as "new" an account that already exists: opening it is refused every time.
      const taken = (await t.http().post('/accounts').send({ name: 'Sorbonne' }).expect(201)).body.id;
      const decision = {
        leadId, leadSource: 'Other', accountId: taken, newAccount: { name: 'Sorbonne' }, accountFill: null,
        contactId: '5e0c1d2a-3b4c-4d5e-8f60-718293a4b5c6', newContact: { lastName: 'Curie' }, opportunityId: null, opportunity: null,
      };
      const metadata = { actorId: 'rep', occurredAt: new Date().toISOString(), correlationId: 'c', causationId: 'c' };
      const beforeDecision = await t.store.headPosition();
      await t.store.append(`lead-${leadId}`, [{ id: '5e0c1d2a-3b4c-4d5e-8f60-718293a4b5c7', type: 'LeadConverted', data: decision, metadata }], 1);
      await t.http().post('/leads').send({ lastName: 'Meitner', company: 'KWI' }).expect(201);
      const recovery = t.app.get(CompletionRecovery);
      await expect(recovery.sweep()).rejects.toThrow(/1 decision\(s\) could not be completed/);
      // The next sweep starts right at the failed decision: what came before it is not read again.
      expect(await recovery.sweptPosition()).toBe(beforeDecision);
      await expect(recovery.sweep()).rejects.toThrow(/could not be completed/);
    } finally {
      await t.close();
    }
  });
});

/**
 * issue 10: a service killed under load and started again on the same data serves fresh reads at
 * once. The dead process's projector lease (15 s by default) must not hold the new one back:
 * a lease held by a process of this host that no longer exists is taken over at once.
 */
describe('Restart after a crash', () => {
  let dataDir: string;
  const children: ChildProcess[] = [];
  beforeEach(() => {
    dataDir = newDataDir();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
    }
    removeDataDir(dataDir);
  });

  /** The API in a process of its own on dataDir, with the default lease; resolves with its address once it listens. */
  async function startService(): Promise<{ child: ChildProcess; base: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' };
    delete env.PROJECTOR_LEASE_MS;
    delete env.PROJECTOR;
    const child = fork(join(__dirname, 'support', 'api.server.ts'), [], {
      env,
      execArgv: ['-r', join(__dirname, 'support', 'register-ts.js')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    const [message] = await once(child, 'message');
    return { child, base: `http://127.0.0.1:${(message as { port: number }).port}` };
  }

  // The read's own wait bounds it: minPosition waits 5 s at most (API.md), and the lease a killed projector leaves behind has
  // most of its 15 s to run (renewed moments before the kill). So a 200 shows the restarted service did not wait the lease out;
  // how long it took is printed, not asserted (a timed test fails on a busy machine).
  it('reads its last acknowledged write with minPosition within its 5 s wait of answering /health after a SIGKILL under load (not after the 15 s lease)', async () => {
    const first = await startService();
    let last = { id: '', position: -1n };
    let acknowledged = 0;
    let killed = false;
    const capture = async (client: number) => {
      for (let n = 0; !killed; n++) {
        try {
          const res = await fetch(`${first.base}/leads`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ lastName: `Crash ${client}-${n}`, company: 'Sudden Stop Ltd', email: `crash-${client}-${n}@example.com` }),
          });
          const body = (await res.json()) as { id: string; position: string };
          if (res.status !== 201) throw new Error(`capture answered ${res.status}`);
          acknowledged++;
          if (BigInt(body.position) > last.position) last = { id: body.id, position: BigInt(body.position) };
        } catch (error) {
          if (!killed) throw error;
        }
      }
    };
    const load = Promise.all(Array.from({ length: 20 }, (_, client) => capture(client)));
    while (acknowledged < 300) await new Promise((resolve) => setTimeout(resolve, 10));
    const exited = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    killed = true;
    await exited;
    await load;

    const second = await startService();
    while ((await fetch(`${second.base}/health`).catch(() => undefined))?.status !== 200) await new Promise((resolve) => setTimeout(resolve, 10));
    const healthy = Date.now();
    const res = await fetch(`${second.base}/leads/${last.id}?minPosition=${last.position}`);
    const freshAfterMs = Date.now() - healthy;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toBe(last.id);
    console.log(`Restart after SIGKILL: the last acknowledged write (position ${last.position}, ${acknowledged} acknowledged) read ${freshAfterMs} ms after /health answered`);
  });
});
