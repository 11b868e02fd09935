import { EventStore, RecordedEvent, storedEvents } from '@crm/event-store';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ProcessorCheckpoints } from '../read-store.port';
import { FollowerStatus, LogBatch, LogFollower, LogSource, polledLog, ProcessorError, ProcessorReport } from '../projector/log-follower';
import type { Reactor } from './define-reactor';
import { typesOfAll } from '../projections/define-projection';

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

/** `failed` while a step fails and is tried again (the report's `error` says which); a parked step does not hold it. */
export type ReactorStatus = FollowerStatus;

/** A reactor as GET /processes/reactors shows it: the shape of a projection's row, with `kind`. */
export interface ReactorReport extends ProcessorReport<ReactorStatus> {
  kind: 'reactor';
  error?: ProcessorError & { failures: number };
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
 * The reactor kind of runner (a LogFollower, as the Projector is: start/stop, the run loop with
 * backoff on store failures, status and waits are the follower's). Each reactor has its own
 * checkpoint (ProcessorCheckpoints' named log positions, under its name, its version and the
 * log's identity, so a new version or another log starts from the first event) and its own
 * status. It reads the log by pages from the checkpoints, then every `pollMs` (polledLog),
 * handing each reactor the events it handles in log order. A step that throws is tried again
 * with backoff (the reactor is `failed` meanwhile: its checkpoint waits at that event), and
 * after `parkAfterFailures` attempts it is parked (kept by ReactorParking, listed for admins)
 * and the reactor goes on. A store failure reads the log again from the checkpoints.
 * The reactors of one runner take each batch one after another, so a step waiting for its next
 * attempt holds the batch back for the reactors after it too (for at most the parking bound).
 *
 * It takes no lease: a reactor runs where the write side is (its steps are commands), its steps
 * are idempotent, and every process that has the write side may run it at once.
 */
export class ReactorRunner extends LogFollower {
  private readonly tracked: FollowedReactor[] = [];
  private lastSave = 0;
  private readonly parkAfterFailures: number;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly checkpointEveryMs: number;
  /** The event types any of the reactors handles, read from the log (undefined: every event, for a reactor that does not say). */
  private readonly types?: readonly string[];

  constructor(
    private readonly events: EventStore,
    private readonly checkpointStore: Pick<ProcessorCheckpoints, 'readLogPosition' | 'saveLogPosition'>,
    private readonly reactors: Reactor[],
    private readonly parking: ReactorParking,
    private readonly options: ReactorRunnerOptions = {},
  ) {
    super(options.backoffMs ?? { initial: 500, max: 30_000 }, options.onError);
    this.parkAfterFailures = options.parkAfterFailures ?? DEFAULT_PARK_AFTER_FAILURES;
    this.batchSize = options.batchSize ?? 2_500;
    this.pollMs = options.pollMs ?? 500;
    this.checkpointEveryMs = options.checkpointEveryMs ?? 1_000;
    this.types = typesOfAll(reactors);
  }

  /**
   * Resolves once every reactor has handled the log up to `position`; rejects with
   * ReactorStepsFailing as soon as a reactor is stuck at a failing step before it (it is tried
   * again meanwhile), or with an Error after `timeoutMs`.
   */
  async settled(position: bigint, timeoutMs: number): Promise<void> {
    const outcome = await this.until<'reached' | 'stopped' | 'timeout' | ReactorStepsFailing>(
      () => {
        const loaded = this.tracked.length === this.reactors.length && this.status !== 'starting';
        if (loaded && this.position() >= position) return 'reached';
        const failing = this.tracked.filter((f) => f.failure);
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
    return this.tracked.find((f) => f.reactor.name === name)?.checkpoint;
  }

  reports(): ReactorReport[] {
    return this.reactors.map((reactor) => {
      const followed = this.tracked.find((f) => f.reactor === reactor);
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

  /** Reads each reactor's checkpoint and the parked steps: the log is read from the lowest checkpoint. */
  protected async prepare(): Promise<boolean> {
    const identity = await this.events.identity();
    const loaded: FollowedReactor[] = [];
    for (const reactor of this.reactors) {
      const checkpointName = reactorCheckpointName(reactor, identity);
      const saved = (await this.checkpointStore.readLogPosition(checkpointName)) ?? -1n;
      const { parked } = await this.parking.read(reactor.name);
      // After a store failure, what this runner has handled since its last save is not handed again.
      const known = this.tracked.find((f) => f.checkpointName === checkpointName);
      const checkpoint = known && known.checkpoint > saved ? known.checkpoint : saved;
      loaded.push({ reactor, checkpointName, checkpoint, saved, parked, parkedHere: known?.parkedHere ?? new Set() });
    }
    this.tracked.splice(0, this.tracked.length, ...loaded);
    this.followed = this.position();
    return true;
  }

  /**
   * Polled, not subscribed: a reactor runs on the request thread (see polledLog). The reactors'
   * one read of the log is here: of their types only, so that the events they pass over are
   * neither read nor decrypted on the request thread.
   */
  protected openLog(from: bigint): LogSource {
    const types = this.types;
    return polledLog(
      async (after, maxCount) => {
        // Taken before the read: a page of the reactors' types that is not full holds every such event up to this head, so the checkpoints move to it.
        const head = types ? await this.events.headPosition() : -1n;
        const events = await this.events.readAll({ after, maxCount, ...(types && { types }) });
        const last = events.length > 0 ? events[events.length - 1].position : after;
        return { events, readTo: events.length < maxCount && head > last ? head : last };
      },
      from,
      { batchSize: this.batchSize, pollMs: this.pollMs },
    );
  }

  protected *checkpoints(): Iterable<bigint> {
    for (const followed of this.tracked) yield followed.checkpoint;
  }

  /** Saves the checkpoints at stop (after the step under way). */
  protected override async stopped(): Promise<void> {
    await this.saveCheckpoints(true).catch((error: unknown) => this.onError?.(error));
  }

  /**
   * Hands a batch to each reactor from its own checkpoint, in log order, and moves the checkpoints
   * to `readTo` (the batch's last event, or the head the read passed); saves them when a step
   * ran, or when due.
   */
  protected async applyBatch({ events: batch, readTo, caughtUp }: LogBatch): Promise<void> {
    let stepped = false;
    for (const followed of this.tracked) {
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
    this.followed = readTo;
    this.applying(caughtUp() ? 'live' : 'catching-up');
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
          this.told();
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
          this.onError?.(recording);
          park = false; // not parked unless kept as parked: it is tried again
        }
        this.options.onFailure?.(step, failures, message, park);
        if (park) {
          followed.parkedHere.add(event.id);
          followed.failure = undefined;
          this.told();
          return;
        }
        followed.failure = { position: event.position, eventType: event.type, message, failures };
        this.told();
        await this.pause(this.backoffAfter(attempt));
        if (!this.running) throw new Stopped();
      }
    }
  }

  /**
   * The position of the log's last event before `position`, from `after` on: read unfiltered
   * (only when a step fails), as stored (positions need no decryption), with a turn of the event
   * loop between pages (the embedded store reads synchronously: requests go on meanwhile).
   */
  private async lastPositionBefore(position: bigint, after: bigint): Promise<bigint> {
    const stored = storedEvents(this.events);
    let last = after;
    for (let from = after; ; ) {
      const page = await stored.readAll({ after: from, maxCount: this.batchSize });
      for (const event of page) {
        if (event.position >= position) return last;
        last = event.position;
      }
      if (page.length < this.batchSize) return last;
      from = last;
      await nextTurn();
    }
  }

  private async saveCheckpoints(now: boolean): Promise<void> {
    if (!now && Date.now() - this.lastSave < this.checkpointEveryMs) return;
    this.lastSave = Date.now();
    for (const followed of this.tracked) {
      if (followed.checkpoint === followed.saved) continue;
      const checkpoint = followed.checkpoint;
      await this.checkpointStore.saveLogPosition(followed.checkpointName, checkpoint);
      followed.saved = checkpoint;
    }
  }
}
