import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Lead, LeadCommand } from '@crm/domain';
import type { FastifyReply } from 'fastify';
import { CommandDocs, ReadDocs } from '../common/api-docs';
import { Command, CommandContext } from '../common/command-context';
import { commandResponse, recordResponse } from '../common/command-response';
import { occurredAtOrNow, withoutNulls } from '../common/fields';
import { newRecordId, RecordIdPipe } from '../common/record-id';
import { LEAD } from '../records/aggregate-type';
import { PointInTimeQueryDto, toPointInTime } from '../records/point-in-time.dto';
import { ExecuteAggregateCommand, GetRecordHistoryQuery, GetRecordStateQuery } from '../records/record.messages';
import {
  AssignLeadDto,
  CaptureLeadDto,
  ChangeLeadDetailsDto,
  DisqualifyLeadDto,
  QualifyLeadDto,
  ReopenLeadDto,
  WorkLeadDto,
} from './lead.dto';

const LeadId = new RecordIdPipe('Lead');

/** Distributes Omit over the command union, so each command keeps its own fields. */
type LeadCommandBody = LeadCommand extends infer C ? (C extends LeadCommand ? Omit<C, 'leadId' | 'occurredAt'> : never) : never;

@ApiTags('leads')
@Controller('leads')
export class LeadsController {
  constructor(
    private readonly commandBus: CommandBus,
    private readonly queryBus: QueryBus,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Capture a lead (status New)' })
  @CommandDocs(true)
  async capture(@Body() body: CaptureLeadDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, ownerId, ...details } = withoutNulls(body);
    const leadId = newRecordId(context, 'lead');
    const outcome = await this.send(leadId, occurredAt, context, { type: 'CaptureLead', details: { ...details, source: details.source ?? 'Other' }, ownerId });
    void reply.header('Location', `/leads/${leadId}`);
    return commandResponse(reply, outcome);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change capture fields (not status); only fields that differ are recorded' })
  @CommandDocs()
  async changeDetails(
    @Param('id', LeadId) id: string,
    @Body() body: ChangeLeadDetailsDto,
    @Command() context: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { occurredAt, ownerId, ...changes } = body;
    return commandResponse(reply, await this.send(id, occurredAt, context, { type: 'ChangeLeadDetails', changes, ownerId }));
  }

  @Post(':id/assign')
  @HttpCode(200)
  @ApiOperation({ summary: 'Assign the lead to an owner' })
  @CommandDocs()
  async assign(@Param('id', LeadId) id: string, @Body() body: AssignLeadDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    return commandResponse(reply, await this.send(id, body.occurredAt, context, { type: 'AssignLead', ownerId: body.ownerId }));
  }

  @Post(':id/work')
  @HttpCode(200)
  @ApiOperation({ summary: 'Move an open lead to Working or Nurturing' })
  @CommandDocs()
  async work(@Param('id', LeadId) id: string, @Body() body: WorkLeadDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    return commandResponse(reply, await this.send(id, body.occurredAt, context, { type: 'WorkLead', status: body.status }));
  }

  @Post(':id/qualify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Qualify an open lead, with optional BANT notes' })
  @CommandDocs()
  async qualify(@Param('id', LeadId) id: string, @Body() body: QualifyLeadDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, ...bant } = body;
    return commandResponse(reply, await this.send(id, occurredAt, context, { type: 'QualifyLead', ...bant }));
  }

  @Post(':id/disqualify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Disqualify an open or qualified lead, with a reason' })
  @CommandDocs()
  async disqualify(
    @Param('id', LeadId) id: string,
    @Body() body: DisqualifyLeadDto,
    @Command() context: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return commandResponse(reply, await this.send(id, body.occurredAt, context, { type: 'DisqualifyLead', reason: body.reason }));
  }

  @Post(':id/reopen')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reopen an Unqualified lead: it goes back to Working' })
  @CommandDocs()
  async reopen(@Param('id', LeadId) id: string, @Body() body: ReopenLeadDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    return commandResponse(reply, await this.send(id, body.occurredAt, context, { type: 'ReopenLead' }));
  }

  @Get(':id')
  @ApiOperation({ summary: 'The lead as it is now, with its revision (ETag)' })
  @ReadDocs('The lead')
  async get(@Param('id', LeadId) id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    return recordResponse(reply, await this.queryBus.execute(new GetRecordStateQuery<Lead | null>(LEAD, id)));
  }

  @Get(':id/history')
  @ApiOperation({ summary: "The lead's events as recorded, oldest first" })
  @ReadDocs('[{ id, revision, position, type, data, metadata: { actorId, occurredAt, recordedAt, correlationId, causationId } }]')
  history(@Param('id', LeadId) id: string) {
    return this.queryBus.execute(new GetRecordHistoryQuery(LEAD, id));
  }

  @Get(':id/state')
  @ApiOperation({ summary: 'The lead as it stood at a business time (asOf) or a revision, rebuilt from its events' })
  @ReadDocs('The lead then, with the revision it had; 404 when it did not exist yet')
  async state(@Param('id', LeadId) id: string, @Query() query: PointInTimeQueryDto, @Res({ passthrough: true }) reply: FastifyReply) {
    return recordResponse(reply, await this.queryBus.execute(new GetRecordStateQuery<Lead | null>(LEAD, id, toPointInTime(query))));
  }

  private send(leadId: string, occurredAt: string | undefined, context: CommandContext, body: LeadCommandBody) {
    const command = { ...body, leadId, occurredAt: occurredAtOrNow(occurredAt) } as LeadCommand;
    return this.commandBus.execute(new ExecuteAggregateCommand(LEAD, leadId, command, context));
  }
}
