import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import { ProblemFilter } from './common/problem.filter';
import { createValidationPipe, JsonObjectBodyPipe } from './common/validation';
import { APP_CONFIG, AppConfig } from './config/app-config';
import { EventStoreModule } from './event-store.module';
import { RecordsHttpModule } from './records-http.module';
import { HealthController } from './read-side/health.controller';
import { MinPositionGuard } from './read-side/min-position.guard';
import { ReadSideModule } from './read-side/read-side.module';
import { RecordsModule } from './records/records.module';

@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [CqrsModule.forRoot(), TerminusModule, EventStoreModule.register(config), ReadSideModule.register(config), RecordsModule, RecordsHttpModule],
      controllers: [HealthController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_GUARD, useClass: MinPositionGuard },
        // Pipes run in this order: the body must be a JSON object before it is validated.
        { provide: APP_PIPE, useClass: JsonObjectBodyPipe },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
      exports: [APP_CONFIG],
    };
  }
}
