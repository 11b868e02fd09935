import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CommandDocs, ReadDocs } from '../common/api-docs';
import { Command, CommandContext } from '../common/command-context';
import { commandResponse } from '../common/command-response';
import { EmailField, IdField, NameField, OwnerIdField, PhoneField, Presence, withoutNulls } from '../common/fields';
import { newRecordId, RecordIdPipe } from '../common/record-id';
import { CommandDto, ErasePersonalDataDto } from '../leads/lead.dto';
import { CONTACT } from '../records/aggregate-type';
import { ERASURE_DESCRIPTION, ErasePersonalDataCommand } from '../records/personal-data-erasure';
import { RecordController } from '../records/record-reads.controller';
import { ListQueryDto } from '../records/list-query.dto';

export class AddContactDto extends CommandDto {
  @IdField('required', 'The account the contact belongs to (it must exist)') accountId: string;
  @NameField('required') lastName: string;
  @NameField('optional') firstName?: string;
  @EmailField('optional') email?: string;
  @PhoneField('optional') phone?: string;
  @NameField('optional') title?: string;
  @OwnerIdField('optional') ownerId?: string;
}

const CLEAR: Presence = 'clearable';

/** The same fields but accountId: a contact stays under its account. */
export class ChangeContactDetailsDto extends CommandDto {
  @NameField('patchable') lastName?: string;
  @NameField(CLEAR) firstName?: string | null;
  @EmailField(CLEAR) email?: string | null;
  @PhoneField(CLEAR) phone?: string | null;
  @NameField(CLEAR) title?: string | null;
  @OwnerIdField(CLEAR) ownerId?: string | null;
}

/** Filters of `GET /contacts`. */
export class ContactListQueryDto extends ListQueryDto {
  @IdField('optional', 'Contacts of this account') accountId?: string;
  @OwnerIdField('optional') ownerId?: string;
}

const ContactId = new RecordIdPipe('Contact');

@ApiTags('contacts')
@Controller('contacts')
export class ContactsController extends RecordController(CONTACT) {
  @Get()
  @ApiOperation({ summary: 'Contacts, newest first, filtered by account or owner; { items, nextCursor }' })
  @ReadDocs('{ items, nextCursor }: nextCursor is null on the last page')
  listContacts(@Query() query: ContactListQueryDto) {
    return this.list(query);
  }

  @Post()
  @ApiOperation({ summary: 'Add a contact under an existing account' })
  @CommandDocs(true)
  async add(@Body() body: AddContactDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, accountId, ...details } = withoutNulls(body);
    const contactId = newRecordId(context, 'contact');
    const command = { type: 'AddContact', contactId, accountId, accountExists: false, details } as const;
    const outcome = await this.create(contactId, occurredAt, context, command);
    void reply.header('Location', `/contacts/${contactId}`);
    return commandResponse(reply, outcome);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change contact fields (not its account); only fields that differ are recorded, null clears one' })
  @CommandDocs()
  async change(@Param('id', ContactId) id: string, @Body() body: ChangeContactDetailsDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const { occurredAt, ...changes } = body;
    return commandResponse(reply, await this.send(id, occurredAt, context, { type: 'ChangeContactDetails', contactId: id, changes }));
  }

  @Post(':id/erase')
  @HttpCode(200)
  @ApiOperation({ summary: 'Erase the personal data of the contact\'s person (crypto-shredding), with a reason', description: ERASURE_DESCRIPTION })
  @CommandDocs()
  async erase(@Param('id', ContactId) id: string, @Body() body: ErasePersonalDataDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const outcome = await this.commandBus.execute(new ErasePersonalDataCommand('contact', id, body.reason, context));
    return commandResponse(reply, outcome, { erased: outcome.erased });
  }
}
