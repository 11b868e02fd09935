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
  // Copied member by member, not spread and added to or deleted from: see withMembers (and a deleted member turns the object slow).
  const cleared = changes as Record<string, unknown>;
  const next: Record<string, unknown> = {};
  for (const key of Object.keys(current)) if (cleared[key] !== null) next[key] = (current as Record<string, unknown>)[key];
  for (const [key, value] of Object.entries(changes)) if (value !== null) next[key] = value;
  return next as T;
}

/**
 * `{ ...base, ...members }`, also fast when `members` adds keys `base` lacks. V8 (Node 20) makes an
 * object literal that starts with a spread as a clone of `base`'s shape, and then every key the
 * literal (or a later assignment) adds that `base` lacks costs a new shape of its own: about 0.6 µs
 * a key, and garbage for the collector (a lead's capture, 5 keys: 3.5 µs against 0.2). An object
 * filled from an empty one takes the shapes V8 keeps. A literal that only replaces keys `base` has
 * (`{ ...lead, status }`) is fast as it is. Unlike a spread, an own `__proto__` member (JSON.parse
 * can make one; validated input never holds one) would set the copy's prototype: not for such data.
 */
export function withMembers<T extends object, M extends object>(base: T, members: M): Omit<T, keyof M> & M {
  return Object.assign({}, base, members);
}

/** Drops members whose value is `undefined`, so that events never carry empty keys. */
export function withoutUndefined<T extends object>(value: T): T {
  return membersWhere(value, (member) => member !== undefined) as T;
}

/** The members of `value` that `keep` keeps, in their order: a loop (Object.fromEntries of filtered entries costs six times as much). */
export function membersWhere<T extends object>(value: T, keep: (member: unknown, key: string) => boolean): Partial<T> {
  const kept: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const member = (value as Record<string, unknown>)[key];
    if (keep(member, key)) kept[key] = member;
  }
  return kept as Partial<T>;
}
