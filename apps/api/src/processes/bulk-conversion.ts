import { Injectable, Logger } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { CommandBus } from '@nestjs/cqrs';
import type { LeadConverted } from '@crm/domain';
import { EventIdConflictError, WrongExpectedRevisionError } from '@crm/event-store';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsObject, ValidateNested } from 'class-validator';
import { createHash, randomUUID } from 'node:crypto';
import type { CommandContext } from '../common/command-context';
import { BooleanField, IdField } from '../common/fields';
import { idempotencyKeyReused, invalidInput, Problem, problem, ProblemException } from '../common/problem';
import { knownProblemOf } from '../common/problem.filter';
import { ConvertLeadDto } from '../leads/lead.dto';
import { LEAD, streamIdOf } from '../records/aggregate-type';
import { CommandExecutor, concurrentModification, Decision, failureLabel, outcomeLabel, RefusedInBatch } from '../records/command-executor';
import { InlineCompletions } from './inline-completions';
import { ConversionCompleter, conversionCommand, ConvertLeadCommand } from './lead-conversion';

/** The most conversions one request takes (API.md). */
export const MAX_BULK_CONVERSIONS = 200;
/** An all-or-none batch that loses a race with other commands on its leads or claims is decided again, this many times. */
const MAX_ATTEMPTS = 10;

export class BulkConversionItemDto extends ConvertLeadDto {
  @IdField('required', 'The lead to convert (Qualified)')
  leadId: string;
}

export class BulkConvertLeadsDto {
  @ApiProperty({ type: [BulkConversionItemDto], minItems: 1, maxItems: MAX_BULK_CONVERSIONS, description: 'Each item: leadId and the body of POST /leads/:id/convert' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BULK_CONVERSIONS)
  @IsObject({ each: true, message: 'each conversion must be an object' })
  @ValidateNested({ each: true })
  @Type(() => BulkConversionItemDto)
  conversions: BulkConversionItemDto[];

  @BooleanField('optional', 'true: every lead converts or none does (default false: each on its own)')
  allOrNone?: boolean;
}

/** One item's result: the /convert response (status 200) or the problem that refused it. */
export type BulkConversionResult = { leadId: string; status: number } & Record<string, unknown>;

/**
 * `POST /leads/convert`. Each on its own: one conversion after the other, as /leads/:id/convert.
 * All or none: every conversion is decided first (nothing appended); one refusal and none is
 * appended; else every decision — each lead's LeadConverted with the account-name claims it
 * takes — is appended in ONE transaction (`appendAtomically`), so after a crash either all
 * decisions are in the log or none is. The records each decision opens are then completed as
 * for a single conversion (inline, and by CompletionRecovery after a crash), with ids derived
 * from the lead.
 */
@Injectable()
export class BulkConversion {
  private readonly logger = new Logger('BulkConversion');

  constructor(
    private readonly commandBus: CommandBus,
    private readonly executor: CommandExecutor,
    private readonly completer: ConversionCompleter,
    private readonly inline: InlineCompletions,
  ) {}

  async convert({ conversions, allOrNone }: BulkConvertLeadsDto, context: CommandContext): Promise<BulkConversionResult[]> {
    const leadIds = conversions.map((c) => c.leadId.toLowerCase());
    const repeated = leadIds.findIndex((id, i) => leadIds.indexOf(id) !== i);
    if (repeated >= 0) throw invalidInput([{ field: `conversions.${repeated}.leadId`, message: 'a lead appears twice in the conversions' }]);
    const items = conversions.map(({ leadId, occurredAt, ...request }, i) => ({ leadId: leadIds[i], occurredAt, request, context: itemContext(context, leadIds[i]) }));
    if (!allOrNone) return this.eachOnItsOwn(items);
    if (!this.executor.appendsAtomically) {
      throw invalidInput([{ field: 'allOrNone', message: 'all-or-none conversion needs the embedded event store (one transaction across streams); see the README' }]);
    }
    // The completion reactor waits for this request rather than racing its steps.
    return this.inline.around(
      items.map(({ leadId }) => streamIdOf(LEAD, leadId)),
      () => this.allOrNone(items),
    );
  }

  private async eachOnItsOwn(items: Item[]): Promise<BulkConversionResult[]> {
    const results: BulkConversionResult[] = [];
    for (const { leadId, occurredAt, request, context } of items) {
      try {
        const outcome = await this.commandBus.execute(new ConvertLeadCommand(leadId, occurredAt, request, context));
        results.push(converted(leadId, outcome.revision, outcome.position, outcome));
      } catch (error) {
        results.push({ leadId, ...this.problemOf(error) });
      }
    }
    return results;
  }

  private async allOrNone(items: Item[]): Promise<BulkConversionResult[]> {
    for (let attempt = 1; ; attempt++) {
      const decided: { item: Item; decision: Decision<unknown>; allowDuplicate: boolean }[] = [];
      const refused = new Map<number, Problem>();
      /** Account names claimed by earlier items of this batch (one claim stream takes one decision per transaction), by the lead that claims it. */
      const claimedInBatch = new Map<string, string>();
      for (const [index, item] of items.entries()) {
        const { command, options } = conversionCommand(item.leadId, item.occurredAt, item.request);
        try {
          const decision = await this.executor.decide(LEAD, item.leadId, command, item.context, options, attempt);
          for (const claim of decision.kind === 'append' ? decision.claims : []) {
            const key = `${claim.rule.name}\n${claim.value}`;
            const first = claimedInBatch.get(key);
            if (first) throw sameAccountInBatch(index, first);
            claimedInBatch.set(key, item.leadId);
          }
          decided.push({ item, decision, allowDuplicate: options.allowDuplicate ?? false });
        } catch (error) {
          refused.set(index, this.problemOf(error));
          this.executor.counted('ConvertLead', failureLabel(error)); // a refusal ends the batch: counted once
        }
      }
      if (refused.size > 0) return items.map(({ leadId }, index) => ({ leadId, ...(refused.get(index) ?? notConverted(refused.size)) }));

      const toAppend = decided.flatMap(({ item, decision, allowDuplicate }) => (decision.kind === 'append' ? [{ decision, allowDuplicate, context: item.context }] : []));
      try {
        if (toAppend.length > 0) await this.executor.appendTogether(toAppend);
      } catch (error) {
        if (error instanceof EventIdConflictError) throw idempotencyKeyReused();
        // Another command on one of the leads or claims came first: decide the whole batch again.
        if (error instanceof WrongExpectedRevisionError) {
          if (attempt < MAX_ATTEMPTS) continue;
          throw concurrentModification('Conversion batch of lead', items[0].leadId); // nothing was appended: a 409 to retry, not a 500
        }
        if (error instanceof RefusedInBatch) {
          // A claim refused when it was decided for the transaction (its value was taken since the batch was decided).
          const refusedLead = toAppend[error.index].decision.id;
          this.executor.counted('ConvertLead', 'refused');
          return items.map(({ leadId }) => ({ leadId, ...(leadId === refusedLead ? this.problemOf(error.refusal) : notConverted(1)) }));
        }
        throw error;
      }
      // Every decision is durable (counted now, as `execute` counts before completing): complete the records each opens (the completion reactor does it for any a crash interrupts).
      for (const { decision } of decided) this.executor.counted('ConvertLead', decision.kind === 'append' ? 'succeeded' : outcomeLabel(decision.outcome));
      const results: BulkConversionResult[] = [];
      for (const { item, decision } of decided) {
        const position = await this.completer.completeLead(item.leadId);
        const events = decision.kind === 'append' ? decision.events : decision.outcome.events;
        const revision = decision.kind === 'append' ? decisionRevision(decision) : decision.outcome.revision;
        const done = events.find((e): e is LeadConverted => e.type === 'LeadConverted');
        if (!done) throw new Error(`The conversion of lead ${item.leadId} decided no LeadConverted`);
        results.push(converted(item.leadId, revision, position, done.data));
      }
      return results;
    }
  }

  private problemOf(error: unknown): Problem {
    const known = knownProblemOf(error);
    if (known) return known;
    this.logger.error(`A conversion of a bulk request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return problem(500, 'internal-error', 'Internal error', 'This conversion failed; it was not converted');
  }
}

interface Item {
  leadId: string;
  occurredAt: string | undefined;
  request: Omit<ConvertLeadDto, 'occurredAt'>;
  context: CommandContext;
}

/** Each item is a command of its own: under an Idempotency-Key, each lead's events get ids and a key of their own, derived from the request's. */
function itemContext(context: CommandContext, leadId: string): CommandContext {
  const idempotencyKey = context.idempotencyKey && createHash('sha256').update(`${context.idempotencyKey}\nconvert ${leadId}`).digest('hex');
  return { ...context, commandId: randomUUID(), ...(idempotencyKey && { idempotencyKey }) };
}

function converted(leadId: string, revision: number, position: bigint, ids: { accountId: string; contactId: string; opportunityId: string | null }): BulkConversionResult {
  return { leadId, status: 200, id: leadId, revision, position: position.toString(), accountId: ids.accountId, contactId: ids.contactId, opportunityId: ids.opportunityId };
}

function decisionRevision(decision: Extract<Decision<unknown>, { kind: 'append' }>): number {
  const { expectedRevision, events } = decision.record;
  return (typeof expectedRevision === 'number' ? expectedRevision : -1) + events.length;
}

/** Two conversions of one all-or-none batch would open accounts of one name: the account of the first does not exist yet, so the second cannot name it. */
function sameAccountInBatch(index: number, firstLeadId: string): ProblemException {
  return new ProblemException(
    problem(409, 'duplicate-account-in-batch', 'Refused by a business rule', `Lead ${firstLeadId} of this batch opens an account of the same name; convert this lead into that account (accountId) once it is converted`, {
      errors: [{ field: `conversions.${index}.accountId`, message: 'another conversion of this batch opens an account of the same name' }],
      leadIds: [firstLeadId],
    }),
  );
}

function notConverted(refused: number): Problem {
  return problem(424, 'not-converted', 'Not converted', `Not converted: the conversions were all-or-none and ${refused} of them ${refused === 1 ? 'was' : 'were'} refused`);
}
