import type { RecordedEvent } from '@crm/event-store';
import type { CollectionSpec, ReadDocument } from '../read-store.port';

export interface DocumentKey {
  collection: string;
  id: string;
}

/** The documents a batch has loaded; a projection reads and replaces them, nothing else. */
export interface DocumentSet {
  get(collection: string, id: string): ReadDocument | null;
  /** `sortKey` orders lists ("newest first"); it is kept from the first put of a document. */
  put(collection: string, doc: ReadDocument, sortKey: number): void;
  delete(collection: string, id: string): void;
  /** True for a document this batch's projections put: it may be changed in place (no copy needed). */
  isWritable(doc: ReadDocument): boolean;
}

/**
 * A read model: which documents each event touches, and how it changes them. `apply` is a pure
 * function of the loaded documents and the event; the projector does all I/O around it.
 */
export interface Projection {
  /** The read model's name: what /projections lists and rebuilds. */
  readModel: string;
  collections: CollectionSpec[];
  /** The documents an event reads or writes (loaded before `apply`); none when it does not concern this read model. */
  keysOf(event: RecordedEvent): DocumentKey[];
  apply(event: RecordedEvent, docs: DocumentSet): void;
}

/** Fields of a stored document that are for filtering, not for clients: named with a leading underscore. */
export function withoutInternalFields<T extends Record<string, unknown>>(doc: T): T {
  return Object.fromEntries(Object.entries(doc).filter(([key]) => !key.startsWith('_'))) as T;
}
