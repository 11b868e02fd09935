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

export class AccountDuplicateQueryDto {
  @EnumField('optional', ['true', 'false'], 'true: use the name even when another account has it (otherwise 409 with `duplicates`)')
  allowDuplicate?: 'true' | 'false';
}

/** How the duplicate rule of account names holds (API.md, "Duplicates"). */
const NAME_RULE =
  'A name that another account has (trimmed, case-insensitive) is refused with 409 and `duplicates: [accountIds]` unless ?allowDuplicate=true. ' +
  'The rule holds at the moment of the write: each name has a claim in the event store, decided with an expected revision, so of concurrent ' +
  'requests for one name exactly one succeeds; an account renamed frees its old name at once, and a name a conversion has decided to open is taken.';

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
  @ApiOperation({ summary: 'Open an account', description: NAME_RULE })
  @CommandDocs(true)
  async open(@Body() body: OpenAccountDto, @Query() query: AccountDuplicateQueryDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, ...details } = withoutNulls(body);
    const accountId = newRecordId(context, 'account');
    const outcome = await this.create(accountId, occurredAt, context, { type: 'OpenAccount', accountId, details }, { allowDuplicate: query.allowDuplicate === 'true' });
    void reply.header('Location', `/accounts/${accountId}`);
    return commandResponse(reply, outcome);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change account fields; only fields that differ are recorded, null clears one', description: `For a new name: ${NAME_RULE}` })
  @CommandDocs()
  async change(
    @Param('id', AccountId) id: string,
    @Body() body: ChangeAccountDetailsDto,
    @Query() query: AccountDuplicateQueryDto,
    @Command() context: CommandContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { occurredAt, ...changes } = body;
    const command = { type: 'ChangeAccountDetails', accountId: id, changes } as const;
    return commandResponse(reply, await this.send(id, occurredAt, context, command, { allowDuplicate: query.allowDuplicate === 'true' }));
  }
}
