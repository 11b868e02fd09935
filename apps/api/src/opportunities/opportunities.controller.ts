import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CONTACT_ROLES, ContactRoleName, OPEN_STAGES, OpenStage } from '@crm/domain';
import { IsBoolean, ValidateIf } from 'class-validator';
import { ApiProperty } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CampaignQueries } from '../campaigns/campaign.queries';
import { CommandDocs, ReadDocs } from '../common/api-docs';
import { Command, CommandContext } from '../common/command-context';
import { commandResponse } from '../common/command-response';
import { BooleanField, DateField, EnumField, IdField, MoneyField, NameField, OwnerIdField, PercentField, withoutNulls } from '../common/fields';
import { invalidInput } from '../common/problem';
import { newRecordId, RecordIdPipe } from '../common/record-id';
import { CommandDto } from '../leads/lead.dto';
import { OPPORTUNITY } from '../records/aggregate-type';
import { RecordController } from '../records/record-reads.controller';
import { ListQueryDto } from '../records/list-query.dto';

const STAGE_DOC = 'An open stage; Closed Won / Closed Lost are reached only by /close';
const PROBABILITY_DOC = 'Overrides the stage default until the next stage change';

export class OpenOpportunityDto extends CommandDto {
  @IdField('required', 'The account of the deal (it must exist)') accountId: string;
  @NameField('required') name: string;
  @DateField('required') closeDate: string;
  @EnumField('required', OPEN_STAGES, STAGE_DOC) stage: OpenStage;
  @MoneyField('optional') amount?: number;
  @PercentField('optional', PROBABILITY_DOC) probability?: number;
  @OwnerIdField('optional') ownerId?: string;
}

export class ChangeOpportunityStageDto extends CommandDto {
  @EnumField('required', OPEN_STAGES, STAGE_DOC) stage: OpenStage;
  @PercentField('optional', 'Default: the new stage\'s probability') probability?: number;
}

export class ChangeOpportunityDetailsDto extends CommandDto {
  @MoneyField('clearable') amount?: number | null;
  @DateField('patchable') closeDate?: string;
  @NameField('patchable') name?: string;
  @PercentField('patchable', PROBABILITY_DOC) probability?: number;
  @OwnerIdField('clearable') ownerId?: string | null;
}

export class AddContactRoleDto extends CommandDto {
  @IdField('required', 'A contact (it must exist)') contactId: string;
  @EnumField('required', CONTACT_ROLES) role: ContactRoleName;
  @BooleanField('optional', 'At most one primary: a new primary replaces the previous one. Default: false') isPrimary?: boolean;
}

export class CloseOpportunityDto extends CommandDto {
  @ApiProperty({ type: Boolean, description: 'true: Closed Won; false: Closed Lost (reason required)' })
  @IsBoolean()
  won: boolean;

  @ValidateIf((o: CloseOpportunityDto) => o.won === false || o.reason !== undefined)
  @NameField('required', 'Why the deal was lost (only with won: false)')
  reason?: string;
}

/** Filters of `GET /opportunities`. */
export class OpportunityListQueryDto extends ListQueryDto {
  @IdField('optional', 'Deals of this account') accountId?: string;
  @EnumField('optional', [...OPEN_STAGES, 'Closed Won', 'Closed Lost']) stage?: string;
  @OwnerIdField('optional') ownerId?: string;
}

const OpportunityId = new RecordIdPipe('Opportunity');

@ApiTags('opportunities')
@Controller('opportunities')
export class OpportunitiesController extends RecordController(OPPORTUNITY) {
  constructor(
    commandBus: CommandBus,
    queryBus: QueryBus,
    private readonly campaigns: CampaignQueries,
  ) {
    super(commandBus, queryBus);
  }

  @Get()
  @ApiOperation({ summary: 'Opportunities, newest first, filtered by account, stage and owner, each with primaryCampaignId; { items, nextCursor }' })
  @ReadDocs('{ items, nextCursor }: nextCursor is null on the last page')
  async listOpportunities(@Query() query: OpportunityListQueryDto) {
    const page = await this.list(query);
    return { ...page, items: await this.campaigns.withPrimaryCampaign(page.items) };
  }

  @Get(':id')
  @ApiOperation({
    summary: 'The opportunity from its read model, with primaryCampaignId and its revision (ETag); add ?minPosition= to read your own writes',
    description: 'primaryCampaignId: for an opportunity a conversion opened, the primary campaign of its lead (the last campaign the lead responded to at or before the conversion, business time); null otherwise.',
  })
  @ReadDocs('The opportunity')
  override async get(@Param('id', OpportunityId) id: string, @Res({ passthrough: true }) reply: FastifyReply) {
    const [opportunity] = await this.campaigns.withPrimaryCampaign([await super.get(id, reply)]);
    return opportunity;
  }

  @Post()
  @ApiOperation({ summary: 'Open an opportunity on an account' })
  @CommandDocs(true)
  async open(@Body() body: OpenOpportunityDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, accountId, ...fields } = withoutNulls(body);
    const opportunityId = newRecordId(context, 'opportunity');
    // accountExists is resolved by the handler (OPPORTUNITY.resolveFacts).
    const command = { type: 'OpenOpportunity', opportunityId, accountId, accountExists: false, ...fields } as const;
    const outcome = await this.create(opportunityId, occurredAt, context, command);
    void reply.header('Location', `/opportunities/${opportunityId}`);
    return commandResponse(reply, outcome);
  }

  @Post(':id/stage')
  @HttpCode(200)
  @ApiOperation({ summary: 'Move an open opportunity to another open stage' })
  @CommandDocs()
  async stage(@Param('id', OpportunityId) id: string, @Body() body: ChangeOpportunityStageDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const command = { type: 'ChangeOpportunityStage', opportunityId: id, stage: body.stage, probability: body.probability } as const;
    return commandResponse(reply, await this.send(id, body.occurredAt, context, command));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change amount, closeDate, name, probability or owner' })
  @CommandDocs()
  async change(@Param('id', OpportunityId) id: string, @Body() body: ChangeOpportunityDetailsDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, ...changes } = body;
    return commandResponse(reply, await this.send(id, occurredAt, context, { type: 'ChangeOpportunityDetails', opportunityId: id, changes }));
  }

  @Post(':id/contact-roles')
  @HttpCode(200)
  @ApiOperation({ summary: 'Name a contact\'s role in the deal' })
  @CommandDocs()
  async addContactRole(@Param('id', OpportunityId) id: string, @Body() body: AddContactRoleDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    // contactExists is resolved by the handler (OPPORTUNITY.resolveFacts).
    const command = { type: 'AddOpportunityContactRole', opportunityId: id, contactId: body.contactId, role: body.role, isPrimary: body.isPrimary ?? false, contactExists: false } as const;
    return commandResponse(reply, await this.send(id, body.occurredAt, context, command));
  }

  @Post(':id/close')
  @HttpCode(200)
  @ApiOperation({ summary: 'Close the deal as won, or as lost with a reason (final)' })
  @CommandDocs()
  async close(@Param('id', OpportunityId) id: string, @Body() body: CloseOpportunityDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    if (body.won && body.reason !== undefined) throw invalidInput([{ field: 'reason', message: 'reason is only for a lost deal (won: false)' }]);
    const outcome = body.won
      ? this.send(id, body.occurredAt, context, { type: 'CloseOpportunity', opportunityId: id, won: true })
      : this.send(id, body.occurredAt, context, { type: 'CloseOpportunity', opportunityId: id, won: false, reason: body.reason! });
    return commandResponse(reply, await outcome);
  }
}
