import { EventStore, SqliteEventStore, StreamAppend } from '@crm/event-store';
import { poolRuleAt, poolRuleContext, usePoolRuleStore } from '../working-leads/pool-rule.fixture';
import { Metrics } from '../observability/metrics';
import { CommandExecutor } from '../records/command-executor';
import { AssignmentRouting } from '../working-leads/assignment-routing';
import { Configuration } from '../working-leads/configuration';
import { LeadCapture } from './lead-capture';
import type { CaptureLeadDto } from './lead.dto';

const context = poolRuleContext;
const at = poolRuleAt;
const TURNS = 'assignment-turns-0.0';
let serial = 0;
const leadId = () => `0190a0a0-0000-7000-8000-${String(++serial).padStart(12, '0')}`;
const body = (email = `lead${++serial}@example.com`) => ({ lastName: 'Lovelace', company: 'Engines', source: 'Web', email }) as CaptureLeadDto;

/** The real embedded store, its writes counted; `beforeAtomic` runs before an atomic append reaches it (another process's turn). */
function counted(store: SqliteEventStore) {
  const calls = { append: 0, appendAtomically: 0 };
  /** The streams read, in order. */
  const reads: string[] = [];
  let beforeAtomic: (() => Promise<void>) | undefined;
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'append') return (...args: Parameters<EventStore['append']>) => (calls.append++, target.append(...args));
      if (property === 'readStream') return (...args: Parameters<EventStore['readStream']>) => (reads.push(args[0]), target.readStream(...args));
      if (property === 'appendAtomically') {
        return async (appends: StreamAppend[]) => {
          calls.appendAtomically++;
          const before = beforeAtomic;
          beforeAtomic = undefined;
          await before?.();
          return target.appendAtomically(appends);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { proxy, calls, reads, interleave: (step: () => Promise<void>) => (beforeAtomic = step) };
}

/**
 * A capture that an assignment rule matches, on the embedded store: its turn and its lead in
 * one transaction. Two LeadCapture services on one store stand for two API processes.
 */
describe('LeadCapture: the assignment turn and the lead in one atomic append', () => {
  const fixture = usePoolRuleStore('crm-capture-turn-');
  let store: SqliteEventStore;
  const captureOn = (events: EventStore) => new LeadCapture(new CommandExecutor(events, new Metrics()), new AssignmentRouting(events, new Configuration(events)));
  beforeEach(() => {
    store = fixture.store();
  });

  it('appends the turn, the email claim and the lead in one transaction: one commit, and the LeadAssigned names the rule', async () => {
    const { proxy, calls } = counted(store);
    const id = leadId();
    const outcome = await captureOn(proxy).capture(id, body(), context, false);
    expect(calls).toEqual({ append: 0, appendAtomically: 1 });
    expect(outcome.events.map((e) => e.type)).toEqual(['LeadCaptured', 'LeadAssigned']);
    expect(outcome.events[1].data).toMatchObject({ ownerId: 'a', ruleName: 'Pool' });
    const [turn] = await store.readStream(TURNS);
    const lead = await store.readStream(`lead-${id}`);
    expect(turn.data).toMatchObject({ leadId: id, ownerId: 'a' });
    // One transaction: the claim, the turn and the lead's two events are consecutive in the log.
    const [claim] = await store.readAll({ maxCount: 10 }).then((all) => all.filter((e) => e.streamId.startsWith('unique-')));
    expect([claim.position, turn.position, ...lead.map((e) => e.position)]).toEqual([0n, 1n, 2n, 3n].map((n) => claim.position + n));
  });

  it('takes no turn when the capture is refused (both or neither): the next capture gets the same owner', async () => {
    const capture = captureOn(store);
    await capture.capture(leadId(), body('taken@example.com'), context, false);
    await expect(capture.capture(leadId(), body('taken@example.com'), context, false)).rejects.toHaveProperty('constructor.name', 'DuplicateLeadEmail');
    expect((await store.readStream(TURNS)).map((e) => e.data.ownerId)).toEqual(['a']);
    const next = await capture.capture(leadId(), body(), context, false);
    expect(next.state?.ownerId).toBe('b');
  });

  it('refuses the whole append when another process took the turn meanwhile, and decides it again', async () => {
    const { proxy, calls, interleave } = counted(store);
    const other = captureOn(store);
    const otherId = leadId();
    interleave(async () => void (await other.capture(otherId, body(), context, false)));
    const id = leadId();
    const outcome = await captureOn(proxy).capture(id, body(), context, false);
    expect(calls.appendAtomically).toBe(2);
    expect(outcome.state?.ownerId).toBe('b');
    expect((await store.readStream(TURNS)).map((e) => [e.data.leadId, e.data.ownerId])).toEqual([
      [otherId, 'a'],
      [id, 'b'],
    ]);
    expect(await store.readStream(`lead-${id}`)).toHaveLength(2);
  });

  it('decides the next transaction on the turns its last one left, without reading the turn stream again', async () => {
    const { proxy, calls, reads } = counted(store);
    const capture = captureOn(proxy);
    const owners = [];
    for (let i = 0; i < 4; i++) owners.push((await capture.capture(leadId(), body(), context, false)).state?.ownerId);
    expect(owners).toEqual(['a', 'b', 'c', 'a']);
    expect(reads.filter((streamId) => streamId === TURNS)).toHaveLength(1);
    expect(calls.appendAtomically).toBe(4);
  });

  it('refuses a transaction decided on kept turns that another process moved on since, and decides it on the stream as read', async () => {
    const { proxy, calls, reads } = counted(store);
    const capture = captureOn(proxy);
    const other = captureOn(store);
    const first = await capture.capture(leadId(), body(), context, false);
    const between = await other.capture(leadId(), body(), context, false);
    const id = leadId();
    const last = await capture.capture(id, body(), context, false);
    expect([first, between, last].map((o) => o.state?.ownerId)).toEqual(['a', 'b', 'c']);
    // The kept turns (after 'a') were refused once; the turn stream was read again and the capture decided on it.
    expect(calls.appendAtomically).toBe(3);
    expect(reads.filter((streamId) => streamId === TURNS)).toHaveLength(2);
    expect((await store.readStream(TURNS)).map((e) => [e.data.next, e.data.ownerId])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    expect(await store.readStream(`lead-${id}`)).toHaveLength(2);
  });

  it('takes one turn for a capture sent twice under one Idempotency-Key while the first waits: the second is its replay', async () => {
    const capture = captureOn(store);
    const id = leadId();
    const keyed = { ...context, idempotencyKey: 'same-key' };
    const lead = { lastName: 'Twice', company: 'Retry Co', source: 'Web' } as CaptureLeadDto; // no email: no claim to catch it
    // A capture under way first, so that both sendings queue for the same next transaction.
    const otherId = leadId();
    const [, first, second] = await Promise.all([capture.capture(otherId, body(), context, false), capture.capture(id, lead, keyed, false), capture.capture(id, lead, keyed, false)]);
    expect((await store.readStream(TURNS)).map((e) => e.data.leadId)).toEqual([otherId, id]);
    expect(first.replayed).toBe(false);
    expect(second.replayed).toBe(true);
    expect(second.state?.ownerId).toBe(first.state?.ownerId);
    expect(await store.readStream(`lead-${id}`)).toHaveLength(2);
  });

  it('appends the others of a shared transaction without a refused capture: the turns stay in order', async () => {
    const capture = captureOn(store);
    await capture.capture(leadId(), body('taken@example.com'), context, false);
    const emails = Array.from({ length: 10 }, (_, i) => (i % 4 === 1 ? 'taken@example.com' : `batch${i}@example.com`));
    const settled = await Promise.allSettled(emails.map((email) => capture.capture(leadId(), body(email), context, false)));
    expect(settled.map((s) => s.status)).toEqual(emails.map((email) => (email === 'taken@example.com' ? 'rejected' : 'fulfilled')));
    const turns = await store.readStream(TURNS);
    expect(turns.map((e) => e.data.next)).toEqual(Array.from({ length: 8 }, (_, i) => i + 1));
    expect(turns.map((e) => e.data.ownerId)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b']);
  });

  it('gives 60 concurrent captures from two processes to the owners in turn: 20 each, every turn once', async () => {
    const processes = [captureOn(store), captureOn(store)];
    const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => processes[i % 2].capture(leadId(), body(), context, false)));
    const counts = outcomes.reduce<Record<string, number>>((c, o) => ({ ...c, [o.state!.ownerId!]: (c[o.state!.ownerId!] ?? 0) + 1 }), {});
    expect(counts).toEqual({ a: 20, b: 20, c: 20 });
    expect((await store.readStream(TURNS)).map((e) => e.data.next)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });
});
