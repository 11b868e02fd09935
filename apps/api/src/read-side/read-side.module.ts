import { DynamicModule, Global, Module } from '@nestjs/common';
import { ReadSideCoreModule } from '@crm/runtime/read-side-core.module';
import { AppConfig } from '@crm/runtime/app-config';
import { ProjectionsController } from './projections.controller';
import { ProjectionStatus } from './projection-status';
import { ReadModels } from './read-models';

export { openReadStore } from '@crm/runtime/read-side-core.module';

/**
 * The read side of the API: the shared core (READ_STORE, the projections, the projector — on a
 * thread of its own on the embedded default — unless
 * PROJECTOR=external), queries over the read models, and the projections' routes.
 */
@Global()
@Module({})
export class ReadSideModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: ReadSideModule,
      imports: [ReadSideCoreModule.register(config, { projectorOnItsOwnThread: true })],
      controllers: [ProjectionsController],
      providers: [ReadModels, ProjectionStatus],
      exports: [ReadSideCoreModule, ReadModels, ProjectionStatus],
    };
  }
}
