import { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface CreateAppOptions {
  logger?: LogLevel[] | false;
}

/** Builds the API application (not yet listening): used by main.ts, the tests and the benchmarks. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, logger: false });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config), adapter, {
    logger: options.logger ?? ['log', 'warn', 'error'],
    // Nest would add a form (urlencoded) parser; bodies here are JSON only, parsed by Fastify itself.
    bodyParser: false,
  });
  acceptJsonBodiesOnly(app);
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Lead lifecycle CRM')
      .setDescription(
        'Event-sourced CRM for the sales lead lifecycle. Errors are application/problem+json (RFC 9457); ' +
          'command responses carry { id, revision, position } and ETag: "<revision>". See API.md for the contract.',
      )
      .setVersion('1')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  await app.init();
  return app;
}

/**
 * JSON only: `application/json` and `application/*+json` bodies are parsed by Fastify's own
 * parser (rejecting prototype poisoning); any other content type is answered 415.
 */
function acceptJsonBodiesOnly(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser('text/plain');
  fastify.addContentTypeParser(/^application\/[\w.+-]+\+json$/, { parseAs: 'string' }, fastify.getDefaultJsonParser('error', 'error'));
}
