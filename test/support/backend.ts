import { EventStore, EventStoreDbEventStore, SqliteEventStore } from '@crm/event-store';
import { basename } from 'node:path';
import { AppConfig } from '@crm/runtime/app-config';
import { embeddedDatabaseFile } from '@crm/runtime/event-store.module';

/*
 * The backend of the end-to-end suites: the embedded default, or the servers named by
 * EVENTSTORE_URL and MONGODB_URL when they are set (CI's servers job). A data directory stands for
 * one set of data on either: on MongoDB it names a database of its own, so that a fresh directory
 * reads from an empty read store and a restart on the same directory finds its data again.
 * EventStoreDB has one log per server, which the suites of one file share: CI gives each file a
 * fresh (in-memory) server, and the suites that need an empty log per app say so and run embedded.
 */
export function backendConfig(dataDir: string): Pick<AppConfig, 'eventStoreUrl' | 'mongodbUrl'> {
  const { EVENTSTORE_URL, MONGODB_URL } = process.env;
  return {
    eventStoreUrl: EVENTSTORE_URL || undefined,
    mongodbUrl: MONGODB_URL ? withDatabase(MONGODB_URL, `e2e_${basename(dataDir).replace(/[^A-Za-z0-9]/g, '_')}`) : undefined,
  };
}

/** The same, as the environment of a child process (apps/projector, a crashing server). */
export function backendEnv(dataDir: string): NodeJS.ProcessEnv {
  const { eventStoreUrl, mongodbUrl } = backendConfig(dataDir);
  return { DATA_DIR: dataDir, EVENTSTORE_URL: eventStoreUrl ?? '', MONGODB_URL: mongodbUrl ?? '' };
}

/** For suites that need the embedded backend whatever the environment says (their titles say why). */
export const EMBEDDED_BACKEND: Partial<AppConfig> = { eventStoreUrl: undefined, mongodbUrl: undefined };

/** The event store of a data directory, opened beside the app (to look at what it wrote). */
export function openEventStore(dataDir: string): EventStore {
  const { eventStoreUrl } = backendConfig(dataDir);
  return eventStoreUrl ? EventStoreDbEventStore.connect(eventStoreUrl) : SqliteEventStore.open(embeddedDatabaseFile(dataDir));
}

/** The adapter class the suites' apps use, e.g. to spy on its prototype. */
export function eventStoreClass(): { prototype: EventStore } {
  return process.env.EVENTSTORE_URL ? EventStoreDbEventStore : SqliteEventStore;
}

/** `mongodb://host[,host]/[db][?options]` with its database replaced. */
function withDatabase(url: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(url);
  if (!match) throw new Error('MONGODB_URL must look like mongodb://host:port/?replicaSet=rs0');
  return `${match[1]}/${database}${match[2] ?? ''}`;
}
