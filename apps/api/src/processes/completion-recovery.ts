import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { LeadConverted, LeadMerged } from '@crm/domain';
import { EVENT_STORE, EventStore, RecordedEvent } from '@crm/event-store';
import { READ_STORE, ReadStore } from '@crm/read-models';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { completionStepOf, conversionStepKey, mergeStepKey } from './completion-context';
import { ConversionCompleter } from './lead-conversion';
import { MergeCompleter } from './lead-merge';
import { PARK_AFTER_FAILED_SWEEPS, ParkedDecision, reasonOf, RecoveryLedger, refOf } from './parked-decisions';

const PAGE_SIZE = 1000;
export const RECOVERY_INTERVAL_MS = 30_000;

/**
 * Under this name, followed by the log's identity, the read store keeps how far the sweeps have
 * read the log: a read store that meets a new log (a wiped server, another file) then starts
 * from the first event instead of a position of the old log.
 */
const SWEPT_POSITION = 'completion-recovery';

/**
 * Finishes the conversions and merges that a crash interrupted between the decision (on the
 * lead stream) and its last step. It runs before the API starts listening, then on a timer:
 * it reads the log from where the last sweep ended (kept in the read store, so a restart does
 * not read the whole log again), notes each decision and the completed steps (by their
 * idempotency keys), and repeats the steps of every decision not seen complete. Only a sweep
 * that completed every such decision moves that position on; one that failed is read again.
 * A decision whose steps failed on PARK_AFTER_FAILED_SWEEPS sweeps is parked: logged as an
 * error, listed by `GET /processes/parked`, passed over by later sweeps (so it no longer holds
 * their position back), and completed only when an admin retries it.
 */
@Injectable()
export class CompletionRecovery implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CompletionRecovery');
  private sweeping: Promise<number> | undefined;
  private positionName: Promise<string> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_STORE) private readonly positions: ReadStore,
    private readonly conversions: ConversionCompleter,
    private readonly merges: MergeCompleter,
    private readonly ledger: RecoveryLedger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // A decision that cannot be completed is logged and tried again on every sweep; it does not keep the service from starting.
    const completed = await this.sweep().catch((error) => this.logFailure(error));
    if (completed) this.logger.warn(`Completed ${completed} interrupted conversion(s) or merge(s) on start`);
    this.timer = setInterval(() => {
      this.sweep().catch((error) => this.logFailure(error));
    }, RECOVERY_INTERVAL_MS);
    this.timer.unref();
  }

  private logFailure(error: unknown): void {
    this.logger.error(`Recovery sweep failed: ${error instanceof Error ? error.message : error}`);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping?.catch(() => undefined);
  }

  /** One pass over the log since the last complete pass; returns how many decisions it had to complete. */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepOnce().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** Where the last complete sweep of this log ended (undefined before the first). */
  async sweptPosition(): Promise<bigint | undefined> {
    return this.positions.readLogPosition(await this.sweptPositionName());
  }

  private sweptPositionName(): Promise<string> {
    this.positionName ??= this.store.identity().then((identity) => `${SWEPT_POSITION}:${identity}`);
    return this.positionName;
  }

  private async sweepOnce(): Promise<number> {
    const positionName = await this.sweptPositionName();
    const from = (await this.positions.readLogPosition(positionName)) ?? -1n;
    /** Each decision with the position just before it, where a sweep that must read it again starts. */
    const decisions: { decision: RecordedEvent; before: bigint }[] = [];
    const completedSteps = new Set<string>();
    let position = from;
    for (;;) {
      const page = await this.store.readAll({ after: position, maxCount: PAGE_SIZE });
      for (const event of page) {
        if (event.type === 'LeadConverted' || event.type === 'LeadMerged') decisions.push({ decision: event, before: position });
        const step = completionStepOf(event.metadata);
        if (step) completedSteps.add(step);
        position = event.position;
      }
      if (page.length === 0) break;
      await nextTurn(); // the embedded store reads synchronously: let requests in between pages
    }
    let completed = 0;
    const failures: { before: bigint; reason: string }[] = [];
    const ledger = decisions.length > 0 ? await this.ledger.read() : undefined;
    for (const { decision, before } of decisions) {
      if (seenComplete(decision, completedSteps) || ledger?.parked.has(decision.id)) continue;
      try {
        await this.complete(decision);
        completed++;
      } catch (error) {
        const reason = reasonOf(error);
        const failed = (ledger?.failures.get(decision.id) ?? 0) + 1;
        const park = failed >= PARK_AFTER_FAILED_SWEEPS;
        await this.ledger.failed(refOf(decision), failed, reason, park);
        if (park) {
          this.logger.error(`Parked ${decision.type} ${decision.id} of ${decision.streamId} after ${failed} failed sweeps (${reason}); see GET /processes/parked and retry it there`);
        } else {
          failures.push({ before, reason: `${decision.type} of ${decision.streamId} (failed ${failed} of ${PARK_AFTER_FAILED_SWEEPS} sweeps before it is parked): ${reason}` });
        }
      }
    }
    // The next sweep starts at the first decision that failed, or after everything read.
    const reached = failures.length > 0 ? failures[0].before : position;
    if (reached !== from) await this.positions.saveLogPosition(positionName, reached);
    if (failures.length > 0) {
      throw new Error(`${failures.length} decision(s) could not be completed, and will be tried again: ${failures.map((f) => f.reason).join('; ')}`);
    }
    return completed;
  }

  /** The decisions parked after failing on every sweep, oldest first. */
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
      await this.ledger.failed(refOf(event), decision.failures + 1, reasonOf(error), false);
      throw new ParkedDecisionStillFails(decisionId, reasonOf(error));
    }
  }

  private complete(decision: RecordedEvent): Promise<bigint> {
    return decision.type === 'LeadConverted' ? this.conversions.complete(decision) : this.merges.complete(decision);
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

/** Whether the log shows every step of a decision done. */
function seenComplete(decision: RecordedEvent, completedSteps: Set<string>): boolean {
  if (decision.type === 'LeadMerged') {
    const { leadId, duplicateIds } = decision.data as LeadMerged['data'];
    return duplicateIds.every((id) => completedSteps.has(mergeStepKey(leadId, id)));
  }
  const d = decision.data as LeadConverted['data'];
  // Filling an existing account's blanks may append nothing, so that step leaves no trace:
  // such a conversion is simply completed again (every step is idempotent).
  if (!d.newAccount) return false;
  const records: ('account' | 'contact' | 'opportunity')[] = ['account', ...(d.newContact ? ['contact' as const] : []), ...(d.opportunity ? ['opportunity' as const] : [])];
  return records.every((record) => completedSteps.has(conversionStepKey(d.leadId, record)));
}
