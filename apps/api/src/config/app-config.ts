import { join } from 'node:path';

export interface AppConfig {
  host: string;
  port: number;
  /** Folder of the embedded SQLite file. */
  dataDir: string;
  /** When set, events go to EventStoreDB instead of the embedded file. */
  eventStoreUrl?: string;
  production: boolean;
}

export const APP_CONFIG = Symbol('APP_CONFIG');

/** Reads the service's configuration from the environment, refusing values that make no sense. */
export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a TCP port number, got "${env.PORT}"`);
  return {
    host: env.HOST ?? '127.0.0.1',
    port,
    dataDir: env.DATA_DIR ?? join(process.cwd(), 'data'),
    eventStoreUrl: env.EVENTSTORE_URL || undefined,
    production: env.NODE_ENV === 'production',
  };
}
