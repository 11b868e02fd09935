import type { RecordedEvent } from '@crm/event-store';
import type { DocumentWrite, ReadDocument, ReadModelDocuments } from '../read-store.port';
import type { Accumulator, CollectionKey, DocumentKey, DocumentSet, Projection, DerivedDocuments } from '../projections/projection';

interface Accumulated {
  collection: string;
  id: string;
  sortKey: number;
  change: unknown;
  accumulator: Accumulator<unknown>;
}

/**
 * The documents one batch of events touches: those the projection names up front are loaded
 * once, changed in memory, and handed to the read store as writes in a single commit. Changes
 * accumulated on other documents are combined in memory and folded into each document once,
 * at the end of the batch.
 */
export class DocumentBatch implements DocumentSet {
  private readonly loaded = new Map<string, ReadDocument | null>();
  private readonly changed = new Map<string, { collection: string; id: string; doc: ReadDocument | null; sortKey: number }>();
  private readonly accumulated = new Map<string, Accumulated>();
  /** Collections loaded whole, for `all`. */
  private readonly whole = new Set<string>();

  constructor(private readonly versionOf: (collection: string) => number) {}

  /** Loads these documents (absent ones as null), a collection at a time. */
  async load(store: ReadModelDocuments, keys: (DocumentKey | CollectionKey)[]): Promise<this> {
    const idsByCollection = new Map<string, Set<string>>();
    for (const key of keys) {
      if (!('all' in key) || this.whole.has(key.collection)) continue;
      // A whole collection: every document in one scan (rare: an event that changes them all).
      for (const doc of await store.scan(key.collection, this.versionOf(key.collection), { filter: {} })) this.loaded.set(keyOf(key.collection, doc.id), doc);
      this.whole.add(key.collection);
    }
    for (const key of keys) {
      if ('all' in key) continue;
      const { collection, id } = key;
      if (this.whole.has(collection)) continue;
      if (!idsByCollection.has(collection)) idsByCollection.set(collection, new Set());
      idsByCollection.get(collection)!.add(id);
    }
    for (const [collection, ids] of idsByCollection) {
      const found = await store.getMany(collection, this.versionOf(collection), [...ids]);
      for (const id of ids) if (!this.loaded.has(keyOf(collection, id))) this.loaded.set(keyOf(collection, id), found.get(id) ?? null);
    }
    return this;
  }

  get(collection: string, id: string): ReadDocument | null {
    const key = keyOf(collection, id);
    const change = this.changed.get(key);
    if (change) return change.doc;
    const loaded = this.loaded.get(key);
    const doc = loaded === undefined && this.whole.has(collection) ? null : loaded;
    // A projection reads only what its keysOf named: anything else would be read unloaded, as if absent.
    if (doc === undefined) throw new Error(`Document ${collection}/${id} was read but not named by keysOf`);
    return doc;
  }

  all(collection: string): ReadDocument[] {
    if (!this.whole.has(collection)) throw new Error(`Collection ${collection} was read whole but not named whole by keysOf`);
    const prefix = keyOf(collection, '');
    const docs = new Map<string, ReadDocument | null>();
    for (const [key, doc] of this.loaded) if (key.startsWith(prefix)) docs.set(key, doc);
    for (const [key, { doc }] of this.changed) if (key.startsWith(prefix)) docs.set(key, doc);
    return [...docs.values()].filter((doc): doc is ReadDocument => doc !== null);
  }

  put(collection: string, doc: ReadDocument, sortKey: number): void {
    const key = keyOf(collection, doc.id);
    // A document keeps the sort key of its first put; one deleted earlier in the batch starts afresh.
    const previous = this.changed.get(key);
    this.changed.set(key, { collection, id: doc.id, doc, sortKey: previous?.doc ? previous.sortKey : sortKey });
  }

  delete(collection: string, id: string): void {
    this.changed.set(keyOf(collection, id), { collection, id, doc: null, sortKey: 0 });
  }

  accumulate<D>(collection: string, id: string, sortKey: number, change: D, accumulator: Accumulator<D>): void {
    const key = keyOf(collection, id);
    const entry = this.accumulated.get(key);
    if (entry) entry.change = accumulator.combine(entry.change as D, change);
    else this.accumulated.set(key, { collection, id, sortKey, change, accumulator: accumulator as Accumulator<unknown> });
  }

  /** Moves what is derived from each changed document of these collections, from the document as loaded to the document as it is now. */
  moveDerived(derived: DerivedDocuments[]): void {
    for (const { collection, move } of derived) {
      for (const [key, change] of this.changed) {
        if (change.collection !== collection) continue;
        const before = this.loaded.get(key);
        // What it was before the batch is what was loaded: one put without being named was never read.
        if (before === undefined && !this.whole.has(collection)) throw new Error(`Document ${collection}/${change.id} has documents derived from it but was not named by keysOf`);
        if (change.doc !== (before ?? null)) move(before ?? null, change.doc, this);
      }
    }
  }

  /** Folds every accumulated change into its document, loading those documents now (once each). */
  async foldAccumulated(store: ReadModelDocuments): Promise<void> {
    const entries = [...this.accumulated.values()];
    this.accumulated.clear();
    await this.load(
      store,
      entries.filter(({ collection, id }) => !this.changed.has(keyOf(collection, id))),
    );
    for (const { collection, id, sortKey, change, accumulator } of entries) {
      const doc = accumulator.fold(this.get(collection, id), change, (beside) => this.put(collection, beside, sortKey));
      if (doc) this.put(collection, doc, sortKey);
      else if (doc === null) this.delete(collection, id);
    }
  }

  writes(): DocumentWrite[] {
    return [...this.changed.values()].map(({ collection, id, doc, sortKey }) => ({ collection, id, doc, sortKey, version: this.versionOf(collection) }));
  }
}

function keyOf(collection: string, id: string): string {
  return `${collection}\u0000${id}`;
}

/** A projection could not apply an event: the projection's own fault, not the store's. */
export class ProjectionFault extends Error {
  readonly position: bigint;
  readonly eventType: string;
  readonly eventId: string;

  constructor(
    readonly readModel: string,
    event: RecordedEvent,
    override readonly cause: unknown,
  ) {
    super(`${readModel} cannot apply ${event.type} at ${event.position}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'ProjectionFault';
    this.position = event.position;
    this.eventType = event.type;
    this.eventId = event.id;
  }

  /** The message of the projection's own error, as GET /projections shows it. */
  get reason(): string {
    return this.cause instanceof Error ? this.cause.message : String(this.cause);
  }
}

/**
 * Applies a batch of events to some projections and returns the document writes. Each
 * projection writes its own collections at its own version (a rebuild runs one alone), so
 * each is applied on its own batch of documents.
 */
export async function projectBatch(
  store: ReadModelDocuments,
  projections: { projection: Projection; version: number; after: bigint }[],
  events: RecordedEvent[],
): Promise<DocumentWrite[]> {
  const writes: DocumentWrite[] = [];
  for (const { projection, version, after } of projections) {
    const concerned: RecordedEvent[] = [];
    const keys: (DocumentKey | CollectionKey)[] = [];
    for (const event of events) {
      let named: (DocumentKey | CollectionKey)[] = [];
      try {
        // keysOf is the projection's own code too (it reads the event's data): its error faults this projection alone.
        if (event.position > after) named = projection.keysOf(event);
      } catch (error) {
        throw new ProjectionFault(projection.readModel, event, error);
      }
      if (named.length === 0) continue;
      concerned.push(event);
      keys.push(...named);
    }
    if (concerned.length === 0) continue;
    const batch = await new DocumentBatch(() => version).load(store, keys);
    for (const event of concerned) {
      try {
        projection.apply(event, batch);
      } catch (error) {
        throw new ProjectionFault(projection.readModel, event, error);
      }
    }
    if (projection.derived) {
      try {
        batch.moveDerived(projection.derived);
      } catch (error) {
        // Moved after the batch's last event: the fault is told at it.
        throw new ProjectionFault(projection.readModel, concerned[concerned.length - 1], error);
      }
    }
    await batch.foldAccumulated(store);
    // Not push(...writes): a batch that re-scores every lead writes more documents than a call takes arguments.
    for (const write of batch.writes()) writes.push(write);
  }
  return writes;
}
