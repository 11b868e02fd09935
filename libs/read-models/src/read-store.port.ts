/**
 * The read store port: documents of projected read models, their checkpoints, and the lease
 * that lets only one projector apply them. Two adapters (SQLite embedded, MongoDB) pass the
 * same conformance suite.
 *
 * A read model has versions: the projector writes the active one while a rebuild fills the
 * next, and `activate` swaps them. Collections are named `<readModel>` and addressed with a
 * version; adapters store each version apart (e.g. `rm_leads_v2`).
 */

export type ReadDocument = Record<string, unknown> & { id: string };

/** How a read model's documents are filtered and ordered. */
export interface CollectionSpec {
  name: string;
  /** Top-level fields that list queries filter on by equality (each gets an index). */
  filters: string[];
  /** False for a collection never listed without a filter (read by id, or by a filter): it needs no index on the list order alone. */
  listed?: boolean;
}

/** A document write inside a batch; `doc: null` deletes. */
export interface DocumentWrite {
  collection: string;
  version: number;
  id: string;
  /** Lists are ordered by this key, highest first ("newest first"); the store never changes it once set. */
  sortKey: number;
  doc: ReadDocument | null;
}

export interface CheckpointWrite {
  readModel: string;
  version: number;
  position: bigint;
  /** The processor's version in code that filled this stored version (absent: 1, the version of everything stored before versions were kept). */
  codeVersion?: number;
}

export interface Page {
  items: ReadDocument[];
  /** Opaque; absent on the last page. */
  nextCursor?: string;
}

export interface FindQuery {
  filter: Record<string, string | number | boolean | null>;
  /** A half-open range [from, to) on one numeric filter field, beside the equalities (a document without the field is outside it). */
  range?: { field: string; from?: number; to?: number };
  limit: number;
  cursor?: string;
}

export interface ScanQuery {
  filter: Record<string, string | number | boolean | null>;
  /** Inclusive; unbounded when absent. */
  from?: number;
  /** Exclusive; unbounded when absent. */
  to?: number;
}

/** A read model's fault as kept: the event it could not apply, why, and whether it is given up on until a retry. */
export interface StoredFault {
  position: string;
  eventType: string;
  message: string;
  faulted: boolean;
  /** The processor's version in code that met it (absent: 1); other code is not held to it after a restart. */
  codeVersion?: number;
}

export interface ReadModelState {
  readModel: string;
  activeVersion: number;
  /** Checkpoint of each version that has one. */
  checkpoints: Record<number, bigint>;
}

/** The documents of the read models, by collection and stored version: what queries read. */
export interface ReadModelDocuments {
  /** Creates the storage and indexes of one version of a collection (idempotent). */
  ensureCollection(spec: CollectionSpec, version: number): Promise<void>;
  /** Drops one version of a collection with its documents (checkpoints are per read model: see deleteCheckpoint). */
  dropCollection(name: string, version: number): Promise<void>;

  get(collection: string, version: number, id: string): Promise<ReadDocument | null>;
  getMany(collection: string, version: number, ids: string[]): Promise<Map<string, ReadDocument>>;
  /** Equality filters, highest sortKey first, keyset-paginated by an opaque cursor. */
  find(collection: string, version: number, query: FindQuery): Promise<Page>;
  /** Every document matching the filters whose sortKey lies in [from, to), in no particular order (report views keyed by day). */
  scan(collection: string, version: number, query: ScanQuery): Promise<ReadDocument[]>;
}

/**
 * Each processor's checkpoint per stored version (with the code version that filled it), the
 * version queries read, and the commit that writes documents and checkpoints together.
 */
export interface ProcessorCheckpoints {
  /**
   * Writes documents and checkpoints in one transaction, only while `leaseOwner` holds the
   * projector lease: a crash at any point leaves both as they were, or both written.
   * Throws LeaseLostError (and writes nothing) when another owner holds the lease,
   * DocumentTooLargeError for a document over MAX_DOCUMENT_BYTES and CommitTooLargeError for
   * writes over MAX_COMMIT_BYTES together (the caller commits fewer at a time).
   */
  commit(leaseOwner: string, writes: DocumentWrite[], checkpoints: CheckpointWrite[]): Promise<void>;
  /**
   * Optional: the same commit, without waiting for it, so that the projector applies its next
   * batch meanwhile. Throws DocumentTooLargeError and CommitTooLargeError at once (nothing is
   * handed over); `committed` settles as commit's promise would. Commits are written in the order
   * handed over; one handed over behind a commit that fails fails too, unwritten. Until it is
   * written, get and getMany answer with its documents, and every other call waits for it.
   */
  commitBehind?(leaseOwner: string, writes: DocumentWrite[], checkpoints: CheckpointWrite[]): { committed: Promise<void> };
  /** Forgets the checkpoint of one version of a read model (one dropped, or about to be filled afresh). */
  deleteCheckpoint(readModel: string, version: number): Promise<void>;
  /** Active versions and checkpoints; a read model never seen is at version 1 with no checkpoint. */
  readModelState(readModel: string): Promise<ReadModelState>;
  /** The processor's version in code that filled each stored version with a checkpoint (1 for those written before code versions were kept). */
  codeVersions(readModel: string): Promise<Record<number, number>>;
  /** Makes `version` the one queries read. */
  activate(readModel: string, version: number): Promise<void>;

  /**
   * The event a read model could not apply, kept until it applies it, so that a process that
   * does not run the projector (PROJECTOR=external) shows it too; needs no lease, the last save
   * wins, null clears it.
   */
  saveFault(readModel: string, fault: StoredFault | null): Promise<void>;
  /** Every read model's kept fault, by name. */
  faults(): Promise<Record<string, StoredFault>>;

  /**
   * Where a reader of the log other than the projector (the recovery sweep) has got to, kept
   * under a name; needs no lease, and the last save wins. Undefined before the first save.
   */
  readLogPosition(name: string): Promise<bigint | undefined>;
  saveLogPosition(name: string, position: bigint): Promise<void>;
}

/** The lease that lets one projector at a time commit. */
export interface ProjectorLease {
  /**
   * Takes or renews the projector lease for `ttlMs`; false when another owner holds it. A lease
   * whose owner (see lease-owner.ts) is a process of this host that no longer exists is taken
   * over at once, without waiting for it to expire.
   */
  acquireLease(owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(owner: string): Promise<void>;
}

/** Which event log the read models were projected from. */
export interface LogBinding {
  /** The identity (EventStore.identity) of the event log the read models were projected from; undefined before bindToLog. */
  logIdentity(): Promise<string | undefined>;
  /** Records which event log the read models are projected from. */
  bindToLog(identity: string): Promise<void>;
  /**
   * Forgets everything projected, for a read store that was projected from another event log:
   * drops every read model collection, checkpoint, active version, fault and named log position
   * (the lease and the log identity stay). Only while `leaseOwner` holds the lease.
   */
  forgetProjected(leaseOwner: string): Promise<void>;
}

/**
 * The read store: the small ports above, which one backend implements together (a commit
 * writes documents and checkpoints in one transaction, fenced by the lease). Consumers name the
 * port they use: queries need ReadModelDocuments (and the served version), the runner all of them.
 */
export interface ReadStore extends ReadModelDocuments, ProcessorCheckpoints, ProjectorLease, LogBinding {
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The largest document a read store keeps (MongoDB's limit), so that both backends refuse the same documents. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;
/**
 * The most one commit writes, its documents' sizes summed: a larger transaction gets slow and
 * fragile (MongoDB aborts long-running ones, and they would be retried in vain).
 */
export const MAX_COMMIT_BYTES = 16 * 1024 * 1024;

export class DocumentTooLargeError extends Error {
  constructor(collection: string, id: string, bytes: number) {
    super(`Read model document ${collection}/${id} would take ${bytes} bytes, more than the ${MAX_DOCUMENT_BYTES} a document may`);
    this.name = 'DocumentTooLargeError';
  }
}

export class CommitTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`A read model commit of ${bytes} bytes is more than the ${MAX_COMMIT_BYTES} one commit may write`);
    this.name = 'CommitTooLargeError';
  }
}

export const READ_STORE = Symbol('READ_STORE');

export class LeaseLostError extends Error {
  constructor(owner: string) {
    super(`Projector lease is no longer held by ${owner}`);
    this.name = 'LeaseLostError';
  }
}

/** A cursor that the store did not hand out. */
export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not one this service handed out');
    this.name = 'InvalidCursorError';
  }
}

/** Cursors carry the last item's sort key and id, so that equal keys still page exactly. */
export function encodeCursor(sortKey: number, id: string): string {
  return Buffer.from(JSON.stringify([sortKey, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { sortKey: number; id: string } {
  try {
    const [sortKey, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof sortKey === 'number' && Number.isFinite(sortKey) && typeof id === 'string') return { sortKey, id };
  } catch {
    // fall through
  }
  throw new InvalidCursorError();
}
