import { Inject, Injectable, Logger } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { AggregateNotFound, DomainError, Lead, LeadMerged } from '@crm/domain';
import { EVENT_STORE, EventStore, RecordedEvent } from '@crm/event-store';
import type { CommandContext } from '../common/command-context';
import { occurredAtOrNow } from '../common/fields';
import { LEAD, streamIdOf } from '../records/aggregate-type';
import { CommandExecutor, CommandOutcome } from '../records/command-executor';
import { completionContext, mergeStepKey } from './completion-context';

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
  ) {}

  /** Completes every merge into this survivor; returns the position of the last step. */
  async completeSurvivor(survivorId: string): Promise<bigint> {
    const decisions = (await this.store.readStream(streamIdOf(LEAD, survivorId))).filter((e) => e.type === 'LeadMerged');
    let position = -1n;
    for (const decision of decisions) {
      const last = await this.complete(decision);
      if (last > position) position = last;
    }
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
        if (outcome.position > position) position = outcome.position;
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
  ) {}

  async execute({ leadId, occurredAt: sent, duplicateIds, context }: MergeLeadsCommand): Promise<CommandOutcome<unknown>> {
    const occurredAt = occurredAtOrNow(sent);
    const duplicates: Lead[] = [];
    for (const id of duplicateIds) {
      const duplicate = await this.executor.load(LEAD, id);
      if (duplicate === null) throw new AggregateNotFound('Lead', id, 'duplicateIds');
      duplicates.push(duplicate);
    }
    const outcome = await this.executor.execute(LEAD, leadId, { type: 'MergeLeads', leadId, occurredAt, duplicates }, context, { catchUpBusinessTime: sent === undefined });
    const position = await this.completer.completeSurvivor(leadId);
    return { ...outcome, position: position > outcome.position ? position : outcome.position };
  }
}
