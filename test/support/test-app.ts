import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EVENT_STORE, EventStore } from '@crm/event-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createApp } from '../../apps/api/src/app.factory';
import { AppConfig } from '../../apps/api/src/config/app-config';
import { backendConfig } from './backend';

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
export async function startTestApp(dataDir = newDataDir(), overrides: Partial<AppConfig> = {}): Promise<TestApp> {
  overrides = { ...backendConfig(dataDir), ...overrides };
  const config: AppConfig = { host: '127.0.0.1', port: 0, dataDir, production: false, projector: 'embedded', projectorLeaseMs: 15_000, ...overrides };
  const app = await createApp(config, { logger: false });
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
    http: () => readingYourWrites(request(server), () => latestWrite),
    store,
    catchUp: async () => {
      latestWrite = await store.headPosition();
      await readingYourWrites(request(server), () => latestWrite).get('/health');
    },
    close: () => app.close(),
  };
}

/**
 * A supertest client that reads its own writes as API.md tells clients to: every GET carries
 * `?minPosition=` of the latest command answered. (The minPosition suite tests the mechanism.)
 */
function readingYourWrites(client: ReturnType<typeof request>, latestWrite: () => bigint): ReturnType<typeof request> {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'get') {
        return (url: string) => (latestWrite() < 0n ? target.get(url) : target.get(url).query({ minPosition: String(latestWrite()) }));
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/**
 * The app for one test file: started before its tests, stopped (and its data removed) after
 * them. Reads as `const t = useTestApp();` and then `t.http()`.
 */
export function useTestApp(): TestApp {
  let app: TestApp | undefined;
  beforeAll(async () => {
    app = await startTestApp();
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
