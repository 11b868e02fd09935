import { AggregateNotFound, DuplicateLeadEmail, LeadDetails } from '@crm/domain';
import { ChunkCandidate, ChunkInput, decideImportChunk } from './import-chunk';

/** decideImportChunk: the captures of a chunk decided at once, each as it would be decided alone in file order. */

const at = '2024-05-01T09:00:00.000Z';
const rule = { streamId: 'assignment-turns-3.0', ruleName: 'Web leads', ownerIds: ['ana', 'ben'] };

function line(n: number, details: Partial<LeadDetails> = {}, extra: Partial<ChunkCandidate['command']> = {}, matched?: typeof rule): ChunkCandidate {
  const command = { type: 'CaptureLead', leadId: `lead-${n}`, occurredAt: at, details: { lastName: `Person ${n}`, company: 'Acme', source: 'Web', ...details }, ...extra } as ChunkCandidate['command'];
  return { line: n, command, ...(matched && { rule: matched }) };
}
const decide = (candidates: ChunkCandidate[], overrides: Partial<ChunkInput> = {}) =>
  decideImportChunk({ candidates, claims: new Map(), turns: new Map(), allowDuplicate: false, ...overrides });

describe('decideImportChunk', () => {
  it('captures new leads with their events and claims each email once, as first claims of values never claimed', () => {
    const decision = decide([line(1, { email: 'A@Example.com ' }), line(2, { email: 'b@example.com' }), line(3)]);
    expect(decision.refused).toEqual([]);
    expect(decision.captured.map((c) => [c.line, c.events.map((e) => e.type)])).toEqual([
      [1, ['LeadCaptured']],
      [2, ['LeadCaptured']],
      [3, ['LeadCaptured']],
    ]);
    expect(decision.captured[0].next).toMatchObject({ id: 'lead-1', status: 'New', email: 'A@Example.com ' });
    expect([...decision.claims.keys()]).toEqual(['a@example.com', 'b@example.com']);
    expect(decision.claims.get('a@example.com')!.events).toEqual([{ type: 'UniqueValueClaimed', data: { holders: [{ id: 'lead-1', since: 0 }] } }]);
  });

  it('refuses the later of two lines with one email (trimmed, case-insensitive), naming the earlier, as a capture right after it would be', () => {
    const decision = decide([line(1, { email: 'same@example.com' }), line(2, { email: ' SAME@example.com' }), line(3, { email: 'same@example.com' })]);
    expect(decision.captured.map((c) => c.line)).toEqual([1]);
    expect(decision.refused.map((r) => r.line)).toEqual([2, 3]);
    for (const { error } of decision.refused) {
      expect(error).toBeInstanceOf(DuplicateLeadEmail);
      expect((error as DuplicateLeadEmail).extensions.duplicates).toEqual(['lead-1']);
    }
    expect(decision.claims.get('same@example.com')!.events).toHaveLength(1);
  });

  it('refuses an email held by a standing lead as read, naming it; and when the first line with it is refused, a later one meets the same holders', () => {
    const claims = new Map([['held@example.com', { standing: [{ id: 'old-lead', since: 4 }], nextRevision: 7 }]]);
    const decision = decide([line(1, { email: 'held@example.com' }), line(2, { email: 'held@example.com' })], { claims });
    expect(decision.captured).toEqual([]);
    expect(decision.refused.map((r) => [r.line, (r.error as DuplicateLeadEmail).extensions.duplicates])).toEqual([
      [1, ['old-lead']],
      [2, ['old-lead']],
    ]);
    expect(decision.claims.size).toBe(0);
  });

  it('with allowDuplicate, every line joins the holders: one claim event per line, at consecutive revisions of the claim stream', () => {
    const claims = new Map([['held@example.com', { standing: [{ id: 'old-lead', since: 4 }], nextRevision: 7 }]]);
    const decision = decide([line(1, { email: 'held@example.com' }), line(2, { email: 'held@example.com' })], { claims, allowDuplicate: true });
    expect(decision.captured.map((c) => c.line)).toEqual([1, 2]);
    expect(decision.claims.get('held@example.com')!.events.map((e) => e.data.holders)).toEqual([
      [{ id: 'old-lead', since: 4 }, { id: 'lead-1', since: 7 }],
      [{ id: 'old-lead', since: 4 }, { id: 'lead-1', since: 7 }, { id: 'lead-2', since: 8 }],
    ]);
  });

  it('gives lines a rule matches the rule’s turns in file order, from the rotation as read; a refused line takes none', () => {
    const claims = new Map([['held@example.com', { standing: [{ id: 'old-lead', since: 0 }], nextRevision: 1 }]]);
    const turns = new Map([[rule.streamId, { next: 1, returned: [] }]]);
    const decision = decide(
      [line(1, {}, {}, rule), line(2, { email: 'held@example.com' }, {}, rule), line(3, {}, {}, rule), line(4, {}, { ownerId: 'cleo' }), line(5, {}, {}, rule)],
      { claims, turns },
    );
    expect(decision.refused.map((r) => r.line)).toEqual([2]);
    const owners = decision.captured.map((c) => [c.line, c.next?.ownerId, c.events.map((e) => e.type)]);
    expect(owners).toEqual([
      [1, 'ben', ['LeadCaptured', 'LeadAssigned']],
      [3, 'ana', ['LeadCaptured', 'LeadAssigned']],
      [4, 'cleo', ['LeadCaptured']],
      [5, 'ben', ['LeadCaptured', 'LeadAssigned']],
    ]);
    expect(decision.captured[0].events[1].data).toMatchObject({ ownerId: 'ben', ruleName: 'Web leads' });
    expect(decision.turns.get(rule.streamId)!.map(({ line: n, event }) => [n, event.data.ownerId, event.data.next])).toEqual([
      [1, 'ben', 2],
      [3, 'ana', 3],
      [5, 'ben', 4],
    ]);
  });

  it('serves owners given back before the rotation moves on', () => {
    const turns = new Map([[rule.streamId, { next: 5, returned: ['ana'] }]]);
    const decision = decide([line(1, {}, {}, rule), line(2, {}, {}, rule)], { turns });
    expect(decision.captured.map((c) => c.next?.ownerId)).toEqual(['ana', 'ben']);
  });

  it('refuses a line naming a campaign that does not exist with the error of a single capture, and goes on', () => {
    const decision = decide([line(1, { campaignId: 'c-1' }, { campaignExists: false }), line(2, { campaignId: 'c-1' }, { campaignExists: true }), line(3, { campaignId: 'c-2' })]);
    expect(decision.captured.map((c) => c.line)).toEqual([2]);
    expect(decision.refused.map((r) => r.line)).toEqual([1, 3]);
    expect(decision.refused[0].error).toBeInstanceOf(AggregateNotFound);
  });
});
