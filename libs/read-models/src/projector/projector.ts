import type { EventStore, RecordedEvent } from '@crm/event-store';
import { EventEmitter } from 'node:events';
import { setImmediate as nextTurn, setTimeout as wait } from 'node:timers/promises';
import type { Projection } from '../projections/projection';
import { newLeaseOwner } from '../lease-owner';
import { CommitTooLargeError, LeaseLostError, ReadStore } from '../read-store.port';
import { projectBatch } from './document-batch';

export interface ProjectorOptions {
  /** Events applied per transaction at most. */
  batchSize?: number;
  /** While catching up, how long a batch waits for more events before it is applied short. */
  batchWaitMs?: number;
  leaseTtlMs?: number;
  /** First and longest wait before resubscribing after a failure. */
  backoffMs?: { initial: number; max: number };
  onError?: (error: unknown) => void;
  /** Told of what the projector did on its own that an operator should know (a read store reset for another event log). */
  onNotice?: (message: string) => void;
}

export type ProjectionStatus = 'starting' | 'standby' | 'catching-up' | 'live' | 'rebuilding' | 'failed' | 'stopped';

export interface ProjectionReport {
  name: string;
  /** Checkpoint of the version queries read: the position of the last event applied (-1: none). */
  position: string;
  status: ProjectionStatus;
  version: number;
  rebuild?: { version: number; position: string };
  lastError?: string;
  /** Events this projector has applied to the read model since it started (metrics). */
  eventsApplied: number;
}

interface LiveProjection {
  projection: Projection;
  version: number;
  checkpoint: bigint;
  rebuild?: { version: number; checkpoint: bigint };
  eventsApplied: number;
}

const IDLE_FLUSH = Symbol('idle');
const BATCH_TIME_UP = Symbol('batch time up');

/**
 * Turns the event log into read models, exactly once in effect: it follows all events from the
 * stored checkpoints in order, applies a batch at a time (awaited: backpressure), and commits
 * the documents and the new checkpoints in one transaction. A failure or a dropped
 * subscription resubscribes with backoff from the stored checkpoint. A lease in the read store
 * lets one projector at a time apply the read models; the others wait on standby.
 */
export class Projector {
  readonly owner = newLeaseOwner();
  private readonly live = new Map<string, LiveProjection>();
  private readonly progress = new EventEmitter();
  private status: ProjectionStatus = 'starting';
  private lastError?: string;
  private running = false;
  private loop?: Promise<void>;
  private closeSubscription?: () => Promise<void>;
  private leaseTimer?: NodeJS.Timeout;
  /** Serialises batches of the main loop with the final step of a rebuild. */
  private lock: Promise<void> = Promise.resolve();
  private readonly batchSize: number;
  private readonly batchWaitMs: number;
  private readonly leaseTtlMs: number;
  private readonly backoff: { initial: number; max: number };

  constructor(
    private readonly events: EventStore,
    private readonly store: ReadStore,
    private readonly projections: Projection[],
    private readonly options: ProjectorOptions = {},
  ) {
    // Large enough for fast catch-up, small enough that a commit holds the embedded file's write lock for only tens of ms.
    this.batchSize = options.batchSize ?? 2500;
    // Long enough to fill a batch from a remote store's stream, short enough not to be seen.
    this.batchWaitMs = options.batchWaitMs ?? 50;
    this.leaseTtlMs = options.leaseTtlMs ?? 15_000;
    this.backoff = options.backoffMs ?? { initial: 100, max: 5_000 };
    this.progress.setMaxListeners(0);
  }

  /** Starts following the log in the background (or waiting on standby for the lease). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.leaseTimer);
    await this.closeSubscription?.();
    await this.loop;
    await this.store.releaseLease(this.owner).catch(() => undefined);
    this.status = 'stopped';
    this.progress.emit('progress');
  }

  /** The position every live read model has reached (-1 before the first event). */
  position(): bigint {
    let lowest: bigint | undefined;
    for (const { checkpoint } of this.live.values()) if (lowest === undefined || checkpoint < lowest) lowest = checkpoint;
    return lowest ?? -1n;
  }

  /** The version of a read model that queries should read. */
  versionOf(readModel: string): number | undefined {
    return this.live.get(readModel)?.version;
  }

  /** Resolves true once every read model has applied `position`, false after `timeoutMs`. */
  waitFor(position: bigint, timeoutMs: number): Promise<boolean> {
    if (this.position() >= position) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (reached: boolean) => {
        clearTimeout(timer);
        this.progress.off('progress', check);
        resolve(reached);
      };
      const check = () => {
        if (this.position() >= position) done(true);
        else if (!this.running) done(false);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.progress.on('progress', check);
    });
  }

  reports(): ProjectionReport[] {
    return this.projections.map(({ readModel }) => {
      const live = this.live.get(readModel);
      return {
        name: readModel,
        position: String(live?.checkpoint ?? -1n),
        status: live?.rebuild ? 'rebuilding' : this.status,
        version: live?.version ?? 1,
        ...(live?.rebuild && { rebuild: { version: live.rebuild.version, position: String(live.rebuild.checkpoint) } }),
        ...(this.lastError && this.status !== 'live' && { lastError: this.lastError }),
        eventsApplied: live?.eventsApplied ?? 0,
      };
    });
  }

  /** Why a rebuild of this read model cannot start now, or undefined when it can. */
  rebuildRefusal(readModel: string): string | undefined {
    const live = this.live.get(readModel);
    if (!live) return `there is no read model ${readModel}`;
    if (live.rebuild) return 'it is being rebuilt already';
    if (this.status !== 'live' && this.status !== 'catching-up') return `the projector is ${this.status}`;
    return undefined;
  }

  /**
   * Rebuilds a read model from the first event into a new version while the current one keeps
   * answering, then swaps them once the new one has caught up, and drops the old one.
   * Resolves when the swap is done. Refused when this projector does not hold the lease.
   */
  async rebuild(readModel: string): Promise<void> {
    const refusal = this.rebuildRefusal(readModel);
    if (refusal) throw new Error(`Read model ${readModel} cannot be rebuilt: ${refusal}`);
    const live = this.live.get(readModel)!;
    const { projection } = live;
    const version = live.version + 1;
    for (const spec of projection.collections) {
      await this.store.dropCollection(spec.name, version);
      await this.store.ensureCollection(spec, version);
    }
    await this.store.deleteCheckpoint(readModel, version); // of an earlier rebuild to this version that did not finish
    live.rebuild = { version, checkpoint: -1n };
    try {
      // Catch up without holding the main loop back, then close the gap under the lock.
      while (live.checkpoint - live.rebuild.checkpoint > BigInt(this.batchSize)) {
        if (!(await this.rebuildStep(live, live.checkpoint))) break;
      }
      await this.exclusive(async () => {
        while (live.rebuild!.checkpoint < live.checkpoint && (await this.rebuildStep(live, live.checkpoint)));
        await this.store.commit(this.owner, [], [{ readModel, version, position: live.checkpoint }]);
        await this.store.activate(readModel, version);
        const old = live.version;
        live.version = version;
        live.rebuild = undefined;
        for (const spec of projection.collections) await this.store.dropCollection(spec.name, old);
        await this.store.deleteCheckpoint(readModel, old);
      });
    } finally {
      live.rebuild = undefined;
    }
  }

  /** Applies the next page of the log (up to `until`) to the rebuilding version; false when nothing was left. */
  private async rebuildStep(live: LiveProjection, until: bigint): Promise<boolean> {
    const rebuild = live.rebuild!;
    const page = (await this.events.readAll({ after: rebuild.checkpoint, maxCount: this.batchSize })).filter((e) => e.position <= until);
    if (page.length === 0) return false;
    await this.inBoundedCommits(page, async (events) => {
      const writes = await projectBatch(this.store, [{ projection: live.projection, version: rebuild.version, after: rebuild.checkpoint }], events);
      const position = events[events.length - 1].position;
      await this.store.commit(this.owner, writes, [{ readModel: live.projection.readModel, version: rebuild.version, position }]);
      rebuild.checkpoint = position;
    });
    await nextTurn(); // as in follow(): let requests in between pages
    return true;
  }

  /**
   * Applies events with `apply` (project and commit), all at once when the commit is within the
   * read store's bound, else in halves (each projected afresh from where the last one ended).
   */
  private async inBoundedCommits(events: RecordedEvent[], apply: (events: RecordedEvent[]) => Promise<void>): Promise<void> {
    try {
      await apply(events);
    } catch (error) {
      if (!(error instanceof CommitTooLargeError) || events.length === 1) throw error;
      const half = Math.ceil(events.length / 2);
      await this.inBoundedCommits(events.slice(0, half), apply);
      await this.inBoundedCommits(events.slice(half), apply);
    }
  }

  private async run(): Promise<void> {
    let delay = this.backoff.initial;
    while (this.running) {
      try {
        if (!(await this.holdLease())) {
          this.status = 'standby';
          await sleep(this.leaseTtlMs / 3);
          continue;
        }
        await this.loadCheckpoints();
        await this.follow(() => {
          delay = this.backoff.initial;
        });
      } catch (error) {
        if (!this.running) break;
        this.status = error instanceof LeaseLostError ? 'standby' : 'failed';
        this.lastError = error instanceof Error ? error.message : String(error);
        this.options.onError?.(error);
        await sleep(delay);
        delay = Math.min(delay * 2, this.backoff.max);
      }
    }
  }

  private async holdLease(): Promise<boolean> {
    if (!(await this.store.acquireLease(this.owner, this.leaseTtlMs))) return false;
    clearTimeout(this.leaseTimer);
    const renew = () => {
      this.leaseTimer = setTimeout(async () => {
        if (!this.running) return;
        const held = await this.store.acquireLease(this.owner, this.leaseTtlMs).catch(() => false);
        if (held) renew();
        else await this.closeSubscription?.(); // another projector took over: stop applying
      }, this.leaseTtlMs / 3);
      this.leaseTimer.unref();
    };
    renew();
    return true;
  }

  /** Reads each read model's active version and checkpoint from the store (the source of truth after any failure). */
  private async loadCheckpoints(): Promise<void> {
    await this.bindToLog();
    for (const projection of this.projections) {
      const state = await this.store.readModelState(projection.readModel);
      for (const spec of projection.collections) await this.store.ensureCollection(spec, state.activeVersion);
      // Updated in place: a rebuild under way holds on to this very entry.
      const checkpoint = state.checkpoints[state.activeVersion] ?? -1n;
      const existing = this.live.get(projection.readModel);
      if (existing) Object.assign(existing, { version: state.activeVersion, checkpoint });
      else this.live.set(projection.readModel, { projection, version: state.activeVersion, checkpoint, eventsApplied: 0 });
    }
    this.progress.emit('progress');
  }

  /**
   * Makes sure the read store's checkpoints are positions of this event log. A read store
   * projected from another log (another store, a wiped server: positions there mean other
   * events) forgets all it projected, and every read model is projected again from this log's
   * first event: read models are derived data, and the old ones can only be wrong for this log.
   * A read store from before logs had identities is taken as this log's, unless a checkpoint of
   * it lies beyond this log's last event.
   */
  private async bindToLog(): Promise<void> {
    const identity = await this.events.identity();
    const bound = await this.store.logIdentity();
    if (bound === identity) return;
    const stale = bound !== undefined ? `it was projected from another event log (${bound}, this one is ${identity})` : await this.checkpointBeyondHead();
    if (stale) {
      this.options.onNotice?.(`The read store is reset and every read model projected again from the first event: ${stale}`);
      await this.store.forgetProjected(this.owner);
    }
    await this.store.bindToLog(identity);
  }

  /** Why a read store bound to no log cannot be this log's, or undefined when it may be. */
  private async checkpointBeyondHead(): Promise<string | undefined> {
    const head = await this.events.headPosition();
    for (const { readModel } of this.projections) {
      const { checkpoints } = await this.store.readModelState(readModel);
      const beyond = Object.values(checkpoints).find((position) => position > head);
      if (beyond !== undefined) return `its checkpoint ${beyond} of ${readModel} lies beyond the last event of this log (${head})`;
    }
    return undefined;
  }

  /** Follows the log from the lowest checkpoint, one awaited batch at a time. */
  private async follow(onProgress: () => void): Promise<void> {
    const subscription = this.events.subscribeToAll({ after: this.position() });
    this.closeSubscription = () => subscription.close();
    const iterator = subscription[Symbol.asyncIterator]();
    this.status = 'catching-up';
    try {
      let pending = iterator.next();
      while (this.running) {
        let first = await Promise.race([pending, nextTurn(IDLE_FLUSH)]);
        if (first === IDLE_FLUSH) {
          // Nothing is waiting: when the store says the subscription caught up, everything is applied.
          if (subscription.caughtUp) this.applying('live');
          first = await pending;
        }
        if (first.done) break;
        const batch: RecordedEvent[] = [first.value];
        pending = iterator.next();
        // A batch ends when it is full, or once caught up when nothing more is waiting (a lone new
        // event is applied at once), or while catching up when it has waited batchWaitMs for more:
        // a remote store's stream hands events over a socket read at a time, and a pause between
        // two reads is not the end of the backlog.
        const timeUp = new AbortController();
        const batchTime: Promise<typeof BATCH_TIME_UP> = wait(this.batchWaitMs, BATCH_TIME_UP, { signal: timeUp.signal, ref: false }).catch(() => BATCH_TIME_UP as typeof BATCH_TIME_UP);
        try {
          while (batch.length < this.batchSize) {
            const next = await Promise.race([pending, subscription.caughtUp ? nextTurn(IDLE_FLUSH) : batchTime]);
            if (next === IDLE_FLUSH || next === BATCH_TIME_UP || next.done) break;
            batch.push(next.value);
            pending = iterator.next();
          }
        } finally {
          timeUp.abort();
        }
        await this.exclusive(() => this.applyBatch(batch, () => subscription.caughtUp));
        onProgress();
        // On the embedded store every read and commit is synchronous: without a turn of the event
        // loop here, a catch-up would run start to end in microtasks, answering no HTTP request
        // meanwhile.
        await nextTurn();
      }
    } finally {
      this.closeSubscription = undefined;
      await subscription.close();
    }
  }

  /** Applies a batch to every live read model; `caughtUp` tells whether that was the last of what the store held. */
  private async applyBatch(batch: RecordedEvent[], caughtUp: () => boolean): Promise<void> {
    const lives = [...this.live.values()];
    await this.inBoundedCommits(batch, async (events) => {
      const targets = lives.map((live) => ({ projection: live.projection, version: live.version, after: live.checkpoint }));
      const writes = await projectBatch(this.store, targets, events);
      const position = events[events.length - 1].position;
      await this.store.commit(
        this.owner,
        writes,
        lives.map((live) => ({ readModel: live.projection.readModel, version: live.version, position })),
      );
      for (const live of lives) {
        live.eventsApplied += events.filter((event) => event.position > live.checkpoint).length;
        live.checkpoint = position;
      }
    });
    this.applying(caughtUp() ? 'live' : 'catching-up');
  }

  /** Status after a batch applied, or after finding nothing left to apply: any earlier error is over. */
  private applying(status: 'live' | 'catching-up'): void {
    this.status = status;
    this.lastError = undefined;
    this.progress.emit('progress');
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.lock.then(work);
    this.lock = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

function sleep(ms: number): Promise<void> {
  return wait(ms, undefined, { ref: false });
}
