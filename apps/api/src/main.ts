import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.factory';
import { shutDownGracefully } from './lifecycle/graceful-shutdown';
import { AppConfig, assertSecureConfig, loadAppConfig } from '@crm/runtime/app-config';

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadAppConfig();
    assertSecureConfig(config);
  } catch (error) {
    // A configuration the service refuses: the reason alone, no stack trace, and a non-zero exit.
    process.stderr.write(`The service cannot start: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  const logger = new Logger('Bootstrap');
  const { port } = app.getHttpServer().address() as AddressInfo;
  logger.log(`Listening on http://${config.host}:${port} (OpenAPI at /docs)`);
  // A parent process (tests, benchmarks) learns the port this way when it asked for any (PORT=0).
  process.send?.({ listening: port });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutDown(app, signal, config.shutdownGraceMs ?? 10_000, logger));
}

/** Graceful shutdown (see shutDownGracefully), then exit 0; past the grace period, exit 1. */
async function shutDown(app: NestFastifyApplication, signal: string, graceMs: number, logger: Logger): Promise<void> {
  logger.log(`${signal}: no new connections; finishing the requests in flight (at most ${graceMs} ms)`);
  const deadline = setTimeout(() => {
    logger.error(`Shutdown took longer than SHUTDOWN_GRACE_MS (${graceMs} ms): exiting with requests or a batch unfinished`);
    process.exit(1);
  }, graceMs);
  deadline.unref();
  try {
    await shutDownGracefully(app);
    logger.log('Stopped: requests answered, projector batch committed, stores closed');
    process.exit(0);
  } catch (error) {
    logger.error(`Shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

void bootstrap();
