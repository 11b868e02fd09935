import { OccurredAtBeforeLastEvent } from './domain-error';
import { withMembers } from './record-fields';

/** An event with the business time it happened at (from its metadata). */
export type Occurred<Event> = Event & { occurredAt: string };

/** The event as it happened at `occurredAt` (for evolve: a decided event before it is stored). */
export function occurred<Event extends object>(event: Event, occurredAt: string): Occurred<Event> {
  return withMembers(event, { occurredAt }) as Occurred<Event>;
}

/** A decider: data in, data out. The command handler is the only place that does I/O. */
export interface Decider<Command, Event, State> {
  initialState: State;
  evolve(state: State, event: Occurred<Event>): State;
  /** Returns the events the command causes (possibly none), or throws a DomainError. */
  decide(command: Command, state: State): Event[];
}

/** An event as deciders see it: a type and its data. */
export interface DomainEvent<Type extends string = string, Data = object> {
  type: Type;
  data: Data;
}

/** Folds a stream's events into state. */
export function fold<Event, State>(
  decider: Pick<Decider<never, Event, State>, 'initialState' | 'evolve'>,
  events: Iterable<Occurred<Event>>,
): State {
  let state = decider.initialState;
  for (const event of events) state = decider.evolve(state, event);
  return state;
}

/** Business time runs forwards within a stream: a back-filled command may not precede the last event. */
export function assertOccurredInOrder(occurredAt: string, lastOccurredAt: string | undefined): void {
  if (lastOccurredAt !== undefined && Date.parse(occurredAt) < Date.parse(lastOccurredAt)) {
    throw new OccurredAtBeforeLastEvent(occurredAt, lastOccurredAt);
  }
}
