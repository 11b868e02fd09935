import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { CampaignMemberRef } from '@crm/domain';
import type { FastifyReply } from 'fastify';
import { CommandDocs, ReadDocs } from '../common/api-docs';
import { Command, CommandContext } from '../common/command-context';
import { commandResponse } from '../common/command-response';
import { withoutNulls } from '../common/fields';
import { invalidInput } from '../common/problem';
import { newRecordId, RecordIdPipe } from '../common/record-id';
import { CAMPAIGN } from '../records/aggregate-type';
import { ListQueryDto } from '../records/list-query.dto';
import { RecordController } from '../records/record-reads.controller';
import { AddCampaignMemberDto, LaunchCampaignDto } from './campaign.dto';

const CampaignId = new RecordIdPipe('Campaign');

const MEMBER_RULES =
  'A member is a lead or a contact, named by id only (campaign events hold no personal data). Membership moves one way, Sent → Responded, once: ' +
  'the same status again, or Sent for a member who responded, changes nothing (200, the revision unchanged); a response keeps its first business time. ' +
  'A lead captured with this campaignId responded at capture. A Converted or Merged lead is refused with 409 naming what it became (add the contact instead); ' +
  'an unknown lead or contact is 404 naming leadId or contactId.';

@ApiTags('campaigns')
@Controller('campaigns')
export class CampaignsController extends RecordController(CAMPAIGN) {
  constructor(commandBus: CommandBus, queryBus: QueryBus) {
    super(commandBus, queryBus);
  }

  @Get()
  @ApiOperation({
    summary: 'Campaigns, newest first (by launch business time), each with its member counts; { items, nextCursor }',
    description: '`sent`: members whose status is Sent (not responded yet); `responded`: members who responded, leads captured with the campaign included. Members = sent + responded.',
  })
  @ReadDocs('{ items, nextCursor }: nextCursor is null on the last page')
  listCampaigns(@Query() query: ListQueryDto) {
    return this.list(query);
  }

  @Post()
  @ApiOperation({ summary: 'Launch a campaign: name, type, startDate; optional endDate (not before startDate) and budget' })
  @CommandDocs(true)
  async launch(@Body() body: LaunchCampaignDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, ...details } = withoutNulls(body);
    if (details.endDate !== undefined && details.endDate < details.startDate) {
      throw invalidInput([{ field: 'endDate', message: 'endDate must not be before startDate' }]);
    }
    const campaignId = newRecordId(context, 'campaign');
    const outcome = await this.create(campaignId, occurredAt, context, { type: 'LaunchCampaign', campaignId, details });
    void reply.header('Location', `/campaigns/${campaignId}`);
    return commandResponse(reply, outcome);
  }

  @Post(':id/members')
  @HttpCode(200)
  @ApiOperation({ summary: 'Add a lead or a contact to the campaign as Sent or Responded, or record that a Sent member responded', description: MEMBER_RULES })
  @CommandDocs()
  async addMember(@Param('id', CampaignId) id: string, @Body() body: AddCampaignMemberDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, leadId, contactId, status } = withoutNulls(body);
    if ((leadId === undefined) === (contactId === undefined)) {
      const message = leadId === undefined ? 'one of leadId and contactId is required' : 'leadId and contactId cannot both be given';
      throw invalidInput([{ field: leadId === undefined ? 'leadId' : 'contactId', message }]);
    }
    const member: CampaignMemberRef = leadId !== undefined ? { type: 'lead', id: leadId } : { type: 'contact', id: contactId! };
    const command = { type: 'AddCampaignMember', campaignId: id, member, status, memberFacts: { exists: false } } as const;
    return commandResponse(reply, await this.send(id, occurredAt, context, command));
  }
}
