import { Inject, Injectable } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { AggregateNotFound, ConvertLead, LeadConverted } from '@crm/domain';
import { deterministicUuid, EVENT_STORE, EventStore, RecordedEvent } from '@crm/event-store';
import { matchKey } from '@crm/read-models';
import type { CommandContext } from '../common/command-context';
import { ReadModels } from '../read-side/read-models';
import { occurredAtOrNow } from '../common/fields';
import { ACCOUNT, AggregateType, CONTACT, LEAD, OPPORTUNITY, streamIdOf } from '../records/aggregate-type';
import { CommandExecutor, CommandOutcome } from '../records/command-executor';
import { completionContext, conversionStepKey, latestPosition } from './completion-context';

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
  ) {}

  /** Completes the conversion of a lead, if it was converted; returns the position of its last step. */
  async completeLead(leadId: string): Promise<bigint> {
    const decision = (await this.store.readStream(streamIdOf(LEAD, leadId))).find((e) => e.type === 'LeadConverted');
    return decision ? this.complete(decision) : -1n;
  }

  async complete(decision: RecordedEvent): Promise<bigint> {
    const d = decision.data as LeadConverted['data'];
    const occurredAt = decision.metadata.occurredAt;
    const step = (record: 'account' | 'contact' | 'opportunity') => completionContext(decision, conversionStepKey(d.leadId, record));
    const options = { catchUpBusinessTime: true };
    const positions: bigint[] = [decision.position];

    const account = d.newAccount
      ? await this.executor.execute(ACCOUNT, d.accountId, { type: 'OpenAccount', accountId: d.accountId, occurredAt, details: d.newAccount, leadSource: d.leadSource }, step('account'), options)
      : await this.executor.execute(ACCOUNT, d.accountId, { type: 'FillAccountBlanks', accountId: d.accountId, occurredAt, offered: d.accountFill ?? {} }, step('account'), options);
    positions.push(account.position);

    if (d.newContact) {
      const contact = { type: 'AddContact', contactId: d.contactId, occurredAt, accountId: d.accountId, accountExists: true, details: d.newContact, leadSource: d.leadSource } as const;
      positions.push((await this.executor.execute(CONTACT, d.contactId, contact, step('contact'), options)).position);
    }
    if (d.opportunityId && d.opportunity) {
      const opportunity = { type: 'OpenOpportunity', opportunityId: d.opportunityId, occurredAt, accountId: d.accountId, accountExists: true, leadSource: d.leadSource, ...d.opportunity } as const;
      positions.push((await this.executor.execute(OPPORTUNITY, d.opportunityId, opportunity, step('opportunity'), options)).position);
    }
    return latestPosition(...positions);
  }
}

@CommandHandler(ConvertLeadCommand)
export class ConvertLeadHandler implements ICommandHandler<ConvertLeadCommand> {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly completer: ConversionCompleter,
    private readonly readModels: ReadModels,
  ) {}

  async execute({ leadId, occurredAt: sent, request, context }: ConvertLeadCommand): Promise<ConversionOutcome> {
    const occurredAt = occurredAtOrNow(sent);
    const existingAccount = request.accountId ? await this.requireExisting(ACCOUNT, request.accountId, 'accountId') : null;
    const existingContact = request.contactId ? await this.requireExisting(CONTACT, request.contactId, 'contactId') : null;
    const newAccountId = deterministicUuid(leadId, 'converted-account');
    // New records get ids derived from the lead: a lead converts once, and every racing attempt names the same ids.
    const command: ConvertLead = {
      type: 'ConvertLead',
      leadId,
      occurredAt,
      account: { id: request.accountId ?? newAccountId, existing: existingAccount },
      contact: { id: request.contactId ?? deterministicUuid(leadId, 'converted-contact'), existing: existingContact },
      opportunity: request.opportunity ? { id: deterministicUuid(leadId, 'converted-opportunity'), ...request.opportunity } : null,
      ownerId: request.ownerId,
      duplicateAccountIds: request.accountId || request.allowDuplicateAccount ? [] : await this.accountsNamedLikeCompany(leadId, newAccountId),
    };
    const outcome = await this.executor.execute(LEAD, leadId, command, context, { catchUpBusinessTime: sent === undefined });
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

  /** Accounts whose name matches the lead's company (case-insensitive, trimmed), from the read model. */
  private async accountsNamedLikeCompany(leadId: string, newAccountId: string): Promise<string[]> {
    const lead = await this.executor.load(LEAD, leadId);
    if (!lead) return [];
    const ids = await this.readModels.idsWhere(ACCOUNT.readModel, { _nameKey: matchKey(lead.company) });
    return ids.filter((id) => id !== newAccountId);
  }

  private async requireExisting<S>(aggregate: AggregateType<any, any, S | null>, id: string, field: string): Promise<S> {
    const state = await this.executor.load(aggregate, id);
    if (state === null) throw new AggregateNotFound(aggregate.name, id, field);
    return state;
  }
}
