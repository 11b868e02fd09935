import { membersWhere } from '@crm/domain';
import type { RecordedEvent } from '@crm/event-store';
import type { CollectionSpec, ReadDocument } from '../read-store.port';

export interface DocumentKey {
  collection: string;
  id: string;
}

/** Every document of a collection, for the rare event that changes them all (a new scoring model). */
export interface CollectionKey {
  collection: string;
  all: true;
}

/** The documents of a batch: a projection reads and replaces those its keysOf named, and accumulates changes on others. */
export interface DocumentSet {
  get(collection: string, id: string): ReadDocument | null;
  /** `sortKey` orders lists ("newest first"); it is kept from the first put of a document. */
  put(collection: string, doc: ReadDocument, sortKey: number): void;
  delete(collection: string, id: string): void;
  /** Every document of a collection that keysOf named whole (a CollectionKey), as this batch has changed them so far. */
  all(collection: string): ReadDocument[];
  /**
   * Adds a change to a document without reading it, for documents that only accumulate (report
   * buckets). Such changes commute: the batch combines all of them per document and folds them
   * in once, after its last event, so apply never loads these documents nor reads them back.
   */
  accumulate<D>(collection: string, id: string, sortKey: number, change: D, accumulator: Accumulator<D>): void;
}

/** How the changes accumulated on one kind of document combine, and how they are folded into it. */
export interface Accumulator<D> {
  /** Both changes in one (may reuse `into`). */
  combine(into: D, change: D): D;
  /**
   * The document with the change folded in (`current` is null when there is none yet); null
   * removes it, undefined leaves it as it is (a change that comes to nothing). `putBeside`
   * writes another document of the same collection and sort key, for a document that would
   * otherwise grow without bound (a value bucket seals full chunks off into documents of their own).
   */
  fold(current: ReadDocument | null, change: D, putBeside: (doc: ReadDocument) => void): ReadDocument | null | undefined;
}

/**
 * A read model: which documents each event touches, and how it changes them. `apply` is a pure
 * function of the loaded documents and the event; the projector does all I/O around it.
 */
export interface Projection {
  /** The read model's name: what /projections lists and rebuilds. */
  readModel: string;
  /**
   * The version of this code (absent: 1). Raise it whenever a change to the projection would
   * make documents other than those stored: the runner then rebuilds the read model from the
   * first event into a new stored version in the background, and swaps once it has caught up.
   */
  version?: number;
  collections: CollectionSpec[];
  /**
   * The event types `keysOf` can name documents for (absent: any, for a projection that does not
   * say): the projector reads only those from the log, so events no read model takes (a
   * uniqueness claim, an assignment turn) are neither read nor revealed.
   */
  types?: readonly string[];
  /** The documents `apply` reads or puts for an event (loaded before it; accumulated ones are not named); none when the event does not concern this read model. */
  keysOf(event: RecordedEvent): (DocumentKey | CollectionKey)[];
  apply(event: RecordedEvent, docs: DocumentSet): void;
  /** Documents that other documents are derived from (see DerivedDocuments). */
  derived?: DerivedDocuments[];
}

/**
 * A collection whose documents other documents are derived from: report buckets sum what each
 * record's facts contribute; a rank index holds one entry per lead, keyed by its score. Rather
 * than `apply` moving what a record contributes at each of its events, the batch calls `move`
 * once per document of `collection` it changed, after its last event, with the document as it
 * was before the batch and as it is after it. Moves event by event telescope into that one (a
 * sum's steps add up to last minus first; an entry replaced at each step ends as the last one),
 * so the derived documents come out the same wherever batches fall, and a catch-up batch that
 * holds a record's whole life moves it once instead of once per event. `move` must depend on
 * the two documents only, and `apply` must replace such documents, never change a loaded one in
 * place (the loaded one is `before`). A document's states between two of its events in one batch
 * are never moved, so a move that would fail only on such a state fails or not by where batches fall.
 */
export interface DerivedDocuments {
  collection: string;
  move(before: ReadDocument | null, after: ReadDocument | null, docs: DocumentSet): void;
}

/** Fields of a stored document that are for filtering, not for clients: named with a leading underscore. */
export function withoutInternalFields<T extends Record<string, unknown>>(doc: T): T {
  return membersWhere(doc, (_, key) => !key.startsWith('_')) as T;
}
