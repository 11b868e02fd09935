import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { LEAD_SOURCES, LEAD_STATUSES, LeadSource, LeadStatus } from '@crm/domain';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { CampaignQueries } from '../campaigns/campaign.queries';
import { CommandDocs, ReadDocs } from '../common/api-docs';
import { Command, CommandContext } from '../common/command-context';
import { commandResponse } from '../common/command-response';
import { DateField, EnumField, IdField, occurredAtOrNow, OwnerIdField, withoutNulls } from '../common/fields';
import { invalidInput } from '../common/problem';
import { newRecordId, RecordIdPipe } from '../common/record-id';
import { ConvertLeadCommand } from '../processes/lead-conversion';
import { MergeLeadsCommand } from '../processes/lead-merge';
import { LEAD } from '../records/aggregate-type';
import { ERASURE_DESCRIPTION, ErasePersonalDataCommand } from '../records/personal-data-erasure';
import { RecordController } from '../records/record-reads.controller';
import { ListQueryDto, toPageRequest } from '../records/list-query.dto';
import { CountryField } from '../working-leads/lead-fields';
import { EngageLeadDto } from '../working-leads/working-leads.dto';
import { WorkingLeadsQueries } from '../working-leads/working-leads.queries';
import {
  AssignLeadDto,
  CaptureLeadDto,
  ChangeLeadDetailsDto,
  ConvertLeadDto,
  DisqualifyLeadDto,
  ErasePersonalDataDto,
  MergeLeadsDto,
  QualifyLeadDto,
  ReopenLeadDto,
  WorkLeadDto,
} from './lead.dto';
import { LeadCapture } from './lead-capture';

export class CaptureLeadQueryDto {
  @EnumField('optional', ['true', 'false'], 'true: capture even when an open lead has the same email (otherwise 409 with `duplicates`)')
  allowDuplicate?: 'true' | 'false';
}

export class ChangeLeadDetailsQueryDto {
  @EnumField('optional', ['true', 'false'], 'true: take the new email even when another open lead has it (otherwise 409 with `duplicates`)')
  allowDuplicate?: 'true' | 'false';
}

/** How the duplicate rule of emails holds (API.md, "Duplicates"). */
const EMAIL_RULE =
  'Emails compare trimmed and lower-cased, and an open lead is one neither Converted nor Merged. The rule holds at the moment of the write: ' +
  'each email has a claim in the event store, decided with an expected revision, so a duplicate sent right after the first is refused and of ' +
  'concurrent captures with one email exactly one succeeds (the others get 409 naming it). Converting or merging a lead, or changing its email, frees the email at once.';

/** Filters of `GET /leads`. */
export class LeadListQueryDto extends ListQueryDto {
  @EnumField('optional', LEAD_STATUSES) status?: LeadStatus;
  @OwnerIdField('optional') ownerId?: string;
  @EnumField('optional', LEAD_SOURCES) source?: LeadSource;
  @CountryField('optional') country?: string;
  @ApiPropertyOptional({ type: 'integer', description: 'Only leads whose score is at least this' })
  @IsOptional()
  @Matches(/^-?\d{1,7}$/, { message: 'minScore must be a whole number' })
  minScore?: string;
  @EnumField('optional', ['score'], 'score: highest score first, then newest (default: newest first)') sort?: 'score';
  @EnumField('optional', ['true', 'false'], 'Converted leads only: true with an opportunity, false without one') withOpportunity?: 'true' | 'false';
  @DateField('optional', 'Converted leads only, converted (business time) on or after this UTC day') convertedFrom?: string;
  @DateField('optional', 'Converted leads only, converted (business time) before this UTC day (exclusive)') convertedTo?: string;
  @IdField('optional', 'Members of this campaign (Sent or Responded, captured with it included), newest first; combines with limit and cursor only') campaignId?: string;
}

/** The conversion filters of `GET /leads` as a derived-field equality and a range on the conversion time. */
function conversionFilters({ withOpportunity, convertedFrom, convertedTo }: LeadListQueryDto) {
  const dayStart = (date: string | undefined) => (date === undefined ? undefined : Date.parse(`${date}T00:00:00.000Z`));
  const [from, to] = [dayStart(convertedFrom), dayStart(convertedTo)];
  if (from !== undefined && to !== undefined && to < from) throw invalidInput([{ field: 'convertedTo', message: 'convertedTo must not be before convertedFrom' }]);
  return {
    ...(withOpportunity !== undefined && { filter: { _withOpportunity: withOpportunity === 'true' } }),
    ...((from !== undefined || to !== undefined) && { range: { field: '_convertedAtMs', from, to } }),
  };
}

const LeadId = new RecordIdPipe('Lead');

@ApiTags('leads')
@Controller('leads')
export class LeadsController extends RecordController(LEAD) {
  constructor(
    commandBus: CommandBus,
    queryBus: QueryBus,
    private readonly leadCapture: LeadCapture,
    private readonly scores: WorkingLeadsQueries,
    private readonly campaigns: CampaignQueries,
  ) {
    super(commandBus, queryBus);
  }

  @Get()
  @ApiOperation({
    summary: 'Leads, newest first (or sort=score: highest score first, then newest), filtered by status, owner, source, country, minScore and conversion (withOpportunity, convertedFrom, convertedTo), or by campaign membership (campaignId); { items, nextCursor }',
    description: 'Each lead shows score, scoreBreakdown, isMql and mqlAt. minScore without sort=score reads every lead above the bound to order them by age. The conversion filters do not combine with sort=score or minScore (400).',
  })
  @ReadDocs('{ items, nextCursor }: nextCursor is null on the last page')
  async listLeads(@Query() query: LeadListQueryDto) {
    const { sort, minScore, withOpportunity, convertedFrom, convertedTo, campaignId, ...filters } = query;
    if (campaignId !== undefined) {
      // The members of a campaign are a list of their own (campaign read model): it carries no other filter.
      const { filter, limit, cursor } = toPageRequest({ ...filters, sort, minScore, withOpportunity, convertedFrom, convertedTo } as LeadListQueryDto);
      const others = Object.keys(filter);
      if (others.length > 0) throw invalidInput(others.map((field) => ({ field, message: `${field} cannot be combined with campaignId` })));
      const page = await this.campaigns.leadIdsOf(campaignId, limit, cursor);
      return { items: await this.scores.withScores(await this.campaigns.leads(page.leadIds)), nextCursor: page.nextCursor };
    }
    const conversion = conversionFilters({ withOpportunity, convertedFrom, convertedTo });
    if (sort === 'score' || minScore !== undefined) {
      // The ranked view of scores carries the record filters only (status, owner, source, country).
      const unsupported = Object.entries({ withOpportunity, convertedFrom, convertedTo }).filter(([, value]) => value !== undefined);
      if (unsupported.length > 0) throw invalidInput(unsupported.map(([field]) => ({ field, message: `${field} cannot be combined with sort=score or minScore` })));
      const { filter, limit, cursor } = toPageRequest(filters as LeadListQueryDto);
      if (sort === 'score') return this.scores.byScore(filter, minScore === undefined ? undefined : Number(minScore), limit, cursor);
      return this.scores.newestWithMinScore(filter, Number(minScore), limit, cursor);
    }
    const page = await this.list(filters as LeadListQueryDto, conversion);
    return { ...page, items: await this.scores.withScores(page.items) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'The lead from its read model, with its score (score, scoreBreakdown, isMql, mqlAt) and revision (ETag); add ?minPosition= to read your own writes' })
  @ReadDocs('The lead')
  override async get(@Param('id', LeadId) id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const [lead] = await this.scores.withScores([await super.get(id, reply)]);
    return lead;
  }

  @Post()
  @ApiOperation({
    summary: 'Capture a lead (status New)',
    description: `An email that an open lead already has is refused with 409 and \`duplicates: [ids]\` unless ?allowDuplicate=true, which captures it knowingly. ${EMAIL_RULE}`,
  })
  @CommandDocs(true)
  async capture(
    @Body() body: CaptureLeadDto,
    @Query() query: CaptureLeadQueryDto,
    @Command() context: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const leadId = newRecordId(context, 'lead');
    const outcome = await this.leadCapture.capture(leadId, body, context, query.allowDuplicate === 'true');
    void reply.header('Location', `/leads/${leadId}`);
    return commandResponse(reply, outcome);
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change capture fields (not status); only fields that differ are recorded',
    description: `A new email that another open lead has is refused with 409 and \`duplicates: [ids]\` unless ?allowDuplicate=true. ${EMAIL_RULE}`,
  })
  @CommandDocs()
  async changeDetails(
    @Param('id', LeadId) id: string,
    @Body() body: ChangeLeadDetailsDto,
    @Query() query: ChangeLeadDetailsQueryDto,
    @Command() context: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { occurredAt, ownerId, ...changes } = body;
    const command = { type: 'ChangeLeadDetails', leadId: id, changes, ownerId } as const;
    return commandResponse(reply, await this.send(id, occurredAt, context, command, { allowDuplicate: query.allowDuplicate === 'true' }));
  }

  @Post(':id/assign')
  @HttpCode(200)
  @ApiOperation({ summary: 'Assign the lead to an owner' })
  @CommandDocs()
  async assign(@Param('id', LeadId) id: string, @Body() body: AssignLeadDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    return commandResponse(reply, await this.send(id, body.occurredAt, context, { type: 'AssignLead', leadId: id, ownerId: body.ownerId }));
  }

  @Post(':id/engagements')
  @HttpCode(200)
  @ApiOperation({ summary: "Record a marketing engagement of the lead (web visit, pricing page visit, form fill, email open or click, webinar): engagement points of its score" })
  @CommandDocs()
  async engage(@Param('id', LeadId) id: string, @Body() body: EngageLeadDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    return commandResponse(reply, await this.send(id, body.occurredAt, context, { type: 'EngageLead', leadId: id, kind: body.kind }));
  }

  @Post(':id/work')
  @HttpCode(200)
  @ApiOperation({ summary: 'Move an open lead to Working or Nurturing' })
  @CommandDocs()
  async work(@Param('id', LeadId) id: string, @Body() body: WorkLeadDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    return commandResponse(reply, await this.send(id, body.occurredAt, context, { type: 'WorkLead', leadId: id, status: body.status }));
  }

  @Post(':id/qualify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Qualify an open lead, with optional BANT notes' })
  @CommandDocs()
  async qualify(@Param('id', LeadId) id: string, @Body() body: QualifyLeadDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, ...bant } = body;
    return commandResponse(reply, await this.send(id, occurredAt, context, { type: 'QualifyLead', leadId: id, ...bant }));
  }

  @Post(':id/disqualify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Disqualify an open or qualified lead, with a reason' })
  @CommandDocs()
  async disqualify(@Param('id', LeadId) id: string, @Body() body: DisqualifyLeadDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    return commandResponse(reply, await this.send(id, body.occurredAt, context, { type: 'DisqualifyLead', leadId: id, reason: body.reason }));
  }

  @Post(':id/reopen')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reopen an Unqualified lead: it goes back to Working' })
  @CommandDocs()
  async reopen(@Param('id', LeadId) id: string, @Body() body: ReopenLeadDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    return commandResponse(reply, await this.send(id, body.occurredAt, context, { type: 'ReopenLead', leadId: id }));
  }

  @Post(':id/convert')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Convert a Qualified lead into an account, a contact and optionally an opportunity',
    description:
      'All-or-nothing as seen by clients: the records the conversion names are opened with ids derived from the lead, and the completion reactor, which follows the log, finishes any conversion a crash or a failed step interrupted (one whose steps keep failing is parked: GET /processes/parked). The response adds { accountId, contactId, opportunityId }; its position is that of the last record written. ' +
      'Without accountId, a new account named like the lead\'s company (trimmed, case-insensitive) is refused with 409 and `duplicates: [accountIds]` unless "allowDuplicateAccount": true; the name is claimed in the event store with the decision, so of concurrent conversions of leads from one company exactly one opens the account. Converting frees the lead\'s email at once.',
  })
  @CommandDocs()
  async convert(@Param('id', LeadId) id: string, @Body() body: ConvertLeadDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, ...request } = body;
    const outcome = await this.commandBus.execute(new ConvertLeadCommand(id, occurredAt, request, context));
    const { accountId, contactId, opportunityId } = outcome;
    return commandResponse(reply, outcome, { accountId, contactId, opportunityId });
  }

  @Post(':id/merge')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Merge duplicate leads into this one',
    description: 'This lead keeps its own values and takes each blank field from the first duplicate that has it; each duplicate ends Merged (permanent), which frees its email at once. The response adds { mergedIds }.',
  })
  @CommandDocs()
  async merge(@Param('id', LeadId) id: string, @Body() body: MergeLeadsDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { duplicateIds } = body;
    if (duplicateIds.includes(id)) throw invalidInput([{ field: 'duplicateIds', message: 'a lead cannot be merged into itself' }]);
    const outcome = await this.commandBus.execute(new MergeLeadsCommand(id, body.occurredAt, duplicateIds, context));
    return commandResponse(reply, outcome, { mergedIds: duplicateIds });
  }

  @Post(':id/erase')
  @HttpCode(200)
  @ApiOperation({ summary: 'Erase the personal data of the lead\'s person (crypto-shredding), with a reason', description: ERASURE_DESCRIPTION })
  @CommandDocs()
  async erase(@Param('id', LeadId) id: string, @Body() body: ErasePersonalDataDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const outcome = await this.commandBus.execute(new ErasePersonalDataCommand('lead', id, body.reason, context));
    return commandResponse(reply, outcome, { erased: outcome.erased });
  }
}
