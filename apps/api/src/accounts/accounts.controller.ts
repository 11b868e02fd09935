import { Body, Controller, Get, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ACCOUNT_TYPES, AccountType } from '@crm/domain';
import type { FastifyReply } from 'fastify';
import { CommandDocs, ReadDocs } from '../common/api-docs';
import { Command, CommandContext } from '../common/command-context';
import { commandResponse } from '../common/command-response';
import { CountField, EnumField, IdField, MoneyField, NameField, OwnerIdField, Presence, withoutNulls } from '../common/fields';
import { newRecordId, RecordIdPipe } from '../common/record-id';
import { CommandDto } from '../leads/lead.dto';
import { ACCOUNT } from '../records/aggregate-type';
import { RecordController } from '../records/record-reads.controller';
import { ListQueryDto } from '../records/list-query.dto';

export class OpenAccountDto extends CommandDto {
  @NameField('required') name: string;
  @NameField('optional') industry?: string;
  @MoneyField('optional') annualRevenue?: number;
  @CountField('optional') numberOfEmployees?: number;
  @IdField('optional', 'The parent account (it must exist; no cycle may form)') parentId?: string;
  @OwnerIdField('optional') ownerId?: string;
  @EnumField('optional', ACCOUNT_TYPES) type?: AccountType;
}

const CLEAR: Presence = 'clearable';

export class ChangeAccountDetailsDto extends CommandDto {
  @NameField('patchable') name?: string;
  @NameField(CLEAR) industry?: string | null;
  @MoneyField(CLEAR) annualRevenue?: number | null;
  @CountField(CLEAR) numberOfEmployees?: number | null;
  @IdField(CLEAR, 'The parent account (it must exist; no cycle may form)') parentId?: string | null;
  @OwnerIdField(CLEAR) ownerId?: string | null;
  @EnumField(CLEAR, ACCOUNT_TYPES) type?: AccountType | null;
}

/** Filters of `GET /accounts`. */
export class AccountListQueryDto extends ListQueryDto {
  @OwnerIdField('optional') ownerId?: string;
  @IdField('optional', 'Subsidiaries of this account') parentId?: string;
}

const AccountId = new RecordIdPipe('Account');

@ApiTags('accounts')
@Controller('accounts')
export class AccountsController extends RecordController(ACCOUNT) {
  @Get()
  @ApiOperation({ summary: 'Accounts, newest first, filtered by owner or parent; { items, nextCursor }' })
  @ReadDocs('{ items, nextCursor }: nextCursor is null on the last page')
  listAccounts(@Query() query: AccountListQueryDto) {
    return this.list(query);
  }

  @Post()
  @ApiOperation({ summary: 'Open an account' })
  @CommandDocs(true)
  async open(@Body() body: OpenAccountDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, ...details } = withoutNulls(body);
    const accountId = newRecordId(context, 'account');
    const outcome = await this.create(accountId, occurredAt, context, { type: 'OpenAccount', accountId, details });
    void reply.header('Location', `/accounts/${accountId}`);
    return commandResponse(reply, outcome);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change account fields; only fields that differ are recorded, null clears one' })
  @CommandDocs()
  async change(@Param('id', AccountId) id: string, @Body() body: ChangeAccountDetailsDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, ...changes } = body;
    return commandResponse(reply, await this.send(id, occurredAt, context, { type: 'ChangeAccountDetails', accountId: id, changes }));
  }
}
