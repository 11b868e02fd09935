import {
  AccessDeniedError,
  CancelledError,
  DeadlineExceededError,
  NotLeaderError,
  StreamNotFoundError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import {
  UNKNOWN_POSITION,
  claimEventId,
  claimStreamOf,
  esdbConnectionString,
  isClaimStream,
  isOutcomeUnknown,
  knownCommitPosition,
  knownPosition,
  retryWhileOutcomeUnknown,
  type RetryPolicy,
} from './esdb-support';

describe('esdbConnectionString', () => {
  it('forces throwOnAppendFailure=true, however the URL spelled it', () => {
    expect(esdbConnectionString('esdb://127.0.0.1:2113?tls=false&throwOnAppendFailure=false')).toBe(
      'esdb://127.0.0.1:2113?tls=false&throwOnAppendFailure=true',
    );
    expect(esdbConnectionString('esdb://h:2113?THROW_ON_APPEND-FAILURE=false&tls=false')).toBe('esdb://h:2113?tls=false&throwOnAppendFailure=true');
    expect(esdbConnectionString('esdb+discover://a:2113,b:2113/')).toBe('esdb+discover://a:2113,b:2113?throwOnAppendFailure=true');
  });

  it.each(['kurrentdb://127.0.0.1:2113?tls=false', 'http://127.0.0.1:2113', 'tcp://127.0.0.1:1113', '127.0.0.1:2113'])(
    'refuses %s: the 6.x client takes esdb:// and esdb+discover:// only',
    (url) => {
      expect(() => esdbConnectionString(url)).toThrow(/must start with esdb:\/\/ or esdb\+discover:\/\//);
    },
  );
});

describe('isOutcomeUnknown', () => {
  // The client's own error classes; NotLeaderError reads the leader from the gRPC metadata.
  const notLeader = new NotLeaderError({
    metadata: { getMap: () => ({ 'leader-endpoint-host': 'leader', 'leader-endpoint-port': '2113' }) },
  } as never);

  it.each([
    ['deadline exceeded', new DeadlineExceededError()],
    ['unavailable', new UnavailableError()],
    ['cancelled', new CancelledError()],
    ['not leader', notLeader],
  ])('retries after %s', (_label, error) => {
    expect(isOutcomeUnknown(error)).toBe(true);
  });

  it.each([
    ['wrong expected version', new WrongExpectedVersionError(undefined, { streamName: 's', expected: 'no_stream', current: 0n })],
    ['access denied', new AccessDeniedError()],
    ['stream not found', new StreamNotFoundError()],
    ['unknown', new UnknownError()],
    ['a plain error', new Error('boom')],
  ])('does not retry after %s', (_label, error) => {
    expect(isOutcomeUnknown(error)).toBe(false);
  });
});

describe('retryWhileOutcomeUnknown', () => {
  const waits: number[] = [];
  const policy: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 300, sleep: async (ms) => void waits.push(ms), random: () => 1 };
  beforeEach(() => waits.splice(0));

  it('sends the identical request again after an outcome-unknown error and returns its answer', async () => {
    const calls: string[] = [];
    const result = await retryWhileOutcomeUnknown(async () => {
      calls.push('append');
      if (calls.length < 3) throw new DeadlineExceededError();
      return 'first result';
    }, policy);
    expect(result).toBe('first result');
    expect(calls).toHaveLength(3);
    expect(waits).toEqual([100, 200]);
  });

  it('gives up after the bounded number of attempts, with the last error, backing off up to the ceiling', async () => {
    let calls = 0;
    const failing = retryWhileOutcomeUnknown(async () => {
      calls++;
      throw new UnavailableError();
    }, policy);
    await expect(failing).rejects.toBeInstanceOf(UnavailableError);
    expect(calls).toBe(4);
    expect(waits).toEqual([100, 200, 300]);
  });

  it('does not retry an answer the server gave', async () => {
    let calls = 0;
    const refused = retryWhileOutcomeUnknown(async () => {
      calls++;
      throw new WrongExpectedVersionError(undefined, { streamName: 's', expected: 'no_stream', current: 0n });
    }, policy);
    await expect(refused).rejects.toBeInstanceOf(WrongExpectedVersionError);
    expect(calls).toBe(1);
  });
});

describe('positions the server did not know', () => {
  it('reads 2^64-1 in either half as no position', () => {
    expect(UNKNOWN_POSITION).toBe(18446744073709551615n);
    expect(knownPosition({ commit: UNKNOWN_POSITION, prepare: UNKNOWN_POSITION })).toBeUndefined();
    expect(knownPosition({ commit: 10n, prepare: UNKNOWN_POSITION })).toBeUndefined();
    expect(knownPosition(undefined)).toBeUndefined();
    expect(knownPosition({ commit: 10n, prepare: 10n })).toEqual({ commit: 10n, prepare: 10n });
    expect(knownCommitPosition(UNKNOWN_POSITION)).toBeUndefined();
    expect(knownCommitPosition(0n)).toBe(0n);
  });
});

describe('claims on name-based event ids', () => {
  it('are streams of their own, recognised as such, with an event id that repeats for the same event and stream', () => {
    const eventId = '5b1c0f5e-7a9d-5c3e-8f2a-6b4d1e0c9a87';
    expect(isClaimStream(claimStreamOf(eventId))).toBe(true);
    expect(isClaimStream('lead-5b1c0f5e-7a9d-5c3e-8f2a-6b4d1e0c9a87')).toBe(false);
    expect(claimStreamOf(eventId).startsWith('$')).toBe(false); // not a system stream: no admin rights needed
    expect(claimEventId(eventId, 'lead-1')).toBe(claimEventId(eventId, 'lead-1'));
    expect(claimEventId(eventId, 'lead-1')).not.toBe(claimEventId(eventId, 'lead-2'));
  });
});
