import type { DomainEvent, Occurred } from '@crm/domain';
import type { RecordedEvent } from './event-store.port';

/** A stored event as deciders and projections fold it: type, data and its business time. */
export function toOccurred<Event extends DomainEvent = DomainEvent>(event: RecordedEvent): Occurred<Event> {
  return { type: event.type, data: event.data, occurredAt: event.metadata.occurredAt } as Occurred<Event>;
}
