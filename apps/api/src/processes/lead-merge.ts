import { Inject, Injectable, Logger } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { DomainError, LeadMerged } from '@crm/domain';
import { EVENT_STORE, EventStore, RecordedEvent } from '@crm/event-store';
import type { CommandContext } from '../common/command-context';
import { occurredAtOrNow } from '../common/fields';
import { LEAD, streamIdOf } from '../records/aggregate-type';
import { CommandExecutor, CommandOutcome } from '../records/command-executor';
import { completionContext, latestPosition, mergeStepKey } from './completion-context';
import { InlineCompletions } from './inline-completions';

export class MergeLeadsCommand extends Command<CommandOutcome<unknown>> {
  constructor(
    readonly leadId: string,
    /** As the client sent it; undefined means now. */
    readonly occurredAt: string | undefined,
    readonly duplicateIds: string[],
    readonly context: CommandContext,
  ) {
    super();
  }
}

/**
 * Completes a merge from its decision, `LeadMerged` on the survivor: closes each duplicate
 * with `LeadMergedInto`. Idempotent, so recovery can repeat it after a crash.
 */
@Injectable()
export class MergeCompleter {
  private readonly logger = new Logger('MergeCompleter');

  constructor(
    private readonly executor: CommandExecutor,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly inline: InlineCompletions,
  ) {}

  /** Completes inline (in the request) the merge decided at `revision` of the survivor's stream; returns the position of its last step. */
  async completeDecisionAt(survivorId: string, revision: number): Promise<bigint> {
    const [decision] = await this.store.readStream(streamIdOf(LEAD, survivorId), { fromRevision: revision, maxCount: 1 });
    if (decision?.type !== 'LeadMerged') return -1n;
    const position = await this.complete(decision);
    this.inline.completedInline(decision.id);
    return position;
  }

  async complete(decision: RecordedEvent): Promise<bigint> {
    const { leadId: survivorId, duplicateIds } = decision.data as LeadMerged['data'];
    let position = decision.position;
    for (const duplicateId of duplicateIds) {
      try {
        const command = { type: 'MarkLeadMergedInto', leadId: duplicateId, occurredAt: decision.metadata.occurredAt, survivorId } as const;
        const outcome = await this.executor.execute(LEAD, duplicateId, command, completionContext(decision, mergeStepKey(survivorId, duplicateId)), {
          catchUpBusinessTime: true,
        });
        position = latestPosition(position, outcome.position);
      } catch (error) {
        // The duplicate was converted in the moment between the decision and this step: it stays converted.
        if (!(error instanceof DomainError)) throw error;
        this.logger.warn(`Lead ${duplicateId} was not closed by the merge into ${survivorId}: ${error.message}`);
      }
    }
    return position;
  }
}

@CommandHandler(MergeLeadsCommand)
export class MergeLeadsHandler implements ICommandHandler<MergeLeadsCommand> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly completer: MergeCompleter,
    private readonly inline: InlineCompletions,
  ) {}

  execute(command: MergeLeadsCommand): Promise<CommandOutcome<unknown>> {
    // The completion reactor waits for this request rather than racing its steps.
    return this.inline.around([streamIdOf(LEAD, command.leadId)], () => this.merge(command));
  }

  private async merge({ leadId, occurredAt: sent, duplicateIds, context }: MergeLeadsCommand): Promise<CommandOutcome<unknown>> {
    // The duplicates' states are loaded by the executor on every attempt (LEAD.resolveFacts), never once before it.
    const command = { type: 'MergeLeads', leadId, occurredAt: occurredAtOrNow(sent), duplicateIds } as const;
    const outcome = await this.executor.execute(LEAD, leadId, command, context, { catchUpBusinessTime: sent === undefined });
    // A merge appends one event, so its decision is the one at the revision it answers (a replay's too).
    const position = await this.completer.completeDecisionAt(leadId, outcome.revision);
    return { ...outcome, position: latestPosition(position, outcome.position) };
  }
}
