import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeReadStoreConformance } from '../read-store.conformance';
import { LeaseLostError } from '../read-store.port';
import { SqliteReadStore } from './sqlite-read-store';

const dirs: string[] = [];
const freshFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'crm-rs-thread-'));
  dirs.push(dir);
  return join(dir, 'read.sqlite');
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

// Every commit handed to the commit thread (as the projector's catch-up batches are): the store must behave as the one that commits in place.
describeReadStoreConformance('SQLite, commits on a thread of their own', () => {
  const store = SqliteReadStore.open(freshFile(), { commitThread: true });
  store.commit = async (leaseOwner, writes, checkpoints) => store.commitBehind!(leaseOwner, writes, checkpoints).committed;
  return store;
});

describe('SqliteReadStore with a commit thread', () => {
  const owner = 'owner-a';
  const spec = { name: 'things', filters: ['colour'] };
  const thing = (id: string, colour: string) => ({ collection: 'things', version: 1, id, sortKey: 1, doc: { id, colour } });
  let store: SqliteReadStore;
  beforeEach(async () => {
    store = SqliteReadStore.open(freshFile(), { commitThread: true });
    await store.ensureCollection(spec, 1);
    await store.acquireLease(owner, 60_000);
  });
  afterEach(() => store.close());

  it('answers reads by id with a commit handed over and not yet written, and every other read once it is written', async () => {
    await store.commit(owner, [thing('a', 'red'), thing('b', 'blue')], []);
    const { committed } = store.commitBehind!(owner, [thing('a', 'green'), { collection: 'things', version: 1, id: 'b', sortKey: 1, doc: null }], [
      { readModel: 'things', version: 1, position: 7n },
    ]);
    // Asked before the commit thread can have answered: the handed-over commit is what reads by id see.
    const [a, b, many] = await Promise.all([store.get('things', 1, 'a'), store.get('things', 1, 'b'), store.getMany('things', 1, ['a', 'b'])]);
    expect(a).toEqual({ id: 'a', colour: 'green' });
    expect(b).toBeNull();
    expect([...many.values()]).toEqual([{ id: 'a', colour: 'green' }]);
    // A filtered read and the checkpoint wait for the commit.
    expect((await store.find('things', 1, { filter: { colour: 'green' }, limit: 10 })).items).toEqual([{ id: 'a', colour: 'green' }]);
    expect((await store.readModelState('things')).checkpoints).toEqual({ 1: 7n });
    await committed;
  });

  it('writes a commit in place, after the commits handed over before it, whatever their answer', async () => {
    const handedOver = jest.spyOn((store as unknown as { commitThread: { commit(commit: unknown): Promise<void> } }).commitThread, 'commit');
    await store.commit(owner, [thing('a', 'red')], [{ readModel: 'things', version: 1, position: 1n }]);
    expect(handedOver).not.toHaveBeenCalled();
    expect(await store.get('things', 1, 'a')).toEqual({ id: 'a', colour: 'red' });

    const behind = store.commitBehind!(owner, [thing('a', 'green')], [{ readModel: 'things', version: 1, position: 2n }]);
    // Written in place at once, it would be overwritten by the earlier commit still on the thread.
    const after = store.commit(owner, [thing('a', 'blue')], [{ readModel: 'things', version: 1, position: 3n }]);
    expect(handedOver).toHaveBeenCalledTimes(1);
    await Promise.all([behind.committed, after]);
    expect(await store.get('things', 1, 'a')).toEqual({ id: 'a', colour: 'blue' });
    expect((await store.readModelState('things')).checkpoints).toEqual({ 1: 3n });

    // A commit handed over that fails takes no commit in place with it.
    const failing = store.commitBehind!('not-the-owner', [thing('a', 'grey')], [{ readModel: 'things', version: 1, position: 4n }]);
    const inPlace = store.commit(owner, [thing('b', 'white')], [{ readModel: 'things', version: 1, position: 5n }]);
    await expect(failing.committed).rejects.toBeInstanceOf(LeaseLostError);
    await inPlace;
    expect([...(await store.getMany('things', 1, ['a', 'b'])).values()]).toEqual([{ id: 'a', colour: 'blue' }, { id: 'b', colour: 'white' }]);
    expect(handedOver).toHaveBeenCalledTimes(2);
  });

  it('refuses a commit too large at once, before anything is handed over', () => {
    const small = SqliteReadStore.open(freshFile(), { commitThread: true, maxCommitBytes: 100 });
    return small
      .ensureCollection(spec, 1)
      .then(() => expect(() => small.commitBehind!(owner, [thing('a', 'x'.repeat(200))], [])).toThrow(/more than/))
      .finally(() => small.close());
  });

  it('writes nothing of a commit handed over behind one that failed; commits handed over after the failure was answered are written', async () => {
    const failing = store.commitBehind!('not-the-owner', [thing('a', 'red')], [{ readModel: 'things', version: 1, position: 1n }]);
    const behind = store.commitBehind!(owner, [thing('b', 'blue')], [{ readModel: 'things', version: 1, position: 2n }]);
    await expect(failing.committed).rejects.toBeInstanceOf(LeaseLostError);
    await expect(behind.committed).rejects.toThrow(/handed over before this one failed/);
    expect(await store.getMany('things', 1, ['a', 'b'])).toEqual(new Map());
    expect((await store.readModelState('things')).checkpoints).toEqual({});

    await store.commitBehind!(owner, [thing('c', 'green')], [{ readModel: 'things', version: 1, position: 3n }]).committed;
    expect([...(await store.getMany('things', 1, ['a', 'b', 'c'])).keys()]).toEqual(['c']);
    expect((await store.readModelState('things')).checkpoints).toEqual({ 1: 3n });
  });

  it('has no commitBehind without a commit thread: its commits are written before they return', async () => {
    const inPlace = SqliteReadStore.open(freshFile());
    expect(inPlace.commitBehind).toBeUndefined();
    await inPlace.close();
  });
});
