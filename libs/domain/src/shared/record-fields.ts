/**
 * Helpers for the "change only what differs" rule shared by every *DetailsChanged event:
 * a PATCH records just the fields whose value really changes; `null` clears a field.
 */
export type FieldChanges<T> = { [K in keyof T]?: T[K] | null };

export function changedFields<T extends object>(current: T, requested: FieldChanges<T>): FieldChanges<T> {
  const changes: FieldChanges<T> = {};
  for (const key of Object.keys(requested) as (keyof T)[]) {
    const next = requested[key];
    if (next === undefined) continue;
    const before = current[key] ?? null;
    if (before !== next) changes[key] = next;
  }
  return changes;
}

/** Applies recorded changes: `null` removes the field. */
export function applyFieldChanges<T extends Fields, Fields extends object>(current: T, changes: FieldChanges<Fields>): T {
  const next: Record<string, unknown> = { ...(current as Record<string, unknown>) };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next as T;
}

/** Drops members whose value is `undefined`, so that events never carry empty keys. */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
