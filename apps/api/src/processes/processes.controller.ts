import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Command, CommandContext } from '../common/command-context';
import { problem, ProblemException } from '../common/problem';
import { CompletionRecovery, ParkedDecisionStillFails } from './completion-recovery';

/** The reactors, and the conversions and merges whose completion they gave up on, for admins (API.md, Operations). */
@ApiTags('operations')
@Controller('processes')
export class ProcessesController {
  constructor(private readonly recovery: CompletionRecovery) {}

  @Get('reactors')
  @ApiOperation({
    summary: 'The reactors (processors with side effects), as GET /projections lists the projections',
    description:
      'Each reactor: { name, kind: "reactor", version (of its code), position (its checkpoint), lag (events behind the head), status (starting, catching-up, live, failed, stopped), ' +
      'error: { position, eventType, message, failures } while a step fails and is tried again }. A step that keeps failing is parked (GET /processes/parked) and the reactor goes on.',
  })
  async reactors() {
    return this.recovery.rows();
  }

  @Get('parked')
  @ApiOperation({
    summary: 'Conversions and merges whose completion the reactor gave up on',
    description:
      'A conversion or merge is decided on the lead stream and completed by steps on the other records (inline, and by the completion reactor, which follows the log); when its steps keep failing ' +
      '(REACTOR_PARK_AFTER_FAILURES attempts, tried again with backoff) it is parked: logged as an error, listed here, and passed over by the reactor. Its records stay as they are (a parked conversion\'s lead is Converted, ' +
      'some of the records it names may be missing) until an admin fixes the cause and retries it. ' +
      '[{ decisionId, type (LeadConverted | LeadMerged), streamId, position, failures, reason, parkedAt }], oldest first.',
  })
  list() {
    return this.recovery.parked();
  }

  @Post('parked/:decisionId/retry')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Retry the steps of a parked conversion or merge now',
    description: 'Every step is idempotent, so a retry opens or closes only what is still missing. 200 { decisionId, status: "completed", position } and the decision is no longer parked; 409 with the reason when a step still fails (it stays parked, and the failure is counted); 404 when no such decision is parked.',
  })
  @ApiResponse({ status: 200, description: '{ decisionId, status: "completed", position }' })
  @ApiResponse({ status: 404, description: 'No parked decision of that id' })
  @ApiResponse({ status: 409, description: 'A step still fails; `reason` says why' })
  async retry(@Param('decisionId') decisionId: string, @Command() context: CommandContext) {
    try {
      const retried = await this.recovery.retryParked(decisionId, context.actorId);
      if (!retried) {
        throw new ProblemException(problem(404, 'not-found', 'Not found', `No parked decision has id ${decisionId}`, { errors: [{ field: 'decisionId', message: 'not a parked decision' }] }));
      }
      return { decisionId, status: 'completed', position: String(retried.position) };
    } catch (error) {
      if (!(error instanceof ParkedDecisionStillFails)) throw error;
      throw new ProblemException(problem(409, 'completion-failed', 'The decision still cannot be completed', error.message, { reason: error.reason }));
    }
  }
}
