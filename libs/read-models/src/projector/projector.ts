import type { EventStore, RecordedEvent } from '@crm/event-store';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Projection } from '../projections/projection';
import { typesOfAll } from '../projections/define-projection';
import { newLeaseOwner } from '../lease-owner';
import { CheckpointWrite, CommitTooLargeError, DocumentWrite, LeaseLostError, ReadStore } from '../read-store.port';
import { ProjectionFault, projectBatch } from './document-batch';
import { LogBatch, LogFollower, LogSource, ProcessorReport, subscribedLog } from './log-follower';

export interface ProjectorOptions {
  /** Events applied per transaction at most. */
  batchSize?: number;
  /** Events applied per transaction at most while catching up (the log holds more than a batch); absent: batchSize when that is given, else 10,000. */
  catchUpBatchSize?: number;
  /** While catching up, how long a batch waits for more events before it is applied short. */
  batchWaitMs?: number;
  leaseTtlMs?: number;
  /** First and longest wait before resubscribing after a failure. */
  backoffMs?: { initial: number; max: number };
  onError?: (error: unknown) => void;
  /** Told of what the projector did on its own that an operator should know (a read store reset for another event log, a rebuild for a new version). */
  onNotice?: (message: string) => void;
  /** Told when one read model could not apply an event (it is tried again, alone, and faulted after faultAfterFailures). */
  onFault?: (fault: ProjectionFault, faulted: boolean) => void;
  /**
   * Failed attempts in a row at one event after which a read model is `faulted`: it waits for
   * `retry` instead of being tried again with backoff. The others go on meanwhile either way.
   */
  faultAfterFailures?: number;
}

/** With the default backoff (0.1 s doubling to 5 s), about half a minute of attempts. */
export const DEFAULT_FAULT_AFTER_FAILURES = 12;

export type ProjectionStatus = 'starting' | 'standby' | 'catching-up' | 'live' | 'rebuilding' | 'failed' | 'faulted' | 'stopped';

/** `position`: the checkpoint of the version queries read; `error`: while `failed` or `faulted`, the event it could not apply. */
export interface ProjectionReport extends ProcessorReport<ProjectionStatus> {
  /** The version of the projection's code that filled the stored version queries read. */
  codeVersion: number;
  rebuild?: { version: number; position: string };
  /** Events this projector has applied to the read model since it started (metrics). */
  eventsApplied: number;
}

/** A stored version of a read model: its number, its checkpoint and the code version that fills it. */
interface StoredVersion {
  version: number;
  checkpoint: bigint;
  codeVersion: number;
}

/**
 * One read model as the runner follows it. `attached` ones are applied by the main loop, all
 * at one position; the others catch up alone (new, behind, or failed and tried again) and
 * attach once they reach it. Each has its own checkpoint and its own faults.
 */
interface LiveProjection {
  projection: Projection;
  /** The version of the projection's code (Projection.version). */
  codeVersion: number;
  /** The stored version queries read. */
  served: StoredVersion;
  /** A new stored version being filled from the first event while `served` answers. */
  rebuild?: StoredVersion;
  attached: boolean;
  /** The last event it could not apply, while it has not applied it since. */
  failure?: { fault: ProjectionFault; failures: number };
  /** Faulted: given up on until retry(). */
  faulted: boolean;
  /** The catch-up alone or the rebuild under way. */
  background?: Promise<void>;
  eventsApplied: number;
}

/** The code version of a stored version that must be rebuilt whatever the code's version (it passed over an event it could not take). */
const STALE_CODE_VERSION = 0;

/**
 * The projections' runner: a LogFollower (start/stop, the run loop with backoff, status and the
 * waits are the follower's, as for the reactors), of the kind that takes a lease and commits
 * documents and checkpoints in one transaction. It turns the event log into read models, exactly
 * once in effect. The main loop follows all
 * events (a catch-up subscription) from the attached read models' position, reads each batch
 * once and applies it to every attached read model, committing their documents and each one's
 * own checkpoint in one transaction. A read model whose handler throws is left out of that
 * commit (the others' writes commit), detached, and tried again alone with backoff; after
 * `faultAfterFailures` attempts it is `faulted` until `retry`. A read model that is new or
 * behind catches up alone, reading the log by pages, and attaches once it reaches the main
 * loop; one whose stored version was filled by another version of its code is rebuilt into a
 * new stored version while the old one serves, and swapped in. A store failure or a dropped
 * subscription resubscribes with backoff from the stored checkpoints. A lease in the read store
 * lets one projector at a time apply the read models; the others wait on standby.
 */
export class Projector extends LogFollower<'standby'> {
  readonly owner = newLeaseOwner();
  private readonly live = new Map<string, LiveProjection>();
  private leaseTimer?: NodeJS.Timeout;
  /** Serialises batches of the main loop with the final step of a catch-up alone or a rebuild. */
  private lock: Promise<void> = Promise.resolve();
  /** Whether this projector holds the lease and has loaded the checkpoints: only then does work alone start. */
  private holding = false;
  /**
   * The main loop's last commit, handed to a store that commits behind (commitBehind) and maybe
   * not written yet: the next batch is applied meanwhile, and committed only after it.
   */
  private committing?: Promise<void>;
  private readonly batchSize: number;
  private readonly catchUpBatchSize: number;
  private readonly batchWaitMs: number;
  private readonly leaseTtlMs: number;
  private readonly faultAfterFailures: number;
  /**
   * The event types the main loop reads: those of every read model it runs, attached or not (one
   * catching up alone attaches without a new subscription); undefined (every type) when one of
   * them does not say.
   */
  private readonly types?: readonly string[];

  constructor(
    private readonly events: EventStore,
    private readonly store: ReadStore,
    private readonly projections: Projection[],
    private readonly options: ProjectorOptions = {},
  ) {
    super(options.backoffMs ?? { initial: 100, max: 5_000 }, options.onError);
    // Large enough for fast catch-up, small enough that a commit holds the embedded file's write lock for only tens of ms.
    this.batchSize = options.batchSize ?? 2500;
    // While catching up, fewer and larger commits: each rewrites the documents a batch touches
    // (report buckets) once, however many of its events changed them. Far below the commit bound.
    this.catchUpBatchSize = options.catchUpBatchSize ?? options.batchSize ?? 10_000;
    // Long enough to fill a batch from a remote store's stream, short enough not to be seen.
    this.batchWaitMs = options.batchWaitMs ?? 50;
    this.leaseTtlMs = options.leaseTtlMs ?? 15_000;
    this.faultAfterFailures = options.faultAfterFailures ?? DEFAULT_FAULT_AFTER_FAILURES;
    this.types = typesOfAll(projections);
  }

  protected override async beforeStopping(): Promise<void> {
    this.holding = false;
    clearTimeout(this.leaseTimer);
  }

  protected override async stopped(): Promise<void> {
    await Promise.all([...this.live.values()].map((live) => live.background?.catch(() => undefined)));
    await this.store.releaseLease(this.owner).catch(() => undefined);
  }

  /** Every read model but the faulted ones: one waits for an operator, and queries of the others do not wait for it. */
  protected *checkpoints(): Iterable<bigint> {
    for (const live of this.live.values()) if (!live.faulted) yield live.served.checkpoint;
  }

  /** The version of a read model that queries should read. */
  versionOf(readModel: string): number | undefined {
    return this.live.get(readModel)?.served.version;
  }

  reports(): ProjectionReport[] {
    return this.projections.map(({ readModel, version }) => {
      const live = this.live.get(readModel);
      const failure = live?.failure;
      return {
        name: readModel,
        position: String(live?.served.checkpoint ?? -1n),
        status: live ? this.statusOf(live) : this.status,
        version: live?.served.version ?? 1,
        codeVersion: live?.served.codeVersion ?? version ?? 1,
        ...(live?.rebuild && { rebuild: { version: live.rebuild.version, position: String(live.rebuild.checkpoint) } }),
        ...(failure && { error: { position: String(failure.fault.position), eventType: failure.fault.eventType, message: failure.fault.reason } }),
        ...(failure ? { lastError: failure.fault.message } : this.lastError && this.status !== 'live' && { lastError: this.lastError }),
        eventsApplied: live?.eventsApplied ?? 0,
      };
    });
  }

  private statusOf(live: LiveProjection): ProjectionStatus {
    if (live.faulted) return 'faulted';
    if (live.failure) return 'failed';
    if (this.status !== 'live' && this.status !== 'catching-up') return this.status;
    if (live.rebuild) return 'rebuilding';
    return live.attached ? this.status : 'catching-up';
  }

  /** Why a rebuild of this read model cannot start now, or undefined when it can. */
  rebuildRefusal(readModel: string): string | undefined {
    const live = this.live.get(readModel);
    if (!live) return `there is no read model ${readModel}`;
    if (live.rebuild) return 'it is being rebuilt already';
    if (live.faulted || live.failure) return 'it is faulted: retry it (POST /projections/:name/retry)';
    if (live.background) return 'it is catching up';
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
    const done = this.inBackground(live, () => this.rebuildAlone(live));
    await done;
    if (live.failure) throw live.failure.fault;
  }

  /** Why a retry of this read model cannot start now, or undefined when it can. */
  retryRefusal(readModel: string): string | undefined {
    const live = this.live.get(readModel);
    if (!live) return `there is no read model ${readModel}`;
    if (!live.faulted) return `it is not faulted (it is ${this.statusOf(live)})`;
    if (this.status !== 'live' && this.status !== 'catching-up') return `the projector is ${this.status}`;
    return undefined;
  }

  /**
   * Tries a faulted read model again from its checkpoint: it catches up alone (or is rebuilt, if
   * its code version changed) and attaches again. Resolves once it has caught up, or once it
   * has failed again (then it is `failed` and tried again with backoff, as after any new fault).
   */
  async retry(readModel: string): Promise<void> {
    const refusal = this.retryRefusal(readModel);
    if (refusal) throw new Error(`Read model ${readModel} cannot be retried: ${refusal}`);
    const live = this.live.get(readModel)!;
    live.faulted = false;
    live.failure = undefined;
    await this.resume(live);
  }

  /** Starts what a read model needs that the main loop does not do: a rebuild for a new code version, or a catch-up alone. */
  private resume(live: LiveProjection): Promise<void> {
    if (live.background) return live.background;
    // Without the lease every commit would fail: loadCheckpoints resumes everything once it is held again.
    if (live.faulted || !this.running || !this.holding) return Promise.resolve();
    if (live.served.codeVersion !== live.codeVersion) {
      this.options.onNotice?.(
        `Read model ${live.projection.readModel} was projected by version ${live.served.codeVersion} of its code, this is version ${live.codeVersion}: rebuilding it while the old one serves`,
      );
      return this.inBackground(live, () => this.rebuildAlone(live));
    }
    if (!live.attached) return this.inBackground(live, () => this.catchUpAlone(live));
    return Promise.resolve();
  }

  /** Runs a catch-up alone or a rebuild; a fault in it is the read model's (tried again with backoff), a store failure is retried later. */
  private inBackground(live: LiveProjection, work: () => Promise<void>): Promise<void> {
    const done = work()
      .then(async () => {
        live.failure = undefined;
        await this.store.saveFault(live.projection.readModel, null);
      })
      .catch((error: unknown) => {
        if (!this.running) return;
        if (error instanceof ProjectionFault) return this.failed(live, error);
        this.options.onError?.(error);
      })
      .finally(() => {
        live.background = undefined;
        this.told();
      });
    live.background = done;
    // Whatever stopped it short (a fault, a store failure), it is taken up again after a pause, unless faulted.
    done.then(() => {
      if (this.running && !live.faulted && (!live.attached || live.served.codeVersion !== live.codeVersion)) {
        setTimeout(() => void this.resume(live), this.retryDelay(live)).unref();
      }
    });
    return done;
  }

  private retryDelay(live: LiveProjection): number {
    return this.backoffAfter(live.failure?.failures ?? 1);
  }

  /** A read model could not apply an event: it is left out of the commit, detached, and tried again alone until it is faulted. */
  private failed(live: LiveProjection, fault: ProjectionFault): void {
    const samePlace = live.failure?.fault.position === fault.position;
    const failures = (samePlace ? live.failure!.failures : 0) + 1;
    live.failure = { fault, failures };
    live.attached = false;
    live.faulted = failures >= this.faultAfterFailures;
    live.rebuild = undefined;
    this.options.onFault?.(fault, live.faulted);
    this.told();
    // Kept in the store for the processes that do not run the projector (their GET /projections and readiness).
    const stored = { position: String(fault.position), eventType: fault.eventType, message: fault.reason, faulted: live.faulted, ...(live.codeVersion !== 1 && { codeVersion: live.codeVersion }) };
    this.store.saveFault(live.projection.readModel, stored).catch((error: unknown) => this.options.onError?.(error));
  }

  /**
   * Fills a stored version of one read model from the log, by pages, without holding the main
   * loop back; within a batch of the main loop it closes the gap under the lock and runs
   * `finish` there, where the main loop applies nothing.
   */
  private async fillAlone(live: LiveProjection, target: StoredVersion, finish: () => Promise<void>): Promise<void> {
    // A batch of the main loop that this read model was in may still be committing: its checkpoint moves once that is written.
    await this.mainLoopCommitted();
    while (this.running && this.followed - target.checkpoint > BigInt(this.batchSize)) {
      if (!(await this.fillStep(live, target, this.followed))) break;
    }
    if (!this.running) return;
    await this.exclusive(async () => {
      await this.mainLoopCommitted(); // attached, swapped or dropped only once nothing of the main loop is left unwritten
      while (target.checkpoint < this.followed && (await this.fillStep(live, target, this.followed)));
      if (target.checkpoint < this.followed) {
        await this.store.commit(this.owner, [], [this.checkpointOf(live, target, this.followed)]);
        target.checkpoint = this.followed;
      }
      await finish();
    });
  }

  /** A read model that is new or behind: its served version catches up, then the main loop applies it. */
  private async catchUpAlone(live: LiveProjection): Promise<void> {
    await this.fillAlone(live, live.served, async () => {
      live.attached = true;
      this.told();
    });
  }

  /** Fills a new stored version from the first event with this code, then makes it the served one and drops the old. */
  private async rebuildAlone(live: LiveProjection): Promise<void> {
    const { readModel } = live.projection;
    const version = live.served.version + 1;
    for (const spec of live.projection.collections) {
      await this.store.dropCollection(spec.name, version);
      await this.store.ensureCollection(spec, version);
    }
    await this.store.deleteCheckpoint(readModel, version); // of an earlier rebuild to this version that did not finish
    const target: StoredVersion = { version, checkpoint: -1n, codeVersion: live.codeVersion };
    live.rebuild = target;
    try {
      await this.fillAlone(live, target, async () => {
        await this.store.activate(readModel, version);
        const old = live.served.version;
        live.served = target;
        live.attached = true;
        for (const spec of live.projection.collections) await this.store.dropCollection(spec.name, old);
        await this.store.deleteCheckpoint(readModel, old);
        this.told();
      });
    } finally {
      live.rebuild = undefined;
    }
  }

  /** Applies the next page of the log (up to `until`) to one stored version of one read model; false when nothing was left. */
  private async fillStep(live: LiveProjection, target: StoredVersion, until: bigint): Promise<boolean> {
    // Of its own types only: past the last one, fillAlone moves the checkpoint to where the main loop is.
    const { types } = live.projection;
    const page = (await this.events.readAll({ after: target.checkpoint, maxCount: this.batchSize, ...(types && { types }) })).filter((e) => e.position <= until);
    if (page.length === 0) return false;
    await this.inBoundedCommits(page, page[page.length - 1].position, async (events, position) => {
      const writes = await projectBatch(this.store, [{ projection: live.projection, version: target.version, after: target.checkpoint }], events);
      await this.commitInParts(writes, this.checkpointOf(live, target, position));
      if (target === live.served) live.eventsApplied += events.filter((event) => event.position > target.checkpoint).length;
      target.checkpoint = position;
    });
    this.told();
    await nextTurn(); // as the follower does between batches: let requests in between pages
    return true;
  }

  /**
   * Commits one read model's writes with its checkpoint, in as many commits as the bound needs:
   * only for the writes of ONE event (a batch is halved by events first), and only where no
   * query reads (a rebuild) or nothing complete is served yet (a catch-up alone). The checkpoint
   * goes with the last part, so a crash in between applies that event again over the parts
   * written, which a handler that rewrites whole documents (a re-scoring) does alike.
   */
  private async commitInParts(writes: DocumentWrite[], checkpoint?: CheckpointWrite): Promise<void> {
    try {
      await this.store.commit(this.owner, writes, checkpoint ? [checkpoint] : []);
    } catch (error) {
      if (!(error instanceof CommitTooLargeError) || writes.length < 2) throw error;
      const half = Math.ceil(writes.length / 2);
      await this.commitInParts(writes.slice(0, half));
      await this.commitInParts(writes.slice(half), checkpoint);
    }
  }

  /**
   * Applies events read to `readTo` with `apply` (project, and commit with checkpoints at the
   * position it is given), all at once when the commit is within the read store's bound, else in
   * halves (each projected afresh from where the last one ended): the first half to its last
   * event, the second to `readTo`.
   */
  private async inBoundedCommits(events: RecordedEvent[], readTo: bigint, apply: (events: RecordedEvent[], readTo: bigint) => Promise<void>): Promise<void> {
    try {
      await apply(events, readTo);
    } catch (error) {
      if (!(error instanceof CommitTooLargeError) || events.length <= 1) throw error;
      const half = Math.ceil(events.length / 2);
      await this.inBoundedCommits(events.slice(0, half), events[half - 1].position, apply);
      await this.inBoundedCommits(events.slice(half), readTo, apply);
    }
  }

  private checkpointOf(live: LiveProjection, target: StoredVersion, position: bigint): CheckpointWrite {
    return { readModel: live.projection.readModel, version: target.version, position, codeVersion: target.codeVersion };
  }

  /** Takes the lease (else waits on standby) and loads the checkpoints: the main loop follows the log from the attached read models' position. */
  protected async prepare(): Promise<boolean> {
    if (!(await this.holdLease())) {
      this.setStatus('standby');
      await this.pause(this.leaseTtlMs / 3);
      return false;
    }
    await this.loadCheckpoints();
    return true;
  }

  protected override statusAfter(error: unknown): 'failed' | 'standby' {
    return error instanceof LeaseLostError ? 'standby' : 'failed';
  }

  private async holdLease(): Promise<boolean> {
    if (!(await this.store.acquireLease(this.owner, this.leaseTtlMs))) return false;
    clearTimeout(this.leaseTimer);
    const renew = () => {
      this.leaseTimer = setTimeout(async () => {
        if (!this.running) return;
        const held = await this.store.acquireLease(this.owner, this.leaseTtlMs).catch(() => false);
        if (held) renew();
        else await this.closeLog(); // another projector took over: stop applying
      }, this.leaseTtlMs / 3);
      this.leaseTimer.unref();
    };
    renew();
    return true;
  }

  /**
   * Reads each read model's served version, checkpoint and code version from the store (the
   * source of truth after any failure). Those at the furthest checkpoint are attached to the
   * main loop; the others catch up alone, and those filled by another code version are rebuilt.
   */
  private async loadCheckpoints(): Promise<void> {
    await this.bindToLog();
    for (const projection of this.projections) {
      const existing = this.live.get(projection.readModel);
      if (existing?.background && !existing.rebuild) continue; // its catch-up alone holds on to this very entry
      const state = await this.store.readModelState(projection.readModel);
      for (const spec of projection.collections) await this.store.ensureCollection(spec, state.activeVersion);
      const codeVersion = projection.version ?? 1;
      const checkpoint = state.checkpoints[state.activeVersion];
      // A version never filled is filled by this code.
      const served: StoredVersion = {
        version: state.activeVersion,
        checkpoint: checkpoint ?? -1n,
        codeVersion: checkpoint === undefined ? codeVersion : ((await this.store.codeVersions(projection.readModel))[state.activeVersion] ?? 1),
      };
      // Updated in place: a rebuild under way holds on to this very entry.
      if (existing) existing.served = served;
      else this.live.set(projection.readModel, { projection, codeVersion, served, attached: false, eventsApplied: 0, ...(await this.keptFault(projection.readModel, codeVersion)) });
    }
    const following = [...this.live.values()].filter((live) => !live.faulted && !(live.background && !live.rebuild));
    const furthest = following.reduce((max, live) => (live.served.checkpoint > max ? live.served.checkpoint : max), -1n);
    for (const live of following) live.attached = live.served.checkpoint === furthest && !live.failure;
    // A fault kept from before that an attached read model no longer has (it has applied past it).
    const kept = await this.store.faults();
    for (const live of this.live.values()) if (live.attached && kept[live.projection.readModel]) await this.store.saveFault(live.projection.readModel, null);
    this.followed = furthest;
    this.holding = true;
    this.told();
    for (const live of this.live.values()) void this.resume(live);
  }

  /**
   * A fault given up on before a restart stays given up on: a restart is no fix, so the read
   * model waits for POST /projections/:name/retry as it did. New code (another code version)
   * may be the fix: then the fault is forgotten and the read model is rebuilt by that code.
   */
  private async keptFault(readModel: string, codeVersion: number): Promise<Pick<LiveProjection, 'faulted' | 'failure'>> {
    const kept = (await this.store.faults())[readModel];
    if (!kept?.faulted) return { faulted: false };
    if ((kept.codeVersion ?? 1) !== codeVersion) {
      await this.store.saveFault(readModel, null);
      return { faulted: false };
    }
    const event = { type: kept.eventType, position: BigInt(kept.position), id: '' } as RecordedEvent;
    return { faulted: true, failure: { fault: new ProjectionFault(readModel, event, new Error(kept.message)), failures: this.faultAfterFailures } };
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

  /** The main loop reads the log by a subscription: on its thread or process, each append is handed over at once. */
  protected openLog(after: bigint): LogSource {
    return subscribedLog(this.events, after, { batchSize: this.batchSize, catchUpBatchSize: this.catchUpBatchSize, batchWaitMs: this.batchWaitMs, ...(this.types && { types: this.types }) });
  }

  /** The last batch's commit: written before the subscription counts as ended (a failed one is thrown here). */
  protected override async drained(): Promise<void> {
    const last = this.committing;
    this.committing = undefined;
    await last;
  }

  /** The subscription ended (the lease went to another projector, a failure, or stop). */
  protected override async followEnded(): Promise<void> {
    await this.mainLoopCommitted();
    this.committing = undefined;
    this.holding = false;
  }

  /** Resolves once the main loop's last commit is written or has failed (its failure is the main loop's to handle). */
  private async mainLoopCommitted(): Promise<void> {
    await this.committing?.catch(() => undefined);
  }

  /**
   * Applies a batch to every attached read model, serialised with the last step of a catch-up
   * alone or a rebuild. Their checkpoints move to where the batch was read to: past its last
   * event when the events after it are of types none of them reads, and with a batch of no
   * events (a commit of checkpoints only) when only such events came.
   */
  protected applyBatch({ events: batch, readTo, caughtUp }: LogBatch): Promise<void> {
    return this.exclusive(async () => {
      // Committed behind until the subscription says it caught up (on SQLite: first reached the log's end), a next
      // batch being there to apply meanwhile; then in place.
      const behind = !caughtUp();
      await this.inBoundedCommits(batch, readTo, (events, to) => this.applyToAttached(events, to, behind));
      this.followed = readTo;
      this.applying(caughtUp() ? 'live' : 'catching-up');
    });
  }

  /**
   * Projects events into each attached read model and commits all their writes and checkpoints
   * in one transaction (`behind`, to a store that commits behind: handed over, not waited for,
   * and the next batch applied meanwhile). One whose handler throws is left out (its writes and its checkpoint)
   * and detached. A single event whose writes are too large for one commit is committed read
   * model by read model; one whose own writes are still too large passes over the event in the
   * version queries read (they keep their documents) and is rebuilt, where the event is written
   * in parts before the swap. The checkpoints move to `position`, where the events were read to.
   */
  private async applyToAttached(events: RecordedEvent[], position: bigint, behind: boolean): Promise<void> {
    const projected: { live: LiveProjection; writes: DocumentWrite[] }[] = [];
    for (const live of this.live.values()) {
      if (!live.attached || live.faulted) continue;
      try {
        projected.push({ live, writes: await projectBatch(this.store, [{ projection: live.projection, version: live.served.version, after: live.served.checkpoint }], events) });
      } catch (error) {
        if (!(error instanceof ProjectionFault)) throw error;
        this.failed(live, error);
        setTimeout(() => void this.resume(live), this.retryDelay(live)).unref();
      }
    }
    const writes: DocumentWrite[] = [];
    // Not push(...writes): a batch that re-scores every lead writes more documents than a call takes arguments.
    for (const { writes: own } of projected) for (const write of own) writes.push(write);
    // The batch before may still be committing (it was applied on what it wrote, read back from
    // the store): this one is committed after it, and not at all if it failed.
    const before = this.committing;
    this.committing = undefined;
    await before;
    // Checkpoints move (and minPosition's waits end) once written, on the stored versions committed to.
    const advance = (served = projected.map(({ live }) => ({ live, target: live.served }))) => {
      for (const { live, target } of served) {
        live.eventsApplied += events.filter((event) => event.position > target.checkpoint).length;
        target.checkpoint = position;
      }
    };
    try {
      const checkpoints = projected.map(({ live }) => this.checkpointOf(live, live.served, position));
      if (this.store.commitBehind && behind) {
        const { committed } = this.store.commitBehind(this.owner, writes, checkpoints);
        const served = projected.map(({ live }) => ({ live, target: live.served }));
        // Told at once: applyBatch has set the status already (in place, it tells position and status together).
        const done = committed.then(() => {
          advance(served);
          this.told();
        }, async (error: unknown) => {
          // Nothing more may wait on the subscription while this is unwritten: follow ends, and throws it.
          await this.closeLog();
          throw error;
        });
        done.catch(() => undefined); // seen by the next batch or at the end of follow
        this.committing = done;
        return;
      }
      await this.store.commit(this.owner, writes, checkpoints);
    } catch (error) {
      if (!(error instanceof CommitTooLargeError) || events.length > 1) throw error;
      for (const { live, writes: own } of projected) await this.commitOneEvent(live, own, position);
    }
    advance();
  }

  private async commitOneEvent(live: LiveProjection, writes: DocumentWrite[], position: bigint): Promise<void> {
    const checkpoint = this.checkpointOf(live, live.served, position);
    try {
      await this.store.commit(this.owner, writes, [checkpoint]);
    } catch (error) {
      if (!(error instanceof CommitTooLargeError)) throw error;
      this.options.onNotice?.(
        `Read model ${live.projection.readModel} cannot take the event at ${position} in one commit (${error.message}): it keeps serving its documents as they were and is rebuilt from the first event, in bounded commits, then swapped in`,
      );
      // Its served version is marked as filled by no code version, so that it is rebuilt (also after a restart) though its code did not change.
      live.served = { ...live.served, codeVersion: STALE_CODE_VERSION };
      await this.store.commit(this.owner, [], [this.checkpointOf(live, live.served, position)]);
      setImmediate(() => void this.resume(live));
    }
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
