import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { LeadEvent, STREAM_PREFIXES } from '@crm/domain';
import { EVENT_STORE, EventStore, RecordedEvent } from '@crm/event-store';
import { setTimeout as wait } from 'node:timers/promises';
import { defineReactor, IGNORED, READ_STORE, reactorCheckpointName, ReactorReport, ReactorRunner, ReactorStepsFailing, ReadStore } from '@crm/read-models';
import { APP_CONFIG, AppConfig } from '@crm/runtime/app-config';
import { ConversionCompleter } from './lead-conversion';
import { MergeCompleter } from './lead-merge';
import { InlineCompletions } from './inline-completions';
import { ParkedDecision, reasonOf, RecoveryLedger, refOf } from './parked-decisions';
import { withLags } from '../read-side/projection-status';

/** The reactor that completes conversions and merges. */
export const COMPLETION_REACTOR = 'completion';

/** Where the recovery sweep, before the reactor, kept how far it had read this log: the reactor's first start begins there. */
const SWEPT_POSITION = 'completion-recovery';

/**
 * A decision that no request of this process is completing is left this long after it was
 * recorded before the reactor completes it: the request of the process that decided it (another
 * API process) completes it within milliseconds, and the reactor would only race its steps.
 */
export const INLINE_COMPLETION_GRACE_MS = 2_000;

/** How long boot waits for the reactor to handle the log as it stood (the sweep on start had no bound; a failing step does not hold boot). */
const BOOT_CATCH_UP_MS = 10 * 60_000;

/**
 * The completion reactor and its runner. `LeadConverted` and `LeadMerged` are decisions whose
 * other records are written by steps right after them, inline in the request. The reactor
 * follows the log (ReactorRunner: a poll every 0.5 s, its own checkpoint, failed steps tried
 * again with backoff, parked after a bound) and completes every decision no request of this process
 * completed: one whose process crashed between the decision and its last step, one whose inline
 * steps failed, one made by another process (after INLINE_COMPLETION_GRACE_MS, the time that
 * process's request takes to complete it). Every step is idempotent (event ids derived from
 * the decision), so completing a decision twice writes nothing twice. On start it handles the
 * log up to where it stood before the API listens, so an interrupted conversion is complete
 * when the first request comes.
 */
@Injectable()
export class CompletionRecovery implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('CompletionRecovery');
  readonly runner: ReactorRunner;
  /** Decisions the reactor completed (no request here had) since the last sweep(). */
  private completed = 0;
  /** Cuts a grace short at shutdown. */
  private readonly stopping = new AbortController();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_STORE) private readonly positions: ReadStore,
    private readonly conversions: ConversionCompleter,
    private readonly merges: MergeCompleter,
    private readonly ledger: RecoveryLedger,
    private readonly inline: InlineCompletions,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    const completion = defineReactor<LeadEvent>({
      name: COMPLETION_REACTOR,
      streams: [STREAM_PREFIXES.lead],
      handlers: {
        LeadConverted: (decision) => this.completeUnlessDoneInline(decision as unknown as RecordedEvent),
        LeadMerged: (decision) => this.completeUnlessDoneInline(decision as unknown as RecordedEvent),
        LeadCaptured: IGNORED,
        LeadEngaged: IGNORED,
        LeadDetailsChanged: IGNORED,
        LeadAssigned: IGNORED,
        LeadStatusChanged: IGNORED,
        LeadQualified: IGNORED,
        LeadDisqualified: IGNORED,
        LeadReopened: IGNORED,
        LeadMergedInto: IGNORED,
        PersonalDataErased: IGNORED,
      },
    });
    // A request that left its decision incomplete has the reactor read the log at once, not at its next poll.
    inline.onLeftIncomplete = () => this.runner.wake();
    this.runner = new ReactorRunner(store, positions, [completion], ledger, {
      parkAfterFailures: config.reactorParkAfterFailures,
      onError: (error) => this.logger.error(`Completion reactor: ${error instanceof Error ? error.message : String(error)}; reading the log again from its checkpoint`),
      onFailure: (step, failures, reason, parked) =>
        parked
          ? this.logger.error(`Parked ${step.type} ${step.eventId} of ${step.streamId} after ${failures} failed attempts (${reason}); see GET /processes/parked and retry it there`)
          : this.logger.warn(`${step.type} ${step.eventId} of ${step.streamId} could not be completed (attempt ${failures}), tried again: ${reason}`),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.adoptSweptPosition().catch((error) => this.logFailure(error));
    this.runner.start();
    // A decision that cannot be completed is logged and tried again; it does not keep the service from starting.
    const completed = await this.sweep(BOOT_CATCH_UP_MS).catch((error) => this.logFailure(error));
    if (completed) this.logger.warn(`Completed ${completed} interrupted conversion(s) or merge(s) on start`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    await this.runner.stop();
  }

  /**
   * Waits until the reactor has handled the log as it stands now; resolves with how many
   * decisions it completed since the last call. Rejects while a decision's steps fail (they are
   * tried again with backoff, and the reactor's checkpoint waits at it until it is parked).
   */
  async sweep(timeoutMs = 30_000): Promise<number> {
    const head = await this.store.headPosition();
    try {
      await this.runner.settled(head, timeoutMs);
    } catch (error) {
      if (!(error instanceof ReactorStepsFailing)) throw error;
      throw new Error(`${error.failing.length} decision(s) could not be completed, and will be tried again: ${error.message}`);
    }
    const completed = this.completed;
    this.completed = 0;
    return completed;
  }

  /** The reactor's checkpoint: the last event it has handled (undefined before it has loaded it). */
  async sweptPosition(): Promise<bigint | undefined> {
    return this.runner.checkpointOf(COMPLETION_REACTOR);
  }

  reports(): ReactorReport[] {
    return this.runner.reports();
  }

  /** The reports with each reactor's lag (GET /processes/reactors, /metrics). */
  rows(): Promise<(ReactorReport & { lag: number })[]> {
    return withLags(this.store, this.reports());
  }

  /** The decisions parked after their steps kept failing, oldest first. */
  async parked(): Promise<ParkedDecision[]> {
    return [...(await this.ledger.read()).parked.values()];
  }

  /**
   * An admin's retry of a parked decision (after fixing what made its steps fail): completes it
   * now, or records the new failure and throws it; it stays parked until it completes.
   * Undefined when no such decision is parked.
   */
  async retryParked(decisionId: string, actorId: string): Promise<{ decision: ParkedDecision; position: bigint } | undefined> {
    const decision = (await this.ledger.read()).parked.get(decisionId);
    if (!decision) return undefined;
    const event = (await this.store.readStream(decision.streamId)).find((e) => e.id === decisionId);
    if (!event) return undefined;
    try {
      const position = await this.complete(event);
      await this.ledger.retried(decisionId, actorId);
      this.logger.log(`Parked ${decision.type} ${decisionId} of ${decision.streamId} completed on retry by ${actorId}`);
      return { decision, position };
    } catch (error) {
      await this.ledger.recordFailure(refOf(event), decision.failures + 1, reasonOf(error), false);
      throw new ParkedDecisionStillFails(decisionId, reasonOf(error));
    }
  }

  private async completeUnlessDoneInline(decision: RecordedEvent): Promise<void> {
    const inline = await this.inline.doneInline(decision);
    if (inline === 'completed') return;
    const graceLeft = Date.parse(decision.recordedAt) + INLINE_COMPLETION_GRACE_MS - Date.now();
    // Left incomplete by a request of this process: completed now. Of no request here (another process's, or one read at start): after the grace.
    if (inline === 'unknown' && graceLeft > 0) {
      await wait(graceLeft, undefined, { signal: this.stopping.signal, ref: false }).catch(() => undefined);
      if (this.stopping.signal.aborted) throw new Error('the service is stopping');
      if ((await this.inline.doneInline(decision)) === 'completed') return;
    }
    await this.complete(decision);
    this.completed++;
  }

  private complete(decision: RecordedEvent): Promise<bigint> {
    return decision.type === 'LeadConverted' ? this.conversions.complete(decision) : this.merges.complete(decision);
  }

  /** A data folder the recovery sweep read: the reactor's first start begins where the sweep had got to, not at the first event. */
  private async adoptSweptPosition(): Promise<void> {
    const identity = await this.store.identity();
    const reactorCheckpoint = reactorCheckpointName({ name: COMPLETION_REACTOR }, identity);
    if ((await this.positions.readLogPosition(reactorCheckpoint)) !== undefined) return;
    const swept = await this.positions.readLogPosition(`${SWEPT_POSITION}:${identity}`);
    if (swept !== undefined) await this.positions.saveLogPosition(reactorCheckpoint, swept);
  }

  private logFailure(error: unknown): undefined {
    this.logger.error(`Completion on start: ${error instanceof Error ? error.message : error}`);
    return undefined;
  }
}

export class ParkedDecisionStillFails extends Error {
  constructor(
    readonly decisionId: string,
    readonly reason: string,
  ) {
    super(`Decision ${decisionId} could not be completed: ${reason}`);
    this.name = 'ParkedDecisionStillFails';
  }
}
