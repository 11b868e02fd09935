import { createHash } from 'node:crypto';

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
