import type { DomainEvent } from '@crm/domain';
import type { RecordedEvent } from '@crm/event-store';
import type { CollectionSpec } from '../read-store.port';
import type { CollectionKey, DocumentKey, DocumentSet, Projection, DerivedDocuments } from './projection';

/** A recorded event of a domain event type, its `data` typed as the domain declares it (of a union: a union that its `type` narrows). */
export type Recorded<E extends DomainEvent> = E extends DomainEvent ? Omit<RecordedEvent, 'type' | 'data'> & { type: E['type']; data: E['data'] } : never;

/** Said of an event type a projection knows of and has nothing to do for. */
export const IGNORED = 'ignored';

/**
 * Every type of the events `E` a projection reads, each with its handler or IGNORED: an event
 * type added to the domain's union is a compile error until the projection says what it does
 * with it, and a renamed one is a compile error too (the old key is then unknown).
 */
export type Handlers<E extends DomainEvent> = {
  [T in E['type']]: ((event: Recorded<Extract<E, { type: T }>>, docs: DocumentSet) => void) | typeof IGNORED;
};

export interface ProjectionDefinition<E extends DomainEvent> {
  /** The read model's name (READ_MODELS in the domain). */
  name: string;
  /** The version of this code (see Projection.version). */
  version?: number;
  collections: CollectionSpec[];
  /** The streams it reads: those whose id is `<prefix>-<id>` for one of these (STREAM_PREFIXES in the domain). */
  streams: readonly string[];
  /** The documents a handled event reads or replaces (loaded before its handler runs); at least one. */
  documentsOf(event: Recorded<E>): (DocumentKey | CollectionKey)[];
  handlers: Handlers<E>;
  /** Documents that others are derived from, moved once per batch (see DerivedDocuments). */
  derived?: DerivedDocuments[];
}

/**
 * A projection declared by its event types: the runner routes an event to it only when it comes
 * from one of its streams and its type has a handler (no silent `default:` for the rest: every
 * type of the union is named, handled or IGNORED).
 */
export function defineProjection<E extends DomainEvent>(definition: ProjectionDefinition<E>): Projection {
  const handlers = definition.handlers as Record<string, ((event: RecordedEvent, docs: DocumentSet) => void) | typeof IGNORED>;
  const handlerOf = handlerLookup(definition.streams, handlers);
  return {
    readModel: definition.name,
    types: handledTypes(handlers),
    ...(definition.version !== undefined && { version: definition.version }),
    collections: definition.collections,
    ...(definition.derived && { derived: definition.derived }),
    keysOf: (event) => (handlerOf(event) ? definition.documentsOf(event as unknown as Recorded<E>) : []),
    apply(event, docs) {
      handlerOf(event)?.(event, docs);
    },
  };
}

/** The id in a stream id `<prefix>-<id>` of a stream the projection reads. */
export function idInStream(event: Pick<RecordedEvent, 'streamId'>, stream: string): string {
  return event.streamId.slice(stream.length + 1);
}

/** The event types a declared processor (projection or reactor) has a handler for: those it reads from the log. */
export function handledTypes(handlers: Record<string, unknown>): string[] {
  return Object.keys(handlers).filter((type) => handlers[type] !== IGNORED);
}

/** The event types some of these processors read (undefined: every type, when one of them does not say which). */
export function typesOfAll(processors: readonly { types?: readonly string[] }[]): readonly string[] | undefined {
  return processors.every((processor) => processor.types) ? [...new Set(processors.flatMap((processor) => processor.types!))] : undefined;
}

/**
 * How a declared processor (projection or reactor) is routed: the handler for an event from one
 * of its streams whose type it handles; undefined for any other event, and for a type it IGNOREs.
 */
export function handlerLookup<H>(streams: readonly string[], handlers: Record<string, H | typeof IGNORED>): (event: RecordedEvent) => H | undefined {
  const prefixes = streams.map((stream) => `${stream}-`);
  return (event) => {
    if (!Object.hasOwn(handlers, event.type) || !prefixes.some((prefix) => event.streamId.startsWith(prefix))) return undefined;
    const handler = handlers[event.type];
    return handler === IGNORED ? undefined : (handler as H);
  };
}
