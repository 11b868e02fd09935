import { randomUUID } from 'node:crypto';
import { deterministicUuid, eventIdKind, timeOrderedUuid } from './event-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f])[0-9a-f]{3}-([0-9a-f])[0-9a-f]{3}-[0-9a-f]{12}$/;

describe('deterministicUuid', () => {
  it('gives the same version-5 UUID for the same parts, and another for other parts', () => {
    const id = deterministicUuid('key', 'lead');
    expect(id).toBe(deterministicUuid('key', 'lead'));
    expect(id).not.toBe(deterministicUuid('key', 'account'));
    expect(id).not.toBe(deterministicUuid('keylead'));
    const [, version, variant] = UUID.exec(id)!;
    expect(version).toBe('5');
    expect(['8', '9', 'a', 'b']).toContain(variant);
  });
});

describe('timeOrderedUuid', () => {
  it('is a version-7 UUID whose first 48 bits are the Unix milliseconds', () => {
    const at = Date.UTC(2026, 10, 22, 7, 30);
    const id = timeOrderedUuid(at);
    const [, version, variant] = UUID.exec(id)!;
    expect(version).toBe('7');
    expect(['8', '9', 'a', 'b']).toContain(variant);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBeGreaterThanOrEqual(at);
  });

  it('sorts in the order the ids were made, within one millisecond and across many', () => {
    const start = Date.UTC(2030, 0, 1);
    const ids = [
      ...Array.from({ length: 5000 }, () => timeOrderedUuid(start)), // more than one millisecond's sequence holds
      ...Array.from({ length: 100 }, (_, i) => timeOrderedUuid(start + 10 + i)),
      timeOrderedUuid(start), // a clock that steps back still counts forwards
    ];
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('eventIdKind', () => {
  it('calls the ids deterministicUuid makes name-based, and random and time-ordered ids random', () => {
    expect(eventIdKind(deterministicUuid('key', '0'))).toBe('name-based');
    expect(eventIdKind('6ba7b810-9dad-31d1-80b4-00c04fd430c8')).toBe('name-based'); // a version-3 id
    expect(eventIdKind(timeOrderedUuid())).toBe('random');
    expect(eventIdKind(randomUUID())).toBe('random');
  });
});
