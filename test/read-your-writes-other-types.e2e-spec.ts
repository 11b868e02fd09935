import { useTestApp } from './support/test-app';

/**
 * Read-your-writes at the position of an event no read model takes. The projector reads only the
 * event types its read models handle (AssignmentRulesChanged, a uniqueness claim and an
 * assignment turn are none of them), and must still reach the position a command answered with.
 */
describe('Read-your-writes at the position of events no read model reads', () => {
  const t = useTestApp();

  it('answers a read at the position PUT /assignment-rules returned, then one at the position of a capture those rules assigned', async () => {
    const rules = await t.http().put('/assignment-rules').send({ rules: [{ name: 'Web', when: { source: 'Web' }, ownerIds: ['rep-ada', 'rep-grace'] }] });
    expect(rules.status).toBe(200);
    // AssignmentRulesChanged is the log's last event, and no read model reads it.
    const atRules = await t.http().get('/leads').query({ minPosition: rules.body.position, limit: '1' });
    expect(atRules.status).toBe(200);
    const projections = (await t.http().get('/projections').expect(200)).body as { name: string; position: string; lag: number }[];
    expect(projections.length).toBeGreaterThan(0);
    for (const projection of projections) {
      expect({ name: projection.name, reached: BigInt(projection.position) >= BigInt(rules.body.position), lag: projection.lag }).toEqual({ name: projection.name, reached: true, lag: 0 });
    }

    // A capture the rules assign appends an email claim and an assignment turn beside the lead's events.
    const captured = await t.http().post('/leads').send({ lastName: 'Lovelace', company: 'Engines', source: 'Web', email: `ada-${Date.now()}@example.com` });
    expect(captured.status).toBe(201);
    const lead = await t.http().get(`/leads/${captured.body.id}`).query({ minPosition: captured.body.position });
    expect(lead.status).toBe(200);
    expect(['rep-ada', 'rep-grace']).toContain(lead.body.ownerId);
  });
});
