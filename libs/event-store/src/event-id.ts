import { createHash, randomInt, randomUUID } from 'node:crypto';

/** Namespace of this product's name-based UUIDs (a fixed random UUID). */
const NAMESPACE = Buffer.from('5b1c0f5e7a9d4c3e8f2a6b4d1e0c9a87', 'hex');

/**
 * A name-based UUID (RFC 9562 version 5): the same parts always give the same id. Events are
 * given such ids when a retry must be recognised as a retry (an Idempotency-Key, the records
 * a conversion opens), so that the store turns the repeated append into a no-op.
 */
export function deterministicUuid(...parts: string[]): string {
  const hash = createHash('sha1').update(NAMESPACE).update(parts.join('\u0000')).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

let lastMs = 0;
let sequence = 0;

/**
 * A time-ordered UUID (RFC 9562 version 7): 48 bits of Unix milliseconds, a 12-bit sequence
 * that keeps ids of the same millisecond in order, then random bits. New records and events
 * get such ids so that every index keyed by id grows at its end: a group commit then writes a
 * few shared index pages instead of one random page per id (random v4 ids made each capture
 * write about ten 4 KiB pages to the embedded file).
 */
export function timeOrderedUuid(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    sequence = randomInt(0x800); // a random start leaves room to count up
  } else if (++sequence > 0xfff) {
    lastMs += 1; // more than the sequence holds in one millisecond: borrow the next one
    sequence = 0;
  }
  // The random half (and its variant bits) comes from randomUUID, which draws from a cached pool.
  const time = lastMs.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${sequence.toString(16).padStart(3, '0')}-${randomUUID().slice(19)}`;
}

/**
 * What an event id says about its origin. `name-based` ids (RFC 9562 versions 3 and 5, as
 * `deterministicUuid` makes) are the ones a caller may send again on purpose, for a retry; the
 * event store must then recognise them wherever they were stored first. `random` ids (versions 4
 * and 7) cannot meet again by chance, so no store needs to look for them outside their stream.
 */
export type EventIdKind = 'name-based' | 'random';

export function eventIdKind(id: string): EventIdKind {
  // The version is the first hex digit of the third group: xxxxxxxx-xxxx-Vxxx-...
  const version = id.charAt(14);
  return version === '5' || version === '3' ? 'name-based' : 'random';
}
