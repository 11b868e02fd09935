import { DynamicModule, Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { EVENT_STORE, EventStore, EventStoreDbEventStore, HashChainingEventStore, SqliteEventStore } from '@crm/event-store';
import { join } from 'node:path';
import { AppConfig } from './config/app-config';

/** The embedded SQLite file of a data directory: events now, read models and checkpoints beside them. */
export function embeddedDatabaseFile(dataDir: string): string {
  return join(dataDir, 'crm.sqlite');
}

/** The event store the configuration names: EventStoreDB when EVENTSTORE_URL is set, else the embedded SQLite file. */
export function openEventStore(config: Pick<AppConfig, 'eventStoreUrl' | 'dataDir'>, logger?: Logger): EventStore {
  // Every append chains its events to the stream's last hash, whichever backend stores them.
  return new HashChainingEventStore(openAdapter(config, logger));
}

function openAdapter(config: Pick<AppConfig, 'eventStoreUrl' | 'dataDir'>, logger?: Logger): EventStore {
  if (config.eventStoreUrl) {
    logger?.log('Events are stored in EventStoreDB (EVENTSTORE_URL)');
    return EventStoreDbEventStore.connect(config.eventStoreUrl);
  }
  logger?.log('Events are stored in the embedded SQLite file of DATA_DIR');
  return SqliteEventStore.open(embeddedDatabaseFile(config.dataDir));
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
        EventStoreShutdown,
      ],
      exports: [EVENT_STORE],
    };
  }
}
