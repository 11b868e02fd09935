import type { RecordedEvent } from '@crm/event-store';
import type { DocumentWrite, ReadDocument, ReadStore } from '../read-store.port';
import type { DocumentKey, DocumentSet, Projection } from '../projections/projection';

/**
 * The documents one batch of events touches: loaded once up front, changed in memory by the
 * projections, and handed to the read store as writes in a single commit.
 */
export class DocumentBatch implements DocumentSet {
  private readonly loaded = new Map<string, ReadDocument | null>();
  private readonly changed = new Map<string, { collection: string; id: string; doc: ReadDocument | null; sortKey: number }>();
  private readonly written = new WeakSet<ReadDocument>();

  constructor(private readonly versionOf: (collection: string) => number) {}

  static async load(store: ReadStore, versionOf: (collection: string) => number, keys: DocumentKey[]): Promise<DocumentBatch> {
    const batch = new DocumentBatch(versionOf);
    const idsByCollection = new Map<string, Set<string>>();
    for (const { collection, id } of keys) {
      if (!idsByCollection.has(collection)) idsByCollection.set(collection, new Set());
      idsByCollection.get(collection)!.add(id);
    }
    for (const [collection, ids] of idsByCollection) {
      const found = await store.getMany(collection, versionOf(collection), [...ids]);
      for (const id of ids) batch.loaded.set(keyOf(collection, id), found.get(id) ?? null);
    }
    return batch;
  }

  get(collection: string, id: string): ReadDocument | null {
    const key = keyOf(collection, id);
    const change = this.changed.get(key);
    if (change) return change.doc;
    if (!this.loaded.has(key)) {
      // A document whose id keysOf could not know (it depends on another document): note it,
      // and the batch is applied again with it loaded.
      this.missing.push({ collection, id });
      return null;
    }
    return this.loaded.get(key)!;
  }

  /** Documents read by apply that were not loaded, so that this pass does not count. */
  readonly missing: DocumentKey[] = [];

  /** Loads more documents, for another pass over the same events. */
  async loadMore(store: ReadStore, keys: DocumentKey[]): Promise<DocumentBatch> {
    const next = await DocumentBatch.load(store, this.versionOf, keys);
    for (const [key, doc] of this.loaded) next.loaded.set(key, doc);
    return next;
  }

  put(collection: string, doc: ReadDocument, sortKey: number): void {
    const key = keyOf(collection, doc.id);
    // A document keeps the sort key of its first put; one deleted earlier in the batch starts afresh.
    const previous = this.changed.get(key);
    this.changed.set(key, { collection, id: doc.id, doc, sortKey: previous?.doc ? previous.sortKey : sortKey });
    this.written.add(doc);
  }

  isWritable(doc: ReadDocument): boolean {
    return this.written.has(doc);
  }

  delete(collection: string, id: string): void {
    this.changed.set(keyOf(collection, id), { collection, id, doc: null, sortKey: 0 });
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
 * projection owns its collections, so each is applied on its own: one that reads documents it
 * could not name up front (report buckets) is applied again with them loaded, without
 * repeating the others.
 */
export async function projectBatch(
  store: ReadStore,
  projections: { projection: Projection; version: number; after: bigint }[],
  events: RecordedEvent[],
): Promise<DocumentWrite[]> {
  const writes: DocumentWrite[] = [];
  for (const { projection, version, after } of projections) {
    const concerned = events.filter((event) => event.position > after && projection.keysOf(event).length > 0);
    if (concerned.length === 0) continue;
    let batch = await DocumentBatch.load(store, () => version, concerned.flatMap((event) => projection.keysOf(event)));
    for (let pass = 1; ; pass++) {
      for (const event of concerned) projection.apply(event, batch);
      if (batch.missing.length === 0) break;
      if (pass >= MAX_PASSES) throw new Error(`${projection.readModel} keeps reading documents it did not name: ${JSON.stringify(batch.missing.slice(0, 3))}`);
      batch = await batch.loadMore(store, batch.missing);
    }
    writes.push(...batch.writes());
  }
  return writes;
}

/** Passes over a batch: dependent documents are at most one level deep (facts → buckets), plus slack. */
const MAX_PASSES = 4;
