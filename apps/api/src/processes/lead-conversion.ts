import { Inject, Injectable } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ConvertLead, LeadConverted } from '@crm/domain';
import { EVENT_STORE, EventStore, RecordedEvent } from '@crm/event-store';
import type { CommandContext } from '../common/command-context';
import { occurredAtOrNow } from '../common/fields';
import { ACCOUNT, CONTACT, convertedRecordId, LEAD, OPPORTUNITY, streamIdOf } from '../records/aggregate-type';
import { CommandExecutor, CommandOutcome, ExecuteOptions } from '../records/command-executor';
import { completionContext, conversionStepKey, latestPosition } from './completion-context';
import { InlineCompletions } from './inline-completions';

export interface ConversionRequest {
  accountId?: string;
  allowDuplicateAccount?: boolean;
  contactId?: string;
  opportunity?: { name: string; closeDate: string; stage: NonNullable<ConvertLead['opportunity']>['stage']; amount?: number } | null;
  ownerId?: string;
}

export interface ConversionOutcome extends CommandOutcome<unknown> {
  accountId: string;
  contactId: string;
  opportunityId: string | null;
}

export class ConvertLeadCommand extends Command<ConversionOutcome> {
  constructor(
    readonly leadId: string,
    /** As the client sent it; undefined means now. */
    readonly occurredAt: string | undefined,
    readonly request: ConversionRequest,
    readonly context: CommandContext,
  ) {
    super();
  }
}

/**
 * Completes a conversion from its decision, `LeadConverted`: opens (or fills) the account,
 * adds the contact, opens the opportunity. Every step is idempotent, so it runs inline after
 * the decision and again in recovery without ever opening a record twice.
 */
@Injectable()
export class ConversionCompleter {
  constructor(
    private readonly executor: CommandExecutor,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly inline: InlineCompletions,
  ) {}

  /** Completes inline (in the request) the conversion of a lead, if it was converted; returns the position of its last step. */
  async completeLead(leadId: string): Promise<bigint> {
    const decision = (await this.store.readStream(streamIdOf(LEAD, leadId))).find((e) => e.type === 'LeadConverted');
    if (!decision) return -1n;
    const position = await this.complete(decision);
    this.inline.completedInline(decision.id);
    return position;
  }

  async complete(decision: RecordedEvent): Promise<bigint> {
    const d = decision.data as LeadConverted['data'];
    const occurredAt = decision.metadata.occurredAt;
    const step = (record: 'account' | 'contact' | 'opportunity') => completionContext(decision, conversionStepKey(d.leadId, record));
    // The decision claimed the new account's name (the claim names the account and this lead).
    const options = { catchUpBusinessTime: true, claimedByDecision: true };
    const positions: bigint[] = [decision.position];

    const account = d.newAccount
      ? await this.executor.execute(ACCOUNT, d.accountId, { type: 'OpenAccount', accountId: d.accountId, occurredAt, details: d.newAccount, leadSource: d.leadSource }, step('account'), options)
      : await this.executor.execute(ACCOUNT, d.accountId, { type: 'FillAccountBlanks', accountId: d.accountId, occurredAt, offered: d.accountFill ?? {} }, step('account'), options);
    positions.push(account.position);

    if (d.newContact) {
      const contact = { type: 'AddContact', contactId: d.contactId, occurredAt, accountId: d.accountId, accountExists: true, details: d.newContact, leadSource: d.leadSource } as const;
      // The contact is the lead's person: its personal fields are encrypted under the lead's key, and erased with it.
      const context = { ...step('contact'), personId: streamIdOf(LEAD, d.leadId) };
      positions.push((await this.executor.execute(CONTACT, d.contactId, contact, context, options)).position);
    }
    if (d.opportunityId && d.opportunity) {
      const opportunity = { type: 'OpenOpportunity', opportunityId: d.opportunityId, occurredAt, accountId: d.accountId, accountExists: true, leadSource: d.leadSource, ...d.opportunity } as const;
      positions.push((await this.executor.execute(OPPORTUNITY, d.opportunityId, opportunity, step('opportunity'), options)).position);
    }
    return latestPosition(...positions);
  }
}

/** The command and options of one lead's conversion (also decided in bulk: bulk-conversion.ts). */
export function conversionCommand(leadId: string, sent: string | undefined, request: ConversionRequest): { command: ConvertLead; options: ExecuteOptions } {
  // New records get ids derived from the lead: a lead converts once, and every racing attempt names the same ids.
  // The facts (the named account and contact, the duplicate-account claim) are resolved by the executor on every attempt.
  const command: ConvertLead = {
    type: 'ConvertLead',
    leadId,
    occurredAt: occurredAtOrNow(sent),
    account: { id: request.accountId ?? convertedRecordId(leadId, 'account'), existing: null },
    contact: { id: request.contactId ?? convertedRecordId(leadId, 'contact'), existing: null },
    opportunity: request.opportunity ? { id: convertedRecordId(leadId, 'opportunity'), ...request.opportunity } : null,
    ownerId: request.ownerId,
  };
  const options = { catchUpBusinessTime: sent === undefined, allowDuplicate: request.allowDuplicateAccount === true };
  return { command, options };
}

@CommandHandler(ConvertLeadCommand)
export class ConvertLeadHandler implements ICommandHandler<ConvertLeadCommand> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly completer: ConversionCompleter,
    private readonly inline: InlineCompletions,
  ) {}

  execute(command: ConvertLeadCommand): Promise<ConversionOutcome> {
    // The completion reactor waits for this request rather than racing its steps.
    return this.inline.around([streamIdOf(LEAD, command.leadId)], () => this.convert(command));
  }

  private async convert({ leadId, occurredAt: sent, request, context }: ConvertLeadCommand): Promise<ConversionOutcome> {
    const { command, options } = conversionCommand(leadId, sent, request);
    const outcome = await this.executor.execute(LEAD, leadId, command, context, options);
    const converted = outcome.events.find((e): e is LeadConverted => e.type === 'LeadConverted')!;
    const position = await this.completer.completeLead(leadId);
    return {
      ...outcome,
      position: latestPosition(position, outcome.position),
      accountId: converted.data.accountId,
      contactId: converted.data.contactId,
      opportunityId: converted.data.opportunityId,
    };
  }
}
