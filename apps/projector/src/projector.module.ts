import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '@crm/runtime/app-config';
import { EventStoreModule } from '@crm/runtime/event-store.module';
import { ReadSideCoreModule } from '@crm/runtime/read-side-core.module';

/** The projector without the HTTP API: the event store, the read store and the projector. */
@Module({})
export class ProjectorModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: ProjectorModule,
      imports: [EventStoreModule.register(config), ReadSideCoreModule.register({ ...config, projector: 'embedded' })],
    };
  }
}
