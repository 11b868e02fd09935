import { randomUUID } from 'node:crypto';
import { deterministicUuid } from './event-id';
import { EventIdConflictError, EventStore, EventToAppend, RecordedEvent, WrongExpectedRevisionError } from './event-store.port';

/**
 * The behaviour every EventStore adapter must have. Each adapter's spec calls this with its own
 * factory. Streams get random names and nothing compares the whole log or the head, so the suite
 * also runs against a shared server that other writers use: reads of $all stop at a position
 * the test wrote itself.
 */
export function describeEventStoreConformance(name: string, makeStore: () => EventStore | Promise<EventStore>): void {
  describe(`EventStore conformance: ${name}`, () => {
    let store: EventStore;
    beforeAll(async () => {
      store = await makeStore();
    });
    afterAll(async () => {
      await store.close();
    });

    const stream = () => `conformance-${randomUUID()}`;
    const event = (type = 'SomethingHappened', data: Record<string, unknown> = {}, id: string = randomUUID()): EventToAppend => ({
      id,
      type,
      data,
      metadata: { actorId: 'tester', occurredAt: '2026-01-01T00:00:00.000Z', correlationId: randomUUID(), causationId: randomUUID() },
    });
    /** A name-based id, as the command executor derives from an Idempotency-Key. */
    const keyedId = () => deterministicUuid('conformance-key', randomUUID(), '0');
    /** The events in (after, through], page by page: bounded by a position this test wrote. */
    async function readAllThrough(after: bigint, through: bigint, pageSize = 2): Promise<RecordedEvent[]> {
      const seen: RecordedEvent[] = [];
      for (let cursor = after; cursor < through; ) {
        const page = await store.readAll({ after: cursor, maxCount: pageSize });
        if (page.length === 0) throw new Error(`$all ended at ${cursor} before ${through}`);
        expect(page.length).toBeLessThanOrEqual(pageSize);
        for (const e of page) expect(e.position > cursor).toBe(true);
        seen.push(...page.filter((e) => e.position <= through));
        cursor = page[page.length - 1].position;
      }
      return seen;
    }
    async function collect(iterable: AsyncIterable<RecordedEvent>, count: number, predicate: (e: RecordedEvent) => boolean) {
      const seen: RecordedEvent[] = [];
      for await (const e of iterable) {
        if (predicate(e)) seen.push(e);
        if (seen.length === count) break;
      }
      return seen;
    }

    /** Resolves as `promise` does, or fails after `seconds` (a subscription that never yields would hang the test). */
    function withinSeconds<T>(seconds: number, promise: Promise<T>): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`nothing within ${seconds} s`)), seconds * 1000);
      });
      return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
    }

    it('appends to a new stream and reads back what it wrote, revision 0 first', async () => {
      const id = stream();
      const written = [event('A', { n: 1, nested: { s: 'x' } }), event('B', { n: 2 })];
      const result = await store.append(id, written, 'no_stream');
      expect(result.nextExpectedRevision).toBe(1);
      const read = await store.readStream(id);
      expect(read.map((e) => [e.id, e.type, e.revision, e.data])).toEqual([
        [written[0].id, 'A', 0, { n: 1, nested: { s: 'x' } }],
        [written[1].id, 'B', 1, { n: 2 }],
      ]);
      expect(read[0].metadata).toEqual(written[0].metadata);
      expect(read.every((e) => e.streamId === id)).toBe(true);
      expect(Number.isNaN(Date.parse(read[0].recordedAt))).toBe(false);
      expect(result.position).toBe(read[1].position);
    });

    it('gives strictly increasing global positions, within and across appends', async () => {
      const a = stream();
      const b = stream();
      await store.append(a, [event(), event()], 'no_stream');
      await store.append(b, [event()], 'no_stream');
      await store.append(a, [event()], 1);
      const [a0, a1, a2] = (await store.readStream(a)).map((e) => e.position);
      const [b0] = (await store.readStream(b)).map((e) => e.position);
      expect(a0 < a1).toBe(true);
      expect(a1 < b0).toBe(true);
      expect(b0 < a2).toBe(true);
    });

    it.each([
      ['no_stream on an existing stream', 'no_stream' as const, true],
      ['a stale revision', 0, true],
      ['a revision ahead of the stream', 5, true],
      ['stream_exists on an existing stream', 'stream_exists' as const, false],
      ['any on an existing stream', 'any' as const, false],
      ['the current revision', 1, false],
    ])('guards the expected revision: %s', async (_label, expected, refused) => {
      const id = stream();
      await store.append(id, [event(), event()], 'no_stream');
      const attempt = store.append(id, [event()], expected);
      if (refused) {
        await expect(attempt).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        await expect(attempt).rejects.toMatchObject({ streamId: id, actual: 1 });
        expect(await store.readStream(id)).toHaveLength(2);
      } else {
        await expect(attempt).resolves.toMatchObject({ nextExpectedRevision: 2 });
      }
    });

    it('refuses stream_exists and a numeric revision on a stream that does not exist', async () => {
      const id = stream();
      await expect(store.append(id, [event()], 'stream_exists')).rejects.toMatchObject({ actual: -1 });
      await expect(store.append(id, [event()], 0)).rejects.toBeInstanceOf(WrongExpectedRevisionError);
      expect(await store.readStream(id)).toEqual([]);
    });

    it('re-appending the same event ids returns the first result and writes nothing', async () => {
      const id = stream();
      const batch = [event(), event()];
      const first = await store.append(id, batch, 'no_stream');
      const again = await store.append(id, batch, 'no_stream');
      expect(again).toEqual(first);
      expect(await store.readStream(id)).toHaveLength(2);
      // Nothing of this stream after the first append, up to a marker written after the retry.
      const marker = await store.append(stream(), [event('Marker')], 'no_stream');
      const since = await readAllThrough(first.position, marker.position, 100);
      expect(since.filter((e) => e.streamId === id)).toEqual([]);
      expect(since[since.length - 1].type).toBe('Marker');
    });

    it('answers concurrent identical appends (same ids, same expected revision) with one result, written once', async () => {
      const id = stream();
      const batch = [event(), event()];
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => store.append(id, batch, 'no_stream')));
      expect(new Set(outcomes.map((o) => `${o.nextExpectedRevision}@${o.position}`)).size).toBe(1);
      expect((await store.readStream(id)).map((e) => e.id)).toEqual(batch.map((e) => e.id));
    });

    /*
     * Event ids across streams. SQLite keeps every event id unique in the whole log. EventStoreDB
     * checks ids within one stream only; its adapter makes name-based ids (deterministicUuid, as
     * from an Idempotency-Key) unique across streams by claiming each in a stream of its own, and
     * leaves random ids (v4, v7) to their randomness. So on both: an Idempotency-Key sent to
     * another record's route is refused (422 over HTTP), and the retry on its own record is not.
     */
    it('refuses a name-based event id already stored in another stream, and writes nothing there', async () => {
      const [a, b] = [stream(), stream()];
      const id = keyedId();
      const first = await store.append(a, [event('A', {}, id)], 'no_stream');
      await expect(store.append(b, [event('B', {}, id)], 'no_stream')).rejects.toBeInstanceOf(EventIdConflictError);
      await expect(store.append(b, [event('B'), event('B', {}, id)], 'no_stream')).rejects.toMatchObject({ streamId: b });
      expect(await store.readStream(b)).toEqual([]);
      // The id's own stream still takes the retry, and still answers it with the first result.
      await expect(store.append(a, [event('A', {}, id)], 'no_stream')).resolves.toEqual(first);
      expect(await store.readStream(a)).toHaveLength(1);
    });

    it('lets one of several concurrent appends of one name-based event id to different streams win', async () => {
      const id = keyedId();
      const streams = Array.from({ length: 6 }, () => stream());
      const outcomes = await Promise.allSettled(streams.map((s) => store.append(s, [event('E', {}, id)], 'no_stream')));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const refusals = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(refusals.every((o) => o.reason instanceof EventIdConflictError)).toBe(true);
      const written = await Promise.all(streams.map((s) => store.readStream(s)));
      expect(written.flat().map((e) => e.id)).toEqual([id]);
    });

    it('lets exactly one of several concurrent appends at the same revision win', async () => {
      const id = stream();
      await store.append(id, [event()], 'no_stream');
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => store.append(id, [event()], 0)));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const refusals = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(refusals.every((o) => o.reason instanceof WrongExpectedRevisionError)).toBe(true);
      expect(await store.readStream(id)).toHaveLength(2);
    });

    it('reads a stream forwards and backwards from a revision, with a max count', async () => {
      const id = stream();
      await store.append(id, Array.from({ length: 5 }, (_, n) => event('E', { n })), 'no_stream');
      const ns = (events: RecordedEvent[]) => events.map((e) => e.data.n);
      expect(ns(await store.readStream(id, { fromRevision: 2 }))).toEqual([2, 3, 4]);
      expect(ns(await store.readStream(id, { fromRevision: 1, maxCount: 2 }))).toEqual([1, 2]);
      expect(ns(await store.readStream(id, { direction: 'backwards', maxCount: 2 }))).toEqual([4, 3]);
      expect(ns(await store.readStream(id, { direction: 'backwards', fromRevision: 1 }))).toEqual([1, 0]);
    });

    it('reads an unknown stream as empty', async () => {
      expect(await store.readStream(stream())).toEqual([]);
    });

    it('reads the global log in pages strictly after a position', async () => {
      const id = stream();
      const before = await store.headPosition();
      const written = await store.append(id, Array.from({ length: 5 }, (_, n) => event('E', { n })), 'no_stream');
      const mine = (await readAllThrough(before, written.position)).filter((e) => e.streamId === id);
      expect(mine.map((e) => e.data.n)).toEqual([0, 1, 2, 3, 4]);
      expect(await store.headPosition()).toBeGreaterThanOrEqual(mine[4].position);
    });

    it('reads the global log filtered by event type: pages of those types only, others passed over and not counted', async () => {
      // Type names of this test alone: on a shared server no other writer appends them.
      const [wanted, alsoWanted, other] = ['Wanted', 'AlsoWanted', 'Other'].map((type) => `${type}-${randomUUID()}`);
      const id = stream();
      const before = await store.headPosition();
      const types = [wanted, other, other, alsoWanted, other, wanted, other, other, other, alsoWanted, wanted];
      await store.append(id, types.map((type, n) => event(type, { n })), 'no_stream');
      const expected = types.flatMap((type, n) => (type === other ? [] : [[type, n]]));

      const pages: RecordedEvent[][] = [];
      for (let after = before; ; ) {
        const page = await store.readAll({ after, maxCount: 2, types: [wanted, alsoWanted] });
        pages.push(page);
        if (page.length < 2) break;
        after = page[page.length - 1].position;
      }
      expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
      const read = pages.flat();
      expect(read.map((e) => [e.type, e.data.n])).toEqual(expected);
      expect(read.every((e) => e.streamId === id && e.position > before)).toBe(true);
      for (let n = 1; n < read.length; n++) expect(read[n].position > read[n - 1].position).toBe(true);
      // What a filtered page holds is what an unfiltered read holds of those types.
      expect(read).toEqual((await store.readStream(id)).filter((e) => e.type !== other));

      expect(await store.readAll({ after: before, maxCount: 10, types: [`Unwritten-${randomUUID()}`] })).toEqual([]);
      expect(await store.readAll({ after: before, maxCount: 10, types: [] })).toEqual([]);
    });

    it('counts the events after a position, stops at the cap, and counts what is appended later', async () => {
      const id = stream();
      const first = await store.append(id, [event()], 'no_stream');
      await store.append(id, [event(), event(), event()], 0);
      expect(await store.countEventsAfter(first.position, 2)).toBe(2);
      // At least: on a shared server other writers' events count too.
      const counted = await store.countEventsAfter(first.position, 1_000_000);
      expect(counted).toBeGreaterThanOrEqual(3);
      await store.append(id, [event()], 3);
      expect(await store.countEventsAfter(first.position, 1_000_000)).toBeGreaterThanOrEqual(counted + 1);
    });

    it('subscribes to all events from a position, catches up, then follows live appends', async () => {
      const id = stream();
      await store.append(id, [event('E', { n: 0 })], 'no_stream');
      const [first] = await store.readStream(id);
      await store.append(id, [event('E', { n: 1 }), event('E', { n: 2 })], 0);
      const subscription = store.subscribeToAll({ after: first.position });
      const received = collect(subscription, 3, (e) => e.streamId === id);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await store.append(id, [event('E', { n: 3 })], 2);
      const events = await received;
      await subscription.close();
      expect(events.map((e) => e.data.n)).toEqual([1, 2, 3]);
      expect(events.map((e) => e.revision)).toEqual([1, 2, 3]);
    });

    it('says a subscription caught up only once it has delivered what was stored, and stays so for new events', async () => {
      const id = stream();
      const before = await store.headPosition();
      await store.append(id, [event('E', { n: 0 }), event('E', { n: 1 }), event('E', { n: 2 })], 'no_stream');
      const subscription = store.subscribeToAll({ after: before });
      try {
        const iterator = subscription[Symbol.asyncIterator]();
        let next = await iterator.next();
        while (!next.done && next.value.streamId !== id) next = await iterator.next();
        // Two more of this test's events are stored after this one: not caught up yet.
        expect(next.done ? undefined : next.value.data.n).toBe(0);
        expect(subscription.caughtUp).toBe(false);
        for (let seen = 1; seen < 3; ) {
          next = await iterator.next();
          if (!next.done && next.value.streamId === id) seen++;
        }
        for (let waited = 0; !subscription.caughtUp && waited < 5_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(subscription.caughtUp).toBe(true);
        const live = iterator.next();
        await store.append(id, [event('E', { n: 3 })], 2);
        for (next = await live; !next.done && next.value.streamId !== id; ) next = await iterator.next();
        expect(next.done ? undefined : next.value.data.n).toBe(3);
        expect(subscription.caughtUp).toBe(true);
      } finally {
        await subscription.close();
      }
    });

    it('subscribes filtered by event type: yields those types only, reads to the position of the last event of other types, then sees later appends', async () => {
      // Type names of this test alone: on a shared server no other writer appends them.
      const [wanted, other] = ['Wanted', 'Other'].map((type) => `${type}-${randomUUID()}`);
      const id = stream();
      const before = await store.headPosition();
      const written = await store.append(id, [wanted, other, wanted, other, other].map((type, n) => event(type, { n })), 'no_stream');
      const stored = await store.readStream(id);
      const subscription = store.subscribeToAll({ after: before, types: [wanted] });
      try {
        expect(subscription.readTo).toBe(before);
        const iterator = subscription[Symbol.asyncIterator]();
        const first = await iterator.next();
        expect(first.done ? undefined : [first.value.type, first.value.data.n]).toEqual([wanted, 0]);
        // Not past the next event of its types before that one is handed out.
        expect(subscription.readTo < stored[2].position).toBe(true);
        const second = await iterator.next();
        expect(second.done ? undefined : [second.value.type, second.value.data.n]).toEqual([wanted, 2]);
        // Nor past the one the latest next() handed out: a reader counts it once it asks for the next (until then it may not have taken it in).
        expect(subscription.readTo < stored[2].position).toBe(true);
        // Waiting for a next event, it reads on past the two of the other type: to the last one's position.
        const later = iterator.next();
        await withinSeconds(5, subscription.readBeyond(written.position - 1n));
        expect(subscription.readTo >= written.position).toBe(true);
        for (let waited = 0; !subscription.caughtUp && waited < 5_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(subscription.caughtUp).toBe(true);

        const appended = await store.append(id, [event(other, { n: 5 }), event(wanted, { n: 6 })], written.nextExpectedRevision);
        const third = await withinSeconds(5, later);
        expect(third.done ? undefined : [third.value.type, third.value.data.n, third.value.position]).toEqual([wanted, 6, appended.position]);
      } finally {
        await subscription.close();
      }
    });

    it('has an identity, the same every time it is asked, that no read of the log shows', async () => {
      const before = await store.headPosition();
      const identity = await store.identity();
      expect(identity).toMatch(/^\S{8,}$/);
      expect(await store.identity()).toBe(identity);
      const after = await store.readAll({ after: before, maxCount: 1000 });
      expect(after.filter((e) => e.type.startsWith('$') || JSON.stringify(e.data).includes(identity))).toEqual([]);
    });

    it('ends a subscription when it is closed', async () => {
      const subscription = store.subscribeToAll({ after: await store.headPosition() });
      const iterating = (async () => {
        let count = 0;
        for await (const _ of subscription) count++;
        return count;
      })();
      await new Promise((resolve) => setTimeout(resolve, 20));
      await subscription.close();
      await expect(iterating).resolves.toBeGreaterThanOrEqual(0);
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
