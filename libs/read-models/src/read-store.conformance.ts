import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { leaseOwnerName, thisProcess } from './lease-owner';
import {
  CollectionSpec,
  CommitTooLargeError,
  DocumentTooLargeError,
  FindQuery,
  InvalidCursorError,
  LeaseLostError,
  MAX_COMMIT_BYTES,
  MAX_DOCUMENT_BYTES,
  ReadDocument,
  ReadStore,
} from './read-store.port';

/**
 * The behaviour every ReadStore adapter must have. Each adapter's spec calls this with a factory
 * giving a fresh, empty store.
 */
export function describeReadStoreConformance(name: string, makeStore: () => ReadStore | Promise<ReadStore>): void {
  describe(`ReadStore conformance: ${name}`, () => {
    let store: ReadStore;
    const owner = 'owner-a';
    let spec: CollectionSpec;
    const doc = (id: string, fields: Record<string, unknown> = {}): ReadDocument => ({ id, ...fields });
    const put = (d: ReadDocument, sortKey: number, version = 1) => ({ collection: spec.name, version, id: d.id, sortKey, doc: d });

    beforeAll(async () => {
      store = await makeStore();
      expect(await store.acquireLease(owner, 60_000)).toBe(true);
    });
    afterAll(async () => {
      await store.close();
    });
    beforeEach(async () => {
      spec = { name: `things_${randomUUID().slice(0, 8)}`, filters: ['status', 'ownerId', '_key'] };
      await store.ensureCollection(spec, 1);
    });

    it('writes, reads and replaces documents exactly as given', async () => {
      const first = doc('a', { status: 'New', nested: { list: [1, 'two', null] }, amount: 12.5 });
      await store.commit(owner, [put(first, 1)], []);
      expect(await store.get(spec.name, 1, 'a')).toEqual(first);
      const second = doc('a', { status: 'Working' });
      await store.commit(owner, [put(second, 99)], []);
      expect(await store.get(spec.name, 1, 'a')).toEqual(second);
      expect(await store.get(spec.name, 1, 'missing')).toBeNull();
    });

    it('deletes a document written as null', async () => {
      await store.commit(owner, [put(doc('a'), 1)], []);
      await store.commit(owner, [{ collection: spec.name, version: 1, id: 'a', sortKey: 1, doc: null }], []);
      expect(await store.get(spec.name, 1, 'a')).toBeNull();
    });

    it('keeps collections that are never listed (no order index; none at all without filters) like any other', async () => {
      for (const unlisted of [
        { name: `facts_${randomUUID().slice(0, 8)}`, filters: [], listed: false },
        { name: `buckets_${randomUUID().slice(0, 8)}`, filters: ['dim'], listed: false },
      ]) {
        await store.ensureCollection(unlisted, 1);
        await store.ensureCollection(unlisted, 1); // ensuring twice is harmless
        const write = (d: ReadDocument, sortKey: number) => ({ collection: unlisted.name, version: 1, id: d.id, sortKey, doc: d });
        await store.commit(owner, [write(doc('a', { dim: 'x' }), 10), write(doc('b', { dim: 'y' }), 20)], []);
        expect(await store.get(unlisted.name, 1, 'a')).toEqual(doc('a', { dim: 'x' }));
        expect([...(await store.getMany(unlisted.name, 1, ['a', 'b'])).keys()].sort()).toEqual(['a', 'b']);
        if (unlisted.filters.length > 0) expect(await store.scan(unlisted.name, 1, { filter: { dim: 'y' }, from: 15, to: 25 })).toEqual([doc('b', { dim: 'y' })]);
      }
    });

    it('keeps named log positions without a lease: none at first, then the last one saved', async () => {
      const name = `sweep_${randomUUID().slice(0, 8)}`;
      expect(await store.readLogPosition(name)).toBeUndefined();
      await store.saveLogPosition(name, 41n);
      await store.saveLogPosition(name, 2n ** 53n + 7n); // positions may pass 2^53 (EventStoreDB's are byte offsets)
      expect(await store.readLogPosition(name)).toBe(2n ** 53n + 7n);
      expect(await store.readLogPosition(`${name}_other`)).toBeUndefined();
    });

    it('reads many documents at once, leaving out the unknown ones', async () => {
      await store.commit(owner, [put(doc('a'), 1), put(doc('b'), 2)], []);
      const found = await store.getMany(spec.name, 1, ['a', 'b', 'c']);
      expect([...found.keys()].sort()).toEqual(['a', 'b']);
    });

    it('lists newest first (highest sort key), keeps the first sort key on update, and pages exactly', async () => {
      const writes = Array.from({ length: 7 }, (_, n) => put(doc(`d${n}`, { status: n % 2 ? 'odd' : 'even' }), n));
      await store.commit(owner, writes, []);
      await store.commit(owner, [put(doc('d0', { status: 'even', touched: true }), 1000)], []);
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.find(spec.name, 1, { filter: {}, limit: 3, cursor });
        expect(page.items.length).toBeLessThanOrEqual(3);
        ids.push(...page.items.map((d) => d.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(ids).toEqual(['d6', 'd5', 'd4', 'd3', 'd2', 'd1', 'd0']);
    });

    it('pages documents that share a sort key without losing or repeating any', async () => {
      await store.commit(owner, ['a', 'b', 'c', 'd'].map((id) => put(doc(id), 5)), []);
      const first = await store.find(spec.name, 1, { filter: {}, limit: 2 });
      const second = await store.find(spec.name, 1, { filter: {}, limit: 2, cursor: first.nextCursor });
      expect([...first.items, ...second.items].map((d) => d.id).sort()).toEqual(['a', 'b', 'c', 'd']);
      expect(second.nextCursor).toBeUndefined();
    });

    it('filters by equality on several fields, null matching a missing value', async () => {
      await store.commit(
        owner,
        [
          put(doc('a', { status: 'New', ownerId: 'u1', _key: 'x@y' }), 1),
          put(doc('b', { status: 'New', ownerId: 'u2' }), 2),
          put(doc('c', { status: 'Working', ownerId: 'u1' }), 3),
          put(doc('d', { status: 'New' }), 4),
        ],
        [],
      );
      const ids = async (filter: Record<string, string | null>) => (await store.find(spec.name, 1, { filter, limit: 10 })).items.map((d) => d.id);
      expect(await ids({ status: 'New' })).toEqual(['d', 'b', 'a']);
      expect(await ids({ status: 'New', ownerId: 'u1' })).toEqual(['a']);
      expect(await ids({ ownerId: null })).toEqual(['d']);
      expect(await ids({ _key: 'x@y' })).toEqual(['a']);
      expect(await ids({ status: 'Gone' })).toEqual([]);
    });

    it('finds documents by equality and a half-open range on a numeric filter field, newest first', async () => {
      const ranged = { name: `ranged_${randomUUID().slice(0, 8)}`, filters: ['status', '_at'] };
      await store.ensureCollection(ranged, 1);
      const at = (id: string, fields: Record<string, unknown>, sortKey: number) => ({ collection: ranged.name, version: 1, id, sortKey, doc: { id, ...fields } });
      await store.commit(
        owner,
        [at('a', { status: 'x', _at: 10 }, 1), at('b', { status: 'x', _at: 20 }, 2), at('c', { status: 'y', _at: 15 }, 3), at('d', { status: 'x' }, 4), at('e', { status: 'x', _at: 30 }, 5)],
        [],
      );
      const ids = async (query: Omit<FindQuery, 'limit'>) => (await store.find(ranged.name, 1, { ...query, limit: 10 })).items.map((d) => d.id);
      expect(await ids({ filter: {}, range: { field: '_at', from: 10, to: 30 } })).toEqual(['c', 'b', 'a']);
      expect(await ids({ filter: { status: 'x' }, range: { field: '_at', from: 15 } })).toEqual(['e', 'b']);
      expect(await ids({ filter: {}, range: { field: '_at', to: 15 } })).toEqual(['a']);
      expect(await ids({ filter: {}, range: { field: '_at' } })).toEqual(['e', 'c', 'b', 'a']);
      const first = await store.find(ranged.name, 1, { filter: {}, range: { field: '_at', from: 0 }, limit: 2 });
      const second = await store.find(ranged.name, 1, { filter: {}, range: { field: '_at', from: 0 }, limit: 2, cursor: first.nextCursor });
      expect([...first.items, ...second.items].map((d) => d.id)).toEqual(['e', 'c', 'b', 'a']);
    });

    it('scans documents by equality and a half-open sort key range', async () => {
      await store.commit(owner, [1, 2, 3, 4, 5].map((n) => put(doc(`s${n}`, { status: n % 2 ? 'odd' : 'even' }), n)), []);
      const ids = async (query: Parameters<ReadStore['scan']>[2]) => (await store.scan(spec.name, 1, query)).map((d) => d.id).sort();
      expect(await ids({ filter: {} })).toEqual(['s1', 's2', 's3', 's4', 's5']);
      expect(await ids({ filter: {}, from: 2, to: 4 })).toEqual(['s2', 's3']);
      expect(await ids({ filter: { status: 'odd' }, from: 2 })).toEqual(['s3', 's5']);
      expect(await ids({ filter: { status: 'even' }, to: 4 })).toEqual(['s2']);
      expect((await store.scan(spec.name, 1, { filter: { status: 'odd' }, from: 5, to: 6 }))[0]).toEqual({ id: 's5', status: 'odd' });
    });

    it('refuses a cursor it did not hand out', async () => {
      await expect(store.find(spec.name, 1, { filter: {}, limit: 2, cursor: 'bm9wZQ' })).rejects.toBeInstanceOf(InvalidCursorError);
    });

    it('commits documents and checkpoints together, or nothing at all', async () => {
      await store.commit(owner, [put(doc('a'), 1)], [{ readModel: spec.name, version: 1, position: 10n }]);
      expect((await store.readModelState(spec.name)).checkpoints[1]).toBe(10n);
      const unknownCollection = { collection: `never_${randomUUID().slice(0, 8)}`, version: 1, id: 'z', sortKey: 1, doc: doc('z') };
      await expect(store.commit(owner, [put(doc('b'), 2), unknownCollection], [{ readModel: spec.name, version: 1, position: 20n }])).rejects.toThrow();
      expect(await store.get(spec.name, 1, 'b')).toBeNull();
      expect((await store.readModelState(spec.name)).checkpoints[1]).toBe(10n);
    });

    it('keeps checkpoints per version, large positions intact, and the active version', async () => {
      await store.ensureCollection(spec, 2);
      const big = 2n ** 62n + 3n;
      await store.commit(owner, [], [{ readModel: spec.name, version: 1, position: 5n }, { readModel: spec.name, version: 2, position: big }]);
      expect(await store.readModelState(spec.name)).toEqual({ readModel: spec.name, activeVersion: 1, checkpoints: { 1: 5n, 2: big } });
      await store.activate(spec.name, 2);
      expect((await store.readModelState(spec.name)).activeVersion).toBe(2);
      await store.deleteCheckpoint(spec.name, 1);
      expect((await store.readModelState(spec.name)).checkpoints).toEqual({ 2: big });
    });

    it('keeps with each checkpoint the code version that filled it (1 when the commit names none), and forgets it with the checkpoint', async () => {
      await store.commit(owner, [], [{ readModel: spec.name, version: 1, position: 4n }]);
      expect(await store.codeVersions(spec.name)).toEqual({ 1: 1 });
      await store.commit(owner, [], [{ readModel: spec.name, version: 1, position: 6n, codeVersion: 3 }, { readModel: spec.name, version: 2, position: 6n, codeVersion: 4 }]);
      expect(await store.codeVersions(spec.name)).toEqual({ 1: 3, 2: 4 });
      expect((await store.readModelState(spec.name)).checkpoints).toEqual({ 1: 6n, 2: 6n });
      await store.deleteCheckpoint(spec.name, 1);
      expect(await store.codeVersions(spec.name)).toEqual({ 2: 4 });
      expect(await store.codeVersions(`never_${randomUUID().slice(0, 8)}`)).toEqual({});
    });

    it('keeps each read model\'s fault without a lease until it is cleared, the last save winning, and forgets faults with what it projected', async () => {
      const name = `faulty_${randomUUID().slice(0, 8)}`;
      const fault = { position: '18446744073709551615', eventType: 'TaskOpened', message: 'cannot apply it', faulted: false };
      await store.saveFault(name, fault);
      await store.saveFault(name, { ...fault, faulted: true });
      expect((await store.faults())[name]).toEqual({ ...fault, faulted: true });
      await store.saveFault(name, null);
      expect((await store.faults())[name]).toBeUndefined();
      await store.saveFault(name, fault);
      await store.forgetProjected(owner);
      expect(await store.faults()).toEqual({});
    });

    it('keeps checkpoints per read model, not per collection: dropping a collection leaves them', async () => {
      // A read model's collections have names of their own; one may share the read model's name.
      const readModel = spec.name;
      await store.commit(owner, [put(doc('a'), 1)], [{ readModel, version: 1, position: 7n }]);
      await store.dropCollection(spec.name, 1);
      expect((await store.readModelState(readModel)).checkpoints).toEqual({ 1: 7n });
      await store.deleteCheckpoint(readModel, 1);
      expect((await store.readModelState(readModel)).checkpoints).toEqual({});
    });

    it('refuses a document larger than MAX_DOCUMENT_BYTES, and a commit larger than MAX_COMMIT_BYTES, writing nothing', async () => {
      const huge = doc('huge', { text: 'x'.repeat(MAX_DOCUMENT_BYTES) });
      await expect(store.commit(owner, [put(doc('a'), 1), put(huge, 2)], [{ readModel: spec.name, version: 1, position: 3n }])).rejects.toBeInstanceOf(DocumentTooLargeError);
      const large = (id: string) => doc(id, { text: 'x'.repeat(Math.ceil(MAX_COMMIT_BYTES / 3)) });
      await expect(store.commit(owner, [put(large('l1'), 1), put(large('l2'), 2), put(large('l3'), 3)], [])).rejects.toBeInstanceOf(CommitTooLargeError);
      expect(await store.getMany(spec.name, 1, ['a', 'huge', 'l1'])).toEqual(new Map());
      expect((await store.readModelState(spec.name)).checkpoints).toEqual({});
      await store.commit(owner, [put(large('l1'), 1), put(large('l2'), 2)], []); // two thirds of the bound pass
      expect((await store.get(spec.name, 1, 'l2'))?.id).toBe('l2');
    });

    it('runs concurrent commits of the lease owner, every one of them', async () => {
      await Promise.all(Array.from({ length: 20 }, (_, n) => store.commit(owner, [put(doc(`c${n}`), n)], [{ readModel: spec.name, version: 1, position: BigInt(n) }])));
      expect((await store.getMany(spec.name, 1, Array.from({ length: 20 }, (_, n) => `c${n}`))).size).toBe(20);
    });

    it('keeps the identity of the event log it was projected from, and forgets what it projected when told to', async () => {
      const other = { name: `others_${randomUUID().slice(0, 8)}`, filters: [] };
      await store.ensureCollection(other, 3);
      await store.commit(owner, [put(doc('a'), 1), { collection: other.name, version: 3, id: 'b', sortKey: 1, doc: doc('b') }], [{ readModel: spec.name, version: 1, position: 9n }]);
      await store.activate(other.name, 3);
      await store.saveLogPosition('sweep', 9n);
      const log = `log-${randomUUID()}`;
      await store.bindToLog(log);
      expect(await store.logIdentity()).toBe(log);
      await expect(store.forgetProjected('owner-b')).rejects.toBeInstanceOf(LeaseLostError);
      expect(await store.get(spec.name, 1, 'a')).toEqual(doc('a'));
      await store.forgetProjected(owner);
      expect(await store.readModelState(spec.name)).toEqual({ readModel: spec.name, activeVersion: 1, checkpoints: {} });
      expect((await store.readModelState(other.name)).activeVersion).toBe(1);
      expect(await store.readLogPosition('sweep')).toBeUndefined();
      expect(await store.logIdentity()).toBe(log);
      for (const [name, version] of [[spec.name, 1], [other.name, 3]] as const) {
        await store.ensureCollection({ name, filters: [] }, version);
        expect(await store.get(name, version, name === spec.name ? 'a' : 'b')).toBeNull();
      }
      await store.bindToLog('another-log');
      expect(await store.logIdentity()).toBe('another-log');
    });

    it('keeps versions of a collection apart', async () => {
      await store.ensureCollection(spec, 2);
      await store.commit(owner, [put(doc('a', { v: 1 }), 1, 1), put(doc('a', { v: 2 }), 1, 2)], []);
      expect(await store.get(spec.name, 1, 'a')).toEqual({ id: 'a', v: 1 });
      expect(await store.get(spec.name, 2, 'a')).toEqual({ id: 'a', v: 2 });
    });

    it('grants the lease to one owner at a time, and refuses commits from anyone else', async () => {
      expect(await store.acquireLease('owner-b', 60_000)).toBe(false);
      await expect(store.commit('owner-b', [put(doc('a'), 1)], [])).rejects.toBeInstanceOf(LeaseLostError);
      expect(await store.get(spec.name, 1, 'a')).toBeNull();
      expect(await store.acquireLease(owner, 60_000)).toBe(true);
    });

    it('hands an expired or released lease to another owner', async () => {
      await store.releaseLease(owner);
      expect(await store.acquireLease('owner-b', 1)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await store.acquireLease(owner, 60_000)).toBe(true);
      await expect(store.commit('owner-b', [], [])).rejects.toBeInstanceOf(LeaseLostError);
    });

    it('fences a deposed owner: once its lease expired and another took it, its commits write nothing, even before the new owner commits', async () => {
      const checkpoint = (position: bigint, readModel = spec.name) => [{ readModel, version: 1, position }];
      await store.commit(owner, [put(doc('a'), 1)], checkpoint(5n));
      // The owner's lease runs out (a paused process) and owner-b takes it; the old owner does not know yet.
      expect(await store.acquireLease(owner, 1)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await store.acquireLease('owner-b', 60_000)).toBe(true);
      await expect(store.commit(owner, [put(doc('late'), 2)], checkpoint(6n))).rejects.toBeInstanceOf(LeaseLostError);
      const fresh = `fresh_${randomUUID().slice(0, 8)}`;
      await expect(store.commit(owner, [put(doc('late-new'), 3)], checkpoint(1n, fresh))).rejects.toBeInstanceOf(LeaseLostError);
      await expect(store.commit(owner, [put(doc('late-bare'), 4)], [])).rejects.toBeInstanceOf(LeaseLostError);
      expect([...(await store.getMany(spec.name, 1, ['late', 'late-new', 'late-bare'])).keys()]).toEqual([]);
      expect((await store.readModelState(spec.name)).checkpoints).toEqual({ 1: 5n });
      expect((await store.readModelState(fresh)).checkpoints).toEqual({});
      // The new owner commits where the old one left off, and the old one cannot take the lease back while it holds it.
      await store.commit('owner-b', [put(doc('b'), 5)], checkpoint(7n));
      expect((await store.readModelState(spec.name)).checkpoints).toEqual({ 1: 7n });
      expect(await store.acquireLease(owner, 60_000)).toBe(false);
      await store.releaseLease('owner-b');
      expect(await store.acquireLease(owner, 60_000)).toBe(true);
      await expect(store.commit('owner-b', [put(doc('c'), 6)], checkpoint(8n))).rejects.toBeInstanceOf(LeaseLostError);
      await store.commit(owner, [put(doc('d'), 7)], checkpoint(9n));
      expect((await store.readModelState(spec.name)).checkpoints).toEqual({ 1: 9n });
    });

    describe('a lease held by a process of this host', () => {
      const ours = thisProcess();
      // A process that has come and gone: its pid names no process now.
      const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
      beforeEach(() => store.releaseLease(owner));
      afterEach(async () => {
        for (let tries = 0; !(await store.acquireLease(owner, 60_000)) && tries < 100; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
      });

      it('is taken over at once when its process no longer exists', async () => {
        const dead = leaseOwnerName(randomUUID(), { ...ours, pid: deadPid });
        expect(await store.acquireLease(dead, 60_000)).toBe(true);
        expect(await store.acquireLease('owner-b', 60_000)).toBe(true);
        await store.releaseLease('owner-b');
      });

      it('is taken over at once when its pid now belongs to a later process (pid reuse, a restarted container)', async () => {
        const before = leaseOwnerName(randomUUID(), { ...ours, start: `${ours.start}0` });
        expect(await store.acquireLease(before, 60_000)).toBe(true);
        expect(await store.acquireLease('owner-b', 60_000)).toBe(true);
        await store.releaseLease('owner-b');
      });

      it('is kept while its process lives, and one of another host is never judged', async () => {
        const alive = leaseOwnerName(randomUUID(), ours);
        expect(await store.acquireLease(alive, 1_000)).toBe(true);
        expect(await store.acquireLease('owner-b', 60_000)).toBe(false);
        await store.releaseLease(alive);
        const elsewhere = leaseOwnerName(randomUUID(), { host: 'another-host', pid: deadPid, start: '1' });
        expect(await store.acquireLease(elsewhere, 200)).toBe(true);
        expect(await store.acquireLease('owner-b', 60_000)).toBe(false);
      });
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
