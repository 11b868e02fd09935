import { Logger } from '@nestjs/common';
import type { AppConfig } from './app-config';
import { SpacedCalls, startWorkerThread, type AppendedPlaintext, type PersonalDataProtectingEventStore, type RevealedEvents } from '@crm/event-store';
import { untilSettled } from '@crm/read-models';
import type { Projection, ProjectionReport, Projector, ReadStore } from '@crm/read-models';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';

/** What the thread is started with: the configuration its stores and projector need (plain data, cloned into the thread). */
export interface ProjectorThreadData {
  config: Pick<AppConfig, 'dataDir' | 'projectorLeaseMs' | 'projectionFaultAfterFailures' | 'benchmarkWithoutEventProtection'>;
}

export type ToProjectorThread =
  | { kind: 'start' }
  | { kind: 'stop' }
  | { kind: 'rebuild' | 'retry'; call: number; readModel: string }
  | { kind: 'activated'; call: number }
  /** The plaintext of appends made on the request thread (PersonalDataProtectingEventStore.sendAppendedPlaintext): the thread reads them without decrypting. */
  | { kind: 'plaintext'; plaintexts: AppendedPlaintext[] }
  /** A read waits for a position the thread has not told of: read the log now, not at the subscription's next look at the file (100 ms). */
  | { kind: 'read-now' };

export interface ProjectorThreadState {
  position: bigint;
  reports: ProjectionReport[];
  versions: [string, number | undefined][];
  refusals: [string, string | undefined][];
  retryRefusals: [string, string | undefined][];
  /** What the thread's store revealed since the thread started (crm_personal_data_revealed_events). */
  revealed: RevealedEvents;
}

export type FromProjectorThread =
  | ({ kind: 'state' } & ProjectorThreadState)
  | { kind: 'owner'; owner: string }
  /** A rebuilt version is active: queries here must read it before the thread drops the version before it. */
  | { kind: 'activate'; call: number; readModel: string; version: number }
  | { kind: 'answer'; call: number; error?: string }
  | { kind: 'log'; level: 'error' | 'warn'; message: string };

/** After the thread died on its own, how long before it is started again. */
const RESTART_DELAY_MS = 1_000;
/**
 * The projector thread's young generation in MiB (V8's default here is 48: three times its 16 MiB
 * semi-space): most of what a batch allocates dies with the batch, and a larger nursery lets it
 * die without being copied. With the commit thread, the thread's catch-up ran 1.2× as fast for the
 * same CPU, and resident memory grew (README, "Pipelined commits while catching up").
 */
const PROJECTOR_YOUNG_GENERATION_MB = 128;
/** At most one read-now message per this long (see `readNow`). */
const READ_NOW_SPACING_MS = 10;

/** What the request thread asks of the projector (the surface ReadModels, ProjectionStatus and the controller use). */
export type ProjectorSurface = Pick<Projector, 'start' | 'stop' | 'position' | 'versionOf' | 'waitFor' | 'reports' | 'rebuildRefusal' | 'rebuild' | 'retryRefusal' | 'retry' | 'whenStarted'>;

/**
 * The projector on the embedded default, run on a worker thread of its own (projector.worker.ts)
 * so that applying the read models takes no time from requests. This is its stand-in on the
 * request thread: the same surface as the Projector, answered from what the thread last told
 * (it tells every advance of the position at once, so `minPosition` waits are as prompt as
 * beside it), with rebuilds sent over. Should the thread die, the reports say so and it is
 * started again.
 */
export class ProjectorThread implements ProjectorSurface {
  private thread?: Worker;
  private exited?: Promise<void>;
  private running = false;
  private state: ProjectorThreadState;
  private readonly changed = new EventEmitter();
  private readonly calls = new Map<number, { resolve(): void; reject(error: Error): void }>();
  private nextCall = 0;
  /** Rebuilds asked for and not yet told of by the thread: asked twice, the second is refused here. */
  private readonly rebuildsAsked = new Set<string>();
  private restartTimer?: NodeJS.Timeout;
  /**
   * Tells the thread that a read waits (a `?minPosition=` past its position), at most once per
   * READ_NOW_SPACING_MS. Captures alone never wake it: its batches stay as large as its look at the
   * file every 100 ms makes them (waking it at every commit cost 25–40 µs of CPU per capture under
   * load: many small read-model commits). Only reads that wait pay, and at most 100 wakes a second.
   */
  private readonly readNow = new SpacedCalls(READ_NOW_SPACING_MS, () => this.thread?.postMessage({ kind: 'read-now' } satisfies ToProjectorThread));
  /** The lease owner of the thread's projector: a thread that died holding the lease is let go of here, so that the next one need not wait it out. */
  private leaseOwner?: string;
  /**
   * Versions a rebuild activated, told at once (before the thread drops the old one), and kept
   * until the thread's state says so too: a state it sent in between still names the old one.
   */
  private readonly activated = new Map<string, number>();

  constructor(
    private readonly data: ProjectorThreadData,
    projections: Projection[],
    private readonly readStore: ReadStore,
    private readonly logger: Logger,
    /** The request thread's event store: the plaintext of what it appends is sent to the thread. */
    appendsFrom?: PersonalDataProtectingEventStore,
  ) {
    this.changed.setMaxListeners(0);
    appendsFrom?.sendAppendedPlaintext((plaintexts) => this.thread?.postMessage({ kind: 'plaintext', plaintexts } satisfies ToProjectorThread));
    this.state = {
      position: -1n,
      reports: projections.map(({ readModel, version }) => ({ name: readModel, position: '-1', status: 'starting', version: 1, codeVersion: version ?? 1, eventsApplied: 0 })),
      versions: [],
      refusals: projections.map(({ readModel }) => [readModel, 'the projector is starting']),
      retryRefusals: projections.map(({ readModel }) => [readModel, 'the projector is starting']),
      revealed: { plaintext: 0, decrypted: 0 },
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.spawn();
  }

  /** Stops the projector (its batch committed, its lease given back), then its thread. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.restartTimer);
    this.readNow.cancel();
    if (this.thread) {
      // Held open until it has stopped: at shutdown the thread may be all that is left to wait for.
      this.thread.ref();
      this.thread.postMessage({ kind: 'stop' } satisfies ToProjectorThread);
      await this.exited;
    }
    this.setState({ ...this.state, reports: this.state.reports.map((report) => ({ ...report, status: 'stopped' })) });
  }

  /**
   * Resolves once the thread's projector has left `starting` (it holds the lease and knows its
   * checkpoints, or waits on standby), or after `timeoutMs`: awaited at boot, so that the first
   * requests find the projector where an in-process one would already be.
   */
  whenStarted(timeoutMs: number): Promise<void> {
    const started = () => this.state.reports.every((report) => report.status !== 'starting');
    return untilSettled(this.changed, 'state', () => (started() || !this.running ? true : undefined), timeoutMs, true).then(() => undefined);
  }

  position(): bigint {
    return this.state.position;
  }

  versionOf(readModel: string): number | undefined {
    const told = this.state.versions.find(([name]) => name === readModel)?.[1];
    const activated = this.activated.get(readModel);
    return activated !== undefined && (told === undefined || told < activated) ? activated : told;
  }

  waitFor(position: bigint, timeoutMs: number): Promise<boolean> {
    if (this.running && this.thread && position > this.state.position) this.readNow.ask();
    return untilSettled(this.changed, 'state', () => (this.state.position >= position ? true : this.running ? undefined : false), timeoutMs, false);
  }

  reports(): ProjectionReport[] {
    return this.state.reports;
  }

  /** What the thread's store revealed, as it last told. */
  revealedEvents(): RevealedEvents {
    return this.state.revealed;
  }

  rebuildRefusal(readModel: string): string | undefined {
    if (this.rebuildsAsked.has(readModel)) return 'it is being rebuilt already';
    const told = this.state.refusals.find(([name]) => name === readModel);
    return told ? told[1] : `there is no read model ${readModel}`;
  }

  rebuild(readModel: string): Promise<void> {
    this.rebuildsAsked.add(readModel);
    return this.call('rebuild', readModel).finally(() => this.rebuildsAsked.delete(readModel));
  }

  retryRefusal(readModel: string): string | undefined {
    const told = this.state.retryRefusals.find(([name]) => name === readModel);
    return told ? told[1] : `there is no read model ${readModel}`;
  }

  retry(readModel: string): Promise<void> {
    return this.call('retry', readModel);
  }

  /** Asks the thread's projector to rebuild or retry a read model; settles with its answer. */
  private call(kind: 'rebuild' | 'retry', readModel: string): Promise<void> {
    if (!this.thread) return Promise.reject(new Error(`Read model ${readModel} cannot be ${kind === 'rebuild' ? 'rebuilt' : 'retried'}: the projector is not running`));
    const call = this.nextCall++;
    this.thread.postMessage({ kind, call, readModel } satisfies ToProjectorThread);
    return new Promise<void>((resolve, reject) => this.calls.set(call, { resolve, reject }));
  }

  private spawn(): void {
    const thread = startWorkerThread(join(__dirname, 'projector.worker'), this.data, { maxYoungGenerationSizeMb: PROJECTOR_YOUNG_GENERATION_MB });
    this.thread = thread;
    // The HTTP server keeps the process alive; the projector alone does not.
    thread.unref();
    thread.on('message', (message: FromProjectorThread) => this.receive(message));
    thread.on('error', (error) => this.logger.error(`Projector thread failed: ${error.name}: ${error.message}`));
    this.exited = new Promise((resolve) =>
      thread.once('exit', (code) => {
        this.thread = undefined;
        for (const { reject } of this.calls.values()) reject(new Error('the projector thread stopped'));
        this.calls.clear();
        if (this.running) {
          const lastError = `the projector thread stopped (exit code ${code}); starting it again`;
          this.logger.error(`Projector: ${lastError}`);
          this.setState({ ...this.state, reports: this.state.reports.map((report) => ({ ...report, status: 'failed', lastError })) });
          const owner = this.leaseOwner;
          this.restartTimer = setTimeout(async () => {
            if (owner) await this.readStore.releaseLease(owner).catch(() => undefined);
            if (this.running) this.spawn();
          }, RESTART_DELAY_MS).unref();
        }
        resolve();
      }),
    );
    thread.postMessage({ kind: 'start' } satisfies ToProjectorThread);
  }

  private receive(message: FromProjectorThread): void {
    switch (message.kind) {
      case 'state': {
        const { kind: _, ...state } = message;
        this.setState(state);
        return;
      }
      case 'owner':
        this.leaseOwner = message.owner;
        return;
      case 'activate':
        this.activated.set(message.readModel, message.version);
        this.thread?.postMessage({ kind: 'activated', call: message.call } satisfies ToProjectorThread);
        return;
      case 'answer': {
        const call = this.calls.get(message.call);
        this.calls.delete(message.call);
        if (message.error === undefined) call?.resolve();
        else call?.reject(new Error(message.error));
        return;
      }
      case 'log':
        if (message.level === 'error') this.logger.error(message.message);
        else this.logger.warn(message.message);
        return;
    }
  }

  private setState(state: ProjectorThreadState): void {
    this.state = state;
    for (const [readModel, version] of state.versions) {
      if (version !== undefined && version >= (this.activated.get(readModel) ?? Infinity)) this.activated.delete(readModel);
    }
    this.changed.emit('state');
  }
}
