import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EVENT_STORE, EventStore } from '@crm/event-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createApp } from '../../apps/api/src/app.factory';
import { AppConfig } from '../../apps/api/src/config/app-config';

export interface TestApp {
  app: NestFastifyApplication;
  dataDir: string;
  http: () => ReturnType<typeof request>;
  store: EventStore;
  close(): Promise<void>;
}

/** A fresh data directory, removed when the test file ends (see `removeDataDir`). */
export function newDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'crm-e2e-'));
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The real API on the embedded backend, listening on 127.0.0.1 (an ephemeral port). */
export async function startTestApp(dataDir = newDataDir(), overrides: Partial<AppConfig> = {}): Promise<TestApp> {
  const config: AppConfig = { host: '127.0.0.1', port: 0, dataDir, production: false, ...overrides };
  const app = await createApp(config, { logger: false });
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer();
  return {
    app,
    dataDir,
    http: () => request(server),
    store: app.get<EventStore>(EVENT_STORE),
    close: () => app.close(),
  };
}

export const PROBLEM_JSON = /^application\/problem\+json/;

/** The fields named by a problem document's `errors`. */
export function fieldsOf(body: { errors?: { field: string }[] }): string[] {
  return (body.errors ?? []).map((e) => e.field);
}
