import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { LoggerModule } from 'nestjs-pino';
import pino, { DestinationStream, Logger as PinoRoot } from 'pino';
import { LOG_LEVELS, type LogLevelName } from '@crm/runtime/log-levels';
export { LOG_LEVELS, type LogLevelName };

/**
 * Fields that may hold personal data or secrets, wherever they sit in a logged object: pino
 * censors them before a line is written. Request lines are built from the route pattern (never
 * the URL, whose query may hold an email) and carry no headers or bodies, so this is the second
 * line of defence, for objects logged with warnings and errors.
 */
const REDACTED_PATHS = ['firstName', 'lastName', 'name', 'email', 'phone', 'title', 'description', 'note', 'reason', 'subject', 'authorization', 'apiKey', 'key']
  .flatMap((field) => [field, `*.${field}`, `*.*.${field}`])
  .concat(['headers.authorization', 'req.headers.authorization', 'req.headers["x-on-behalf-of"]']);

export interface LoggingOptions {
  level: LogLevelName;
  /** Where lines go (tests capture them); default stdout, pretty-printed when a person runs it in a terminal. */
  destination?: DestinationStream;
}

/** The one pino logger of a process: JSON lines, or pino-pretty in a terminal. */
export function createRootLogger({ level, destination }: LoggingOptions): PinoRoot {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'crm-api' } };
  if (destination) return pino(options, destination);
  if (process.stdout.isTTY) return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } });
  // Buffered: pino's default stdout is synchronous, one write(2) per line (about 4 % of a capture's
  // CPU). Lines go out in 4 KiB writes, at least every second, and what is left when the process
  // exits is flushed then; a SIGKILL loses at most that last second.
  const stdout = pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 1000 });
  process.once('exit', () => stdout.flushSync());
  return pino(options, stdout);
}

/**
 * nestjs-pino as Nest's logger (every `new Logger(context)` writes through pino). Its per-request
 * middleware is not mounted (`forRoutes: []`): the request line is written by `logRequests`,
 * which knows the matched route and the actor, without a child logger and an async context per request.
 */
export function loggerModule(root: PinoRoot) {
  return LoggerModule.forRoot({ pinoHttp: { logger: root, autoLogging: false }, forRoutes: [] });
}

/** One line per request, when its response is sent: method, route, status, duration, actor, correlation id. */
export function logRequests(fastify: FastifyInstance, root: PinoRoot): void {
  // Without redaction: a request line is built from known fields only (see REDACTED_PATHS), and
  // pino's wildcard redaction would cost about 20 µs a line, more than the rest of the line.
  const requests = root.child({ context: 'HTTP' }, { redact: { paths: [], censor: '[redacted]' } });
  fastify.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? '(no route)',
      status,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
      actorId: request.principal?.actorId,
      correlationId: request.correlationId,
    };
    if (status >= 500) requests.error(line, 'request failed');
    else requests.info(line, 'request');
    done();
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** X-Correlation-Id when sent (and valid), else a new UUID: the same in the request's log line and its events. */
    correlationId?: string;
  }
}

export const MAX_CORRELATION_ID = 200;

/** Gives every request its correlation id before anything else runs, and sends it back as X-Correlation-Id. */
export function assignCorrelationIds(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const sent = request.headers['x-correlation-id'];
    const value = Array.isArray(sent) ? sent[0] : sent;
    request.correlationId = value !== undefined && value.length > 0 && value.length <= MAX_CORRELATION_ID ? value : randomUUID();
    void reply.header('X-Correlation-Id', request.correlationId);
    done();
  });
}
