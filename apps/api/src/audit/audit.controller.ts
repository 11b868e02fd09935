import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { EVENT_STORE, EventStore, storedEvents, verifyHashChains } from '@crm/event-store';
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
      'The hashes cover the events as stored, personal fields encrypted: an erasure destroys a key, not an event, so every chain stays valid. ' +
      'Reading every stream reads the whole log.',
  })
  @ApiOkResponse({ description: '{ streams, events, broken: [{ stream, revision }], unhashed }' })
  verify(@Query() query: VerifyChainQueryDto) {
    // The hashes cover the events as stored: personal fields encrypted, unchanged by an erasure.
    return verifyHashChains(storedEvents(this.events), query.stream);
  }
}
