import { DynamicModule, Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ERASED, PERSONAL_DATA_PATHS } from '@crm/domain';
import { EVENT_STORE, EventStore, EventStoreDbEventStore, HashChainingEventStore, PersonalDataKeyStore, PersonalDataProtectingEventStore, SqliteEventStore, SqliteWriterPlacement } from '@crm/event-store';
import { SqliteKeyStore } from '@crm/read-models/keys/sqlite-key-store';
import { join } from 'node:path';
import { AppConfig } from './app-config';

/** The embedded SQLite file of a data directory: events now, read models and checkpoints beside them. */
export function embeddedDatabaseFile(dataDir: string): string {
  return join(dataDir, 'crm.sqlite');
}

type StoreConfig = Pick<AppConfig, 'eventStoreUrl' | 'dataDir' | 'mongodbUrl' | 'benchmarkWithoutEventProtection'>;

/**
 * The event store the configuration names: EventStoreDB when EVENTSTORE_URL is set, else the
 * embedded SQLite file. Every append chains its events to the stream's last hash, whichever
 * backend stores them (the embedded file's writer in the append's own transaction, EventStoreDB's
 * through HashChainingEventStore: one format, hash-chain.ts's `eventHash`); outside that, personal
 * fields are encrypted under their person's key (so the hashes cover the ciphertext and an erasure
 * breaks no chain). The embedded file's appends are committed on a writer thread, unless `writer`
 * says 'in-thread' (a reader that never appends: the projector's thread).
 */
export function openEventStore(config: StoreConfig, logger?: Logger, writer: SqliteWriterPlacement = 'writer-thread'): PersonalDataProtectingEventStore {
  if (config.benchmarkWithoutEventProtection) {
    // bench:capture's measure of what the protection costs: no chain, and no event type with personal fields to encrypt.
    logger?.warn('BENCH_EVENT_PROTECTION=off: events are stored without hash chains and without personal-data encryption (benchmark only)');
    return new PersonalDataProtectingEventStore(openAdapter(config, writer, false, logger), openKeyStore(config), { paths: {}, erasedValue: ERASED, erasureEventType: 'PersonalDataErased' });
  }
  return new PersonalDataProtectingEventStore(openAdapter(config, writer, true, logger), openKeyStore(config), {
    paths: PERSONAL_DATA_PATHS,
    erasedValue: ERASED,
    erasureEventType: 'PersonalDataErased',
  });
}

/** The personal-data keys live beside the read models: MongoDB when MONGODB_URL is set, else the embedded SQLite file. */
function openKeyStore(config: StoreConfig): PersonalDataKeyStore {
  if (config.mongodbUrl) {
    // Loaded only when configured, like the MongoDB read store; the client connects on its first operation.
    const { MongoClient } = require('mongodb') as typeof import('mongodb');
    const { MongoKeyStore } = require('@crm/read-models/keys/mongo-key-store') as typeof import('@crm/read-models/keys/mongo-key-store');
    const { databaseOf } = require('@crm/read-models/mongodb/mongo-read-store') as typeof import('@crm/read-models/mongodb/mongo-read-store');
    return new MongoKeyStore(new MongoClient(config.mongodbUrl, { ignoreUndefined: true }), databaseOf(config.mongodbUrl));
  }
  // In the file's write-ahead log the key's commit precedes the event's, whose fsync then covers both.
  return SqliteKeyStore.open(embeddedDatabaseFile(config.dataDir), config.eventStoreUrl ? 'own' : 'with-log');
}

function openAdapter(config: StoreConfig, writer: SqliteWriterPlacement, hashChains: boolean, logger?: Logger): EventStore {
  if (config.eventStoreUrl) {
    logger?.log('Events are stored in EventStoreDB (EVENTSTORE_URL)');
    const store = EventStoreDbEventStore.connect(config.eventStoreUrl);
    return hashChains ? new HashChainingEventStore(store) : store;
  }
  logger?.log('Events are stored in the embedded SQLite file of DATA_DIR');
  // On a thread of its own the writer commits and fsyncs (and hashes) while the request thread goes on.
  return SqliteEventStore.open(embeddedDatabaseFile(config.dataDir), writer, {
    hashChains,
    // Appends answer 503 until the new thread is up (see EventLogWriterThread).
    onStopped: (error, restartInMs) => logger?.error(`${error.message}; a new writer thread starts with the first append after ${restartInMs} ms`),
  });
}

class EventStoreShutdown implements OnApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/** Provides EVENT_STORE: EventStoreDB when EVENTSTORE_URL is set, else the embedded SQLite file. */
@Global()
@Module({})
export class EventStoreModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: EventStoreModule,
      providers: [
        {
          provide: EVENT_STORE,
          useFactory: (): EventStore => openEventStore(config, new Logger('EventStore')),
        },
        // The same store, typed for what only it does: erasing, and the stored form that hash chains cover.
        { provide: PersonalDataProtectingEventStore, useExisting: EVENT_STORE },
        EventStoreShutdown,
      ],
      exports: [EVENT_STORE, PersonalDataProtectingEventStore],
    };
  }
}
