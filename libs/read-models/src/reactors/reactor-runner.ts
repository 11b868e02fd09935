import type { EventStore, RecordedEvent } from '@crm/event-store';
import { EventEmitter } from 'node:events';
import { setImmediate as nextTurn, setTimeout as wait } from 'node:timers/promises';
import type { ProcessorCheckpoints } from '../read-store.port';
import { untilSettled } from '../projector/until-settled';
import type { Reactor } from './define-reactor';

/** One reactor step: the event a reactor reacted to (what is parked and listed when it keeps failing). */
export interface ReactorStep {
  reactor: string;
  eventId: string;
  type: string;
  streamId: string;
  position: bigint;
}

/**
 * Where the failed and parked steps are kept, durably and for every process (the API's is a
 * stream of the event store: GET /processes/parked lists it, and an admin retries from there).
 */
export interface ReactorParking {
  /** One reactor's failed attempts so far by event id (across restarts), and its parked event ids. */
  read(reactor: string): Promise<{ failures: ReadonlyMap<string, number>; parked: { has(eventId: string): boolean } }>;
  /** Records a failed attempt; `park`: the step is given up on until an admin retries it. */
  failed(step: ReactorStep, failures: number, error: unknown, park: boolean): Promise<void>;
}

export interface ReactorRunnerOptions {
  /** Failed attempts at one step after which it is parked and the reactor goes on (default 8: about a minute with the default backoff). */
  parkAfterFailures?: number;
  /** Wait before trying a failed step again: the first, doubling up to the longest. */
  backoffMs?: { initial: number; max: number };
  /** Events read per page at most. */
  batchSize?: number;
  /** Once caught up, how often the log is read for what came since (default 500 ms). */
  pollMs?: number;
  /** A checkpoint is saved after a batch with a step, else at most this often (and at stop): a crash reads at most that much again. */
  checkpointEveryMs?: number;
  onError?: (error: unknown) => void;
  /** Told of each failed attempt at a step; `parked` when it was the last. */
  onFailure?: (step: ReactorStep, failures: number, reason: string, parked: boolean) => void;
}

export const DEFAULT_PARK_AFTER_FAILURES = 8;

export type ReactorStatus = 'starting' | 'catching-up' | 'live' | 'failed' | 'stopped';

/** A reactor as GET /processes/reactors shows it: the shape of a projection's row, with `kind`. */
export interface ReactorReport {
  name: string;
  kind: 'reactor';
  version: number;
  /** Its checkpoint: the position of the last event it has handled (-1: none). */
  position: string;
  /** `failed` while a step fails and is tried again (`error` says which); a parked step does not hold it. */
  status: ReactorStatus;
  error?: { position: string; eventType: string; message: string; failures: number };
  lastError?: string;
}

/** A reactor as the runner follows it: its own checkpoint (in memory, and as last saved). */
interface FollowedReactor {
  reactor: Reactor;
  checkpointName: string;
  checkpoint: bigint;
  saved: bigint;
  /** Its steps parked (as kept when it was loaded, and since). */
  parked: { has(eventId: string): boolean };
  parkedHere: Set<string>;
  failure?: { position: bigint; eventType: string; message: string; failures: number };
}

/** A reactor step that fails: what `settled` rejects with while it is tried again. */
export class ReactorStepsFailing extends Error {
  constructor(readonly failing: { reactor: string; position: bigint; eventType: string; message: string; failures: number }[]) {
    super(failing.map((f) => `${f.reactor} cannot handle ${f.eventType} at ${f.position} (failed ${f.failures} times): ${f.message}`).join('; '));
    this.name = 'ReactorStepsFailing';
  }
}

class Stopped extends Error {}

/** The named log position a reactor's checkpoint is kept under: per version and per event log, so a new version or another log starts from the first event. */
export function reactorCheckpointName(reactor: Pick<Reactor, 'name' | 'version'>, logIdentity: string): string {
  return `reactor:${reactor.name}:v${reactor.version ?? 1}:${logIdentity}`;
}

/**
 * Follows the log for the reactors, as the Projector does for the projections: each reactor has
 * its own checkpoint (ProcessorCheckpoints' named log positions, under its name, its version
 * and the log's identity, so a new version or another log starts from the first event) and its
 * own status. It catches up by pages from the checkpoints, then reads what comes every `pollMs`,
 * handing each reactor the events it handles in log order. A step that throws is
 * tried again with backoff (the reactor is `failed` meanwhile: its checkpoint waits at that
 * event), and after `parkAfterFailures` attempts it is parked (kept by ReactorParking, listed
 * for admins) and the reactor goes on. A store failure resubscribes from the checkpoints.
 * The reactors of one runner take each batch one after another, so a step waiting for its next
 * attempt holds the batch back for the reactors after it too (for at most the parking bound).
 *
 * It takes no lease: a reactor runs where the write side is (its steps are commands), its steps
 * are idempotent, and every process that has the write side may run it at once.
 */
export class ReactorRunner {
  private readonly followed: FollowedReactor[] = [];
  private readonly progress = new EventEmitter();
  private status: ReactorStatus = 'starting';
  private lastError?: string;
  private running = false;
  private loop?: Promise<void>;
  private stopPause?: AbortController;
  private pollPause?: AbortController;
  private lastSave = 0;
  private readonly parkAfterFailures: number;
  private readonly backoff: { initial: number; max: number };
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly checkpointEveryMs: number;
  /** The event types any of the reactors handles, read from the log (undefined: every event, for a reactor that does not say). */
  private readonly types?: readonly string[];

  constructor(
    private readonly events: EventStore,
    private readonly checkpoints: Pick<ProcessorCheckpoints, 'readLogPosition' | 'saveLogPosition'>,
    private readonly reactors: Reactor[],
    private readonly parking: ReactorParking,
    private readonly options: ReactorRunnerOptions = {},
  ) {
    this.parkAfterFailures = options.parkAfterFailures ?? DEFAULT_PARK_AFTER_FAILURES;
    this.backoff = options.backoffMs ?? { initial: 500, max: 30_000 };
    this.batchSize = options.batchSize ?? 2_500;
    this.pollMs = options.pollMs ?? 500;
    this.checkpointEveryMs = options.checkpointEveryMs ?? 1_000;
    this.types = reactors.every((reactor) => reactor.types) ? [...new Set(reactors.flatMap((reactor) => reactor.types!))] : undefined;
    this.progress.setMaxListeners(0);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the step under way (a pause before a retry is cut short) and saves the checkpoints. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopPause?.abort();
    this.pollPause?.abort();
    await this.loop;
    await this.saveCheckpoints(true).catch((error: unknown) => this.options.onError?.(error));
    this.status = 'stopped';
    this.progress.emit('progress');
  }

  /**
   * Resolves once every reactor has handled the log up to `position`; rejects with
   * ReactorStepsFailing as soon as a reactor is stuck at a failing step before it (it is tried
   * again meanwhile), or with an Error after `timeoutMs`.
   */
  async settled(position: bigint, timeoutMs: number): Promise<void> {
    const outcome = await untilSettled<'reached' | 'stopped' | 'timeout' | ReactorStepsFailing>(
      this.progress,
      'progress',
      () => {
        const loaded = this.followed.length === this.reactors.length && this.status !== 'starting';
        if (loaded && this.followed.every((f) => f.checkpoint >= position)) return 'reached';
        const failing = this.followed.filter((f) => f.failure);
        if (failing.length > 0) return new ReactorStepsFailing(failing.map((f) => ({ reactor: f.reactor.name, ...f.failure! })));
        return this.running ? undefined : 'stopped';
      },
      timeoutMs,
      'timeout',
    );
    if (outcome instanceof ReactorStepsFailing) throw outcome;
    if (outcome !== 'reached') throw new Error(`The reactors did not reach position ${position}: ${outcome === 'stopped' ? 'they are stopped' : `not within ${timeoutMs} ms`}`);
  }

  /** A reactor's checkpoint as this runner holds it (undefined before it is loaded, or for an unknown name). */
  checkpointOf(name: string): bigint | undefined {
    return this.followed.find((f) => f.reactor.name === name)?.checkpoint;
  }

  reports(): ReactorReport[] {
    return this.reactors.map((reactor) => {
      const followed = this.followed.find((f) => f.reactor === reactor);
      const failure = followed?.failure;
      return {
        name: reactor.name,
        kind: 'reactor',
        version: reactor.version ?? 1,
        position: String(followed?.checkpoint ?? -1n),
        status: failure ? 'failed' : this.status,
        ...(failure && { error: { position: String(failure.position), eventType: failure.eventType, message: failure.message, failures: failure.failures } }),
        ...(!failure && this.lastError && this.status === 'failed' && { lastError: this.lastError }),
      };
    });
  }

  private async run(): Promise<void> {
    let delay = this.backoff.initial;
    while (this.running) {
      try {
        await this.follow(await this.load(), () => (delay = this.backoff.initial));
      } catch (error) {
        if (!this.running || error instanceof Stopped) break;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.setStatus('failed');
        this.options.onError?.(error);
        await this.pause(delay).catch(() => undefined);
        delay = Math.min(delay * 2, this.backoff.max);
      }
    }
  }

  /**
   * Reads the log by pages from the checkpoints (on a restart with nothing new: one read), and
   * then once every `pollMs` from where it got to. Polling, not a subscription: a reactor runs on
   * the request thread, and a subscription woken by every append would take a read of its own
   * per capture there; a poll reads what came in one page.
   */
  private async follow(after: bigint, onProgress: () => void): Promise<void> {
    let position = after;
    this.setStatus('catching-up');
    while (this.running) {
      // Taken before the read: a page of the reactors' types that is not full holds every such event up to this head, so the checkpoints move to it.
      const head = this.types ? await this.events.headPosition() : -1n;
      const page = await this.events.readAll({ after: position, maxCount: this.batchSize, ...(this.types && { types: this.types }) });
      if (!this.running) break;
      const last = page.length > 0 ? page[page.length - 1].position : position;
      const readTo = page.length < this.batchSize && head > last ? head : last;
      if (readTo > position) {
        await this.handle(page, readTo, () => page.length < this.batchSize);
        position = readTo;
        onProgress();
      } else if (this.status !== 'live') {
        this.setStatus('live');
      }
      if (page.length === this.batchSize) {
        await nextTurn(); // the embedded store reads synchronously: let requests in between pages
      } else {
        this.pollPause = new AbortController();
        await wait(this.pollMs, undefined, { signal: this.pollPause.signal, ref: false }).catch(() => undefined);
      }
    }
  }

  /** Reads each reactor's checkpoint and the parked steps; returns where the log is read from. */
  private async load(): Promise<bigint> {
    const identity = await this.events.identity();
    const loaded: FollowedReactor[] = [];
    for (const reactor of this.reactors) {
      const checkpointName = reactorCheckpointName(reactor, identity);
      const saved = (await this.checkpoints.readLogPosition(checkpointName)) ?? -1n;
      const { parked } = await this.parking.read(reactor.name);
      // After a store failure, what this runner has handled since its last save is not handed again.
      const known = this.followed.find((f) => f.checkpointName === checkpointName);
      const checkpoint = known && known.checkpoint > saved ? known.checkpoint : saved;
      loaded.push({ reactor, checkpointName, checkpoint, saved, parked, parkedHere: known?.parkedHere ?? new Set() });
    }
    this.followed.splice(0, this.followed.length, ...loaded);
    return loaded.reduce((min, f) => (f.checkpoint < min ? f.checkpoint : min), loaded[0]?.checkpoint ?? -1n);
  }

  /**
   * Hands a batch to each reactor from its own checkpoint, in log order, and moves the checkpoints
   * to `readTo` (the batch's last event, or the head the read passed); saves them when a step
   * ran, or when due. `caughtUp`: whether the batch was the last the log held.
   */
  private async handle(batch: RecordedEvent[], readTo: bigint, caughtUp: () => boolean): Promise<void> {
    let stepped = false;
    for (const followed of this.followed) {
      for (const event of batch) {
        if (event.position <= followed.checkpoint) continue;
        if (followed.reactor.handles(event) && !followed.parked.has(event.id) && !followed.parkedHere.has(event.id)) {
          await this.step(followed, event);
          stepped = true;
        }
        followed.checkpoint = event.position;
      }
      if (followed.checkpoint < readTo) followed.checkpoint = readTo;
    }
    if (caughtUp()) this.status = 'live';
    this.progress.emit('progress');
    await this.saveCheckpoints(stepped);
  }

  /** One step, tried until it succeeds or is parked. */
  private async step(followed: FollowedReactor, event: RecordedEvent): Promise<void> {
    const step: ReactorStep = { reactor: followed.reactor.name, eventId: event.id, type: event.type, streamId: event.streamId, position: event.position };
    let failures: number | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        await followed.reactor.react(event);
        if (followed.failure) {
          followed.failure = undefined;
          this.progress.emit('progress');
        }
        return;
      } catch (error) {
        if (!this.running) throw new Stopped();
        // The page held the reactors' types only: the events passed over before this one were not seen. The checkpoint waits right before it, as it would have.
        if (failures === undefined && this.types) followed.checkpoint = await this.lastPositionBefore(event.position, followed.checkpoint).catch(() => followed.checkpoint);
        // Attempts before a restart count too, so that a step failing on every start is parked in the end.
        failures ??= (await this.parking.read(step.reactor).catch(() => undefined))?.failures.get(event.id) ?? 0;
        failures++;
        const message = error instanceof Error ? error.message : String(error);
        let park = failures >= this.parkAfterFailures;
        try {
          await this.parking.failed(step, failures, error, park);
        } catch (recording) {
          this.options.onError?.(recording);
          park = false; // not parked unless kept as parked: it is tried again
        }
        this.options.onFailure?.(step, failures, message, park);
        if (park) {
          followed.parkedHere.add(event.id);
          followed.failure = undefined;
          this.progress.emit('progress');
          return;
        }
        followed.failure = { position: event.position, eventType: event.type, message, failures };
        this.progress.emit('progress');
        await this.pause(Math.min(this.backoff.initial * 2 ** (attempt - 1), this.backoff.max)).catch(() => undefined);
        if (!this.running) throw new Stopped();
      }
    }
  }

  /** The position of the log's last event before `position`, from `after` on (read unfiltered: only when a step fails). */
  private async lastPositionBefore(position: bigint, after: bigint): Promise<bigint> {
    let last = after;
    for (let from = after; ; ) {
      const page = await this.events.readAll({ after: from, maxCount: this.batchSize });
      for (const event of page) {
        if (event.position >= position) return last;
        last = event.position;
      }
      if (page.length < this.batchSize) return last;
      from = last;
    }
  }

  private async saveCheckpoints(now: boolean): Promise<void> {
    if (!now && Date.now() - this.lastSave < this.checkpointEveryMs) return;
    this.lastSave = Date.now();
    for (const followed of this.followed) {
      if (followed.checkpoint === followed.saved) continue;
      const checkpoint = followed.checkpoint;
      await this.checkpoints.saveLogPosition(followed.checkpointName, checkpoint);
      followed.saved = checkpoint;
    }
  }

  /** A pause that stop() cuts short. */
  private pause(ms: number): Promise<void> {
    this.stopPause = new AbortController();
    return wait(ms, undefined, { signal: this.stopPause.signal, ref: false });
  }

  /** Reads the log now rather than at the next poll (a request of this process left a decision to complete). */
  wake(): void {
    this.pollPause?.abort();
  }

  private setStatus(status: ReactorStatus): void {
    if (status !== 'failed') this.lastError = undefined;
    this.status = status;
    this.progress.emit('progress');
  }
}
