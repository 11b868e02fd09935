import { MongoClient } from 'mongodb';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { leaseOwnerName, thisProcess } from '../lease-owner';
import { describeReadStoreConformance } from '../read-store.conformance';
import { LeaseLostError } from '../read-store.port';
import { databaseOf, MongoReadStore, transactionsRefusal } from './mongo-read-store';

/** MONGODB_URL with a database of its own (the URL's path), so that each run starts empty. */
function withFreshDatabase(url: string): { url: string; name: string } {
  const name = `crm_test_${Date.now()}_${Math.random().toString(36).slice(2)}`;
  const [, scheme, hosts, query = ''] = /^(mongodb(?:\+srv)?:\/\/)([^/?]*)\/?[^?]*(\?.*)?$/.exec(url)!;
  return { url: `${scheme}${hosts}/${name}${query}`, name };
}

// Runs the shared conformance suite against a live MongoDB when MONGODB_URL is set, in a fresh
// database per run. Transactions need a replica set, e.g.
// MONGODB_URL='mongodb://127.0.0.1:27017/?replicaSet=rs0&directConnection=true'.
if (process.env.MONGODB_URL) {
  const url = process.env.MONGODB_URL;
  describeReadStoreConformance('MongoDB', () => MongoReadStore.connect(withFreshDatabase(url).url));

  describe('MongoDB adapter', () => {
    const spec = { name: 'things', filters: ['status'] };
    const put = (id: string, sortKey = 1) => ({ collection: spec.name, version: 1, id, sortKey, doc: { id, status: 'New' } });
    const stores: MongoReadStore[] = [];
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((store) => store.close()));
    });
    async function open(storeUrl: string): Promise<MongoReadStore> {
      const store = await MongoReadStore.connect(storeUrl, { monitorCommands: true });
      stores.push(store);
      await store.ensureCollection(spec, 1);
      expect(await store.acquireLease('owner', 60_000)).toBe(true);
      return store;
    }
    /** The commands the store sends while `work` runs. */
    async function commandsDuring(store: MongoReadStore, work: () => Promise<unknown>): Promise<{ name: string; command: Record<string, any> }[]> {
      const seen: { name: string; command: Record<string, any> }[] = [];
      const listener = (event: { commandName: string; command: Record<string, any> }) => seen.push({ name: event.commandName, command: event.command });
      store.client.on('commandStarted', listener);
      try {
        await work();
      } finally {
        store.client.off('commandStarted', listener);
      }
      return seen;
    }

    it('keeps its collections in the database the URL names', async () => {
      const { url: storeUrl, name } = withFreshDatabase(url);
      const store = await open(storeUrl);
      const id = `doc-${randomUUID()}`;
      await store.commit('owner', [put(id)], []);
      const client = await new MongoClient(url).connect();
      try {
        expect(await client.db(name).collection('rm_things_v1').countDocuments({ _id: id as never })).toBe(1);
        expect(await client.db('crm').collection('rm_things_v1').countDocuments({ _id: id as never })).toBe(0);
      } finally {
        await client.close();
      }
    });

    it('reads what feeds a commit from the primary, whatever read preference the URL asks for', async () => {
      // Without directConnection the driver discovers the replica set and sends the read preference with each read.
      const secondaryUrl = withFreshDatabase(url.replace(/directConnection=true&?/, '')).url.replace(/\?|$/, (q) => `${q || '?'}readPreference=secondaryPreferred&`).replace(/&$/, '');
      const store = await open(secondaryUrl);
      await store.commit('owner', [put('a')], [{ readModel: 'things', version: 1, position: 1n }]);
      const modeOf = (command: Record<string, any>) => command.$readPreference?.mode ?? 'primary';
      const feeding = await commandsDuring(store, async () => {
        await store.getMany(spec.name, 1, ['a']);
        await store.readModelState('things');
        await store.readLogPosition('sweep');
        await store.logIdentity();
      });
      expect(feeding.filter((c) => c.name === 'find').map((c) => modeOf(c.command))).toEqual(['primary', 'primary', 'primary', 'primary', 'primary']);
      // Queries for clients still follow the URL.
      const queries = await commandsDuring(store, () => store.get(spec.name, 1, 'a'));
      expect(queries.filter((c) => c.name === 'find').map((c) => modeOf(c.command))).toEqual(['secondaryPreferred']);
    });

    it('runs concurrent commits of its owner one after another: none conflicts on the lease document and is retried', async () => {
      const store = await open(withFreshDatabase(url).url);
      const commands = await commandsDuring(store, () => Promise.all(Array.from({ length: 10 }, (_, n) => store.commit('owner', [put(`c${n}`, n)], []))));
      expect(commands.filter((c) => c.name === 'abortTransaction')).toEqual([]);
      expect(commands.filter((c) => c.name === 'commitTransaction')).toHaveLength(10);
    });

    it('fences a commit that moves checkpoints by the checkpoints alone: it writes no lease document (only a first checkpoint, or none, does)', async () => {
      const store = await open(withFreshDatabase(url).url);
      const leaseWrites = (commands: { name: string; command: Record<string, any> }[]) =>
        commands.filter((c) => ['update', 'findAndModify'].includes(c.name) && c.command[c.name] === 'projector_lease');
      const first = await commandsDuring(store, () => store.commit('owner', [put('a')], [{ readModel: 'things', version: 1, position: 1n }]));
      expect(leaseWrites(first)).toHaveLength(1); // a new checkpoint: no epoch stamped on it yet
      const next = await commandsDuring(store, () => store.commit('owner', [put('b')], [{ readModel: 'things', version: 1, position: 2n }]));
      expect(leaseWrites(next)).toEqual([]);
      expect(next.filter((c) => c.name === 'commitTransaction')).toHaveLength(1);
      const bare = await commandsDuring(store, () => store.commit('owner', [put('c')], []));
      expect(leaseWrites(bare)).toHaveLength(1); // no checkpoint to fence it
      expect((await store.readModelState('things')).checkpoints).toEqual({ 1: 2n });
    });

    it('takes over from a holder that died in the middle of a commit without waiting out its open transaction: it kills that session', async () => {
      const storeUrl = withFreshDatabase(url).url;
      const first = await open(storeUrl);
      await first.commit('owner', [put('a')], [{ readModel: 'things', version: 1, position: 1n }]);
      // A holder of this host whose process is gone, which left a commit open in its session: the
      // transaction's writes hold the checkpoint and a document (as a SIGKILL in a commit leaves them).
      const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
      const dead = leaseOwnerName(randomUUID(), { ...thisProcess(), pid: deadPid });
      const dying = await MongoReadStore.connect(storeUrl);
      stores.push(dying);
      await first.releaseLease('owner');
      expect(await dying.acquireLease(dead, 60_000)).toBe(true);
      const left = dying.client.startSession();
      left.startTransaction();
      await dying.client.db(databaseOf(storeUrl)).collection('read_model_checkpoints').updateMany({}, { $set: { position: '99' } }, { session: left });
      await dying.client.db(databaseOf(storeUrl)).collection('rm_things_v1').updateOne({ _id: 'a' } as never, { $set: { 'doc.status': 'Left open' } }, { session: left });
      // The dead holder's lease names the session it commits in; make it the one left open.
      await dying.client.db(databaseOf(storeUrl)).collection('projector_lease').updateOne({ owner: dead }, { $set: { session: left.id!.id } });

      expect(await first.acquireLease('owner', 60_000)).toBe(true);
      await first.commit('owner', [put('a', 2)], [{ readModel: 'things', version: 1, position: 2n }]);
      expect((await first.readModelState('things')).checkpoints).toEqual({ 1: 2n });
      expect(await first.get('things', 1, 'a')).toEqual({ id: 'a', status: 'New' });
    });

    it('reckons the lease expiry on the server clock, not on a client clock that runs ahead', async () => {
      const storeUrl = withFreshDatabase(url).url;
      const holder = await open(storeUrl);
      const other = await MongoReadStore.connect(storeUrl);
      stores.push(other);
      jest.useFakeTimers({ now: Date.now() + 3_600_000, doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] });
      try {
        expect(await other.acquireLease('other-owner', 60_000)).toBe(false);
      } finally {
        jest.useRealTimers();
      }
      await holder.commit('owner', [put('still-mine')], []);
      await expect(other.commit('other-owner', [], [])).rejects.toBeInstanceOf(LeaseLostError);
    });
  });
} else {
  describe('MongoDB adapter', () => {
    it('is skipped: MONGODB_URL is not set', () => {
      console.log('The MongoDB conformance suite was skipped because MONGODB_URL is not set.');
      expect(process.env.MONGODB_URL).toBeUndefined();
    });
  });
}

describe('databaseOf (the database a MongoDB URL names)', () => {
  it('is the path of the URL, and crm when it has none', () => {
    expect(databaseOf('mongodb://h:27017/sales?replicaSet=rs0')).toBe('sales');
    expect(databaseOf('mongodb://user:p%40ss@h1:1,h2:2/sales')).toBe('sales');
    expect(databaseOf('mongodb+srv://cluster.example.com/crm%2Deu?retryWrites=true')).toBe('crm-eu');
    expect(databaseOf('mongodb://h:27017/?replicaSet=rs0')).toBe('crm');
    expect(databaseOf('mongodb://h:27017')).toBe('crm');
  });
});

describe('transactionsRefusal (read models need a replica set or mongos)', () => {
  // hello answers as the servers give them; no standalone mongod can run here to ask.
  it('refuses a standalone server with the reason and the remedy, and accepts a replica set member or mongos', () => {
    expect(transactionsRefusal({ isWritablePrimary: true, maxWireVersion: 21, ok: 1 })).toMatch(/standalone.*replica set.*--replSet rs0.*rs\.initiate\(\)/);
    expect(transactionsRefusal({ isWritablePrimary: true, setName: 'rs0', ok: 1 })).toBeUndefined();
    expect(transactionsRefusal({ isWritablePrimary: true, msg: 'isdbgrid', ok: 1 })).toBeUndefined();
  });
});
