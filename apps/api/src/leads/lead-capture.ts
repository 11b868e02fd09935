import { Injectable } from '@nestjs/common';
import { withMembers } from '@crm/domain';
import type { LeadCommand, LeadEvent, LeadState } from '@crm/domain';
import { EventIdConflictError, WrongExpectedRevisionError } from '@crm/event-store';
import type { CommandContext } from '../common/command-context';
import { occurredAtOrNow, withoutNulls } from '../common/fields';
import { idempotencyKeyReused, problem, ProblemException } from '../common/problem';
import { LEAD } from '../records/aggregate-type';
import { CommandExecutor, CommandOutcome, Decision, ExecuteOptions, RefusedInBatch } from '../records/command-executor';
import { claimStreamId } from '../records/uniqueness-claims';
import { AppendTurned, AssignmentRouting, FailedInTurn } from '../working-leads/assignment-routing';

type CaptureOutcome = CommandOutcome<LeadState, LeadEvent>;
type CaptureDecision = Extract<Decision<LeadState, LeadEvent>, { kind: 'append' }>;
type Together = Parameters<CommandExecutor['appendTogether']>[0][number];
type CaptureLeadCommand = Extract<LeadCommand, { type: 'CaptureLead' }>;
/** A capture whose email or stream another command took meanwhile is decided again this many times. */
const MAX_CAPTURE_ATTEMPTS = 10;
import type { CaptureLeadDto } from './lead.dto';

/**
 * The capture command of a validated body, before any assignment: the source defaults to
 * `Other`, the business time to now (`stampedNow`). The one place both capture paths (a lead
 * sent alone, a chunk of import lines) build it.
 */
export function captureCommandOf(leadId: string, body: CaptureLeadDto): { command: CaptureLeadCommand; stampedNow: boolean } {
  const { occurredAt, ownerId, ...fields } = withoutNulls(body);
  const details = { ...fields, source: fields.source ?? 'Other' };
  return { command: { type: 'CaptureLead', leadId, occurredAt: occurredAtOrNow(occurredAt), details, ownerId }, stampedNow: occurredAt === undefined };
}

/**
 * A capture (`POST /leads`, and each line of `POST /leads/import`): the assignment turn of a
 * lead without an owner, the command with its email claim, and the turn given back when the
 * capture is refused or was a replay. One path, so an imported line is captured exactly as a
 * lead sent alone.
 */
@Injectable()
export class LeadCapture {
  constructor(
    private readonly executor: CommandExecutor,
    private readonly routing: AssignmentRouting,
  ) {}

  /** `body` is validated as CaptureLeadDto; `leadId` from `newRecordId` (or derived from an import line). */
  async capture(leadId: string, body: CaptureLeadDto, context: CommandContext, allowDuplicate: boolean): Promise<CommandOutcome<LeadState, LeadEvent>> {
    const { command: captured, stampedNow } = captureCommandOf(leadId, body);
    const { occurredAt: businessTime, details, ownerId } = captured;
    // Without an owner the lead takes the turn of the first matching assignment rule (API.md, "Assignment").
    // "Now" stamped here may lose a race with a concurrent command stamped a moment later; a create under an Idempotency-Key may find its first attempt.
    const options = { allowDuplicate, freshId: !context.idempotencyKey, ...(stampedNow && { catchUpBusinessTime: true }) };
    // Where the store appends to several streams in one transaction, the turn and the lead are one commit.
    const rule = ownerId === undefined && this.executor.appendsAtomically ? await this.routing.matchingRule(details) : undefined;
    if (rule) {
      const unassigned: Extract<LeadCommand, { type: 'CaptureLead' }> = { type: 'CaptureLead', leadId, occurredAt: businessTime, details };
      return this.executor.countedOutcome('CaptureLead', () => this.captureInTurn(rule, unassigned, context, options));
    }
    // EventStoreDB has no multi-stream transaction: the turn is appended first, then the lead, and a refused capture gives its turn back.
    const turn = ownerId === undefined ? await this.routing.takeTurnForCapture(leadId, details, businessTime, context) : undefined;
    const assignment = turn && { assignment: { ownerId: turn.ownerId, ruleName: turn.ruleName } };
    const command: LeadCommand = { type: 'CaptureLead', leadId, occurredAt: businessTime, details, ownerId, ...assignment };
    let outcome: CommandOutcome<LeadState, LeadEvent>;
    try {
      outcome = await this.executor.execute(LEAD, leadId, command, context, options);
    } catch (error) {
      // A refused capture (a duplicate email…) gives its turn back, so the owners stay even.
      if (turn) await this.routing.giveBack(turn, businessTime, context);
      throw error;
    }
    // A concurrent retry under the same Idempotency-Key captured first: this turn went unused.
    if (turn && outcome.replayed) await this.routing.giveBack(turn, businessTime, context);
    return outcome;
  }

  /**
   * The capture appended with its turn in one transaction (see AssignmentRouting.captureInTurn):
   * a refused capture took no turn. One whose email was claimed or whose stream was written by
   * another command meanwhile is decided again, turn and all.
   */
  private async captureInTurn(
    rule: NonNullable<Awaited<ReturnType<AssignmentRouting['matchingRule']>>>,
    command: Extract<LeadCommand, { type: 'CaptureLead' }>,
    context: CommandContext,
    options: ExecuteOptions,
  ): Promise<CaptureOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.routing.captureInTurn<CaptureOutcome>(
          rule,
          {
            leadId: command.leadId,
            occurredAt: command.occurredAt,
            context,
            decide: async (assignment) => {
              const decision = await this.executor.decide(LEAD, command.leadId, withMembers(command, { assignment }), context, options, attempt);
              if (decision.kind === 'decided') return { answer: decision.outcome };
              // Most emails are new: the first attempt claims without reading (a taken one fails the append, and the next attempt reads).
              const together: Together = { decision, allowDuplicate: options.allowDuplicate ?? false, context, claimsAssumedFirst: attempt === 1 };
              return { append: together };
            },
          },
          this.appendTurned,
        );
      } catch (error) {
        if (error instanceof EventIdConflictError) throw idempotencyKeyReused();
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        if (attempt >= MAX_CAPTURE_ATTEMPTS) {
          throw new ProblemException(problem(409, 'concurrent-modification', 'Too many concurrent changes', `Lead ${command.leadId} kept changing while it was captured; retry it`));
        }
      }
    }
  }

  /** The captures of one transaction and their turns, all or none; a capture whose own part failed it is named by FailedInTurn. */
  private readonly appendTurned: AppendTurned<CaptureOutcome> = async (decisions, turns) => {
    const parts = decisions as Together[];
    try {
      const results = await this.executor.appendTogether(parts, [turns]);
      return parts.map(({ decision }, index) => this.executor.appended(decision as CaptureDecision, results[index]));
    } catch (error) {
      if (error instanceof RefusedInBatch) throw new FailedInTurn(error.index, error.refusal);
      if (error instanceof WrongExpectedRevisionError || error instanceof EventIdConflictError) {
        const streamId = error.streamId;
        const index = parts.findIndex(({ decision }) => decision.record.streamId === streamId || decision.claims.some((claim) => claimStreamId(claim.rule, claim.value) === streamId));
        if (index >= 0) throw new FailedInTurn(index, error);
      }
      throw error;
    }
  };
}
