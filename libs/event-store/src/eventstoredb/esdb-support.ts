import { ErrorType, isCommandError, type Position as EsdbPosition } from '@eventstore/db-client';
import { deterministicUuid } from '../event-id';

/*
 * The EventStoreDB adapter's pure parts, kept apart so that they are tested without a server:
 * the connection string, which errors leave an append's outcome unknown, the retry of such an
 * append, positions the server did not know, and the streams that claim name-based event ids.
 */

// ---- Connection string ------------------------------------------------------------------------

/** Query keys as @eventstore/db-client 6.x compares them: case-insensitive, '-' and '_' ignored. */
const flat = (key: string) => key.trim().toLowerCase().replace(/[_-]/g, '');

/**
 * The connection string the client gets. @eventstore/db-client 6.x parses only `esdb://` and
 * `esdb+discover://` (its parseConnectionString); other schemes (`kurrentdb://`, `http://`,
 * `tcp://`, `mongodb://`) are refused here with a message that says so, instead of the parser's
 * "expected esdb:// or esdb+discover:// at position 0".
 *
 * `throwOnAppendFailure` is forced to true: with `false` the client answers a wrong expected
 * version with `{ success: false }` and a revision of its own making (its batch append
 * returns `BigInt(hasCurrentStreamRevision())`, i.e. 1 or -1), so the port's conflict errors
 * (WrongExpectedRevisionError with the actual revision, EventIdConflictError) could not be told.
 */
export function esdbConnectionString(url: string): string {
  const trimmed = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed)?.[1];
  if (scheme !== 'esdb' && scheme !== 'esdb+discover') {
    throw new Error(
      `EVENTSTORE_URL must start with esdb:// or esdb+discover:// (the only schemes @eventstore/db-client 6.x accepts), e.g. esdb://127.0.0.1:2113?tls=false; got ${scheme ? `${scheme}://` : 'no scheme'}`,
    );
  }
  const [beforeQuery, query = ''] = trimmed.split('?', 2);
  const kept = query
    .split('&')
    .filter((pair) => pair !== '' && flat(pair.split('=', 1)[0]) !== 'throwonappendfailure');
  return `${beforeQuery.replace(/\/+$/, '')}?${[...kept, 'throwOnAppendFailure=true'].join('&')}`;
}

// ---- Outcome-unknown errors and the retry of an append ---------------------------------------

/**
 * Errors after which an append may or may not have been written: the deadline passed (also what
 * the client reports when the server dropped a duplicate that arrived before the first copy was
 * indexed), the node became unreachable or the call was cancelled on the way, or the node was no
 * longer the leader (the write was refused there; the client reconnects to the leader it names).
 * `TimeoutError` is the client's name for the server's gRPC ABORTED (an operation timed out).
 */
const OUTCOME_UNKNOWN = new Set<ErrorType>([
  ErrorType.DEADLINE_EXCEEDED,
  ErrorType.UNAVAILABLE,
  ErrorType.CANCELLED,
  ErrorType.NOT_LEADER,
  ErrorType.TIMEOUT,
]);

export function isOutcomeUnknown(error: unknown): boolean {
  return error instanceof Error && isCommandError(error) && OUTCOME_UNKNOWN.has(error.type);
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Delay before the first retry; each further one doubles it, up to maxDelayMs, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Four attempts within about 1.5 s of waiting (plus each attempt's own deadline). */
export const APPEND_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 800 };

/**
 * Runs `append` again, unchanged, while it fails with an outcome-unknown error. The caller must
 * send the identical request each time (same event ids, same expected revision): the server's
 * idempotency check then turns a copy of an append that did get written into a success that
 * returns the first result, and only then is a retry safe.
 */
export async function retryWhileOutcomeUnknown<T>(append: () => Promise<T>, policy: RetryPolicy = APPEND_RETRY): Promise<T> {
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = policy.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await append();
    } catch (error) {
      if (attempt >= policy.attempts || !isOutcomeUnknown(error)) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      // Half fixed, half random: concurrent duplicates do not come back in step.
      await sleep(ceiling / 2 + random() * (ceiling / 2));
    }
  }
}

// ---- Positions --------------------------------------------------------------------------------

/** What the server sends for a position it does not know (-1 as an unsigned 64-bit number). */
export const UNKNOWN_POSITION = 2n ** 64n - 1n;

const isKnown = (value: bigint | undefined): value is bigint => value !== undefined && value !== UNKNOWN_POSITION;

/** The position, or undefined when it is missing or either half is the server's "unknown". */
export function knownPosition(position: EsdbPosition | undefined): EsdbPosition | undefined {
  return position && isKnown(position.commit) && isKnown(position.prepare) ? position : undefined;
}

/** A commit position alone (as on resolved events), or undefined when missing or unknown. */
export function knownCommitPosition(commit: bigint | undefined): bigint | undefined {
  return isKnown(commit) ? commit : undefined;
}

// ---- Claims on name-based event ids -----------------------------------------------------------

/*
 * EventStoreDB checks event ids only within one stream. A name-based event id is claimed, before
 * its append, by the first event of a stream of its own, appended with expected revision
 * no_stream: the server lets one such append win. The claim names the stream the event goes to,
 * so that a claim found naming the same stream is a retry and one naming another stream is the
 * port's EventIdConflictError. Claims are the adapter's own: reads of $all leave them out.
 */
const CLAIM_STREAM_PREFIX = 'crm-event-id-';
export const CLAIM_EVENT_TYPE = 'EventIdClaimed';

export function claimStreamOf(eventId: string): string {
  return `${CLAIM_STREAM_PREFIX}${eventId}`;
}

export function isClaimStream(streamId: string): boolean {
  return streamId.startsWith(CLAIM_STREAM_PREFIX);
}

/**
 * The claim's own event id is name-based too, from the event id and its stream: a retried claim
 * is the identical append, which the server acknowledges without writing it twice.
 */
export function claimEventId(eventId: string, streamId: string): string {
  return deterministicUuid('event-id-claim', eventId, streamId);
}
