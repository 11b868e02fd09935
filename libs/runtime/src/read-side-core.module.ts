import { BeforeApplicationShutdown, DynamicModule, Global, Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { EVENT_STORE, EventStore, PersonalDataProtectingEventStore } from '@crm/event-store';
import { Projection, Projector, READ_STORE, ReadStore, SqliteReadStore } from '@crm/read-models';
import { AppConfig } from './app-config';
import { embeddedDatabaseFile } from './event-store.module';
import { ALL_PROJECTIONS, PROJECTIONS } from './projection-list';
import { ProjectorSurface, ProjectorThread } from './projector-thread';

/** The read store the configuration names: MongoDB when MONGODB_URL is set, else the embedded SQLite file. */
export async function openReadStore(config: Pick<AppConfig, 'mongodbUrl' | 'dataDir'>, logger?: Logger): Promise<ReadStore> {
  if (config.mongodbUrl) {
    logger?.log('Read models are stored in MongoDB (MONGODB_URL)');
    const { MongoReadStore } = await import('@crm/read-models/mongodb/mongo-read-store');
    return MongoReadStore.connect(config.mongodbUrl);
  }
  logger?.log('Read models are stored in the embedded SQLite file of DATA_DIR');
  return SqliteReadStore.open(embeddedDatabaseFile(config.dataDir));
}

/** The projector as the configuration sets it up, logging what an operator should know. */
export function projectorFor(
  config: Pick<AppConfig, 'projectorLeaseMs' | 'projectionFaultAfterFailures'>,
  events: EventStore,
  store: ReadStore,
  projections: Projection[],
  logger: Pick<Logger, 'error' | 'warn'>,
): Projector {
  return new Projector(events, store, projections, {
    leaseTtlMs: config.projectorLeaseMs,
    faultAfterFailures: config.projectionFaultAfterFailures,
    onFault: (fault, faulted) =>
      faulted
        ? logger.error(`Projection ${fault.readModel} is faulted at ${fault.position} (${fault.eventType}) and waits for POST /projections/${fault.readModel}/retry: ${fault.reason}`)
        : logger.warn(`Projection ${fault.readModel} could not apply ${fault.eventType} at ${fault.position}; the others go on, it is tried again: ${fault.reason}`),
    onError: (error) => logger.error(`Projector: ${error instanceof Error ? error.message : String(error)}; resubscribing from the checkpoint`),
    onNotice: (message) => logger.warn(`Projector: ${message}`),
  });
}

/** How long boot waits for the projector (or its thread) to take up its work: tens of ms embedded, a few round trips on servers; a bound, not a wait for catch-up. */
const PROJECTOR_START_WAIT_MS = 5_000;

@Injectable()
class ReadSideLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(READ_STORE) private readonly store: ReadStore,
    @Inject(PROJECTIONS) private readonly projections: Projection[],
    @Optional() private readonly projector?: Projector,
  ) {}

  /** Queries may come before the projector's first batch: the collections they read must exist. */
  async onApplicationBootstrap(): Promise<void> {
    for (const projection of this.projections) {
      const { activeVersion } = await this.store.readModelState(projection.readModel);
      for (const spec of projection.collections) await this.store.ensureCollection(spec, activeVersion);
    }
    this.projector?.start();
    await this.projector?.whenStarted(PROJECTOR_START_WAIT_MS);
  }

  /** The projector stops before the stores it reads and writes close. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.projector?.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/**
 * What every app with read models shares: READ_STORE (MongoDB when MONGODB_URL is set, else the
 * embedded SQLite file), PROJECTIONS, and the projector (in this process unless PROJECTOR=external).
 */
@Global()
@Module({})
export class ReadSideCoreModule {
  static register(config: AppConfig, options: { projectorOnItsOwnThread?: boolean } = {}): DynamicModule {
    const logger = new Logger('ReadSide');
    const projector =
      config.projector !== 'embedded'
        ? []
        : options.projectorOnItsOwnThread && config.projectorThread && !config.mongodbUrl && !config.eventStoreUrl
        ? [
            {
              // The embedded default's projector runs on a thread of its own; its stand-in here has the
              // Projector's surface (ProjectorSurface), which is all the read side asks of it.
              provide: Projector,
              useFactory: (projections: Projection[], store: ReadStore, events: PersonalDataProtectingEventStore) =>
                new ProjectorThread({ config: pickThreadConfig(config) }, projections, store, logger, events) as ProjectorSurface as Projector,
              inject: [PROJECTIONS, READ_STORE, PersonalDataProtectingEventStore],
            },
          ]
        : [
            {
              provide: Projector,
              useFactory: (events: EventStore, store: ReadStore, projections: Projection[]) => {
                // It reads this process's appends moments later: their plaintext is kept for it.
                if (events instanceof PersonalDataProtectingEventStore) events.keepAppendedPlaintext();
                return projectorFor(config, events, store, projections, logger);
              },
              inject: [EVENT_STORE, READ_STORE, PROJECTIONS],
            },
          ];
    return {
      module: ReadSideCoreModule,
      providers: [{ provide: READ_STORE, useFactory: (): Promise<ReadStore> => openReadStore(config, logger) }, { provide: PROJECTIONS, useValue: ALL_PROJECTIONS }, ...projector, ReadSideLifecycle],
      exports: [READ_STORE, PROJECTIONS, ...projector.map((p) => p.provide)],
    };
  }
}

function pickThreadConfig({ dataDir, projectorLeaseMs, projectionFaultAfterFailures, benchmarkWithoutEventProtection }: AppConfig) {
  return { dataDir, projectorLeaseMs, projectionFaultAfterFailures, benchmarkWithoutEventProtection };
}
