import type { EventStore, RecordedEvent } from '@crm/event-store';
import { EventEmitter } from 'node:events';
import { setImmediate as nextTurn, setTimeout as wait } from 'node:timers/promises';
import { untilSettled } from './until-settled';

/** The statuses every runner has; a kind adds its own (the projector's `standby` without the lease). */
export const FOLLOWER_STATUSES = ['starting', 'catching-up', 'live', 'failed', 'stopped'] as const;
export type FollowerStatus = (typeof FOLLOWER_STATUSES)[number];

/** The event a processor could not handle, as GET /projections and GET /processes/reactors show it (API.md: `error`). */
export interface ProcessorError {
  position: string;
  eventType: string;
  message: string;
}

/** What every runner tells of each of its processors: a row of GET /projections or of GET /processes/reactors. */
export interface ProcessorReport<Status extends string> {
  name: string;
  version: number;
  /** Its checkpoint: the position of the last event it has handled (-1: none). */
  position: string;
  status: Status;
  /** While it is held at an event it cannot handle. */
  error?: ProcessorError;
  lastError?: string;
}

export const CAUGHT_UP = Symbol('caught up');
export const ENDED = Symbol('ended');

/** A batch of the log in order; `caughtUp` tells (when asked, after it is applied) whether it was the last the store held. */
export interface LogBatch {
  events: RecordedEvent[];
  /** The position the log was read to: the last event's, or beyond it (a read of some event types only passed over others). */
  readTo: bigint;
  caughtUp: () => boolean;
}

/** How a runner reads the log: the next batch, word that nothing more is there for now, or the end (closed, or the store's stream ended). */
export interface LogSource {
  next(): Promise<LogBatch | typeof CAUGHT_UP | typeof ENDED>;
  /** Ends the reading: a `next` waiting resolves ENDED. */
  close(): Promise<void>;
  /** Reads now rather than after the pause or the subscription's next look (a source that waits between reads). */
  wake?(): void;
}

const IDLE_FLUSH = Symbol('idle');
const BATCH_TIME_UP = Symbol('batch time up');
const READ_ON = Symbol('read on');
const STILL_WAITING = Symbol('still waiting');

/**
 * The log followed by a catch-up subscription (the projector's way: it runs on a thread or
 * process of its own, and a subscription hands it each append at once). A batch ends when it is
 * full, or once caught up when nothing more is waiting (a lone new event is applied at once), or
 * while catching up when it has waited `batchWaitMs` for more: a remote store's stream hands
 * events over a socket read at a time, and a pause between two reads is not the end of the backlog.
 *
 * With `types`, the subscription passes the other events over, and each batch is read to where the
 * subscription has read the log (its `readTo`, past its last event). Once caught up, when the log
 * moves on only in events of other types, a batch of no events tells how far: the runner's
 * checkpoints reach the log's last position (what `minPosition` waits for) though no event came.
 */
export function subscribedLog(
  events: EventStore,
  after: bigint,
  sizes: { batchSize: number; catchUpBatchSize: number; batchWaitMs: number; types?: readonly string[] },
): LogSource {
  const subscription = events.subscribeToAll({ after, ...(sizes.types && { types: sizes.types }) });
  const iterator = subscription[Symbol.asyncIterator]();
  let pending = iterator.next();
  let toldCaughtUp = false;
  /** The position the last batch was read to. */
  let told = after;
  const readOn = (): LogBatch | undefined => {
    if (subscription.readTo <= told) return undefined;
    told = subscription.readTo;
    return { events: [], readTo: told, caughtUp: () => subscription.caughtUp };
  };
  return {
    close: () => subscription.close(),
    wake: () => subscription.readNow?.(),
    async next() {
      let first: IteratorResult<RecordedEvent> | typeof IDLE_FLUSH | typeof READ_ON | typeof STILL_WAITING;
      for (;;) {
        first = toldCaughtUp
          ? await Promise.race([pending, subscription.readBeyond(told).then((): typeof READ_ON => READ_ON)])
          : await Promise.race([pending, nextTurn(IDLE_FLUSH)]);
        if (first === READ_ON) {
          const passedOver = readOn();
          if (passedOver) return passedOver;
          await nextTurn(); // (only for an adapter whose readBeyond resolves early, which this project's do not: not a loop of microtasks)
          continue;
        }
        if (first === IDLE_FLUSH) {
          // Nothing is waiting: when the store says the subscription caught up, everything is applied.
          if (subscription.caughtUp) {
            const passedOver = readOn();
            if (passedOver) return passedOver;
            toldCaughtUp = true;
            return CAUGHT_UP;
          }
          // Still catching up: the next event, or a look again whether the store says caught up (a tail of other types brings no event).
          first = await Promise.race([pending, wait(sizes.batchWaitMs, STILL_WAITING, { ref: false })]);
          if (first === STILL_WAITING) continue;
        }
        break;
      }
      toldCaughtUp = false;
      if (first.done) return ENDED;
      const batch: RecordedEvent[] = [first.value];
      const batchSize = subscription.caughtUp ? sizes.batchSize : sizes.catchUpBatchSize;
      pending = iterator.next();
      const timeUp = new AbortController();
      const batchTime: Promise<typeof BATCH_TIME_UP> = wait(sizes.batchWaitMs, BATCH_TIME_UP, { signal: timeUp.signal, ref: false }).catch(() => BATCH_TIME_UP as typeof BATCH_TIME_UP);
      try {
        while (batch.length < batchSize) {
          const next = await Promise.race([pending, subscription.caughtUp ? nextTurn(IDLE_FLUSH) : batchTime]);
          if (next === IDLE_FLUSH || next === BATCH_TIME_UP || next.done) break;
          batch.push(next.value);
          pending = iterator.next();
        }
      } finally {
        timeUp.abort();
      }
      // The subscription's readTo counts no event of `pending` (the latest next()): every event up to it is in this batch or an earlier one.
      const last = batch[batch.length - 1].position;
      told = subscription.readTo > last ? subscription.readTo : last;
      return { events: batch, readTo: told, caughtUp: () => subscription.caughtUp };
    },
  };
}

/**
 * The log read by pages, and once caught up every `pollMs` (the reactors' way: they run on the
 * request thread, where a subscription woken by every append would take a read of its own per
 * capture; a poll reads what came in one page). `read` is the one read of the log: a page of
 * at most `maxCount` events, and the position it read the log to (past its last event when it
 * passed over events it does not return).
 */
export function polledLog(
  read: (after: bigint, maxCount: number) => Promise<{ events: RecordedEvent[]; readTo: bigint }>,
  after: bigint,
  sizes: { batchSize: number; pollMs: number },
): LogSource {
  let position = after;
  let closed = false;
  let waitBeforeRead = false;
  let pause: AbortController | undefined;
  return {
    async close() {
      closed = true;
      pause?.abort();
    },
    wake: () => pause?.abort(),
    async next() {
      if (waitBeforeRead && !closed) {
        pause = new AbortController();
        await wait(sizes.pollMs, undefined, { signal: pause.signal, ref: false }).catch(() => undefined);
      }
      if (closed) return ENDED;
      const { events: page, readTo } = await read(position, sizes.batchSize);
      if (closed) return ENDED;
      // A full page: the next is read at once (after the runner's turn of the event loop).
      waitBeforeRead = page.length < sizes.batchSize;
      if (readTo <= position) return CAUGHT_UP;
      position = readTo;
      return { events: page, readTo, caughtUp: () => page.length < sizes.batchSize };
    },
  };
}

/**
 * What every processor runner does to follow the log, whatever its processors are: start and
 * stop, the run loop that follows the log batch by batch and, when the store fails, follows it
 * again from the checkpoints after a backoff (doubling, reset by a batch applied), the runner's
 * status and last error, a progress signal and the waits on it (started, a position reached),
 * and the position every processor it waits for has reached. A kind says how it gets ready
 * (`prepare`: the projector takes its lease and loads its checkpoints), how it reads the log
 * (`openLog`: a subscription or a poll), and how it applies a batch to its processors
 * (`applyBatch`: the projector commits documents and checkpoints in one transaction; the
 * reactor runner runs idempotent steps, parking those that keep failing).
 */
export abstract class LogFollower<KindStatus extends string = never> {
  protected status: FollowerStatus | KindStatus = 'starting';
  protected lastError?: string;
  protected running = false;
  /** The position this runner has applied the log to (its kind moves it as it applies a batch). */
  protected followed = -1n;
  private readonly progress = new EventEmitter();
  private loop?: Promise<void>;
  private source?: LogSource;
  private pauseCut?: AbortController;

  protected constructor(
    private readonly backoff: { initial: number; max: number },
    protected readonly onError?: (error: unknown) => void,
  ) {
    this.progress.setMaxListeners(0);
  }

  /** Gets ready to follow the log (`followed` is where it reads from); false: not now (tried again at the next turn of the run loop). */
  protected abstract prepare(): Promise<boolean>;
  /** How this kind reads the log from `after`. */
  protected abstract openLog(after: bigint): LogSource;
  /** Applies a batch to the processors and moves `followed` to the batch's `readTo`. */
  protected abstract applyBatch(batch: LogBatch): Promise<void>;
  /** The checkpoints of the processors a wait for a position waits for. */
  protected abstract checkpoints(): Iterable<bigint>;

  /** Told when the log reading ended without a failure: what the batches left unwritten is written (a failure is thrown from here). */
  protected async drained(): Promise<void> {}
  /** Told once the log reading has ended, however (before `prepare` is asked again). */
  protected async followEnded(): Promise<void> {}
  /** Told at stop before the log reading is closed. */
  protected async beforeStopping(): Promise<void> {}
  /** Told after the run loop has ended at stop. */
  protected async stopped(): Promise<void> {}
  /** The runner's status after a failure of the store. */
  protected statusAfter(_error: unknown): FollowerStatus | KindStatus {
    return 'failed';
  }

  /** Starts following the log in the background. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the batch under way (a pause is cut short). */
  async stop(): Promise<void> {
    this.running = false;
    this.pauseCut?.abort();
    await this.beforeStopping();
    await this.closeLog();
    await this.loop;
    await this.stopped();
    this.setStatus('stopped');
  }

  /** The position every processor waited for has reached (-1 before the first event). */
  position(): bigint {
    let lowest: bigint | undefined;
    for (const checkpoint of this.checkpoints()) if (lowest === undefined || checkpoint < lowest) lowest = checkpoint;
    return lowest ?? this.followed;
  }

  /**
   * Resolves once the runner has left `starting` (it follows the log, waits on standby, or has
   * failed and tries again), or after `timeoutMs`: awaited at boot, so that the first requests find it at work.
   */
  whenStarted(timeoutMs: number): Promise<void> {
    return this.until(() => (this.status !== 'starting' || !this.running ? true : undefined), timeoutMs, true).then(() => undefined);
  }

  /** Resolves true once every processor waited for has handled `position`, false after `timeoutMs` or at stop. */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean> {
    return this.until(() => (this.position() >= position ? true : this.running ? undefined : false), timeoutMs, false);
  }

  /** Reads the log now rather than at the next poll, or at its subscription's next look for appends of another connection. */
  wake(): void {
    this.source?.wake?.();
  }

  /** Resolves with what `settled` answers once it answers anything but undefined (asked now and at every progress), or `onTimeout`. */
  protected until<T>(settled: () => T | undefined, timeoutMs: number, onTimeout: T): Promise<T> {
    return untilSettled(this.progress, 'progress', settled, timeoutMs, onTimeout);
  }

  /** Tells the waits that something moved (a checkpoint, a status, a failure). */
  protected told(): void {
    this.progress.emit('progress');
  }

  protected setStatus(status: FollowerStatus | KindStatus): void {
    this.status = status;
    this.told();
  }

  /** Status after a batch applied, or after finding nothing left to apply: any earlier error is over. */
  protected applying(status: 'live' | 'catching-up'): void {
    this.lastError = undefined;
    this.setStatus(status);
  }

  /** Ends the log reading under way (the lease was lost, a commit behind failed, or stop). */
  protected async closeLog(): Promise<void> {
    await this.source?.close();
  }

  /** A pause that stop() cuts short. */
  protected pause(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    this.pauseCut = new AbortController();
    return wait(ms, undefined, { signal: this.pauseCut.signal, ref: false }).catch(() => undefined);
  }

  /** The wait before the `failures`-th attempt in a row (the first: `initial`, doubling up to `max`). */
  protected backoffAfter(failures: number): number {
    return Math.min(this.backoff.initial * 2 ** Math.max(0, failures - 1), this.backoff.max);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        if (await this.prepare()) await this.follow(() => (failures = 0));
      } catch (error) {
        if (!this.running) break;
        failures++;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.setStatus(this.statusAfter(error));
        this.onError?.(error);
        await this.pause(this.backoffAfter(failures));
      }
    }
  }

  /** Follows the log from `followed`, one awaited batch at a time. */
  private async follow(onProgress: () => void): Promise<void> {
    let source: LogSource | undefined;
    try {
      source = this.source = this.openLog(this.followed);
      this.setStatus('catching-up');
      while (this.running) {
        const read = await source.next();
        if (read === ENDED) break;
        if (read === CAUGHT_UP) {
          this.applying('live');
          continue;
        }
        await this.applyBatch(read);
        onProgress();
        // On the embedded store every read and commit is synchronous: without a turn of the event
        // loop here, a catch-up would run start to end in microtasks, answering no HTTP request meanwhile.
        await nextTurn();
      }
      await this.drained();
    } finally {
      if (this.source === source) this.source = undefined;
      await source?.close();
      await this.followEnded();
    }
  }
}
