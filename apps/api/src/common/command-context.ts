import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { canonicalJson } from '@crm/domain';
import { EventMetadata } from '@crm/event-store';
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { MAX_CORRELATION_ID } from '../observability/logging';
import { invalidInput } from './problem';

/** What the HTTP request says about a command beyond its body: who, which retry, which revision. */
export interface CommandContext {
  /** The key's name (or X-Actor-Id in open mode): set by access control, never by a header when keys are configured. */
  actorId: string;
  /** `X-On-Behalf-Of`: the person a service acts for, stored beside actorId. */
  onBehalfOf?: string;
  correlationId: string;
  /** Identifies this command; the causation of the events it appends. */
  commandId: string;
  /** Hash of the caller and its Idempotency-Key, when one was sent. */
  idempotencyKey?: string;
  /** Hash of method, path, query and body: a replay must match it exactly. */
  requestFingerprint?: string;
  /** A step completing a decision (conversion, merge): its key, stored as metadata.completionStep so that recovery sees the step done. */
  completionStep?: string;
  /** The revision named by `If-Match`, when sent. */
  expectedRevision?: number;
  /**
   * The person whose key encrypts the personal fields of the events (stored as metadata.personId),
   * when it is not the record's own: the contact a conversion adds is the lead's person.
   */
  personId?: string;
}

/** What every event a command appends says of it: who (and on whose behalf), its business time, and the request and command it came from. */
export function commandMetadata(context: CommandContext, occurredAt: string): EventMetadata {
  return {
    actorId: context.actorId,
    ...(context.onBehalfOf !== undefined && { onBehalfOf: context.onBehalfOf }),
    occurredAt,
    correlationId: context.correlationId,
    causationId: context.commandId,
  };
}

const MAX_IDEMPOTENCY_KEY = 200;
const MAX_ON_BEHALF_OF = 100;

export function commandContextFrom(request: FastifyRequest): CommandContext {
  // Every command route needs a role, so access control has run and named the actor.
  if (!request.principal) throw new Error(`No principal on ${request.method} ${request.url}: access control did not run`);
  const { actorId } = request.principal;
  const onBehalfOf = header(request, 'x-on-behalf-of');
  if (onBehalfOf !== undefined && (onBehalfOf.length === 0 || onBehalfOf.length > MAX_ON_BEHALF_OF)) {
    throw invalidInput([{ field: 'X-On-Behalf-Of', message: `must be 1 to ${MAX_ON_BEHALF_OF} characters` }]);
  }
  const sentCorrelationId = header(request, 'x-correlation-id');
  if (sentCorrelationId !== undefined && sentCorrelationId.length > MAX_CORRELATION_ID) {
    throw invalidInput([{ field: 'X-Correlation-Id', message: `must be at most ${MAX_CORRELATION_ID} characters` }]);
  }
  // Assigned to every request when it arrives (the header's value, or a new id), so its log line names it too.
  const correlationId = request.correlationId ?? sentCorrelationId ?? randomUUID();
  const context: CommandContext = { actorId, correlationId, commandId: randomUUID(), ...(onBehalfOf !== undefined && { onBehalfOf }) };

  const key = header(request, 'idempotency-key');
  if (key !== undefined) {
    if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY) {
      throw invalidInput([{ field: 'Idempotency-Key', message: `must be 1 to ${MAX_IDEMPOTENCY_KEY} characters` }]);
    }
    context.idempotencyKey = sha256(`${actorId}\n${key}`);
    context.requestFingerprint = sha256(`${request.method} ${request.url}\n${canonicalJson(request.body ?? {})}`);
  }

  const ifMatch = header(request, 'if-match');
  if (ifMatch !== undefined) context.expectedRevision = parseRevisionTag(ifMatch);
  return context;
}

/** `@Command() context: CommandContext` in a controller method. */
export const Command = createParamDecorator((_: unknown, ctx: ExecutionContext) =>
  commandContextFrom(ctx.switchToHttp().getRequest<FastifyRequest>()),
);

/** `"3"` (as sent back in ETag), or `W/"3"`. */
function parseRevisionTag(value: string): number {
  const match = /^(?:W\/)?"(\d{1,15})"$/.exec(value.trim());
  if (!match) throw invalidInput([{ field: 'If-Match', message: 'must be an ETag as returned by the service, e.g. "3"' }]);
  return Number(match[1]);
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
