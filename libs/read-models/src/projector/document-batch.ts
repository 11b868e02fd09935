import type { RecordedEvent } from '@crm/event-store';
import type { DocumentWrite, ReadDocument, ReadModelDocuments } from '../read-store.port';
import type { Accumulator, CollectionKey, DocumentKey, DocumentSet, Projection, DerivedDocuments } from '../projections/projection';

interface Accumulated {
  sortKey: number;
  change: unknown;
  accumulator: Accumulator<unknown>;
}

interface Changed {
  doc: ReadDocument | null;
  sortKey: number;
  /** The event whose handler last changed it (what a failing derived move is told at). */
  by?: RecordedEvent;
}

/**
 * Values by collection, then by id: a map per collection rather than one keyed by
 * `collection + id`, so that no key string is built per lookup (a batch looks documents up
 * several times an event).
 */
class ByCollection<V> {
  private readonly collections = new Map<string, Map<string, V>>();

  of(collection: string): Map<string, V> {
    let ids = this.collections.get(collection);
    if (!ids) this.collections.set(collection, (ids = new Map()));
    return ids;
  }

  get(collection: string, id: string): V | undefined {
    return this.collections.get(collection)?.get(id);
  }

  has(collection: string, id: string): boolean {
    return this.collections.get(collection)?.has(id) ?? false;
  }

  set(collection: string, id: string, value: V): void {
    this.of(collection).set(id, value);
  }

  *entries(): Generator<[collection: string, id: string, value: V]> {
    for (const [collection, ids] of this.collections) for (const [id, value] of ids) yield [collection, id, value];
  }

  clear(): void {
    this.collections.clear();
  }
}

/**
 * The documents one batch of events touches: those the projection names up front are loaded
 * once, changed in memory, and handed to the read store as writes in a single commit. Changes
 * accumulated on other documents are combined in memory and folded into each document once,
 * at the end of the batch.
 */
export class DocumentBatch implements DocumentSet {
  private readonly loaded = new ByCollection<ReadDocument | null>();
  private readonly changed = new ByCollection<Changed>();
  private readonly accumulated = new ByCollection<Accumulated>();
  /** Collections loaded whole, for `all`. */
  private readonly whole = new Set<string>();

  /** The event being applied (set by projectBatch), recorded with the documents it changes. */
  applying?: RecordedEvent;

  constructor(private readonly versionOf: (collection: string) => number) {}

  /** Loads these documents (absent ones as null), a collection at a time. */
  async load(store: ReadModelDocuments, keys: Iterable<DocumentKey | CollectionKey>): Promise<this> {
    const idsByCollection = new Map<string, Set<string>>();
    for (const key of keys) {
      if ('all' in key) {
        if (this.whole.has(key.collection)) continue;
        // A whole collection: every document in one scan (rare: an event that changes them all).
        const loaded = this.loaded.of(key.collection);
        for (const doc of await store.scan(key.collection, this.versionOf(key.collection), { filter: {} })) loaded.set(doc.id, doc);
        this.whole.add(key.collection);
        continue;
      }
      let ids = idsByCollection.get(key.collection);
      if (!ids) idsByCollection.set(key.collection, (ids = new Set()));
      ids.add(key.id);
    }
    for (const [collection, ids] of idsByCollection) {
      if (this.whole.has(collection)) continue;
      const loaded = this.loaded.of(collection);
      const missing = [...ids].filter((id) => !loaded.has(id));
      if (missing.length === 0) continue;
      const found = await store.getMany(collection, this.versionOf(collection), missing);
      for (const id of missing) loaded.set(id, found.get(id) ?? null);
    }
    return this;
  }

  get(collection: string, id: string): ReadDocument | null {
    const change = this.changed.get(collection, id);
    if (change) return change.doc;
    const loaded = this.loaded.get(collection, id);
    const doc = loaded === undefined && this.whole.has(collection) ? null : loaded;
    // A projection reads only what its keysOf named: anything else would be read unloaded, as if absent.
    if (doc === undefined) throw new Error(`Document ${collection}/${id} was read but not named by keysOf`);
    return doc;
  }

  all(collection: string): ReadDocument[] {
    if (!this.whole.has(collection)) throw new Error(`Collection ${collection} was read whole but not named whole by keysOf`);
    const docs = new Map(this.loaded.of(collection));
    for (const [id, { doc }] of this.changed.of(collection)) docs.set(id, doc);
    return [...docs.values()].filter((doc): doc is ReadDocument => doc !== null);
  }

  put(collection: string, doc: ReadDocument, sortKey: number): void {
    const changed = this.changed.of(collection);
    // A document keeps the sort key of its first put; one deleted earlier in the batch starts afresh.
    const previous = changed.get(doc.id);
    changed.set(doc.id, { doc, sortKey: previous?.doc ? previous.sortKey : sortKey, by: this.applying });
  }

  delete(collection: string, id: string): void {
    this.changed.set(collection, id, { doc: null, sortKey: 0, by: this.applying });
  }

  accumulate<D>(collection: string, id: string, sortKey: number, change: D, accumulator: Accumulator<D>): void {
    const accumulated = this.accumulated.of(collection);
    const entry = accumulated.get(id);
    if (entry) entry.change = accumulator.combine(entry.change as D, change);
    else accumulated.set(id, { sortKey, change, accumulator: accumulator as Accumulator<unknown> });
  }

  /**
   * Moves what is derived from each changed document of these collections, from the document as
   * loaded to the document as it is now. A move that fails faults `readModel` at the last event
   * that changed that document (`lastEvent` when none is known), whatever else the batch holds.
   */
  moveDerived(derived: DerivedDocuments[], readModel: string, lastEvent: RecordedEvent): void {
    for (const { collection, move } of derived) {
      const loaded = this.loaded.of(collection);
      for (const [id, change] of this.changed.of(collection)) {
        try {
          const before = loaded.get(id);
          // What it was before the batch is what was loaded: one put without being named was never read.
          if (before === undefined && !this.whole.has(collection)) throw new Error(`Document ${collection}/${id} has documents derived from it but was not named by keysOf`);
          if (change.doc !== (before ?? null)) move(before ?? null, change.doc, this);
        } catch (error) {
          throw new ProjectionFault(readModel, change.by ?? lastEvent, error);
        }
      }
    }
  }

  /** Folds every accumulated change into its document, loading those documents now (once each). */
  async foldAccumulated(store: ReadModelDocuments): Promise<void> {
    const entries = [...this.accumulated.entries()];
    this.accumulated.clear();
    const unloaded: DocumentKey[] = [];
    for (const [collection, id] of entries) if (!this.changed.has(collection, id)) unloaded.push({ collection, id });
    await this.load(store, unloaded);
    for (const [collection, id, { sortKey, change, accumulator }] of entries) {
      const doc = accumulator.fold(this.get(collection, id), change, (beside) => this.put(collection, beside, sortKey));
      if (doc) this.put(collection, doc, sortKey);
      else if (doc === null) this.delete(collection, id);
    }
  }

  writes(): DocumentWrite[] {
    const writes: DocumentWrite[] = [];
    for (const [collection, id, { doc, sortKey }] of this.changed.entries()) writes.push({ collection, id, doc, sortKey, version: this.versionOf(collection) });
    return writes;
  }
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
      batch.applying = event;
      try {
        projection.apply(event, batch);
      } catch (error) {
        throw new ProjectionFault(projection.readModel, event, error);
      }
    }
    batch.applying = undefined;
    if (projection.derived) batch.moveDerived(projection.derived, projection.readModel, concerned[concerned.length - 1]);
    await batch.foldAccumulated(store);
    // Not push(...writes): a batch that re-scores every lead writes more documents than a call takes arguments.
    for (const write of batch.writes()) writes.push(write);
  }
  return writes;
}
