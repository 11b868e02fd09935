import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { TerminusModule } from '@nestjs/terminus';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import type { Logger as PinoRoot } from 'pino';
import { loggerModule } from './observability/logging';
import { Metrics } from './observability/metrics';
import { MetricsController } from './observability/metrics.controller';
import { ProblemFilter } from './common/problem.filter';
import { createValidationPipe, JsonObjectBodyPipe } from './common/validation';
import { APP_CONFIG, AppConfig } from '@crm/runtime/app-config';
import { EventStoreModule } from '@crm/runtime/event-store.module';
import { RecordsHttpModule } from './records-http.module';
import { HealthController } from './read-side/health.controller';
import { MinPositionGuard } from './read-side/min-position.guard';
import { ReadSideModule } from './read-side/read-side.module';
import { RecordsModule } from './records/records.module';

@Module({})
export class AppModule {
  static register(config: AppConfig, logger: PinoRoot): DynamicModule {
    const rateLimit = rateLimitOf(config);
    return {
      module: AppModule,
      global: true,
      imports: [
        loggerModule(logger),
        CqrsModule.forRoot(),
        TerminusModule,
        EventStoreModule.register(config),
        ReadSideModule.register(config),
        RecordsModule,
        RecordsHttpModule,
        ...rateLimit.imports,
      ],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        Metrics,
        { provide: APP_FILTER, useClass: ProblemFilter },
        // Guards run in this order: a request over its key's limit is refused before it waits for minPosition.
        ...rateLimit.guards,
        { provide: APP_GUARD, useClass: MinPositionGuard },
        // Pipes run in this order: the body must be a JSON object before it is validated.
        { provide: APP_PIPE, useClass: JsonObjectBodyPipe },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
      exports: [APP_CONFIG, Metrics],
    };
  }
}

/**
 * RATE_LIMIT_PER_MINUTE: requests per key per minute (@nestjs/throttler, 429 with Retry-After).
 * Open routes (health, docs) are not counted; in open mode callers are counted by address.
 */
function rateLimitOf(config: AppConfig) {
  if (!config.rateLimitPerMinute) return { imports: [], guards: [] };
  const module = ThrottlerModule.forRoot({
    throttlers: [{ ttl: 60_000, limit: config.rateLimitPerMinute }],
    errorMessage: `More than ${config.rateLimitPerMinute} requests in a minute from this key; retry after the seconds Retry-After says`,
    skipIf: (context) => context.switchToHttp().getRequest<FastifyRequest>().principal === undefined,
    getTracker: (request: Record<string, unknown>) => {
      const { principal, ip } = request as unknown as FastifyRequest;
      return principal?.keyDigest ?? `address:${ip}`;
    },
  });
  return { imports: [module], guards: [{ provide: APP_GUARD, useClass: ThrottlerGuard }] };
}
