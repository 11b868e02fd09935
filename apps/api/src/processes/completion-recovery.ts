import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { LeadConverted, LeadMerged } from '@crm/domain';
import { EVENT_STORE, EventStore, RecordedEvent } from '@crm/event-store';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { conversionStepKey, mergeStepKey } from './completion-context';
import { ConversionCompleter } from './lead-conversion';
import { MergeCompleter } from './lead-merge';

const PAGE_SIZE = 1000;
export const RECOVERY_INTERVAL_MS = 30_000;

/**
 * Finishes the conversions and merges that a crash interrupted between the decision (on the
 * lead stream) and its last step. It runs before the API starts listening, then on a timer:
 * it reads the log from where it stopped, notes each decision and the completed steps (by
 * their idempotency keys), and repeats the steps of every decision not seen complete.
 */
@Injectable()
export class CompletionRecovery implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CompletionRecovery');
  private after = -1n;
  private sweeping: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly conversions: ConversionCompleter,
    private readonly merges: MergeCompleter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const completed = await this.sweep();
    if (completed > 0) this.logger.warn(`Completed ${completed} interrupted conversion(s) or merge(s) on start`);
    this.timer = setInterval(() => {
      this.sweep().catch((error) => this.logger.error(`Recovery sweep failed: ${error instanceof Error ? error.message : error}`));
    }, RECOVERY_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping?.catch(() => undefined);
  }

  /** One pass over the log since the last pass; returns how many decisions it had to complete. */
  sweep(): Promise<number> {
    this.sweeping ??= this.sweepOnce().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<number> {
    const decisions: RecordedEvent[] = [];
    const completedSteps = new Set<string>();
    for (;;) {
      const page = await this.store.readAll({ after: this.after, maxCount: PAGE_SIZE });
      for (const event of page) {
        if (event.type === 'LeadConverted' || event.type === 'LeadMerged') decisions.push(event);
        if (event.metadata.requestFingerprint === 'completion' && event.metadata.idempotencyKey) completedSteps.add(event.metadata.idempotencyKey);
      }
      if (page.length === 0) break;
      this.after = page[page.length - 1].position;
      await nextTurn(); // the embedded store reads synchronously: let requests in between pages
    }
    let completed = 0;
    for (const decision of decisions) {
      if (seenComplete(decision, completedSteps)) continue;
      await (decision.type === 'LeadConverted' ? this.conversions.complete(decision) : this.merges.complete(decision));
      completed++;
    }
    return completed;
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
