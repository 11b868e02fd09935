import { asActor, fieldsOf, newDataDir, removeDataDir, startTestApp, TestApp } from './support/test-app';

/** An auditor's questions: what happened, in what order, by whom, when, and how did it look then. */
describe('Lead audit over HTTP', () => {
  let t: TestApp;
  let id: string;
  beforeAll(async () => {
    t = await startTestApp();
    id = (await t.http().post('/leads').set(asActor('importer')).send({ lastName: 'Curie', company: 'Radium Inc', occurredAt: '2026-01-10T09:00:00.000Z' })).body.id;
    await t.http().post(`/leads/${id}/work`).set(asActor('sdr-1')).send({ status: 'Working', occurredAt: '2026-01-12T09:00:00.000Z' }).expect(200);
    await t.http().post(`/leads/${id}/qualify`).set(asActor('sdr-1')).send({ need: 'isotopes', occurredAt: '2026-01-20T15:30:00.000Z' }).expect(200);
  });
  afterAll(async () => {
    await t.close();
    removeDataDir(t.dataDir);
  });

  it('lists the history oldest first with revision, position, type, data and metadata', async () => {
    const res = await t.http().get(`/leads/${id}/history`);
    expect(res.status).toBe(200);
    expect(res.body.map((e: { type: string }) => e.type)).toEqual(['LeadCaptured', 'LeadStatusChanged', 'LeadQualified']);
    expect(res.body.map((e: { revision: number }) => e.revision)).toEqual([0, 1, 2]);
    expect(res.body.map((e: { metadata: { actorId: string } }) => e.metadata.actorId)).toEqual(['importer', 'sdr-1', 'sdr-1']);
    const positions = res.body.map((e: { position: string }) => BigInt(e.position));
    expect(positions[0] < positions[1] && positions[1] < positions[2]).toBe(true);
    expect(res.body[2]).toMatchObject({
      data: { leadId: id, need: 'isotopes', previousStatus: 'Working' },
      metadata: { occurredAt: '2026-01-20T15:30:00.000Z', recordedAt: expect.any(String), correlationId: expect.any(String), causationId: expect.any(String) },
    });
  });

  it.each([
    ['2026-01-10T09:00:00.000Z', 0, 'New'],
    ['2026-01-15T00:00:00.000Z', 1, 'Working'],
    ['2026-01-20T15:30:00.000Z', 2, 'Qualified'],
    ['2030-01-01T00:00:00.000Z', 2, 'Qualified'],
  ])('shows the lead as it stood at business time %s', async (asOf, revision, status) => {
    const res = await t.http().get(`/leads/${id}/state`).query({ asOf });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, revision, status });
    expect(res.headers.etag).toBe(`"${revision}"`);
  });

  it.each([
    [0, 'New'],
    [1, 'Working'],
    [2, 'Qualified'],
  ])('shows the lead as it stood at revision %i', async (revision, status) => {
    const res = await t.http().get(`/leads/${id}/state`).query({ revision });
    expect(res.body).toMatchObject({ revision, status });
  });

  it('shows the current state without asOf or revision', async () => {
    const res = await t.http().get(`/leads/${id}/state`);
    expect(res.body).toMatchObject({ revision: 2, status: 'Qualified', qualification: { need: 'isotopes' } });
  });

  it('answers 404 before the lead existed, or past its last revision', async () => {
    expect((await t.http().get(`/leads/${id}/state`).query({ asOf: '2026-01-01T00:00:00.000Z' })).status).toBe(404);
    expect((await t.http().get(`/leads/${id}/state`).query({ revision: 3 })).status).toBe(404);
  });

  it.each([
    [{ asOf: 'last tuesday' }, 'asOf'],
    [{ revision: '-1' }, 'revision'],
    [{ revision: 'two' }, 'revision'],
    [{ asOf: '2026-01-15T00:00:00.000Z', revision: '1' }, 'asOf'],
    [{ colour: 'red' }, 'colour'],
  ])('refuses %j with 400 naming %s', async (query, field) => {
    const res = await t.http().get(`/leads/${id}/state`).query(query);
    expect(res.status).toBe(400);
    expect(fieldsOf(res.body)).toContain(field);
  });
});

describe('Restart on the same data directory', () => {
  it('keeps every history intact and goes on from the stored revisions', async () => {
    const dataDir = newDataDir();
    const first = await startTestApp(dataDir);
    const ids: string[] = [];
    for (let n = 0; n < 20; n++) {
      const { id } = (await first.http().post('/leads').send({ lastName: `L${n}`, company: 'Restart Ltd' }).expect(201)).body;
      if (n % 2 === 0) await first.http().post(`/leads/${id}/qualify`).send({ note: `n${n}` }).expect(200);
      ids.push(id);
    }
    const before = await Promise.all(ids.map(async (id) => (await first.http().get(`/leads/${id}/history`)).body));
    await first.close();

    const second = await startTestApp(dataDir);
    try {
      const after = await Promise.all(ids.map(async (id) => (await second.http().get(`/leads/${id}/history`)).body));
      expect(after).toEqual(before);
      const next = await second.http().post(`/leads/${ids[1]}/work`).send({ status: 'Nurturing' });
      expect(next.status).toBe(200);
      expect(next.body.revision).toBe(1);
      expect(BigInt(next.body.position)).toBeGreaterThan(BigInt(before[19][before[19].length - 1].position));
    } finally {
      await second.close();
      removeDataDir(dataDir);
    }
  });
});
