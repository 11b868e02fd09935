import { withMembers } from '@crm/domain';
import type { Decider, DomainEvent } from '@crm/domain';
import { RecordedEvent, toOccurred } from '@crm/event-store';
import type { ReadDocument } from '../read-store.port';
import { defineProjection, Handlers, idInStream, Recorded } from './define-projection';
import type { DocumentSet, Projection } from './projection';

/** Every event type of a record's union, each folded into its document by the decider's `evolve`. */
export type FoldedEvents<E extends DomainEvent> = { readonly [T in E['type']]: true };

export interface RecordProjectionSpec<E extends DomainEvent, S> {
  /** The read model's name (READ_MODELS in the domain). */
  readModel: string;
  /** Streams of this record are `<streamPrefix>-<id>` (STREAM_PREFIXES in the domain). */
  streamPrefix: string;
  decider: Pick<Decider<unknown, E, S>, 'initialState' | 'evolve'>;
  /**
   * The event types of the record's union (inferred from the decider): a type added to the union
   * is a compile error until it is named here, and a renamed one too (the old key is then unknown).
   */
  events: FoldedEvents<NoInfer<E>>;
  /** Fields of the record that lists filter on. */
  filters: string[];
  /** Filter keys derived from the record (named with a leading `_`, never shown to clients). */
  derived?: Record<`_${string}`, (state: NonNullable<S>) => string | number | boolean | null>;
  /** The list order (highest first), set by the record's first event; default: the position of that event (newest first). */
  sortKey?: (state: NonNullable<S>, position: bigint) => number;
}

/**
 * The read model of one kind of record: its current state as the domain's own `evolve` makes
 * it (so `GET /:id` and `/state` never disagree), with `revision`, and the filter fields.
 * Lists are newest first by the position of the record's first event, unless the spec orders them.
 */
export function recordProjection<E extends DomainEvent, S>(spec: RecordProjectionSpec<E, S>): Projection {
  const collection = spec.readModel;
  const derivedKeys = Object.entries(spec.derived ?? {});
  const fold = (event: Recorded<E>, docs: DocumentSet): void => {
    const id = idInStream(event, spec.streamPrefix);
    // The stored document is the state plus `revision` and the derived keys, which are set anew below.
    const current = docs.get(collection, id);
    const state = current ? (current as unknown as S) : spec.decider.initialState;
    const next = spec.decider.evolve(state, toOccurred<E>(event as unknown as RecordedEvent));
    if (next === null || next === undefined) return;
    const doc: ReadDocument = withMembers(next as object, { id, revision: event.revision });
    for (const [key, valueOf] of derivedKeys) doc[key] = valueOf(next as NonNullable<S>);
    docs.put(collection, doc, spec.sortKey ? spec.sortKey(next as NonNullable<S>, event.position) : Number(event.position));
  };
  // Every type the spec names goes to the one fold: the decider's evolve is typed over the union.
  const handlers = Object.fromEntries(Object.keys(spec.events).map((type) => [type, fold])) as unknown as Handlers<E>;
  return defineProjection<E>({
    name: spec.readModel,
    collections: [{ name: collection, filters: [...spec.filters, ...Object.keys(spec.derived ?? {})] }],
    streams: [spec.streamPrefix],
    documentsOf: (event) => [{ collection, id: idInStream(event, spec.streamPrefix) }],
    handlers,
  });
}
