import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CommandDocs } from '../common/api-docs';
import { Command, CommandContext } from '../common/command-context';
import { BulkConversion, BulkConvertLeadsDto } from './bulk-conversion';

@ApiTags('leads')
@Controller('leads')
export class BulkConversionController {
  constructor(private readonly bulk: BulkConversion) {}

  @Post('convert')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Convert up to 200 leads: { conversions: [{ leadId, ...the body of /leads/:id/convert }], allOrNone }; per item { leadId, status, ...the /convert response or the problem }',
    description:
      'Answers 200 with { allOrNone, converted, results } (results in the order sent); each result\'s status is that of the item: 200 with { id, revision, position, accountId, contactId, opportunityId }, or the problem that refused it. ' +
      'allOrNone false (default): each conversion on its own, one after the other. allOrNone true: every conversion is decided first; if any is refused, none is converted (the others answer 424 not-converted); else every decision is recorded in one transaction, so after a crash at any point either every lead is converted (the records each opens are completed on restart) or none is. ' +
      'Two conversions of one all-or-none batch that would open accounts of one name: the second is refused (409 duplicate-account-in-batch naming the first lead; convert it into that account once it exists). ' +
      'allOrNone needs the embedded event store (400 on EventStoreDB, which has no transaction across streams; see the README). Under an Idempotency-Key each lead\'s conversion is keyed by the request\'s key and the lead.',
  })
  @CommandDocs()
  async convert(@Body() body: BulkConvertLeadsDto, @Command() context: CommandContext) {
    const results = await this.bulk.convert(body, context);
    return { allOrNone: body.allOrNone === true, converted: results.filter((r) => r.status === 200).length, results };
  }
}
