import helmet from '@fastify/helmet';
import { Logger, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { installAccessControl } from './auth/access-control';
import { accessOf } from './auth/route-roles';
import { AppConfig, assertSecureConfig } from './config/app-config';

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface CreateAppOptions {
  logger?: LogLevel[] | false | LoggerService;
}

/** Builds the API application (not yet listening): used by main.ts, the tests and the benchmarks. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  assertSecureConfig(config);
  const adapter = new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, logger: false });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config), adapter, {
    logger: options.logger ?? ['log', 'warn', 'error'],
    // Nest would add a form (urlencoded) parser; bodies here are JSON only, parsed by Fastify itself.
    bodyParser: false,
  });
  acceptJsonBodiesOnly(app);
  // Security headers on every response, errors and docs included (the docs page loads its own scripts and styles only).
  await app.register(helmet);
  installAccessControl(app.getHttpAdapter().getInstance(), config.apiKeys ?? []);
  const logger = new Logger('Security');
  if (config.apiKeysNotice) logger.warn(config.apiKeysNotice);
  if ((config.apiKeys ?? []).length === 0) {
    logger.warn(
      'OPEN MODE: no API keys are configured (API_KEYS / API_KEYS_FILE), so every route is open to anyone who can reach this port and the actor is whatever X-Actor-Id says. Never run like this with real data; in production (NODE_ENV=production) the service refuses to start without keys.',
    );
  }
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Lead lifecycle CRM')
      .setDescription(
        'Event-sourced CRM for the sales lead lifecycle. Errors are application/problem+json (RFC 9457); ' +
          'command responses carry { id, revision, position } and ETag: "<revision>". See API.md for the contract.',
      )
      .setVersion('2')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'API key', description: 'An API key from API_KEYS / API_KEYS_FILE; each route names the role it needs' })
      .build(),
  );
  declareRoles(document);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  await app.init();
  return app;
}

/** Each operation of the OpenAPI document says the role it needs, from the one route table. */
function declareRoles(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    const route = path.replace(/\{([^}]+)\}/g, ':$1');
    for (const method of ['get', 'post', 'patch', 'put', 'delete'] as const) {
      const operation = item[method];
      if (!operation) continue;
      const access = accessOf(method.toUpperCase(), route);
      if (access === undefined || access === 'open') {
        operation.security = [];
        operation.description = `${operation.description ? `${operation.description}\n\n` : ''}${access === 'open' ? 'Open: no key needed.' : 'No role is declared: refused to every caller.'}`;
        continue;
      }
      operation.security = [{ bearer: [] }];
      Object.assign(operation, { 'x-required-role': access });
      operation.description = `${operation.description ? `${operation.description}\n\n` : ''}Role: \`${access}\`.`;
      operation.responses = {
        ...operation.responses,
        401: { description: 'No key, an unknown key or another scheme than Bearer (application/problem+json; WWW-Authenticate: Bearer)' },
        403: { description: `The key lacks the role "${access}" (application/problem+json)` },
      };
    }
  }
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
