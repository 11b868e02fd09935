import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { DomainError } from '@crm/domain';
import { EventLogWriterStoppedError, PersonalDataErasedError } from '@crm/event-store';
import { InvalidCursorError } from '@crm/read-models';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { eventStoreUnavailable, Problem, PROBLEM_CONTENT_TYPE, ProblemException, problem } from './problem';

const DOMAIN_STATUS = { 'not-found': 404, conflict: 409 } as const;

/**
 * The one place where anything thrown becomes an HTTP answer: always problem+json, never a
 * stack trace. Unknown errors are logged and answered 500 with nothing of their text.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    if (isEventStoreUnavailable(exception)) {
      this.logUnexpected(exception, request);
      exception = eventStoreUnavailable();
    }
    const body = knownProblemOf(exception) ?? this.internalError(exception, request);
    if (exception instanceof ProblemException) void reply.headers(exception.headers);
    void reply.status(body.status).header('content-type', PROBLEM_CONTENT_TYPE).send(body);
  }

  private internalError(exception: unknown, request: FastifyRequest): Problem {
    this.logUnexpected(exception, request);
    return problem(500, 'internal-error', 'Internal error', 'The service failed to answer; nothing was changed by this request');
  }

  /** The route pattern and correlation id say where; the stack says what (never the body or the URL, which may hold personal data). */
  private logUnexpected(exception: unknown, request: FastifyRequest): void {
    this.logger.error(
      `Unexpected error on ${request.method} ${request.routeOptions?.url ?? '(no route)'} (correlation id ${request.correlationId ?? 'none'}): ${exception instanceof Error ? exception.stack ?? exception.message : String(exception)}`,
    );
  }
}

/**
 * The embedded event store failing for a while rather than this request: its writer thread stopped,
 * or the file stayed locked past the busy timeout (the writer thread's failures carry SQLite's code).
 * Answered 503 by the filter only: to bulk and import runs it stays an unexpected error (they stop
 * and resume), not a refusal of one item.
 */
function isEventStoreUnavailable(exception: unknown): boolean {
  const code = (exception as { code?: unknown } | null)?.code;
  return exception instanceof EventLogWriterStoppedError || code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

/** The problem document of a refusal (anything the service answers 4xx, or 503, for); undefined for an unexpected error. */
export function knownProblemOf(exception: unknown): Problem | undefined {
  if (exception instanceof ProblemException) return exception.problem;
  if (exception instanceof InvalidCursorError) {
    return problem(400, 'validation-error', 'The request is not valid', exception.message, { errors: [{ field: 'cursor', message: exception.message }] });
  }
  if (exception instanceof PersonalDataErasedError) {
    return problem(409, 'personal-data-erased', 'Refused by a business rule', 'This person\'s personal data was erased: the record takes no new personal data (names, email, phone, title, description)');
  }
  if (exception instanceof DomainError) {
    const status = DOMAIN_STATUS[exception.kind];
    const errors = exception.field ? { errors: [{ field: exception.field, message: exception.message }] } : {};
    return problem(status, exception.code, status === 404 ? 'Not found' : 'Refused by a business rule', exception.message, {
      ...errors,
      ...exception.extensions,
    });
  }
  if (exception instanceof HttpException) return healthProblem(exception) ?? httpProblem(exception.getStatus(), messageOf(exception.getResponse()));
  // Errors raised by Fastify before a route runs (malformed JSON, 413, 415) carry a 4xx statusCode.
  const statusCode = (exception as { statusCode?: unknown })?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) return httpProblem(statusCode, (exception as Error).message);
  return undefined;
}

/** Problems the HTTP layer raises itself; those about the body name it as the field. */
const HTTP_PROBLEMS: Record<number, [code: string, title: string]> = {
  400: ['malformed-body', 'The body is not valid JSON'],
  401: ['unauthorized', 'Unauthorized'],
  403: ['forbidden', 'Forbidden'],
  404: ['not-found', 'Not found'],
  405: ['method-not-allowed', 'Method not allowed'],
  406: ['not-acceptable', 'Not acceptable'],
  413: ['body-too-large', 'The body is larger than 1 MiB'],
  415: ['unsupported-media-type', 'The body must be application/json'],
  429: ['rate-limited', 'Too many requests'],
};
const BODY_PROBLEMS = new Set([400, 413, 415]);

function httpProblem(status: number, detail: string): Problem {
  const [code, title] = HTTP_PROBLEMS[status] ?? ['http-error', 'Request refused'];
  return problem(status, code, title, detail, BODY_PROBLEMS.has(status) ? { errors: [{ field: 'body', message: detail }] } : {});
}

/** A failed health check (@nestjs/terminus answers 503 with every check's result): the reasons, as a problem. */
function healthProblem(exception: HttpException): Problem | undefined {
  const result = exception.getResponse() as { status?: unknown; error?: Record<string, unknown>; details?: Record<string, unknown> };
  if (exception.getStatus() !== 503 || result?.status !== 'error' || !result.details) return undefined;
  const failing = Object.keys(result.error ?? {});
  return problem(503, 'unhealthy', 'Not healthy', `Failing: ${failing.join(', ')}`, { checks: result.details });
}

function messageOf(response: string | object): string {
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  return Array.isArray(message) ? message.join('; ') : String(message ?? '');
}
