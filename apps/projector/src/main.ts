import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadAppConfig } from '@crm/runtime/app-config';
import { ProjectorModule } from './projector.module';

/**
 * The projector as its own process, for when several API processes run with PROJECTOR=external.
 * It takes the projector lease in the read store; a second one waits on standby.
 */
async function bootstrap(): Promise<void> {
  const app = await NestFactory.createApplicationContext(ProjectorModule.register(loadAppConfig()), { logger: ['log', 'warn', 'error'] });
  app.enableShutdownHooks();
  // The projector's own waits (standby for the lease, backoff) do not hold the process open, so
  // that an API process can exit around them; this process has nothing else to do, so it keeps
  // itself alive until a signal stops it.
  setInterval(() => undefined, 1 << 30);
  new Logger('Projector').log('Projecting the event log into the read models');
  process.send?.('ready');
}

void bootstrap();
