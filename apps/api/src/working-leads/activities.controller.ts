import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AggregateNotFound } from '@crm/domain';
import type { FastifyReply } from 'fastify';
import { CommandDocs, ReadDocs } from '../common/api-docs';
import { Command, CommandContext } from '../common/command-context';
import { commandResponse } from '../common/command-response';
import { withoutNulls } from '../common/fields';
import { newRecordId, RecordIdPipe } from '../common/record-id';
import { ReadModels } from '../read-side/read-models';
import { ACCOUNT, AggregateType, CONTACT, LEAD, OPPORTUNITY } from '../records/aggregate-type';
import { toPageRequest } from '../records/list-query.dto';
import { RecordController } from '../records/record-reads.controller';
import { ActivityListQueryDto, LogActivityDto } from './working-leads.dto';
import { ACTIVITY } from './working-leads.aggregates';
import { WorkingLeadsQueries } from './working-leads.queries';

@ApiTags('activities')
@Controller('activities')
export class ActivitiesController extends RecordController(ACTIVITY) {
  @Post()
  @ApiOperation({
    summary: 'Log a call, email, meeting or note on a lead, contact, account or opportunity',
    description:
      'The record must exist (404 naming relatedTo.id); a converted or merged lead takes no new activity (409: log it on the contact it became). An activity on a contact or opportunity is listed on its account too. A Call, Email or Meeting on a lead is a touch of the lead (speed-to-lead).',
  })
  @CommandDocs(true)
  async log(@Body() body: LogActivityDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, relatedTo, ...details } = withoutNulls(body);
    const activityId = newRecordId(context, 'activity');
    const command = { type: 'LogActivity', activityId, relatedTo: { type: relatedTo.type, id: relatedTo.id }, details, related: { exists: false } } as const;
    const outcome = await this.create(activityId, occurredAt, context, command);
    void reply.header('Location', `/activities/${activityId}`);
    return commandResponse(reply, outcome);
  }
}

const PAGE = '{ items, nextCursor }: activities newest first (business time); nextCursor is null on the last page';

/** `GET /<records>/:id/activities` of the four records. */
@ApiTags('activities')
@Controller()
export class RecordActivitiesController {
  constructor(
    private readonly queries: WorkingLeadsQueries,
    private readonly readModels: ReadModels,
  ) {}

  @Get('leads/:id/activities')
  @ApiOperation({ summary: "The lead's activities, newest first (with those of the duplicates merged into it)" })
  @ReadDocs(PAGE)
  ofLead(@Param('id', new RecordIdPipe('Lead')) id: string, @Query() query: ActivityListQueryDto) {
    return this.list(LEAD, id, query);
  }

  @Get('contacts/:id/activities')
  @ApiOperation({ summary: "The contact's activities, newest first, with those of the lead it was converted from" })
  @ReadDocs(PAGE)
  ofContact(@Param('id', new RecordIdPipe('Contact')) id: string, @Query() query: ActivityListQueryDto) {
    return this.list(CONTACT, id, query);
  }

  @Get('accounts/:id/activities')
  @ApiOperation({ summary: "The account's activities, newest first, with those of its contacts and opportunities (and of the leads converted into it)" })
  @ReadDocs(PAGE)
  ofAccount(@Param('id', new RecordIdPipe('Account')) id: string, @Query() query: ActivityListQueryDto) {
    return this.list(ACCOUNT, id, query);
  }

  @Get('opportunities/:id/activities')
  @ApiOperation({ summary: "The opportunity's activities, newest first" })
  @ReadDocs(PAGE)
  ofOpportunity(@Param('id', new RecordIdPipe('Opportunity')) id: string, @Query() query: ActivityListQueryDto) {
    return this.list(OPPORTUNITY, id, query);
  }

  private async list(aggregate: AggregateType<any, any, any>, id: string, query: ActivityListQueryDto) {
    if (!(await this.readModels.get(aggregate.readModel, id))) throw new AggregateNotFound(aggregate.name, id);
    const { limit, cursor } = toPageRequest(query);
    return this.queries.activitiesOf(id, limit, cursor);
  }
}
