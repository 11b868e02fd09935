import { DeadlineExceededError, EventStoreDBClient, NO_STREAM, WrongExpectedVersionError, type ResolvedEvent } from '@eventstore/db-client';
import { deterministicUuid, timeOrderedUuid } from '../event-id';
import { describeEventStoreConformance } from '../event-store.conformance';
import { EventIdConflictError, type EventToAppend } from '../event-store.port';
import { EventStoreDbEventStore } from './eventstoredb-event-store';
import { UNKNOWN_POSITION, claimStreamOf } from './esdb-support';

// The shared conformance suite runs against a live EventStoreDB when EVENTSTORE_URL is set, e.g.
// EVENTSTORE_URL='esdb://127.0.0.1:2113?tls=false' after `docker compose up -d eventstore` (CI does).
if (process.env.EVENTSTORE_URL) {
  describeEventStoreConformance('EventStoreDB', () => EventStoreDbEventStore.connect(process.env.EVENTSTORE_URL!));
}

describe('EventStoreDbEventStore.connect', () => {
  it('builds a client that throws on append failures even when the URL says throwOnAppendFailure=false', async () => {
    const store = EventStoreDbEventStore.connect('esdb://127.0.0.1:1?tls=false&throwOnAppendFailure=false');
    // The client connects lazily: nothing is dialled. Its setting is a protected getter.
    const client = (store as unknown as { client: { throwOnAppendFailure: boolean } }).client;
    expect(client.throwOnAppendFailure).toBe(true);
    await store.close();
  });

  it('refuses a URL the 6.x client cannot take, saying which schemes it takes', () => {
    expect(() => EventStoreDbEventStore.connect('kurrentdb://127.0.0.1:2113?tls=false')).toThrow(/EVENTSTORE_URL must start with esdb:\/\/ or esdb\+discover:\/\//);
  });
});

/*
 * The adapter's append path against a STAND-IN for the gRPC client: no EventStoreDB server can
 * run on this machine. The stand-in only answers appendToStream and readStream as scripted, so
 * these tests prove the adapter's own decisions (what it sends, how often, what it makes of the
 * answer), not the server's; the conformance suite above proves those against a real server.
 */
describe('EventStoreDbEventStore append (stand-in client)', () => {
  type Call = { stream: string; ids: string[]; expectedRevision: unknown };
  function standIn(answer: (call: Call, index: number) => unknown, streamEvents: Record<string, ResolvedEvent[]> = {}) {
    const calls: Call[] = [];
    const client = {
      appendToStream: async (stream: string, events: { id: string }[], options: { expectedRevision: unknown }) => {
        const call = { stream, ids: events.map((e) => e.id), expectedRevision: options.expectedRevision };
        calls.push(call);
        const outcome = answer(call, calls.length - 1);
        if (outcome instanceof Error) throw outcome;
        return outcome;
      },
      readStream: (stream: string) =>
        (async function* () {
          yield* streamEvents[stream] ?? [];
        })(),
      dispose: async () => undefined,
    };
    return { calls, store: new EventStoreDbEventStore(client as unknown as EventStoreDBClient) };
  }
  const meta = { actorId: 'a', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };
  const toAppend = (id: string): EventToAppend => ({ id, type: 'T', data: {}, metadata: meta });
  const success = (revision: bigint, position?: bigint) => ({
    success: true,
    nextExpectedRevision: revision,
    position: position === undefined ? undefined : { commit: position, prepare: position },
  });
  const recorded = (stream: string, revision: bigint, position: bigint, data: Record<string, unknown> = {}): ResolvedEvent =>
    ({
      event: {
        id: timeOrderedUuid(),
        streamId: stream,
        revision,
        type: 'T',
        data,
        metadata: meta,
        created: new Date(),
        position: { commit: position, prepare: position },
        isJson: true,
        contentType: 'application/json',
      },
    }) as unknown as ResolvedEvent;

  it('sends an append whose outcome is unknown again, identical, and returns what the server answers then', async () => {
    const { calls, store } = standIn((_, n) => (n === 0 ? new DeadlineExceededError() : success(0n, 42n)));
    const id = timeOrderedUuid();
    await expect(store.append('lead-1', [toAppend(id)], 'no_stream')).resolves.toEqual({ nextExpectedRevision: 0, position: 42n });
    expect(calls).toEqual([
      { stream: 'lead-1', ids: [id], expectedRevision: NO_STREAM },
      { stream: 'lead-1', ids: [id], expectedRevision: NO_STREAM },
    ]);
  });

  it('reads the position back when the server reports it as unknown (2^64-1)', async () => {
    const { store } = standIn(() => success(3n, UNKNOWN_POSITION), { 'lead-1': [recorded('lead-1', 3n, 777n)] });
    await expect(store.append('lead-1', [toAppend(timeOrderedUuid())], 2)).resolves.toEqual({ nextExpectedRevision: 3, position: 777n });
  });

  it('appends random ids in one round trip, and claims a name-based id in a stream of its own first', async () => {
    const random = standIn(() => success(0n, 1n));
    await random.store.append('lead-1', [toAppend(timeOrderedUuid())], 'no_stream');
    expect(random.calls.map((c) => c.stream)).toEqual(['lead-1']);

    const keyed = deterministicUuid('key', '0');
    const named = standIn(() => success(0n, 1n));
    await named.store.append('lead-1', [toAppend(keyed)], 'no_stream');
    expect(named.calls.map((c) => [c.stream, c.expectedRevision])).toEqual([
      [claimStreamOf(keyed), NO_STREAM],
      ['lead-1', NO_STREAM],
    ]);
  });

  it('refuses a name-based id claimed by another stream without sending the append, and goes on when the claim is its own', async () => {
    const keyed = deterministicUuid('key', '0');
    const claimedBy = (stream: string) => ({ [claimStreamOf(keyed)]: [recorded(claimStreamOf(keyed), 0n, 5n, { eventId: keyed, streamId: stream })] });
    const taken = (call: Call) =>
      call.stream === claimStreamOf(keyed) ? new WrongExpectedVersionError(undefined, { streamName: call.stream, expected: 'no_stream', current: 0n }) : success(0n, 9n);

    const other = standIn(taken, claimedBy('lead-other'));
    await expect(other.store.append('lead-1', [toAppend(keyed)], 'no_stream')).rejects.toBeInstanceOf(EventIdConflictError);
    expect(other.calls.map((c) => c.stream)).toEqual([claimStreamOf(keyed)]);

    const own = standIn(taken, claimedBy('lead-1'));
    await expect(own.store.append('lead-1', [toAppend(keyed)], 'no_stream')).resolves.toEqual({ nextExpectedRevision: 0, position: 9n });
  });
});

/*
 * A filtered readAll against a STAND-IN for the gRPC client's reads of $all (no server here):
 * client 6.2.1 reads $all unfiltered, so the adapter passes over the other types itself. This
 * proves its paging (what it asks for, where it goes on, when it stops); the conformance suite's
 * filtered case proves the same against a real server.
 */
describe('EventStoreDbEventStore readAll filtered by type (stand-in client)', () => {
  const meta = { actorId: 'a', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: 'c', causationId: 'c' };
  // $all: 1,200 events, one in a hundred of type Wanted, and system events between.
  const log = Array.from({ length: 1_200 }, (_, n) => {
    const position = BigInt(100 + n * 10);
    const type = n % 100 === 50 ? 'Wanted' : n % 7 === 0 ? '$statsCollected' : 'Other';
    return {
      event: { id: timeOrderedUuid(), streamId: type.startsWith('$') ? '$stats' : `lead-${n}`, revision: 0n, type, data: { n }, metadata: meta, created: new Date(), position: { commit: position, prepare: position }, isJson: true, contentType: 'application/json' },
    } as unknown as ResolvedEvent;
  });
  function standIn() {
    const asked: number[] = [];
    const client = {
      readAll: ({ fromPosition, maxCount }: { fromPosition: 'start' | { commit: bigint }; maxCount: number }) => {
        asked.push(maxCount);
        const from = fromPosition === 'start' ? 0 : log.findIndex((r) => r.event!.position!.commit >= fromPosition.commit);
        const page = log.slice(from < 0 ? log.length : from, (from < 0 ? log.length : from) + maxCount);
        return (async function* () {
          yield* page;
        })();
      },
      dispose: async () => undefined,
    };
    return { asked, store: new EventStoreDbEventStore(client as unknown as EventStoreDBClient) };
  }

  it('gives pages of the asked types only, reads on past the others in pages of at least 500, and stops at the end of $all', async () => {
    const { asked, store } = standIn();
    const first = await store.readAll({ maxCount: 5, types: ['Wanted'] });
    expect(first.map((e) => e.data.n)).toEqual([50, 150, 250, 350, 450]);
    expect(asked.every((size) => size >= 501)).toBe(true);
    const rest = await store.readAll({ after: first[4].position, maxCount: 10, types: ['Wanted'] });
    expect(rest.map((e) => e.data.n)).toEqual([550, 650, 750, 850, 950, 1_050, 1_150]);
    expect(await store.readAll({ after: rest[6].position, maxCount: 10, types: ['Wanted'] })).toEqual([]);
    expect(await store.readAll({ maxCount: 10, types: [] })).toEqual([]);
    // Unfiltered, as before: user events only, the page as large as asked (+1 for the inclusive start).
    asked.length = 0;
    expect((await store.readAll({ maxCount: 3 })).map((e) => e.data.n)).toEqual([1, 2, 3]);
    expect(asked).toEqual([4]);
  });
});
