import { createHash } from 'node:crypto';

export const ROLES = ['writer', 'reader', 'auditor', 'analyst', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** A configured key as the service keeps it: never the key itself, only its SHA-256. */
export interface ApiKey {
  /** SHA-256 of the key, hex: what a presented key is compared by. */
  digest: string;
  /** Stored as `actorId` on every event the key's caller appends. */
  actorId: string;
  roles: ReadonlySet<Role>;
}

/** Production refuses keys shorter than this (API.md, Security). */
export const MIN_PRODUCTION_KEY_LENGTH = 32;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;
const KEY = /^[\x21-\x7e]+$/;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A configuration error that names the variable and the entry, never the key. */
export class ApiKeysConfigError extends Error {
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = 'ApiKeysConfigError';
  }
}

/**
 * Parses `[name:]key=role,role;…` (API.md v2). Entries are separated by `;` or line breaks
 * (a secrets file holds one per line); blank entries and lines starting with `#` are ignored.
 * A key is printable ASCII without `:`, `;`, `=`, `,` or spaces. The actor of an entry without
 * a name is `key-` + the first 12 hex digits of the key's SHA-256. Errors name the entry by its
 * number (and its name, when it has one), never by its key.
 */
export function parseApiKeys(text: string, source: string, options: { production: boolean } = { production: false }): ApiKey[] {
  const keys: ApiKey[] = [];
  const seen = new Map<string, string>();
  const entries = text
    .split(/[;\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && !entry.startsWith('#'));
  entries.forEach((entry, index) => {
    const fail = (message: string, name?: string): never => {
      throw new ApiKeysConfigError(source, `entry ${index + 1}${name ? ` ("${name}")` : ''}: ${message}`);
    };
    const equals = entry.lastIndexOf('=');
    const credential = (equals < 0 ? entry : entry.slice(0, equals)).trim();
    const colon = credential.indexOf(':');
    const name = colon < 0 ? undefined : credential.slice(0, colon).trim();
    const key = colon < 0 ? credential : credential.slice(colon + 1).trim();
    if (equals < 0) fail('expected [name:]key=roles', name);
    if (name !== undefined && !NAME.test(name)) fail('a name is 1 to 100 letters, digits or . _ @ - (starting with a letter or digit)');
    if (key === '') fail('the key is empty', name);
    if (!KEY.test(key) || /[:;=,]/.test(key)) fail('a key is printable ASCII without spaces, ":", ";", "=" or ","', name);
    if (options.production && key.length < MIN_PRODUCTION_KEY_LENGTH) {
      fail(`in production a key must be at least ${MIN_PRODUCTION_KEY_LENGTH} characters`, name);
    }
    const roles = entry
      .slice(equals + 1)
      .split(',')
      .map((role) => role.trim())
      .filter((role) => role !== '');
    if (roles.length === 0) fail(`no roles; expected some of ${ROLES.join(', ')}`, name);
    const unknown = roles.filter((role) => !(ROLES as readonly string[]).includes(role));
    if (unknown.length > 0) fail(`unknown role ${unknown.map((r) => `"${r}"`).join(', ')}; roles are ${ROLES.join(', ')}`, name);
    const digest = sha256Hex(key);
    const actorId = name ?? `key-${digest.slice(0, 12)}`;
    if (seen.has(digest)) fail(`the same key as entry ${seen.get(digest)}`, name);
    seen.set(digest, String(index + 1));
    keys.push({ digest, actorId, roles: new Set(roles as Role[]) });
  });
  if (entries.length > 0 && keys.length === 0) throw new ApiKeysConfigError(source, 'no keys');
  return keys;
}

export interface ApiKeysSource {
  keys: ApiKey[];
  /** Said once at start: which source won when both were set. */
  notice?: string;
}

/**
 * The keys from `API_KEYS`, or from the file named by `API_KEYS_FILE` (the container-secrets
 * convention). When both are set the variable wins, and the notice says so.
 */
export function loadApiKeys(env: NodeJS.ProcessEnv, readFile: (path: string) => string, production: boolean): ApiKeysSource {
  const inline = env.API_KEYS;
  const file = env.API_KEYS_FILE;
  if (inline !== undefined && inline.trim() !== '') {
    const keys = parseApiKeys(inline, 'API_KEYS', { production });
    return { keys, notice: file ? 'API_KEYS and API_KEYS_FILE are both set: the keys of API_KEYS are used, API_KEYS_FILE is ignored' : undefined };
  }
  if (file !== undefined && file !== '') {
    let text: string;
    try {
      text = readFile(file);
    } catch (error) {
      throw new ApiKeysConfigError('API_KEYS_FILE', `cannot read the file it names (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const keys = parseApiKeys(text, 'API_KEYS_FILE', { production });
    if (keys.length === 0) throw new ApiKeysConfigError('API_KEYS_FILE', 'the file holds no keys');
    return { keys };
  }
  return { keys: [] };
}
