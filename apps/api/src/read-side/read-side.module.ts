import { BeforeApplicationShutdown, DynamicModule, Global, Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { EVENT_STORE, EventStore } from '@crm/event-store';
import { Projection, Projector, READ_STORE, ReadStore, SqliteReadStore } from '@crm/read-models';
import { ALL_PROJECTIONS, PROJECTIONS } from './projection-list';
import { AppConfig } from '../config/app-config';
import { embeddedDatabaseFile } from '../event-store.module';
import { ProjectionsController } from './projections.controller';
import { ProjectionStatus } from './projection-status';
import { ReadModels } from './read-models';


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
 * The read side: READ_STORE (MongoDB when MONGODB_URL is set, else the embedded SQLite file),
 * the projector (in this process unless PROJECTOR=external), and queries over the read models.
 */
@Global()
@Module({})
export class ReadSideModule {
  static register(config: AppConfig): DynamicModule {
    const logger = new Logger('ReadSide');
    const projector =
      config.projector === 'embedded'
        ? [
            {
              provide: Projector,
              useFactory: (events: EventStore, store: ReadStore, projections: Projection[]) =>
                new Projector(events, store, projections, {
                  leaseTtlMs: config.projectorLeaseMs,
                  faultAfterFailures: config.projectionFaultAfterFailures,
                  onFault: (fault, faulted) =>
                    faulted
                      ? logger.error(`Projection ${fault.readModel} is faulted at ${fault.position} (${fault.eventType}) and waits for POST /projections/${fault.readModel}/retry: ${fault.reason}`)
                      : logger.warn(`Projection ${fault.readModel} could not apply ${fault.eventType} at ${fault.position}; the others go on, it is tried again: ${fault.reason}`),
                  onError: (error) => logger.error(`Projector: ${error instanceof Error ? error.message : String(error)}; resubscribing from the checkpoint`),
                  onNotice: (message) => logger.warn(`Projector: ${message}`),
                }),
              inject: [EVENT_STORE, READ_STORE, PROJECTIONS],
            },
          ]
        : [];
    return {
      module: ReadSideModule,
      controllers: [ProjectionsController],
      providers: [
        {
          provide: READ_STORE,
          useFactory: (): Promise<ReadStore> => openReadStore(config, logger),
        },
        { provide: PROJECTIONS, useValue: ALL_PROJECTIONS },
        ...projector,
        ReadModels,
        ProjectionStatus,
        ReadSideLifecycle,
      ],
      exports: [READ_STORE, PROJECTIONS, ReadModels, ProjectionStatus, ...projector.map((p) => p.provide)],
    };
  }
}
