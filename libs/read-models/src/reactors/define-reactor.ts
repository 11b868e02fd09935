import type { DomainEvent } from '@crm/domain';
import type { RecordedEvent } from '@crm/event-store';
import { handledTypes, handlerLookup, IGNORED, Recorded } from '../projections/define-projection';

/**
 * A processor with side effects (completing a conversion or a merge), followed by the
 * ReactorRunner as projections are by the Projector: a name, a version in code, the events it
 * reacts to, and what it does. Its steps must be idempotent: after a crash, a restart, or a
 * new version, the runner hands it events it may have reacted to already.
 */
export interface Reactor {
  /** What GET /processes/reactors lists; its checkpoint is kept under it. */
  name: string;
  /**
   * The version of this code (absent: 1). A new version starts from the first event (its steps
   * are idempotent, so what the old one did is done again as a no-op, and what it missed is done).
   */
  version?: number;
  /**
   * The event types `handles` can be true for (absent: any): the runner reads only those from the
   * log, so a reactor of a few types does not read, and decrypt, every event.
   */
  types?: readonly string[];
  /** Whether `react` has anything to do for this event. */
  handles(event: RecordedEvent): boolean;
  /** Reacts to one event; a throw is a failed step, tried again with backoff and parked after a bound. */
  react(event: RecordedEvent): Promise<void>;
}

/** Every type of the events `E` a reactor reads, each with its step or IGNORED (a new or renamed event type is a compile error until it says). */
export type ReactorHandlers<E extends DomainEvent> = {
  [T in E['type']]: ((event: Recorded<Extract<E, { type: T }>>) => Promise<unknown>) | typeof IGNORED;
};

export interface ReactorDefinition<E extends DomainEvent> {
  name: string;
  version?: number;
  /** The streams it reads: those whose id is `<prefix>-<id>` for one of these (STREAM_PREFIXES in the domain). */
  streams: readonly string[];
  handlers: ReactorHandlers<E>;
}

/** A reactor declared by its event types, as defineProjection declares a projection. */
export function defineReactor<E extends DomainEvent>(definition: ReactorDefinition<E>): Reactor {
  const handlers = definition.handlers as Record<string, ((event: RecordedEvent) => Promise<unknown>) | typeof IGNORED>;
  const handlerOf = handlerLookup(definition.streams, handlers);
  return {
    name: definition.name,
    ...(definition.version !== undefined && { version: definition.version }),
    types: handledTypes(handlers),
    handles: (event) => handlerOf(event) !== undefined,
    async react(event) {
      await handlerOf(event)?.(event);
    },
  };
}
