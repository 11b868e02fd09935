import { loadApiKeys, parseApiKeys, sha256Hex } from './api-keys';
import { assertSecureConfig, loadAppConfig } from './app-config';

const LONG = 'k'.repeat(32);

describe('API keys from configuration', () => {
  it('parses named and unnamed entries with their roles, keeping only digests', () => {
    const keys = parseApiKeys('capture:secret-one=writer; secret-two=reader,auditor;', 'API_KEYS');
    expect(keys).toEqual([
      { digest: sha256Hex('secret-one'), actorId: 'capture', roles: new Set(['writer']) },
      { digest: sha256Hex('secret-two'), actorId: `key-${sha256Hex('secret-two').slice(0, 12)}`, roles: new Set(['reader', 'auditor']) },
    ]);
    expect(JSON.stringify(keys.map((k) => ({ ...k, roles: [...k.roles] })))).not.toMatch(/secret-(one|two)/);
  });

  it('takes entries on separate lines and skips comments, as a secrets file has them', () => {
    const keys = parseApiKeys('# rotated 2026-11\nsvc:old-key=writer\nsvc:new-key=writer\n', 'API_KEYS_FILE');
    expect(keys.map((k) => k.actorId)).toEqual(['svc', 'svc']);
  });

  it.each([
    ['svc:abc', 'entry 1 ("svc"): expected [name:]key=roles'],
    ['svc:abc=', 'entry 1 ("svc"): no roles'],
    ['a=writer;svc:abc=writer,boss', 'entry 2 ("svc"): unknown role "boss"'],
    ['=writer', 'entry 1: the key is empty'],
    ['bad name:abc=writer', 'entry 1: a name is'],
    ['svc:ab c=writer', 'entry 1 ("svc"): a key is printable ASCII'],
    ['one:abc=writer;two:abc=reader', 'entry 2 ("two"): the same key as entry 1'],
  ])('refuses %j, naming the entry but never its key', (text, message) => {
    expect(() => parseApiKeys(text, 'API_KEYS')).toThrow(`API_KEYS: ${message}`);
    try {
      parseApiKeys(text, 'API_KEYS');
    } catch (error) {
      expect((error as Error).message).not.toContain('abc');
    }
  });

  it('in production refuses a key shorter than 32 characters', () => {
    expect(() => parseApiKeys('svc:short=writer', 'API_KEYS', { production: true })).toThrow('entry 1 ("svc"): in production a key must be at least 32 characters');
    expect(parseApiKeys(`svc:${LONG}=writer`, 'API_KEYS', { production: true })).toHaveLength(1);
  });

  it('reads API_KEYS_FILE, and lets API_KEYS win when both are set, saying so', () => {
    const files: Record<string, string> = { '/run/secrets/keys': 'from-file:file-key=reader' };
    const read = (path: string) => {
      if (!(path in files)) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return files[path];
    };
    expect(loadApiKeys({ API_KEYS_FILE: '/run/secrets/keys' }, read, false).keys.map((k) => k.actorId)).toEqual(['from-file']);
    const both = loadApiKeys({ API_KEYS: 'inline:inline-key=writer', API_KEYS_FILE: '/run/secrets/keys' }, read, false);
    expect(both.keys.map((k) => k.actorId)).toEqual(['inline']);
    expect(both.notice).toMatch(/API_KEYS and API_KEYS_FILE are both set: the keys of API_KEYS are used/);
    expect(() => loadApiKeys({ API_KEYS_FILE: '/nowhere' }, read, false)).toThrow('API_KEYS_FILE: cannot read the file it names (ENOENT)');
    expect(loadApiKeys({}, read, false).keys).toEqual([]);
  });

  it('refuses to run in production without keys, and runs open outside production', () => {
    expect(() => assertSecureConfig(loadAppConfig({ NODE_ENV: 'production' }))).toThrow(/NODE_ENV=production needs API keys/);
    expect(() => loadAppConfig({ NODE_ENV: 'production', API_KEYS: 'svc:short=writer' })).toThrow(/at least 32 characters/);
    expect(() => assertSecureConfig(loadAppConfig({ NODE_ENV: 'production', API_KEYS: `svc:${LONG}=writer` }))).not.toThrow();
    expect(loadAppConfig({}).apiKeys).toEqual([]);
  });

  it('reads RATE_LIMIT_PER_MINUTE as a whole number, unset meaning no limit', () => {
    expect(loadAppConfig({ RATE_LIMIT_PER_MINUTE: '600' }).rateLimitPerMinute).toBe(600);
    expect(loadAppConfig({}).rateLimitPerMinute).toBeUndefined();
    expect(() => loadAppConfig({ RATE_LIMIT_PER_MINUTE: 'lots' })).toThrow('RATE_LIMIT_PER_MINUTE must be a whole number > 0, got "lots"');
  });
});
