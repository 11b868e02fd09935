import type { AllSubscription, AppendResult, EventStore, EventToAppend, ExpectedRevision, ReadAllOptions, ReadStreamOptions, RecordedEvent, SubscribeToAllOptions } from './event-store.port';

/**
 * An event store that passes every call to the one it wraps, for a wrapper (hash chains,
 * personal-data protection) to override only what it changes. `appendAtomically` is not passed
 * through: a wrapper that changes appends must change atomic ones the same way, so each sets it.
 */
export abstract class EventStoreDecorator implements EventStore {
  constructor(protected readonly inner: EventStore) {}

  append(streamId: string, events: EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    return this.inner.append(streamId, events, expectedRevision);
  }

  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.inner.readStream(streamId, options);
  }

  readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.inner.readAll(options);
  }

  subscribeToAll(options?: SubscribeToAllOptions): AllSubscription {
    return this.inner.subscribeToAll(options);
  }

  countEventsAfter(after: bigint, cap: number): Promise<number> {
    return this.inner.countEventsAfter(after, cap);
  }

  headPosition(): Promise<bigint> {
    return this.inner.headPosition();
  }

  identity(): Promise<string> {
    return this.inner.identity();
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
