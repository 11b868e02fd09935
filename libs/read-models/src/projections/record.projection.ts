import type { Decider, DomainEvent } from '@crm/domain';
import { RecordedEvent, toOccurred } from '@crm/event-store';
import type { ReadDocument } from '../read-store.port';
import type { Projection } from './projection';

export interface RecordProjectionSpec<S> {
  readModel: string;
  /** Streams of this record are `<streamPrefix>-<id>`. */
  streamPrefix: string;
  decider: Pick<Decider<unknown, DomainEvent, S>, 'initialState' | 'evolve'>;
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
export function recordProjection<S>(spec: RecordProjectionSpec<S>): Projection {
  const prefix = `${spec.streamPrefix}-`;
  const collection = spec.readModel;
  const derivedKeys = Object.entries(spec.derived ?? {});
  return {
    readModel: spec.readModel,
    collections: [{ name: collection, filters: [...spec.filters, ...Object.keys(spec.derived ?? {})] }],
    keysOf: (event) => (event.streamId.startsWith(prefix) ? [{ collection, id: event.streamId.slice(prefix.length) }] : []),
    apply(event: RecordedEvent, docs) {
      const id = event.streamId.slice(prefix.length);
      // The stored document is the state plus `revision` and the derived keys, which are set anew below.
      const current = docs.get(collection, id);
      const state = current ? (current as unknown as S) : spec.decider.initialState;
      const next = spec.decider.evolve(state, toOccurred(event));
      if (next === null || next === undefined) return;
      const doc: ReadDocument = { ...(next as object), id, revision: event.revision };
      for (const [key, valueOf] of derivedKeys) doc[key] = valueOf(next as NonNullable<S>);
      docs.put(collection, doc, spec.sortKey ? spec.sortKey(next as NonNullable<S>, event.position) : Number(event.position));
    },
  };
}
