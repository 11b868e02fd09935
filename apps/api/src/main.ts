import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { AppConfig, assertSecureConfig, loadAppConfig } from './config/app-config';

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
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  new Logger('Bootstrap').log(`Listening on http://${config.host}:${config.port} (OpenAPI at /docs)`);
}

void bootstrap();
