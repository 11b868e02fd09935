import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { installAccessControl } from './auth/access-control';
import { addSecurityHeaders } from './common/security-headers';
import { acceptImportUploads } from './imports/import-upload';
import { closeConnectionsWhenShuttingDown } from './lifecycle/graceful-shutdown';
import { accessOf } from './auth/route-roles';
import { AppConfig, assertSecureConfig } from '@crm/runtime/app-config';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { assignCorrelationIds, createRootLogger, logRequests } from './observability/logging';
import { Metrics } from './observability/metrics';
import { PersonalDataProtectingEventStore } from '@crm/event-store';
import { ProjectionStatus } from './read-side/projection-status';
import { CompletionRecovery } from './processes/completion-recovery';
import { serveWebApp } from './web-app/serve-web-app';

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface CreateAppOptions {
  /** Where log lines go (tests capture them); default stdout. */
  logDestination?: DestinationStream;
  /** False: no log lines at all (most tests). */
  logger?: false;
}

/** Builds the API application (not yet listening): used by main.ts, the tests and the benchmarks. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  assertSecureConfig(config);
  // return503OnClosing: false — during a graceful shutdown, requests already on an open connection are answered, not refused.
  const adapter = new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, logger: false, return503OnClosing: false });
  const root = createRootLogger({ level: options.logger === false ? 'silent' : config.logLevel ?? 'info', destination: options.logDestination });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config, root), adapter, {
    // Held until nestjs-pino takes over below, so that even the first lines are JSON.
    bufferLogs: true,
    // Nest would add a form (urlencoded) parser; bodies here are JSON only, parsed by Fastify itself.
    bodyParser: false,
  });
  app.useLogger(app.get(PinoNestLogger));
  const fastify = app.getHttpAdapter().getInstance();
  assignCorrelationIds(fastify);
  closeConnectionsWhenShuttingDown(fastify);
  acceptJsonBodiesOnly(app);
  acceptImportUploads(app);
  // Security headers on every response, errors and docs included (the docs page loads its own scripts and styles only).
  addSecurityHeaders(fastify);
  installAccessControl(fastify, config.apiKeys ?? []);
  // After access control, which learns every route as it is registered (the web app's are open).
  await serveWebApp(app);
  logRequests(fastify, root);
  const metrics = app.get(Metrics);
  metrics.observeHttp(fastify);
  const projections = app.get(ProjectionStatus);
  const reactors = app.get(CompletionRecovery);
  metrics.observeProcessors({ projections: () => projections.rows(), reactors: () => reactors.rows() });
  const events = app.get(PersonalDataProtectingEventStore);
  const projectorThread = projections.projectorThread();
  metrics.observePersonalData(() => [
    { thread: 'request', revealed: events.revealedEvents() },
    ...(projectorThread ? [{ thread: 'projector' as const, revealed: projectorThread.revealedEvents() }] : []),
  ]);
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
  // After init: nestjs-pino's root logger is this app's only from then on.
  const logger = new Logger('Security');
  if (config.apiKeysNotice) logger.warn(config.apiKeysNotice);
  if ((config.apiKeys ?? []).length === 0) {
    logger.warn(
      'OPEN MODE: no API keys are configured (API_KEYS / API_KEYS_FILE), so every route is open to anyone who can reach this port and the actor is whatever X-Actor-Id says. Never run like this with real data; in production (NODE_ENV=production) the service refuses to start without keys.',
    );
  }
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
