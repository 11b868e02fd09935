/**
 * JSON with object keys sorted at every level and no spaces, so that one value is always the
 * same text whatever order its keys were written in. Like JSON.stringify, it leaves out object
 * members whose value is undefined and writes undefined array items as null, so a value and
 * its stored JSON round trip give the same text. (Written with plain loops: every appended event
 * is hashed over it.)
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) text += (i > 0 ? ',' : '') + (value[i] === undefined ? 'null' : canonicalJson(value[i]));
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  let text = '{';
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined) continue;
    text += `${text.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${text}}`;
}
