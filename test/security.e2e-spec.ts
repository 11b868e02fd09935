import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { routesOf } from '../apps/api/src/auth/access-control';
import { parseApiKeys, ROLES, Role, sha256Hex } from '@crm/runtime/api-keys';
import { ROUTE_ROLES } from '../apps/api/src/auth/route-roles';
import { captureLogs, PROBLEM_JSON, removeDataDir, startTestApp, TestApp } from './support/test-app';

/** One key per role (each with that role only), one key with no name, two keys sharing a name (rotation). */
const ROLE_KEYS = Object.fromEntries(ROLES.map((role) => [role, `only-${role}-0123456789abcdef0123456789`])) as Record<Role, string>;
const UNNAMED_KEY = 'unnamed-writer-key-0123456789abcdef0123';
const ROTATED = ['rotation-old-key-0123456789abcdef01234', 'rotation-new-key-0123456789abcdef01234'];
const ALL_KEYS = [...Object.values(ROLE_KEYS), UNNAMED_KEY, ...ROTATED];
const API_KEYS = [
  ...ROLES.map((role) => `${role}-svc:${ROLE_KEYS[role]}=${role}`),
  `${UNNAMED_KEY}=writer,auditor`,
  ...ROTATED.map((key) => `svc-rotate:${key}=writer,auditor`),
].join(';');

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** Fills a route's parameters: a record id that does not exist, or a read model's name. */
function concrete(url: string): string {
  return url.replace(':name', 'leads').replace(':id', '00000000-0000-4000-8000-000000000000');
}


describe('Security: API keys, roles and the actor', () => {
  let t: TestApp;
  const logs = captureLogs();
  const http = () => request(t.app.getHttpServer());

  beforeAll(async () => {
    t = await startTestApp(undefined, { apiKeys: parseApiKeys(API_KEYS, 'API_KEYS') }, { logDestination: logs });
  });
  afterAll(async () => {
    await t.close();
    removeDataDir(t.dataDir);
  });

  describe('the route table', () => {
    it('declares a role for every route the service has, and names no route it does not have', () => {
      const registered = new Set(routesOf(t.app.getHttpAdapter().getInstance()).filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`));
      expect([...registered].filter((route) => !(route in ROUTE_ROLES))).toEqual([]);
      expect(Object.keys(ROUTE_ROLES).filter((route) => !registered.has(route))).toEqual([]);
    });

    const guarded = Object.entries(ROUTE_ROLES).filter(([, access]) => access !== 'open');
    describe.each(guarded)('%s', (route, needed) => {
      const [method, url] = route.split(' ');
      const send = (key: string) => {
        const call = http()[method.toLowerCase() as 'get'](concrete(url)).set(bearer(key));
        return method === 'GET' ? call : call.send({});
      };

      it(`answers the role "${needed}" with its business answer`, async () => {
        const res = await send(ROLE_KEYS[needed as Role]);
        expect([401, 403, 500]).not.toContain(res.status);
      });

      it.each(ROLES.filter((role) => role !== needed))('refuses the role %s with 403 naming the role needed', async (role) => {
        const res = await send(ROLE_KEYS[role]);
        expect(res.status).toBe(403);
        expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(res.body).toEqual({
          type: '/problems/forbidden',
          title: 'Forbidden',
          status: 403,
          detail: `${method} ${url} needs the role "${needed}", which this key does not have`,
          requiredRole: needed,
        });
      });

      it('refuses a request without a key with 401', async () => {
        const call = http()[method.toLowerCase() as 'get'](concrete(url));
        const res = method === 'GET' ? await call : await call.send({});
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
      });
    });

    it.each(Object.entries(ROUTE_ROLES).filter(([, access]) => access === 'open'))('leaves %s open to callers without a key', async (route) => {
      const [method, url] = route.split(' ');
      const res = await http()[method.toLowerCase() as 'get'](url.replace('/*', '/swagger-ui.css'));
      expect([401, 403]).not.toContain(res.status);
    });

    it('serves health and the docs to callers without a key', async () => {
      for (const url of ['/health', '/docs', '/docs/openapi.json', '/docs/swagger-ui.css']) expect({ url, status: (await http().get(url)).status }).toEqual({ url, status: 200 });
    });
  });

  describe('authentication', () => {
    const refusals: [string, Record<string, string>][] = [
      ['no Authorization header', {}],
      ['an unknown key', bearer('not-a-key-of-this-service-0123456789')],
      ['a key with one character changed', bearer(ROLE_KEYS.reader.slice(0, -1) + (ROLE_KEYS.reader.endsWith('9') ? '8' : '9'))],
      ['a Basic header', { Authorization: `Basic ${Buffer.from(`reader:${ROLE_KEYS.reader}`).toString('base64')}` }],
      ['the key without a scheme', { Authorization: ROLE_KEYS.reader }],
      ['Bearer without a key', { Authorization: 'Bearer ' }],
    ];
    it.each(refusals)('answers %s with 401, WWW-Authenticate: Bearer and a problem that says nothing of the key', async (_, headers) => {
      const res = await http().get('/leads').set(headers);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="crm"/);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(res.body).toEqual({ type: '/problems/unauthorized', title: 'Unauthorized', status: 401, detail: expect.any(String) });
      expect(res.text).not.toContain(ROLE_KEYS.reader.slice(0, 20));
    });

    it('refuses before reading the body: a key-less malformed body is 401, not 400', async () => {
      const res = await http().post('/leads').set('content-type', 'application/json').send('{"lastName":');
      expect(res.status).toBe(401);
    });

    it('accepts the scheme in any case', async () => {
      await http().get('/leads').set('Authorization', `bearer ${ROLE_KEYS.reader}`).expect(200);
    });

    it('answers an unknown route 404 to a caller with a key', async () => {
      const res = await http().get('/no-such-route').set(bearer(ROLE_KEYS.reader));
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(PROBLEM_JSON);
    });
  });

  describe('the actor', () => {
    async function history(id: string) {
      return (await http().get(`/leads/${id}/history`).set(bearer(ROLE_KEYS.auditor)).expect(200)).body as { metadata: Record<string, unknown> }[];
    }

    it('is the key\'s name on every event, whatever X-Actor-Id says', async () => {
      const res = await http().post('/leads').set(bearer(ROLE_KEYS.writer)).set('X-Actor-Id', 'mallory').send({ lastName: 'Lovelace', company: 'Engines' }).expect(201);
      await http().post(`/leads/${res.body.id}/qualify`).set(bearer(ROLE_KEYS.writer)).set('X-Actor-Id', 'mallory').send({}).expect(200);
      expect((await history(res.body.id)).map((e) => e.metadata.actorId)).toEqual(['writer-svc', 'writer-svc']);
    });

    it('is key- and 12 hex digits of the key\'s SHA-256 for a key without a name', async () => {
      const res = await http().post('/leads').set(bearer(UNNAMED_KEY)).send({ lastName: 'Noether', company: 'Algebra' }).expect(201);
      const [event] = await history(res.body.id);
      expect(event.metadata.actorId).toBe(`key-${sha256Hex(UNNAMED_KEY).slice(0, 12)}`);
    });

    it('stores X-On-Behalf-Of as onBehalfOf, shows it in history, and carries it to the records a conversion opens', async () => {
      const writer = { ...bearer(ROLE_KEYS.writer), 'X-On-Behalf-Of': 'user-42@corp' };
      const { id } = (await http().post('/leads').set(writer).send({ lastName: 'Hopper', company: 'Cobol Ltd' }).expect(201)).body;
      await http().post(`/leads/${id}/qualify`).set(writer).send({}).expect(200);
      const converted = (await http().post(`/leads/${id}/convert`).set(writer).send({}).expect(200)).body;
      expect((await history(id)).map((e) => e.metadata)).toEqual([
        expect.objectContaining({ actorId: 'writer-svc', onBehalfOf: 'user-42@corp' }),
        expect.objectContaining({ actorId: 'writer-svc', onBehalfOf: 'user-42@corp' }),
        expect.objectContaining({ actorId: 'writer-svc', onBehalfOf: 'user-42@corp' }),
      ]);
      const account = (await http().get(`/accounts/${converted.accountId}/history`).set(bearer(ROLE_KEYS.auditor)).expect(200)).body;
      expect(account[0].metadata).toMatchObject({ actorId: 'writer-svc', onBehalfOf: 'user-42@corp' });
    });

    it('has no onBehalfOf when none is sent, and refuses one over 100 characters with 400 naming the header', async () => {
      const { id } = (await http().post('/leads').set(bearer(ROLE_KEYS.writer)).send({ lastName: 'Turing', company: 'Bletchley' }).expect(201)).body;
      expect((await history(id))[0].metadata).not.toHaveProperty('onBehalfOf');
      const res = await http().post('/leads').set(bearer(ROLE_KEYS.writer)).set('X-On-Behalf-Of', 'u'.repeat(101)).send({ lastName: 'Turing', company: 'Bletchley' });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ field: 'X-On-Behalf-Of', message: 'must be 1 to 100 characters' }]);
    });

    it('is the same for keys that share a name (rotation), and a retry with the new key replays the first response', async () => {
      const body = { lastName: 'Rotated', company: 'Keys Inc' };
      const first = await http().post('/leads').set(bearer(ROTATED[0])).set('Idempotency-Key', 'rotate-1').send(body).expect(201);
      const retry = await http().post('/leads').set(bearer(ROTATED[1])).set('Idempotency-Key', 'rotate-1').send(body).expect(201);
      expect(retry.body).toEqual(first.body);
      expect((await history(first.body.id)).map((e) => e.metadata.actorId)).toEqual(['svc-rotate']);
    });
  });

  it('never stores or logs a key: not in history, read models, the data files or any log line', async () => {
    const { id } = (await http().post('/leads').set(bearer(ROLE_KEYS.writer)).send({ lastName: 'Secret', company: 'Keeper' }).expect(201)).body;
    await http().get('/nothing-here').set(bearer('a-wrong-key-that-is-never-logged-012345'));
    await t.catchUp();
    const texts = [
      JSON.stringify((await http().get(`/leads/${id}/history`).set(bearer(ROLE_KEYS.auditor))).body),
      JSON.stringify((await http().get(`/leads/${id}`).set(bearer(ROLE_KEYS.reader))).body),
      JSON.stringify((await http().get('/leads').set(bearer(ROLE_KEYS.reader))).body),
      ...readdirSync(t.dataDir).map((file) => readFileSync(join(t.dataDir, file)).toString('latin1')),
      ...logs.lines,
    ];
    for (const key of [...ALL_KEYS, 'a-wrong-key-that-is-never-logged-012345']) {
      for (const text of texts) expect(text).not.toContain(key);
    }
    expect(logs.lines.filter((line) => line.includes('"route":"/leads"')).length).toBeGreaterThan(0);
  });

  it('puts security headers on every response: a success, a refusal and the docs', async () => {
    for (const res of [await http().get('/health'), await http().get('/leads'), await http().get('/docs/openapi.json')]) {
      expect(res.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'SAMEORIGIN', 'strict-transport-security': expect.any(String) });
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    }
  });

  it('declares the bearer scheme in the OpenAPI document, and on each operation the role of the route table', async () => {
    const document = (await http().get('/docs/openapi.json').expect(200)).body;
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [route, access] of Object.entries(ROUTE_ROLES)) {
      const [method, url] = route.split(' ');
      const operation = document.paths[url.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
      if (access === 'open') {
        if (operation) expect(operation.security).toEqual([]);
        continue;
      }
      expect({ route, role: operation?.['x-required-role'], security: operation?.security }).toEqual({ route, role: access, security: [{ bearer: [] }] });
    }
  });
});

describe('Security: rate limits', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  beforeAll(async () => {
    t = await startTestApp(undefined, { apiKeys: parseApiKeys(`a:${ROLE_KEYS.reader}=reader;b:${ROLE_KEYS.writer}=reader`, 'API_KEYS'), rateLimitPerMinute: 3 });
  });
  afterAll(async () => {
    await t.close();
    removeDataDir(t.dataDir);
  });

  it('caps each key at RATE_LIMIT_PER_MINUTE with 429, Retry-After and a problem; other keys and open routes go on', async () => {
    for (let i = 0; i < 3; i++) await http().get('/leads').set(bearer(ROLE_KEYS.reader)).expect(200);
    const refused = await http().get('/leads').set(bearer(ROLE_KEYS.reader));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(refused.body).toMatchObject({ type: '/problems/rate-limited', status: 429, detail: expect.stringContaining('More than 3 requests in a minute') });
    await http().get('/leads').set(bearer(ROLE_KEYS.writer)).expect(200);
    for (let i = 0; i < 5; i++) await http().get('/health').expect(200);
  });
});

describe('Security: open mode and production', () => {
  it('runs open without keys outside production: the actor is X-Actor-Id, or anonymous, and it warns loudly at start', async () => {
    const logs = captureLogs();
    const t = await startTestApp(undefined, { apiKeys: [] }, { logDestination: logs });
    try {
      const http = () => request(t.app.getHttpServer());
      const named = (await http().post('/leads').set('X-Actor-Id', 'importer').send({ lastName: 'Open', company: 'Mode' }).expect(201)).body.id;
      const anonymous = (await http().post('/leads').send({ lastName: 'Open', company: 'Mode' }).expect(201)).body.id;
      expect((await http().get(`/leads/${named}/history`).expect(200)).body[0].metadata.actorId).toBe('importer');
      expect((await http().get(`/leads/${anonymous}/history`).expect(200)).body[0].metadata.actorId).toBe('anonymous');
      expect(logs.lines.map((line) => JSON.parse(line)).some((line) => line.level === 40 && line.msg.includes('OPEN MODE'))).toBe(true);
    } finally {
      await t.close();
      removeDataDir(t.dataDir);
    }
  });

  /** Starts apps/api/src/main.ts as the README's command does and waits for it to exit. */
  async function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    const child = fork(join(__dirname, '..', 'apps', 'api', 'src', 'main.ts'), [], {
      env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: join(__dirname, 'never-created'), ...env },
      execArgv: ['-r', join(__dirname, 'support', 'register-ts.js')],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code] = await once(child, 'exit');
    clearTimeout(timer);
    return { code, stderr };
  }

  it.each([
    ['without keys', {}, /NODE_ENV=production needs API keys/],
    ['with a key shorter than 32 characters', { API_KEYS: 'svc:short-key=writer' }, /API_KEYS: entry 1 \("svc"\): in production a key must be at least 32 characters/],
    ['with an entry that does not parse', { API_KEYS: `svc:${'k'.repeat(32)}=writer,root` }, /API_KEYS: entry 1 \("svc"\): unknown role "root"/],
  ])('refuses to start in production %s, exiting non-zero with the reason', async (_, env, reason) => {
    const { code, stderr } = await start({ NODE_ENV: 'production', ...env });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^The service cannot start: /);
    expect(stderr).toMatch(reason);
    expect(stderr).not.toMatch(/short-key|\n\s+at /);
  });
});
