import { asActor, fieldsOf, useTestApp } from './support/test-app';

/** An auditor's question of any field: what was it, what became of it, who changed it, when. */
describe('Field history over HTTP', () => {
  const t = useTestApp();

  it('lists every change of every field of a lead, newest first, with both clocks, the actor and onBehalfOf', async () => {
    const { id } = (
      await t.http().post('/leads').set(asActor('importer')).send({ lastName: 'Franklin', company: 'Kings', email: 'rf@example.org', occurredAt: '2026-01-05T09:00:00.000Z' }).expect(201)
    ).body;
    await t.http().patch(`/leads/${id}`).set(asActor('sdr-1')).set('X-On-Behalf-Of', 'maurice').send({ email: 'rosalind@example.org', title: 'Researcher', occurredAt: '2026-01-06T09:00:00.000Z' }).expect(200);
    await t.http().post(`/leads/${id}/qualify`).set(asActor('sdr-1')).send({ occurredAt: '2026-01-07T09:00:00.000Z' }).expect(200);
    const res = await t.http().get(`/leads/${id}/field-history`).expect(200);
    const byRevision = (revision: number) => res.body.filter((c: { revision: number }) => c.revision === revision);
    expect(res.body[0].revision).toBe(2);
    expect(byRevision(2)).toContainEqual({ field: 'status', oldValue: 'New', newValue: 'Qualified', revision: 2, actorId: 'sdr-1', onBehalfOf: null, occurredAt: '2026-01-07T09:00:00.000Z', recordedAt: expect.any(String) });
    expect(byRevision(1)).toEqual([
      expect.objectContaining({ field: 'email', oldValue: 'rf@example.org', newValue: 'rosalind@example.org', actorId: 'sdr-1', onBehalfOf: 'maurice', occurredAt: '2026-01-06T09:00:00.000Z' }),
      expect.objectContaining({ field: 'title', oldValue: null, newValue: 'Researcher' }),
    ]);
    expect(byRevision(0)).toContainEqual(expect.objectContaining({ field: 'lastName', oldValue: null, newValue: 'Franklin', actorId: 'importer' }));
    expect(res.body.map((c: { field: string }) => c.field)).not.toContain('id');
    expect(res.body.map((c: { field: string }) => c.field)).not.toContain('lastModifiedAt');
  });

  it('keeps one field with ?field=, answers CSV, and 404 for an unknown record', async () => {
    const { id } = (await t.http().post('/leads').send({ lastName: 'Meitner', company: 'KWI', occurredAt: '2026-02-01T09:00:00.000Z' }).expect(201)).body;
    await t.http().patch(`/leads/${id}`).send({ company: 'Manne Siegbahn Institute', occurredAt: '2026-02-02T09:00:00.000Z' }).expect(200);
    await t.http().patch(`/leads/${id}`).send({ company: 'Stockholm "University", Physics', occurredAt: '2026-02-03T09:00:00.000Z' }).expect(200);
    const only = (await t.http().get(`/leads/${id}/field-history`).query({ field: 'company' }).expect(200)).body;
    expect(only.map((c: { oldValue: string; newValue: string }) => [c.oldValue, c.newValue])).toEqual([
      ['Manne Siegbahn Institute', 'Stockholm "University", Physics'],
      ['KWI', 'Manne Siegbahn Institute'],
      [null, 'KWI'],
    ]);
    const csv = await t.http().get(`/leads/${id}/field-history`).query({ field: 'company' }).set('Accept', 'text/csv').expect(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.text.split('\r\n')[0]).toBe('field,oldValue,newValue,revision,actorId,onBehalfOf,occurredAt,recordedAt');
    expect(csv.text.split('\r\n')[1]).toMatch(/^company,Manne Siegbahn Institute,"Stockholm ""University"", Physics",2,e2e,,2026-02-03T09:00:00\.000Z,/);
    await t.http().get('/leads/00000000-0000-4000-8000-000000000000/field-history').expect(404);
    const bad = await t.http().get(`/leads/${id}/field-history`).query({ field: 'x'.repeat(101) }).expect(400);
    expect(fieldsOf(bad.body)).toEqual(['field']);
  });

  it('covers conversion and the records it opens, and every kind of record', async () => {
    const { id } = (await t.http().post('/leads').send({ lastName: 'Curie', company: 'Radium Works', occurredAt: '2026-03-01T09:00:00.000Z' }).expect(201)).body;
    await t.http().post(`/leads/${id}/qualify`).send({ occurredAt: '2026-03-02T09:00:00.000Z' }).expect(200);
    const converted = (await t.http().post(`/leads/${id}/convert`).send({ opportunity: { name: 'Polonium', amount: 1000, closeDate: '2026-06-30', stage: 'Prospecting' }, occurredAt: '2026-03-03T09:00:00.000Z' }).expect(200)).body;
    const lead = (await t.http().get(`/leads/${id}/field-history`).expect(200)).body;
    expect(lead).toContainEqual(expect.objectContaining({ field: 'status', oldValue: 'Qualified', newValue: 'Converted', revision: 2 }));
    await t.http().post(`/opportunities/${converted.opportunityId}/stage`).send({ stage: 'Negotiation/Review', occurredAt: '2026-03-04T09:00:00.000Z' }).expect(200);
    const opportunity = (await t.http().get(`/opportunities/${converted.opportunityId}/field-history`).query({ field: 'stage' }).expect(200)).body;
    expect(opportunity.map((c: { newValue: string }) => c.newValue)).toEqual(['Negotiation/Review', 'Prospecting']);
    expect((await t.http().get(`/accounts/${converted.accountId}/field-history`).query({ field: 'name' }).expect(200)).body).toEqual([expect.objectContaining({ oldValue: null, newValue: 'Radium Works' })]);
    expect((await t.http().get(`/contacts/${converted.contactId}/field-history`).query({ field: 'lastName' }).expect(200)).body).toEqual([expect.objectContaining({ oldValue: null, newValue: 'Curie' })]);
  });

  it('writes a value a spreadsheet would run as a formula with a leading apostrophe in CSV', async () => {
    const { id } = (await t.http().post('/leads').send({ lastName: 'Formula', company: '=HYPERLINK("http://evil.example","x")', occurredAt: '2026-04-01T09:00:00.000Z' }).expect(201)).body;
    const csv = await t.http().get(`/leads/${id}/field-history`).query({ field: 'company' }).set('Accept', 'text/csv').expect(200);
    expect(csv.text.split('\r\n')[1]).toMatch(/^company,,"'=HYPERLINK\(""http:\/\/evil\.example"",""x""\)",0,/);
  });

  it.each(['2026-W01', '2026-032', '20260301'])('refuses asOf=%s, which Date cannot read, with 400 naming asOf (state and the pipeline report)', async (asOf) => {
    const { id } = (await t.http().post('/leads').send({ lastName: 'Week', company: 'Dates' }).expect(201)).body;
    const state = await t.http().get(`/leads/${id}/state`).query({ asOf }).expect(400);
    expect(fieldsOf(state.body)).toContain('asOf');
    const pipeline = await t.http().get('/reports/pipeline').query({ groupBy: 'stage', asOf }).expect(400);
    expect(fieldsOf(pipeline.body)).toContain('asOf');
    const capture = await t.http().post('/leads').send({ lastName: 'Week', company: 'Dates', occurredAt: asOf }).expect(400);
    expect(fieldsOf(capture.body)).toContain('occurredAt');
  });
});
