import { Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { AggregateNotFound } from '@crm/domain';
import { ApiBody, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CommandDocs, ReadDocs } from '../common/api-docs';
import { Command, CommandContext } from '../common/command-context';
import { invalidInput, problem, ProblemException } from '../common/problem';
import { RecordIdPipe } from '../common/record-id';
import { CaptureLeadQueryDto } from '../leads/leads.controller';
import { receivedFileOf } from './import-upload';
import { LeadImportRunner } from './lead-import-runner';

const ImportId = new RecordIdPipe('Import');

@ApiTags('leads')
@Controller()
export class LeadImportsController {
  constructor(private readonly imports: LeadImportRunner) {}

  @Post('leads/import')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Import leads from NDJSON or CSV (up to 50 MiB): one capture per line, in file order; 202 { importId }, the report at GET /imports/:id',
    description:
      'NDJSON (application/x-ndjson): one capture body per line. CSV (text/csv): a header row of capture field names, then one capture per row (RFC 4180 quoting; an empty cell is a field not given). ' +
      'Every line is validated and captured as POST /leads captures (the same rules, the same problems, by line number), with its occurredAt (back-dated history); an email an open lead has is refused unless ?allowDuplicate=true. ' +
      'The file is kept under the data directory until the import is done, then deleted; an import interrupted by a restart resumes after the last line it recorded. ' +
      'Each line\'s lead id and idempotency key are derived from the import and the line number, so with the same Idempotency-Key the same file sent again (even after a crash) captures nothing twice.',
  })
  @ApiConsumes('application/x-ndjson', 'text/csv')
  @ApiBody({ schema: { type: 'string', description: 'The file' } })
  @CommandDocs()
  async importLeads(@Req() request: FastifyRequest, @Query() query: CaptureLeadQueryDto, @Command() context: CommandContext, @Res({ passthrough: true }) reply: FastifyReply) {
    const received = receivedFileOf(request.body);
    if (!received) {
      throw new ProblemException(
        problem(415, 'unsupported-media-type', 'The body must be NDJSON or CSV', 'Send the file as application/x-ndjson or text/csv', { errors: [{ field: 'body', message: 'must be application/x-ndjson or text/csv' }] }),
      );
    }
    if (received.bytes === 0) throw invalidInput([{ field: 'body', message: 'the file is empty' }]);
    const outcome = await this.imports.accept(received, query.allowDuplicate === 'true', context);
    void reply.header('Location', `/imports/${outcome.id}`);
    if (outcome.replayed) void reply.header('Idempotent-Replayed', 'true');
    return { importId: outcome.id };
  }

  @Get('imports/:id')
  @ApiOperation({ summary: 'An import\'s progress and report: { status: running|done, lines, captured, refused: [{ line, status, errors }] }', description: 'lines counts the records read so far (blank lines not included); a refused line carries the status and field errors its capture got, never the line\'s data. Once done, position is where the import ends in the log: reads with ?minPosition= at it see every lead it captured.' })
  @ReadDocs('{ id, status, lines, captured, refused, format, bytes, acceptedAt, completedAt, position }')
  async report(@Param('id', ImportId) id: string) {
    const state = await this.imports.report(id);
    if (!state) throw new AggregateNotFound('Import', id);
    const { status, lines, captured, refused, format, bytes, acceptedAt, completedAt, allowDuplicate } = state;
    const position = status === 'done' ? await this.imports.completedAt(id) : undefined;
    return { id, status, lines, captured, refused, format, bytes, allowDuplicate, acceptedAt, ...(completedAt && { completedAt }), ...(position !== undefined && { position: String(position) }) };
  }
}
