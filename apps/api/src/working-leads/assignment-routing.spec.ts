import { SqliteEventStore } from '@crm/event-store';
import { poolRuleAt, poolRuleContext, usePoolRuleStore } from './pool-rule.fixture';
import { AssignmentRouting } from './assignment-routing';
import { Configuration } from './configuration';

const context = poolRuleContext;
const at = poolRuleAt;

/**
 * Two routing services on one event store stand for two API processes: their in-process
 * queues do not see each other, so only the expected revision of the turn stream keeps the
 * turns apart. (The store is the real embedded one.)
 */
describe('AssignmentRouting: turns decided on the write side', () => {
  const fixture = usePoolRuleStore('crm-routing-');
  let store: SqliteEventStore;
  beforeEach(() => {
    store = fixture.store();
  });

  it('gives 60 concurrent captures from two processes to the owners in turn: 20 each, every turn once', async () => {
    const processes = [new AssignmentRouting(store, new Configuration(store)), new AssignmentRouting(store, new Configuration(store))];
    const turns = await Promise.all(Array.from({ length: 60 }, (_, i) => processes[i % 2].takeTurn(`lead-${i}`, { source: 'Web' }, at, context)));
    const counts = turns.reduce<Record<string, number>>((c, turn) => ({ ...c, [turn!.ownerId]: (c[turn!.ownerId] ?? 0) + 1 }), {});
    expect(counts).toEqual({ a: 20, b: 20, c: 20 });
    const events = await store.readStream(turns[0]!.streamId);
    expect(events.map((e) => e.data.next)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('appends the turns that queued during an append together: concurrent captures share commits', async () => {
    let appends = 0;
    const counting = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'append') return (...args: Parameters<SqliteEventStore['append']>) => (appends++, target.append(...args));
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const routing = new AssignmentRouting(counting, new Configuration(counting));
    const turns = await Promise.all(Array.from({ length: 30 }, (_, i) => routing.takeTurn(`lead-${i}`, { source: 'Web' }, at, context)));
    expect(turns.map((turn) => turn!.ownerId).sort()).toEqual([...Array(10).fill('a'), ...Array(10).fill('b'), ...Array(10).fill('c')]);
    expect(appends).toBeLessThan(10);
  });

  it('serves a given-back turn first', async () => {
    const routing = new AssignmentRouting(store, new Configuration(store));
    const first = (await routing.takeTurn('lead-1', { source: 'Web' }, at, context))!;
    await routing.giveBack(first, at, context);
    const owners = [];
    for (let i = 2; i <= 5; i++) owners.push((await routing.takeTurn(`lead-${i}`, { source: 'Web' }, at, context))!.ownerId);
    expect([first.ownerId, ...owners]).toEqual(['a', 'a', 'b', 'c', 'a']);
  });

  it('leaves a lead no rule matches without a turn', async () => {
    expect(await new AssignmentRouting(store, new Configuration(store)).takeTurn('lead-1', { source: 'Phone' }, at, context)).toBeUndefined();
  });
});
