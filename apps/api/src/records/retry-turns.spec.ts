import { RetryTurn, RetryTurns } from './retry-turns';

describe('RetryTurns', () => {
  it('gives one turn at a time per stream, in the order they were asked for, and other streams theirs at once', async () => {
    const turns = new RetryTurns();
    const order: string[] = [];
    const first = await turns.take('s');
    const second = turns.take('s').then((release) => (order.push('second'), release));
    const third = turns.take('s').then((release) => (order.push('third'), release));
    const other = await turns.take('t');
    order.push('other');
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['other']);
    first();
    (await second)();
    (await third)();
    other();
    expect(order).toEqual(['other', 'second', 'third']);
    // Released turns leave nothing behind: the next one is had at once.
    (await turns.take('s'))();
  });
});

describe('RetryTurn.queueIfTaken', () => {
  it('waits behind the turns taken on its stream, and not at all when none is', async () => {
    const turns = new RetryTurns();
    const alone = new RetryTurn(turns, 's');
    await alone.queueIfTaken();
    expect(turns.taken('s')).toBe(false); // nothing held: a first attempt with no one retrying takes no turn

    const retrying = new RetryTurn(turns, 's');
    await retrying.take();
    const newcomer = new RetryTurn(turns, 's');
    let queued = false;
    const waiting = newcomer.queueIfTaken().then(() => (queued = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(queued).toBe(false);
    retrying.done();
    await waiting;
    expect(queued).toBe(true);
    newcomer.done();
    expect(turns.taken('s')).toBe(false);
  });
});
