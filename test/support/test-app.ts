import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EVENT_STORE, EventStore } from '@crm/event-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { __resetOutOfContextForTests } from 'nestjs-pino/PinoLogger';
import request from 'supertest';
import { createApp, CreateAppOptions } from '../../apps/api/src/app.factory';
import { parseApiKeys, ROLES } from '@crm/runtime/api-keys';
import { AppConfig } from '@crm/runtime/app-config';
import { backendConfig } from './backend';

/**
 * The suites run with keys, as production does. Every request of `t.http()` carries the key of
 * the actor `e2e`, which has every role; `asActor(name)` is the header of another actor's key.
 */
export const TEST_ACTORS = ['e2e', 'importer', 'importer-a', 'importer-b', 'sdr-1', 'rep-1'] as const;
export type TestActor = (typeof TEST_ACTORS)[number];
const testKeyOf = (actor: TestActor) => `test-key-of-${actor}-0123456789abcdef`;
export const TEST_API_KEYS = parseApiKeys(TEST_ACTORS.map((actor) => `${actor}:${testKeyOf(actor)}=${ROLES.join(',')}`).join(';'), 'test keys');

/** `.set(asActor('importer'))`: send the request with that actor's key. */
export function asActor(actor: TestActor): { Authorization: string } {
  return { Authorization: `Bearer ${testKeyOf(actor)}` };
}

export interface TestApp {
  app: NestFastifyApplication;
  dataDir: string;
  http: () => ReturnType<typeof request>;
  store: EventStore;
  /** Counts everything in the log as this client's writes (for events appended other than over HTTP). */
  catchUp(): Promise<void>;
  close(): Promise<void>;
}

/** A fresh data directory, removed when the test file ends (see `removeDataDir`). */
export function newDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'crm-e2e-'));
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The real API on the suites' backend (embedded, or the servers of EVENTSTORE_URL / MONGODB_URL: see ./backend), on 127.0.0.1 (an ephemeral port). */
export async function startTestApp(dataDir = newDataDir(), overrides: Partial<AppConfig> = {}, options: CreateAppOptions = { logger: false }): Promise<TestApp> {
  overrides = { ...backendConfig(dataDir), ...overrides };
  const config: AppConfig = {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    production: false,
    projector: 'embedded',
    projectorThread: true,
    projectorLeaseMs: 15_000,
    apiKeys: TEST_API_KEYS,
    ...overrides,
  };
  const authorization = (config.apiKeys ?? []).length > 0 ? asActor('e2e') : {};
  // nestjs-pino keeps its logger in a module variable (one app per process in production); each test app writes to its own.
  __resetOutOfContextForTests();
  const app = await createApp(config, options);
  // Remember the position of the latest write answered, so that reads can ask for it.
  let latestWrite = -1n;
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onSend', async (req, _reply, payload) => {
      if (req.method !== 'GET' && typeof payload === 'string' && payload.includes('"position"')) {
        const position = /"position":"(\d+)"/.exec(payload)?.[1];
        if (position && BigInt(position) > latestWrite) latestWrite = BigInt(position);
      }
      return payload;
    });
  await app.listen(0, '127.0.0.1');
  const store = app.get<EventStore>(EVENT_STORE);
  // Whatever the data directory held before counts as written by this client too.
  latestWrite = await store.headPosition();
  const server = app.getHttpServer();
  return {
    app,
    dataDir,
    http: () => readingYourWrites(request(server), () => latestWrite, authorization),
    store,
    catchUp: async () => {
      latestWrite = await store.headPosition();
      await readingYourWrites(request(server), () => latestWrite, authorization).get('/health');
    },
    close: () => app.close(),
  };
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head']);

/**
 * A supertest client that sends the test key (a request may `.set` another `Authorization`)
 * and reads its own writes as API.md tells clients to: every GET carries `?minPosition=` of
 * the latest command answered. (The minPosition suite tests the mechanism.)
 */
function readingYourWrites(client: ReturnType<typeof request>, latestWrite: () => bigint, headers: Record<string, string>): ReturnType<typeof request> {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (typeof property === 'string' && METHODS.has(property)) {
        return (url: string) => {
          const test = (target[property as 'get'](url) as request.Test).set(headers);
          return property === 'get' && latestWrite() >= 0n ? test.query({ minPosition: String(latestWrite()) }) : test;
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/**
 * The app for one test file: started before its tests, stopped (and its data removed) after
 * them. Reads as `const t = useTestApp();` and then `t.http()`.
 */
export function useTestApp(overrides: Partial<AppConfig> = {}): TestApp {
  let app: TestApp | undefined;
  beforeAll(async () => {
    app = await startTestApp(undefined, overrides);
  });
  afterAll(async () => {
    await app?.close();
    if (app) removeDataDir(app.dataDir);
  });
  return new Proxy({} as TestApp, {
    get(_, property) {
      if (!app) throw new Error('The test app starts in beforeAll');
      return Reflect.get(app, property);
    },
  });
}

export const PROBLEM_JSON = /^application\/problem\+json/;

/** The fields named by a problem document's `errors`. */
export function fieldsOf(body: { errors?: { field: string }[] }): string[] {
  return (body.errors ?? []).map((e) => e.field);
}

/** A log destination that keeps every line the app writes (JSON, one per line). */
export function captureLogs(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}
