/**
 * Every refusal of a decider is a DomainError. The HTTP layer maps `kind` to a status
 * (not-found 404, conflict 409), so the domain stays free of HTTP while each refusal stays typed.
 */
export type DomainErrorKind = 'not-found' | 'conflict';

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  /** Stable slug naming the problem type, e.g. `lead-transition-refused`. */
  abstract readonly code: string;
  /** The request field the refusal is about, when there is one. */
  readonly field?: string;
  /** Extra members for the problem document (e.g. `duplicates`). */
  readonly extensions?: Record<string, unknown>;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class AggregateNotFound extends DomainError {
  readonly kind = 'not-found';
  readonly code = 'not-found';
  constructor(
    readonly aggregate: string,
    readonly id: string,
    /** The body field that named the missing record (e.g. `accountId`); absent for the route's own id. */
    override readonly field?: string,
  ) {
    super(`${aggregate} ${id} does not exist`);
  }
}

export class AggregateAlreadyExists extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'already-exists';
  constructor(
    readonly aggregate: string,
    readonly id: string,
  ) {
    super(`${aggregate} ${id} already exists`);
  }
}

/** A command's business time lies before the last event of its stream. */
export class OccurredAtBeforeLastEvent extends DomainError {
  readonly kind = 'conflict';
  readonly code = 'occurred-at-out-of-order';
  override readonly field = 'occurredAt';
  constructor(occurredAt: string, lastOccurredAt: string) {
    super(`occurredAt ${occurredAt} is earlier than the record's last event (${lastOccurredAt})`);
  }
}
