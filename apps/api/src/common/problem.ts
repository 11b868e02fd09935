import { HttpException } from '@nestjs/common';

export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem document. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Problem types are relative URIs under /problems/, one per kind of refusal. */
export function problem(status: number, code: string, title: string, detail: string, extensions: Record<string, unknown> = {}): Problem {
  return { type: `/problems/${code}`, title, status, detail, ...extensions };
}

/** An HTTP refusal that already knows its problem document. */
export class ProblemException extends HttpException {
  constructor(
    readonly problem: Problem,
    /** Response headers that go with it, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    super(problem, problem.status);
  }
}

export function invalidInput(errors: FieldError[]): ProblemException {
  const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  return new ProblemException(problem(400, 'validation-error', 'The request is not valid', detail, { errors }));
}

export function preconditionFailed(currentRevision: number, expected: number): ProblemException {
  return new ProblemException(
    problem(412, 'precondition-failed', 'The record has changed', `If-Match expected revision ${expected}; the record is at revision ${currentRevision}`, {
      currentRevision,
      errors: [{ field: 'If-Match', message: `the record is at revision ${currentRevision}` }],
    }),
  );
}

export function idempotencyKeyReused(): ProblemException {
  return new ProblemException(
    problem(422, 'idempotency-key-reused', 'Idempotency-Key reused', 'This Idempotency-Key was already used for a different request', {
      errors: [{ field: 'Idempotency-Key', message: 'already used with another route or body' }],
    }),
  );
}

/** Read-your-writes could not be honoured in time. */
export function readModelsBehind(position: bigint, waitedMs: number): ProblemException {
  return new ProblemException(
    problem(503, 'read-models-behind', 'Read models are behind', `The read models did not reach position ${position} within ${waitedMs / 1000} s; retry shortly`),
    { 'Retry-After': '1' },
  );
}

/**
 * The event store cannot take appends now: its writer thread stopped, or the file stayed locked past
 * SQLite's busy timeout. Not the request's fault and worth a retry: under its Idempotency-Key a
 * retry stores the command once, also when the append that failed was stored after all.
 */
export function eventStoreUnavailable(): ProblemException {
  return new ProblemException(
    problem(503, 'event-store-unavailable', 'The event store is unavailable', 'The event store could not take this request now; retry shortly with the same Idempotency-Key'),
    { 'Retry-After': '1' },
  );
}
