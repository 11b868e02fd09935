import { DEFAULT_FAULT_AFTER_FAILURES, DEFAULT_PARK_AFTER_FAILURES } from '@crm/read-models';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiKey, loadApiKeys, MIN_PRODUCTION_KEY_LENGTH } from './api-keys';
import { LOG_LEVELS, LogLevelName } from './log-levels';

export interface AppConfig {
  host: string;
  port: number;
  /** Folder of the embedded SQLite file. */
  dataDir: string;
  /** When set, events go to EventStoreDB instead of the embedded file. */
  eventStoreUrl?: string;
  /** When set, read models live in MongoDB instead of the embedded file. */
  mongodbUrl?: string;
  /**
   * `embedded` (default): this process projects the read models (only one process at a time
   * does, by lease). `external`: leave it to apps/projector and only read.
   */
  projector: 'embedded' | 'external';
  /**
   * Whether an embedded projector on the embedded default runs on a thread of its own (default)
   * or on the request thread (PROJECTOR_THREAD=off: one thread to profile or debug).
   */
  projectorThread: boolean;
  /** How long the projector lease lasts without renewal: after a crash, another process takes over within it. */
  projectorLeaseMs: number;
  /** Failed attempts in a row at one event after which a projection is faulted and waits for POST /projections/:name/retry (default 12). */
  projectionFaultAfterFailures?: number;
  /** Failed attempts at one reactor step (completing a conversion or merge) after which it is parked and listed by GET /processes/parked (default 8). */
  reactorParkAfterFailures?: number;
  production: boolean;
  /** The API keys (digests, actors, roles). None: open mode, refused in production. */
  apiKeys?: readonly ApiKey[];
  /** Said at start when both API_KEYS and API_KEYS_FILE were set. */
  apiKeysNotice?: string;
  /** Requests per key per minute; unset: no limit. */
  rateLimitPerMinute?: number;
  /** pino's level; default info. */
  logLevel?: LogLevelName;
  /** On SIGTERM, how long requests in flight and the projector's batch may take before the process exits anyway. */
  shutdownGraceMs?: number;
  /**
   * For `bench:capture` only (BENCH_EVENT_PROTECTION=off, taken with NODE_ENV=benchmark and refused
   * otherwise): events stored without hash chains and without personal-data encryption, to
   * measure what the two cost. Unset: both on, always.
   */
  benchmarkWithoutEventProtection?: true;
}

export const APP_CONFIG = Symbol('APP_CONFIG');

/** Reads the service's configuration from the environment, refusing values that make no sense. */
export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const production = env.NODE_ENV === 'production';
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a TCP port number, got "${env.PORT}"`);
  return {
    host: env.HOST ?? '127.0.0.1',
    port,
    dataDir: env.DATA_DIR ?? join(process.cwd(), 'data'),
    eventStoreUrl: urlOf('EVENTSTORE_URL', env.EVENTSTORE_URL, ['esdb:', 'esdb+discover:'], 'esdb://127.0.0.1:2113?tls=false'),
    mongodbUrl: urlOf('MONGODB_URL', env.MONGODB_URL, ['mongodb:', 'mongodb+srv:'], 'mongodb://127.0.0.1:27017/crm?replicaSet=rs0'),
    projector: projectorMode(env.PROJECTOR),
    projectorThread: oneOf('PROJECTOR_THREAD', env.PROJECTOR_THREAD, ['on', 'off'] as const, 'on') === 'on',
    projectorLeaseMs: positiveInteger('PROJECTOR_LEASE_MS', env.PROJECTOR_LEASE_MS, 15_000),
    projectionFaultAfterFailures: positiveInteger('PROJECTION_FAULT_AFTER_FAILURES', env.PROJECTION_FAULT_AFTER_FAILURES, DEFAULT_FAULT_AFTER_FAILURES),
    reactorParkAfterFailures: positiveInteger('REACTOR_PARK_AFTER_FAILURES', env.REACTOR_PARK_AFTER_FAILURES, DEFAULT_PARK_AFTER_FAILURES),
    production,
    ...apiKeysFrom(env, production),
    shutdownGraceMs: positiveInteger('SHUTDOWN_GRACE_MS', env.SHUTDOWN_GRACE_MS, 10_000),
    logLevel: oneOf('LOG_LEVEL', env.LOG_LEVEL, LOG_LEVELS, 'info'),
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE ? positiveInteger('RATE_LIMIT_PER_MINUTE', env.RATE_LIMIT_PER_MINUTE, 0) : undefined,
    ...benchmarkSwitches(env),
  };
}

function benchmarkSwitches(env: NodeJS.ProcessEnv): Pick<AppConfig, 'benchmarkWithoutEventProtection'> {
  const protection = env.BENCH_EVENT_PROTECTION;
  if (protection === undefined || protection === '' || protection === 'on') return {};
  if (protection !== 'off') throw new Error(`BENCH_EVENT_PROTECTION must be "on" or "off", got "${protection}"`);
  if (env.NODE_ENV !== 'benchmark') throw new Error('BENCH_EVENT_PROTECTION=off is for bench:capture only (NODE_ENV=benchmark): hash chains and personal-data encryption stay on');
  return { benchmarkWithoutEventProtection: true };
}

function apiKeysFrom(env: NodeJS.ProcessEnv, production: boolean): Pick<AppConfig, 'apiKeys' | 'apiKeysNotice'> {
  const { keys, notice } = loadApiKeys(env, (path) => readFileSync(path, 'utf8'), production);
  return { apiKeys: keys, apiKeysNotice: notice };
}

/**
 * In production the service never runs open: it needs keys, each at least 32 characters
 * (checked as they are parsed, since only digests are kept).
 */
export function assertSecureConfig(config: AppConfig): void {
  if (config.production && (config.apiKeys ?? []).length === 0) {
    throw new Error(
      `NODE_ENV=production needs API keys: set API_KEYS or API_KEYS_FILE ([name:]key=roles;…, keys of at least ${MIN_PRODUCTION_KEY_LENGTH} characters)`,
    );
  }
}

function projectorMode(value: string | undefined): AppConfig['projector'] {
  if (value === undefined || value === '' || value === 'embedded') return 'embedded';
  if (value === 'external') return 'external';
  throw new Error(`PROJECTOR must be "embedded" or "external", got "${value}"`);
}

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new Error(`${name} must be a whole number > 0, got "${value}"`);
  return number;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === '') return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new Error(`${name} must be one of ${allowed.join(', ')}, got "${value}"`);
}

/** A connection string the client will take, or undefined when unset. */
function urlOf(name: string, value: string | undefined, schemes: string[], example: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  let scheme: string;
  try {
    scheme = new URL(value).protocol;
  } catch {
    throw new Error(`${name} must be a connection string such as ${example}, got something that is not a URL`);
  }
  if (!schemes.includes(scheme)) throw new Error(`${name} must start with ${schemes.map((s) => `${s}//`).join(' or ')} (e.g. ${example}), got "${scheme}//…"`);
  return value;
}
