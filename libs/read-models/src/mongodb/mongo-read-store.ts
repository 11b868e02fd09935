import { AnyBulkWriteOperation, BSON, ClientSession, Collection, Db, Document, Filter, MongoClient, MongoClientOptions, MongoError, MongoServerError } from 'mongodb';
import { setTimeout as wait } from 'node:timers/promises';
import {
  CheckpointWrite,
  CollectionSpec,
  CommitTooLargeError,
  DocumentTooLargeError,
  MAX_COMMIT_BYTES,
  MAX_DOCUMENT_BYTES,
  decodeCursor,
  DocumentWrite,
  encodeCursor,
  FindQuery,
  LeaseLostError,
  Page,
  ReadDocument,
  ReadModelState,
  ReadStore,
  ScanQuery,
  StoredFault,
} from '../read-store.port';
import { isGoneFromThisHost } from '../lease-owner';

/**
 * One stored read-model document. The document itself is kept whole under `doc`, so that what
 * get/find return is exactly what was written; the filter fields' values are copied to `f`
 * (null when missing) for the equality indexes, and `sortKey` is set once, on insert.
 */
interface StoredDocument {
  _id: string;
  sortKey: number;
  doc: ReadDocument;
  f: Record<string, unknown>;
}

interface LeaseRecord {
  _id: string;
  /** Empty once released. */
  owner: string;
  expiresAt: Date;
  /**
   * The fencing token: raised whenever the lease is taken (not renewed) and never lowered, so
   * that every checkpoint written under an earlier holding can be told from the holder's (see commit).
   */
  epoch?: number;
  /** Bumped by a commit that takes the slow path (no checkpoint, or a new one), so that its lease check is a write (see commit). */
  commits?: number;
  /** The holder's commit session (its lsid's UUID): the next holder kills it, aborting a commit the holder left open (see acquireLease). */
  session?: BSON.Binary;
}

interface VersionRecord {
  _id: string;
  activeVersion: number;
}

/**
 * Positions are bigints that can exceed 2^53 (EventStoreDB commit positions are unsigned 64-bit),
 * so they are stored as strings of decimal digits: exact for the whole u64 range (a BSON Long is
 * signed), and read back without depending on the driver's Long/bigint promotion options. They
 * are never compared or sorted in the database, only read back.
 */
interface CheckpointRecord {
  _id: string;
  readModel: string;
  version: number;
  position: string;
  /** Absent on checkpoints written before code versions were kept: 1. */
  codeVersion?: number;
  /** The lease epoch it was last written or fenced under (see commit); absent before epochs existed. */
  epoch?: number;
}

/** A named log position (see ReadStore.saveLogPosition), as a string like checkpoints. */
interface LogPositionRecord {
  _id: string;
  position: string;
}

/** Which event log the read models were projected from (see ReadStore.bindToLog). */
interface LogBindingRecord {
  _id: string;
  identity: string;
}

const LEASE_ID = 'projector';
const LOG_BINDING_ID = 'event-log';
/** The database when MONGODB_URL names none. */
const DEFAULT_DATABASE = 'crm';
/** Reads that feed a commit (documents a batch changes, checkpoints, the lease) never follow the URL's read preference to a lagging secondary. */
const PRIMARY = { readPreference: 'primary' } as const;
/** A transaction that keeps conflicting is tried this many times, with growing pauses between. */
const TRANSACTION_ATTEMPTS = 6;
const RETRY_PAUSE_MS = 20;
const DUPLICATE_KEY = 11000;
const NAMESPACE_NOT_FOUND = 26;
const NAMESPACE_EXISTS = 48;
const INDEX_NOT_FOUND = 27;
const MAX_TIME_MS_EXPIRED = 50;

/** A catch handler that lets one server error code pass (the state it reports is the one wanted) and rethrows anything else. */
function ignoreServerError(code: number): (error: unknown) => void {
  return (error) => {
    if (!(error instanceof MongoServerError && error.code === code)) throw error;
  };
}
const IDS_PER_QUERY = 1000;

/**
 * The MongoDB read store: one collection per read-model version (`rm_<name>_v<version>`), with an
 * index on the list order and one per filter field. `commit` needs transactions, so the server
 * must be a replica set (a single-member one will do) or a sharded cluster.
 */
export class MongoReadStore implements ReadStore {
  private readonly filters = new Map<string, string[]>();
  private readonly lease: Collection<LeaseRecord>;
  private readonly versions: Collection<VersionRecord>;
  private readonly checkpoints: Collection<CheckpointRecord>;
  private readonly logPositions: Collection<LogPositionRecord>;
  private readonly processorFaults: Collection<{ _id: string; fault: StoredFault }>;
  private readonly logBinding: Collection<LogBindingRecord>;
  /** The lease epoch this store took for each owner (see commit). */
  private readonly epochs = new Map<string, number>();
  /** The one session every commit runs its transaction in (they run one at a time): its id is in the lease document. */
  private commitSession?: ClientSession;
  /** Commits of this store, one at a time: two at once that move one checkpoint would conflict on it (see commit). */
  private commits: Promise<unknown> = Promise.resolve();

  /**
   * Connects to MONGODB_URL and uses the database it names (`crm` when it names none). Refuses a
   * server without transactions (a standalone mongod), which would otherwise pass /health and
   * then fail every commit.
   */
  static async connect(url: string, options: MongoClientOptions = {}): Promise<MongoReadStore> {
    // ignoreUndefined: a field set to undefined is left out, as JSON (and the SQLite adapter)
    // would, instead of being stored as null.
    const client = new MongoClient(url, { ignoreUndefined: true, ...options });
    await client.connect();
    try {
      await assertTransactions(client);
      const store = new MongoReadStore(client, client.db(databaseOf(url)));
      // Creates the checkpoint collection outside of any transaction, and indexes its lookup.
      await store.checkpoints.createIndex({ readModel: 1 }, { name: 'by_read_model' });
      return store;
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  constructor(
    /** The driver's client (its command events show what the store sends). */
    readonly client: MongoClient,
    private readonly db: Db,
  ) {
    this.logBinding = db.collection<LogBindingRecord>('event_log_binding');
    this.lease = db.collection<LeaseRecord>('projector_lease');
    this.versions = db.collection<VersionRecord>('read_model_versions');
    this.checkpoints = db.collection<CheckpointRecord>('read_model_checkpoints');
    this.logPositions = db.collection<LogPositionRecord>('log_positions');
    this.processorFaults = db.collection<{ _id: string; fault: StoredFault }>('processor_faults');
  }

  async ensureCollection(spec: CollectionSpec, version: number): Promise<void> {
    const name = collectionName(spec.name, version);
    spec.filters.forEach(filterPath);
    const indexes = [
      ...(spec.listed === false ? [] : [{ key: { sortKey: -1 as const, _id: -1 as const }, name: 'order' }]),
      ...spec.filters.map((field) => ({ key: { [filterPath(field)]: 1 as const, sortKey: -1 as const, _id: -1 as const }, name: `by_${field}` })),
    ];
    // Creating the indexes (or the bare collection) here means commits never create one inside a transaction.
    if (indexes.length > 0) await this.documents(name).createIndexes(indexes);
    else {
      await this.db.createCollection(name).catch(ignoreServerError(NAMESPACE_EXISTS));
    }
    if (spec.listed === false) {
      // A collection made before it was marked unlisted loses the index it no longer needs.
      await this.documents(name).dropIndex('order').catch(ignoreServerError(INDEX_NOT_FOUND));
    }
    this.filters.set(name, [...spec.filters]);
  }

  async dropCollection(name: string, version: number): Promise<void> {
    const collection = collectionName(name, version);
    // Servers before 7.0 answer NamespaceNotFound for a collection that does not exist.
    await this.db.dropCollection(collection).catch(ignoreServerError(NAMESPACE_NOT_FOUND));
    this.filters.delete(collection);
  }

  async deleteCheckpoint(readModel: string, version: number): Promise<void> {
    await this.checkpoints.deleteOne({ _id: checkpointId(readModel, version) });
  }

  async get(collection: string, version: number, id: string): Promise<ReadDocument | null> {
    const row = await this.documents(collectionName(collection, version)).findOne({ _id: id }, { projection: { doc: 1 } });
    return row ? row.doc : null;
  }

  async getMany(collection: string, version: number, ids: string[]): Promise<Map<string, ReadDocument>> {
    const found = new Map<string, ReadDocument>();
    const documents = this.documents(collectionName(collection, version));
    for (let start = 0; start < ids.length; start += IDS_PER_QUERY) {
      const chunk = ids.slice(start, start + IDS_PER_QUERY);
      // The projector loads the documents a batch changes with this: from the primary.
      const rows = await documents.find({ _id: { $in: chunk } }, { projection: { doc: 1 }, ...PRIMARY }).toArray();
      for (const row of rows) found.set(row._id, row.doc);
    }
    return found;
  }

  async find(collection: string, version: number, query: FindQuery): Promise<Page> {
    const name = collectionName(collection, version);
    const filter = this.equalityFilter(name, query.filter);
    if (query.range) {
      const { field, from, to } = query.range;
      (filter as Record<string, unknown>)[filterPath(field)] = { $type: 'number', ...(from !== undefined && { $gte: from }), ...(to !== undefined && { $lt: to }) };
    }
    if (query.cursor) {
      const { sortKey, id } = decodeCursor(query.cursor);
      // sortKey < k OR (sortKey = k AND _id < id), with the bound on sortKey kept top level so the
      // index scan starts at the cursor.
      filter.sortKey = { $lte: sortKey };
      filter.$or = [{ sortKey: { $lt: sortKey } }, { _id: { $lt: id } }];
    }
    if (!(query.limit > 0)) return { items: [] };
    const rows = await this.documents(name)
      .find(filter, { projection: { sortKey: 1, doc: 1 } })
      .sort({ sortKey: -1, _id: -1 })
      .limit(query.limit + 1)
      .toArray();
    const items = rows.slice(0, query.limit);
    const last = items[items.length - 1];
    return {
      items: items.map((row) => row.doc),
      ...(rows.length > query.limit && last ? { nextCursor: encodeCursor(last.sortKey, last._id) } : {}),
    };
  }

  async scan(collection: string, version: number, query: ScanQuery): Promise<ReadDocument[]> {
    const name = collectionName(collection, version);
    const filter = this.equalityFilter(name, query.filter);
    if (query.from !== undefined || query.to !== undefined) {
      filter.sortKey = { ...(query.from !== undefined && { $gte: query.from }), ...(query.to !== undefined && { $lt: query.to }) };
    }
    const rows = await this.documents(name).find(filter, { projection: { doc: 1 } }).toArray();
    return rows.map((row) => row.doc);
  }

  /** Equality on the collection's filter fields; null also matches a missing field. */
  private equalityFilter(name: string, equalities: Record<string, unknown>): Filter<StoredDocument> {
    const known = this.filters.get(name);
    const filter: Filter<StoredDocument> = {};
    const conditions = filter as Record<string, unknown>;
    for (const [field, value] of Object.entries(equalities)) {
      if (known && !known.includes(field)) throw new Error(`${field} is not a filter of read model collection ${name}`);
      conditions[filterPath(field)] = value ?? null;
    }
    return filter;
  }

  async commit(leaseOwner: string, writes: DocumentWrite[], checkpoints: CheckpointWrite[]): Promise<void> {
    const operations = this.documentOperations(writes);
    const run = this.commits.then(() => this.commitNow(leaseOwner, operations, checkpoints));
    this.commits = run.catch(() => undefined);
    return run;
  }

  /**
   * The commit is fenced by its checkpoints: each checkpoint update is conditional on the epoch
   * of the lease this owner took (acquireLease raises the epoch and stamps it on every
   * checkpoint before the new holder reads them). A deposed owner's update then matches nothing,
   * or conflicts with the stamping (a transaction conflicts with concurrent writes to the
   * documents it writes) and matches nothing when tried again: either way it throws
   * LeaseLostError and writes nothing. So the usual commit (the batch's documents and the
   * checkpoints it moves) writes no lease document. Only a commit that has no checkpoint to
   * fence it, or that writes a checkpoint for the first time (which no stamping could reach),
   * also writes the lease document under its owner and epoch, as every commit did before.
   */
  private async commitNow(leaseOwner: string, operations: Map<string, AnyBulkWriteOperation<StoredDocument>[]>, checkpoints: CheckpointWrite[]): Promise<void> {
    const held = this.epochs.get(leaseOwner);
    await this.inTransaction(async (session) => {
      const record = ({ readModel, version, position, codeVersion = 1 }: CheckpointWrite, epoch: number) => ({ readModel, version, position: position.toString(), codeVersion, epoch });
      const unmatched: CheckpointWrite[] = [];
      if (held !== undefined) {
        for (const checkpoint of checkpoints) {
          const moved = await this.checkpoints.updateOne({ _id: checkpointId(checkpoint.readModel, checkpoint.version), epoch: held }, { $set: record(checkpoint, held) }, { session });
          if (moved.matchedCount === 0) unmatched.push(checkpoint);
        }
      }
      if (held === undefined || checkpoints.length === 0 || unmatched.length > 0) {
        // The slow path: the lease check is a write (a plain read would let this commit through
        // on a stale lease, since a transaction conflicts only on what it writes).
        const lease = await this.lease.findOneAndUpdate({ _id: LEASE_ID, owner: leaseOwner, ...(held !== undefined && { epoch: held }) }, { $inc: { commits: 1 } }, { session, returnDocument: 'after' });
        if (!lease) throw new LeaseLostError(leaseOwner);
        const epoch = lease.epoch ?? 0;
        for (const checkpoint of held === undefined ? checkpoints : unmatched) {
          // A new checkpoint, or (holding no known epoch) any: one stamped by a later holder is not overwritten.
          const id = checkpointId(checkpoint.readModel, checkpoint.version);
          const moved = await this.checkpoints.updateOne({ _id: id, $or: [{ epoch: { $lte: epoch } }, { epoch: { $exists: false } }] }, { $set: record(checkpoint, epoch) }, { session });
          if (moved.matchedCount === 1) continue;
          try {
            await this.checkpoints.insertOne({ _id: id, ...record(checkpoint, epoch) }, { session });
          } catch (error) {
            if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) throw new LeaseLostError(leaseOwner);
            throw error;
          }
        }
      }
      for (const [name, bulk] of operations) {
        await this.documents(name).bulkWrite(bulk, { session, ordered: true });
      }
    });
  }

  /**
   * Runs `work` in a transaction and commits it. A transient error (a write conflict, a lost
   * primary) runs it again after a pause that doubles each time, up to TRANSACTION_ATTEMPTS
   * (the driver's withTransaction retries at once, for up to 120 s); a commit whose outcome is
   * unknown is committed again. Any other error aborts and is rethrown. `work` only awaits its
   * operations one after another and swallows no error. It runs in the store's one commit
   * session (commits run one at a time: `commits`), whose id the lease document names.
   */
  private async inTransaction(work: (session: ClientSession) => Promise<void>): Promise<void> {
    const session = this.commitSessionOf();
    for (let attempt = 1; ; attempt++) {
      session.startTransaction({ readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' }, readPreference: 'primary' });
      try {
        await work(session);
        await commitTransaction(session);
        return;
      } catch (error) {
        if (session.inTransaction()) await session.abortTransaction().catch(() => undefined);
        if (!(hasLabel(error, 'TransientTransactionError') && attempt < TRANSACTION_ATTEMPTS)) throw error;
        await pause(attempt);
      }
    }
  }

  async readModelState(readModel: string): Promise<ReadModelState> {
    // The projector starts from these: from the primary.
    const active = await this.versions.findOne({ _id: readModel }, PRIMARY);
    const rows = await this.checkpoints.find({ readModel }, PRIMARY).toArray();
    return {
      readModel,
      activeVersion: active?.activeVersion ?? 1,
      checkpoints: Object.fromEntries(rows.map((row) => [row.version, BigInt(row.position)])),
    };
  }

  async codeVersions(readModel: string): Promise<Record<number, number>> {
    const rows = await this.checkpoints.find({ readModel }, PRIMARY).toArray();
    return Object.fromEntries(rows.map((row) => [row.version, row.codeVersion ?? 1]));
  }

  async activate(readModel: string, version: number): Promise<void> {
    await this.versions.updateOne({ _id: readModel }, { $set: { activeVersion: version } }, { upsert: true });
  }

  async readLogPosition(name: string): Promise<bigint | undefined> {
    const record = await this.logPositions.findOne({ _id: name }, PRIMARY);
    return record ? BigInt(record.position) : undefined;
  }

  async saveLogPosition(name: string, position: bigint): Promise<void> {
    await this.logPositions.updateOne({ _id: name }, { $set: { position: String(position) } }, { upsert: true });
  }

  async acquireLease(owner: string, ttlMs: number): Promise<boolean> {
    // Expiry is on the server's clock, the one clock every process of the service shares: a
    // client whose clock runs ahead would otherwise take a lease that has not expired.
    const now = await this.serverTime();
    const lease = { owner, expiresAt: new Date(now.getTime() + ttlMs), session: this.commitSessionOf().id!.id };
    const held = this.epochs.get(owner);
    if (held !== undefined) {
      // A renewal keeps the epoch: this owner's commits stay fenced in.
      const renewed = await this.lease.updateOne({ _id: LEASE_ID, owner, epoch: held }, { $set: lease });
      if (renewed.matchedCount === 1) return true;
      this.epochs.delete(owner);
    }
    // Taken anew: a new epoch, stamped on every checkpoint before this owner reads them (see commit).
    const current = await this.lease.findOne({ _id: LEASE_ID }, PRIMARY);
    const holderGone = current !== null && current.owner !== owner && current.owner !== '' && (current.expiresAt <= now || isGoneFromThisHost(current.owner));
    // A holder that died in a commit leaves its transaction open, holding every document it wrote
    // (the checkpoints, maybe this lease) until the server's transactionLifetimeLimitSeconds (60 s
    // by default): until then each write here would conflict with it, or wait on it. Killing its
    // session aborts that transaction now. It is killed before the lease is taken (taking it may be
    // a write to a document that transaction holds). A holder whose lease had just expired and that
    // renews it in between loses the commit it had in flight (tried again: it keeps the lease),
    // and this take fails; nothing is written twice or lost.
    if (holderGone && current.session) await this.killSession(current.session);
    let taken: LeaseRecord | null = null;
    try {
      // Matches the lease when this owner holds it or it has expired (or was released), and then
      // takes it; when no lease document exists the upsert inserts one. When another owner holds
      // an unexpired lease nothing matches, and the upsert's insert of `_id: 'projector'` fails on
      // the unique _id index.
      taken = await this.lease.findOneAndUpdate({ _id: LEASE_ID, $or: [{ owner }, { expiresAt: { $lte: now } }] }, { $set: lease, $inc: { epoch: 1 } }, { upsert: true, returnDocument: 'after' });
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
    }
    if (!taken) {
      // Held by another owner: taken over at once when that owner is a dead process of this host.
      if (!current || !isGoneFromThisHost(current.owner)) return false;
      taken = await this.lease.findOneAndUpdate({ _id: LEASE_ID, owner: current.owner }, { $set: lease, $inc: { epoch: 1 } }, { returnDocument: 'after' });
      if (!taken) return false;
    }
    const epoch = taken.epoch ?? 1;
    await this.checkpoints.updateMany({ $or: [{ epoch: { $lt: epoch } }, { epoch: { $exists: false } }] }, { $set: { epoch } });
    this.epochs.set(owner, epoch);
    return true;
  }

  /** The session commits run in: an explicit session holds one server session (its id, the lsid) for its life. */
  private commitSessionOf(): ClientSession {
    this.commitSession ??= this.client.startSession();
    return this.commitSession;
  }

  /**
   * Kills a session of a holder that is gone, aborting its open transaction. A server that has no
   * such command (the wire stand-in), or will not let this user kill that session, leaves the
   * transaction to expire by itself, as before: until then the commits here fail (after
   * TRANSACTION_ATTEMPTS tries) and the projector tries its batch again.
   */
  private async killSession(id: BSON.Binary): Promise<void> {
    await this.db.admin().command({ killSessions: [{ id }] }).catch(() => undefined);
  }

  /** The server's clock (`localTime` of hello). */
  private async serverTime(): Promise<Date> {
    const { localTime } = await this.db.command({ hello: 1 });
    if (!(localTime instanceof Date)) throw new Error('MongoDB did not tell its time (hello.localTime)');
    return localTime;
  }

  async releaseLease(owner: string): Promise<void> {
    this.epochs.delete(owner);
    // Kept (expired, with no owner), not deleted: its epoch only ever rises.
    await this.lease.updateOne({ _id: LEASE_ID, owner }, { $set: { owner: '', expiresAt: new Date(0) } });
  }

  async logIdentity(): Promise<string | undefined> {
    return (await this.logBinding.findOne({ _id: LOG_BINDING_ID }, PRIMARY))?.identity;
  }

  async bindToLog(identity: string): Promise<void> {
    await this.logBinding.updateOne({ _id: LOG_BINDING_ID }, { $set: { identity } }, { upsert: true });
  }

  async forgetProjected(leaseOwner: string): Promise<void> {
    // Not one transaction (collections are dropped outside of them), but repeated whole after a
    // crash: the log binding, which says it is needed, changes only after it (see the projector).
    if (!(await this.lease.findOne({ _id: LEASE_ID, owner: leaseOwner }, PRIMARY))) throw new LeaseLostError(leaseOwner);
    for (const { name } of await this.db.listCollections({}, { nameOnly: true }).toArray()) {
      if (name.startsWith('rm_')) await this.db.dropCollection(name).catch(ignoreServerError(NAMESPACE_NOT_FOUND));
    }
    this.filters.clear();
    await this.checkpoints.deleteMany({});
    await this.versions.deleteMany({});
    await this.logPositions.deleteMany({});
    await this.processorFaults.deleteMany({});
  }

  async saveFault(readModel: string, fault: StoredFault | null): Promise<void> {
    if (fault === null) await this.processorFaults.deleteOne({ _id: readModel });
    else await this.processorFaults.updateOne({ _id: readModel }, { $set: { fault } }, { upsert: true });
  }

  async faults(): Promise<Record<string, StoredFault>> {
    const rows = await this.processorFaults.find({}, PRIMARY).toArray();
    return Object.fromEntries(rows.map((row) => [row._id, row.fault]));
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.commitSession?.endSession().catch(() => undefined);
    await this.client.close();
  }

  private documents(name: string): Collection<StoredDocument> {
    return this.db.collection<StoredDocument>(name);
  }

  /**
   * The writes as bulk operations per collection, in the order given; throws for a collection
   * never ensured, a document over MAX_DOCUMENT_BYTES and writes over MAX_COMMIT_BYTES together.
   */
  private documentOperations(writes: DocumentWrite[]): Map<string, AnyBulkWriteOperation<StoredDocument>[]> {
    const byCollection = new Map<string, AnyBulkWriteOperation<StoredDocument>[]>();
    let commitBytes = 0;
    for (const { collection, version, id, sortKey, doc } of writes) {
      const name = collectionName(collection, version);
      const filters = this.filters.get(name);
      if (!filters) throw new Error(`Read model collection ${name} was not ensured`);
      let operations = byCollection.get(name);
      if (!operations) byCollection.set(name, (operations = []));
      if (doc === null) {
        operations.push({ deleteOne: { filter: { _id: id } } });
        continue;
      }
      const f = Object.fromEntries(filters.map((field) => [field, filterValue(doc[field])]));
      const bytes = BSON.calculateObjectSize({ _id: id, sortKey, doc, f }, { ignoreUndefined: true });
      if (bytes > MAX_DOCUMENT_BYTES) throw new DocumentTooLargeError(collection, id, bytes);
      commitBytes += bytes;
      operations.push({
        updateOne: { filter: { _id: id }, update: { $set: { doc, f }, $setOnInsert: { sortKey } }, upsert: true },
      });
    }
    if (commitBytes > MAX_COMMIT_BYTES) throw new CommitTooLargeError(commitBytes);
    return byCollection;
  }
}

/** The database a MongoDB URL names (its path), or DEFAULT_DATABASE. */
export function databaseOf(url: string): string {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/.exec(url)?.[1];
  return path ? decodeURIComponent(path) : DEFAULT_DATABASE;
}

/** Refuses a server that has no transactions: commits need them. */
async function assertTransactions(client: MongoClient): Promise<void> {
  const refusal = transactionsRefusal(await client.db('admin').command({ hello: 1 }));
  if (refusal) throw new Error(refusal);
}

/** Why a server that answered `hello` so cannot keep read models, or undefined when it can (a replica set member or mongos). */
export function transactionsRefusal(hello: Document): string | undefined {
  if (typeof hello.setName === 'string' || hello.msg === 'isdbgrid') return undefined;
  return (
    'MongoDB (MONGODB_URL) is a standalone server: read models commit in transactions, which MongoDB has only on a replica set ' +
    'or a sharded cluster. A single-member replica set will do: start mongod with --replSet rs0 and run rs.initiate() once.'
  );
}

async function commitTransaction(session: ClientSession): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await session.commitTransaction();
      return;
    } catch (error) {
      // (A commit that ran out of maxTimeMS is not repeated: it would run out again.)
      const unknown = hasLabel(error, 'UnknownTransactionCommitResult') && !(error instanceof MongoServerError && error.code === MAX_TIME_MS_EXPIRED);
      if (!(unknown && attempt < TRANSACTION_ATTEMPTS)) throw error;
      await pause(attempt);
    }
  }
}

function hasLabel(error: unknown, label: string): boolean {
  return error instanceof MongoError && error.hasErrorLabel(label);
}

/** A pause that doubles with each attempt, with jitter so that conflicting writers drift apart. */
function pause(attempt: number): Promise<void> {
  return wait(RETRY_PAUSE_MS * 2 ** (attempt - 1) * (0.5 + Math.random()));
}

function collectionName(collection: string, version: number): string {
  const name = collection.replace(/-/g, '_');
  if (!/^[a-z][a-z0-9_]*$/.test(name) || !Number.isInteger(version) || version < 1) throw new Error(`Bad read model name ${collection} v${version}`);
  return `rm_${name}_v${version}`;
}

function filterPath(field: string): string {
  if (!/^_?[A-Za-z][A-Za-z0-9]*$/.test(field)) throw new Error(`Bad filter field ${field}`);
  return `f.${field}`;
}

function checkpointId(readModel: string, version: number): string {
  return `${readModel}:${version}`;
}

/**
 * A filter field's value as stored for equality matching: scalars as they are, missing as null,
 * and objects or arrays as their JSON text (as the SQLite adapter does), which also keeps MongoDB
 * from matching a query value against an array's elements.
 */
function filterValue(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value;
  return JSON.stringify(value);
}
