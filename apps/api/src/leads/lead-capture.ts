import { Injectable } from '@nestjs/common';
import type { LeadCommand, LeadEvent, LeadState } from '@crm/domain';
import type { CommandContext } from '../common/command-context';
import { occurredAtOrNow, withoutNulls } from '../common/fields';
import { LEAD } from '../records/aggregate-type';
import { CommandExecutor, CommandOutcome } from '../records/command-executor';
import { AssignmentRouting } from '../working-leads/assignment-routing';
import type { CaptureLeadDto } from './lead.dto';

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
    const { occurredAt, ownerId, ...fields } = withoutNulls(body);
    const details = { ...fields, source: fields.source ?? 'Other' };
    // Without an owner the lead takes the turn of the first matching assignment rule (API.md, "Assignment").
    const businessTime = occurredAtOrNow(occurredAt);
    const turn = ownerId === undefined ? await this.routing.takeTurnForCapture(leadId, details, businessTime, context) : undefined;
    const assignment = turn && { assignment: { ownerId: turn.ownerId, ruleName: turn.ruleName } };
    const command: LeadCommand = { type: 'CaptureLead', leadId, occurredAt: businessTime, details, ownerId, ...assignment };
    // "Now" stamped here may lose a race with a concurrent command stamped a moment later; a create under an Idempotency-Key may find its first attempt.
    const options = { allowDuplicate, freshId: !context.idempotencyKey, ...(occurredAt === undefined && { catchUpBusinessTime: true }) };
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
}
