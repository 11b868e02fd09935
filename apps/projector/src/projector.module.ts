import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../../api/src/config/app-config';
import { EventStoreModule } from '../../api/src/event-store.module';
import { ReadSideModule } from '../../api/src/read-side/read-side.module';

/** The projector without the HTTP API: the event store, the read store and the projector. */
@Module({})
export class ProjectorModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: ProjectorModule,
      imports: [EventStoreModule.register(config), ReadSideModule.register({ ...config, projector: 'embedded' })],
    };
  }
}
