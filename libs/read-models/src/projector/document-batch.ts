import type { RecordedEvent } from '@crm/event-store';
import type { DocumentWrite, ReadDocument, ReadStore } from '../read-store.port';
import type { Accumulator, DocumentKey, DocumentSet, Projection } from '../projections/projection';

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

  constructor(private readonly versionOf: (collection: string) => number) {}

  /** Loads these documents (absent ones as null), a collection at a time. */
  async load(store: ReadStore, keys: DocumentKey[]): Promise<this> {
    const idsByCollection = new Map<string, Set<string>>();
    for (const { collection, id } of keys) {
      if (!idsByCollection.has(collection)) idsByCollection.set(collection, new Set());
      idsByCollection.get(collection)!.add(id);
    }
    for (const [collection, ids] of idsByCollection) {
      const found = await store.getMany(collection, this.versionOf(collection), [...ids]);
      for (const id of ids) this.loaded.set(keyOf(collection, id), found.get(id) ?? null);
    }
    return this;
  }

  get(collection: string, id: string): ReadDocument | null {
    const key = keyOf(collection, id);
    const change = this.changed.get(key);
    if (change) return change.doc;
    const doc = this.loaded.get(key);
    // A projection reads only what its keysOf named: anything else would be read unloaded, as if absent.
    if (doc === undefined) throw new Error(`Document ${collection}/${id} was read but not named by keysOf`);
    return doc;
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

  /** Folds every accumulated change into its document, loading those documents now (once each). */
  async foldAccumulated(store: ReadStore): Promise<void> {
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
    return [...this.changed.values()].map((c) => ({ ...c, version: this.versionOf(c.collection) }));
  }
}

function keyOf(collection: string, id: string): string {
  return `${collection}\u0000${id}`;
}

/**
 * Applies a batch of events to some projections and returns the document writes. Each
 * projection writes its own collections at its own version (a rebuild runs one alone), so
 * each is applied on its own batch of documents.
 */
export async function projectBatch(
  store: ReadStore,
  projections: { projection: Projection; version: number; after: bigint }[],
  events: RecordedEvent[],
): Promise<DocumentWrite[]> {
  const writes: DocumentWrite[] = [];
  for (const { projection, version, after } of projections) {
    const concerned: RecordedEvent[] = [];
    const keys: DocumentKey[] = [];
    for (const event of events) {
      const named = event.position > after ? projection.keysOf(event) : [];
      if (named.length === 0) continue;
      concerned.push(event);
      keys.push(...named);
    }
    if (concerned.length === 0) continue;
    const batch = await new DocumentBatch(() => version).load(store, keys);
    for (const event of concerned) projection.apply(event, batch);
    await batch.foldAccumulated(store);
    writes.push(...batch.writes());
  }
  return writes;
}
