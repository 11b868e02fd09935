import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiResponse } from '@nestjs/swagger';

const PROBLEM = { description: 'application/problem+json' };

/** OpenAPI of the conventions every command route follows (API.md, "Conventions"). */
export function CommandDocs(created = false) {
  return applyDecorators(
    ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Up to 200 characters. The same key, route and body again returns the first response (header Idempotent-Replayed: true) and appends nothing; the same key with another route or body: 422.' }),
    ApiHeader({ name: 'If-Match', required: false, description: 'The ETag of the revision the change is based on, e.g. "3"; 412 when the record has moved on.' }),
    ApiHeader({ name: 'X-On-Behalf-Of', required: false, description: 'The user a service acts for, 1 to 100 characters: stored as onBehalfOf beside actorId and shown in history.' }),
    ApiHeader({ name: 'X-Actor-Id', required: false, description: 'Open mode only (no API keys configured, never in production): who sends the command, stored as actorId; default "anonymous". With keys the actor is the key\'s name and this header changes nothing.' }),
    ApiHeader({ name: 'X-Correlation-Id', required: false, description: 'Stored as correlationId in the events; default: a new UUID.' }),
    ApiResponse({ status: created ? 201 : 200, description: '{ id, revision, position }; ETag: "<revision>". A command that changes nothing appends nothing and answers the current revision.' }),
    ApiResponse({ status: 400, ...PROBLEM }),
    ApiResponse({ status: 404, ...PROBLEM }),
    ApiResponse({ status: 409, ...PROBLEM }),
    ApiResponse({ status: 412, ...PROBLEM }),
    ApiResponse({ status: 413, ...PROBLEM }),
    ApiResponse({ status: 415, ...PROBLEM }),
    ApiResponse({ status: 422, ...PROBLEM }),
    ApiResponse({ status: 503, description: 'application/problem+json, /problems/event-store-unavailable, with Retry-After: the event store cannot take appends for now (embedded: its writer thread stopped or the file stayed locked); retry with the same Idempotency-Key.' }),
  );
}

export function ReadDocs(description: string) {
  return applyDecorators(ApiOkResponse({ description }), ApiResponse({ status: 404, ...PROBLEM }), ApiResponse({ status: 400, ...PROBLEM }));
}
