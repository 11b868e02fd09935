import { canonicalJson } from '@crm/domain';
import { RecordedEvent, toOccurred } from '@crm/event-store';
import type { Decider, DomainEvent } from '@crm/domain';

/** One change of one field, as `GET /<records>/:id/field-history` lists it. */
export interface FieldChange {
  field: string;
  oldValue: unknown;
  newValue: unknown;
  revision: number;
  actorId: string;
  onBehalfOf: string | null;
  occurredAt: string;
  recordedAt: string;
}

/** Bookkeeping that every event moves (the record's id, when it last changed): not a change of the record's data. */
const UNTRACKED_FIELDS = new Set(['id', 'lastModifiedAt']);

export const FIELD_HISTORY_COLUMNS = ['field', 'oldValue', 'newValue', 'revision', 'actorId', 'onBehalfOf', 'occurredAt', 'recordedAt'];

/**
 * Every change of every field of a record, newest first: the record is folded event by event
 * with its own decider, and each top-level field whose value differs from the state before is
 * a change (a field that did not exist yet was null; nested values compare whole; `id` and
 * `lastModifiedAt`, which every event moves, are left out). Derived from
 * the events at each read, so it covers all fields, forever.
 */
export function fieldChanges<S>(decider: Pick<Decider<unknown, DomainEvent, S>, 'initialState' | 'evolve'>, events: RecordedEvent[], onlyField?: string): FieldChange[] {
  const changesByEvent: FieldChange[][] = [];
  let state = decider.initialState;
  for (const event of events) {
    const next = decider.evolve(state, toOccurred(event));
    const before = (state ?? {}) as Record<string, unknown>;
    const after = (next ?? {}) as Record<string, unknown>;
    const changes: FieldChange[] = [];
    const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((field) => !UNTRACKED_FIELDS.has(field) && (onlyField === undefined || field === onlyField)).sort();
    for (const field of fields) {
      const oldValue = before[field] ?? null;
      const newValue = after[field] ?? null;
      if (canonicalJson(oldValue) === canonicalJson(newValue)) continue;
      changes.push({
        field,
        oldValue,
        newValue,
        revision: event.revision,
        actorId: event.metadata.actorId,
        onBehalfOf: event.metadata.onBehalfOf ?? null,
        occurredAt: event.metadata.occurredAt,
        recordedAt: event.recordedAt,
      });
    }
    changesByEvent.push(changes);
    state = next;
  }
  return changesByEvent.reverse().flat();
}

/** A change as a CSV row: values that are not text or numbers as JSON. */
export function fieldChangeRow(change: FieldChange): Record<string, unknown> {
  const cell = (value: unknown) => (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : JSON.stringify(value));
  return { ...change, oldValue: cell(change.oldValue), newValue: cell(change.newValue) };
}
