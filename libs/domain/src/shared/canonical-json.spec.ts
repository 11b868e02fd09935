import { prng } from '../../../../bench/seeded-random';
import { canonicalJson, storedCanonicalJson } from './canonical-json';

/** The definition, written out plainly: keys sorted by code unit at every level, no spaces, undefined members left out, undefined items null. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${Array.from(value, (item) => (item === undefined ? 'null' : reference(item))).join(',')}]`;
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .sort()
    .filter((key) => record[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${reference(record[key])}`);
  return `{${members.join(',')}}`;
}

/** A random JSON value (seeded, so a failure repeats), with keys that sort differently as strings and as integers. */
function randomValue(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 6 : 9));
  // Letters too, so that an object has up to 20 keys: an event's objects have a few to a dozen, and past 16 they are sorted another way.
  const keys = ['b', 'a', 'Z', '10', '9', '0', 'é', 'a b', '_x', 'ab', 'aB', '1a', '__proto__', ...'cdefghijklmnopqrstuvwxyz'];
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return [0, -0, 1.5, -2, 1e21, 123456789012, Number.NaN][Math.floor(next() * 7)];
    case 3:
      return ['', 'text', 'quote " and \\ and \n', 'ü€😀', '\u2028'][Math.floor(next() * 5)];
    case 4:
      return undefined;
    case 5:
      return 'leaf';
    case 6:
    case 7: {
      const record: Record<string, unknown> = JSON.parse('{}');
      const count = Math.floor(next() * (depth === 0 ? 24 : 5));
      for (let i = 0; i < count; i++) {
        const key = keys[Math.floor(next() * keys.length)];
        // Defined as JSON.parse would (an own "__proto__" member), not by assignment.
        Object.defineProperty(record, key, { value: randomValue(next, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return record;
    }
    default:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
  }
}

describe('canonicalJson', () => {
  it.each([
    ['nested objects and arrays', { b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }, '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}'],
    ['integer-like keys, sorted as text (not as a JavaScript object lists them)', { a: 1, 10: 2, 9: 3 }, '{"10":2,"9":3,"a":1}'],
    ['an own __proto__ member (as JSON.parse makes it)', JSON.parse('{"b":1,"__proto__":{"x":1}}'), '{"__proto__":{"x":1},"b":1}'],
    ['undefined members left out, undefined items null', { a: undefined, b: [undefined, 1] }, '{"b":[null,1]}'],
    ['strings escaped as JSON does', { 'k"': 'line\nü\u2028' }, JSON.stringify({ 'k"': 'line\nü\u2028' })],
    ['numbers as JSON writes them', [-0, 1e21, Number.NaN, 0.1], '[0,1e+21,null,0.1]'],
    ['primitives', 'text', '"text"'],
    ['an empty object and array', { a: {}, b: [] }, '{"a":{},"b":[]}'],
  ])('writes %s', (_, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
    expect(canonicalJson(value)).toBe(reference(value));
  });

  it('gives the same text as the plain definition for thousands of random values', () => {
    const { next } = prng(42);
    for (let n = 0; n < 5_000; n++) {
      const value = randomValue(next);
      expect(canonicalJson(value)).toBe(reference(value));
    }
  });

  it('refuses what JSON refuses (a BigInt)', () => {
    expect(() => canonicalJson({ amount: 1n })).toThrow(TypeError);
  });
});

describe('storedCanonicalJson', () => {
  /** What a store writes and a verifier reads back, made canonical the long way. */
  const readBack = (value: unknown) => canonicalJson(JSON.parse(JSON.stringify(value)));

  it('is the canonical JSON of the value as read back, for thousands of random values without integer-like keys', () => {
    const { next } = prng(7);
    let compared = 0;
    for (let n = 0; n < 5_000; n++) {
      const value = { event: randomValue(next) };
      const text = storedCanonicalJson(value);
      if (text === undefined) continue; // an integer-like or __proto__ key somewhere: the long way
      expect(text).toBe(readBack(value));
      compared++;
    }
    expect(compared).toBeGreaterThan(1_000);
  });

  it('writes what JSON.stringify writes of -0, NaN and undefined members and items', () => {
    const value = { z: 'last', a: { y: undefined, x: [undefined, -0, Number.NaN] } };
    expect(storedCanonicalJson(value)).toBe(readBack(value));
    expect(storedCanonicalJson(value)).toBe('{"a":{"x":[null,0,null]},"z":"last"}');
  });

  it('gives up on what is not plain data (a toJSON, as a Date has; another prototype): JSON.stringify writes those its own way', () => {
    expect(storedCanonicalJson({ at: new Date(Date.UTC(2026, 11, 1)) })).toBeUndefined();
    expect(storedCanonicalJson({ m: { toJSON: () => ({ b: 1, a: 2 }) } })).toBeUndefined();
    expect(storedCanonicalJson({ m: new (class Money { amount = 1; })() })).toBeUndefined();
    expect(storedCanonicalJson(Object.assign(Object.create(null), { b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
  });

  it('gives up on what one pass cannot order (integer-like and __proto__ keys) and on what JSON refuses', () => {
    expect(storedCanonicalJson({ a: { 10: 1, 9: 2 } })).toBeUndefined();
    expect(storedCanonicalJson(JSON.parse('{"__proto__":{"x":1}}'))).toBeUndefined();
    expect(storedCanonicalJson({ amount: 1n })).toBeUndefined();
  });
});
