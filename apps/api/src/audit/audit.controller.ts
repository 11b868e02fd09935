import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { EVENT_STORE, EventStore, verifyHashChains } from '@crm/event-store';
import { TextField } from '../common/fields';

export class VerifyChainQueryDto {
  @TextField('optional', 300, 'One stream, e.g. lead-<id>; without it, every stream of the log')
  stream?: string;
}

@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(@Inject(EVENT_STORE) private readonly events: EventStore) {}

  @Get('verify')
  @ApiOperation({
    summary: 'Checks the tamper-evidence chain of one stream, or of every stream',
    description:
      'Each event\'s metadata.hash is SHA-256 over canonical JSON of { type, data, metadata (without hash), previousHash } (README, "Tamper evidence"). ' +
      '`broken` lists every event whose hash does not match; `unhashed` counts events written before hashes existed, which are counted, not judged. ' +
      'Reading every stream reads the whole log.',
  })
  @ApiOkResponse({ description: '{ streams, events, broken: [{ stream, revision }], unhashed }' })
  verify(@Query() query: VerifyChainQueryDto) {
    return verifyHashChains(this.events, query.stream);
  }
}
