/**
 * JSON with object keys sorted at every level and no spaces, so that one value is always the
 * same text whatever order its keys were written in. Like JSON.stringify, it leaves out object
 * members whose value is undefined and writes undefined array items as null, so a value and
 * its stored JSON round trip give the same text.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
