import type { FindQuery } from '@crm/read-models';
import { Get, Injectable, Param, Query, Req, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiProduces } from '@nestjs/swagger';
import type { DomainEvent } from '@crm/domain';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { csvOf, wantsCsv } from '../common/csv-response';
import { ReadDocs } from '../common/api-docs';
import type { CommandContext } from '../common/command-context';
import { recordResponse } from '../common/command-response';
import { occurredAtOrNow, TextField } from '../common/fields';
import { RecordIdPipe } from '../common/record-id';
import { AggregateType } from './aggregate-type';
import type { ExecuteOptions } from './command-executor';
import { PointInTimeQueryDto, toPointInTime } from './point-in-time.dto';
import { ListQueryDto, toPageRequest } from './list-query.dto';
import { FIELD_HISTORY_COLUMNS, FieldChange, fieldChangeRow } from './field-history';
import { ExecuteAggregateCommand, GetFieldHistoryQuery, GetRecordHistoryQuery, GetRecordQuery, GetRecordStateQuery, ListRecordsQuery } from './record.messages';

/** `?field=`: one field's changes only. */
export class FieldHistoryQueryDto {
  @TextField('optional', 100, 'A field of the record, e.g. email or stage')
  field?: string;
}

/**
 * The routes every record has — `GET /:id`, `/:id/history`, `/:id/state` — and the way its
 * controller sends commands. Each record's controller extends the class made here.
 */
export function RecordController<C extends { occurredAt: string }, E extends DomainEvent, S>(aggregate: AggregateType<C, E, S>) {
  const RecordId = new RecordIdPipe(aggregate.name);
  const name = aggregate.name.toLowerCase();

  @Injectable()
  abstract class RecordControllerBase {
    constructor(
      protected readonly commandBus: CommandBus,
      protected readonly queryBus: QueryBus,
    ) {}

    @Get(':id')
    @ApiOperation({ summary: `The ${name} from its read model, with its revision (ETag); add ?minPosition= to read your own writes` })
    @ReadDocs(`The ${name}`)
    async get(@Param('id', RecordId) id: string, @Res({ passthrough: true }) reply: FastifyReply) {
      const { revision, ...doc } = await this.queryBus.execute(new GetRecordQuery(aggregate, id));
      return recordResponse(reply, { state: doc, revision: revision as number });
    }

    @Get(':id/history')
    @ApiOperation({
      summary: `The ${name}'s events as recorded, oldest first`,
      description:
        'Personal fields (names, email, phone, title, description) are stored encrypted under the person\'s key and shown decrypted here, or "[erased]" once the person was erased; `metadata.hash` covers the stored (encrypted) form (README, "Audit").',
    })
    @ReadDocs('[{ id, revision, position, type, data, metadata: { actorId, occurredAt, recordedAt, correlationId, causationId } }]')
    history(@Param('id', RecordId) id: string) {
      return this.queryBus.execute(new GetRecordHistoryQuery(aggregate, id));
    }

    @Get(':id/field-history')
    @ApiOperation({
      summary: `Every change of every field of the ${name}, newest first: field, oldValue, newValue, revision, actorId, onBehalfOf, occurredAt, recordedAt`,
      description:
        'Derived from the events at each read (all fields, forever). `?field=` keeps one field. Send `Accept: text/csv` for CSV (values that are not text or numbers as JSON). ' +
        'After an erasure, personal values read "[erased]"; a change from one erased value to another is then no change of value and is not listed.',
    })
    @ApiProduces('application/json', 'text/csv')
    @ReadDocs('[{ field, oldValue, newValue, revision, actorId, onBehalfOf, occurredAt, recordedAt }]')
    async fieldHistory(@Param('id', RecordId) id: string, @Query() query: FieldHistoryQueryDto, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
      const changes: FieldChange[] = await this.queryBus.execute(new GetFieldHistoryQuery(aggregate, id, query.field));
      return wantsCsv(request) ? csvOf(reply, changes.map(fieldChangeRow), FIELD_HISTORY_COLUMNS) : changes;
    }

    @Get(':id/state')
    @ApiOperation({ summary: `The ${name} as it stood at a business time (asOf) or a revision, rebuilt from its events`, description: 'Personal fields read "[erased]" at every point in time once the person was erased.' })
    @ReadDocs(`The ${name} then, with the revision it had; 404 when it did not exist yet`)
    async state(@Param('id', RecordId) id: string, @Query() query: PointInTimeQueryDto, @Res({ passthrough: true }) reply: FastifyReply) {
      return recordResponse(reply, await this.queryBus.execute(new GetRecordStateQuery<S>(aggregate, id, toPointInTime(query))));
    }

    /** A page of this record's list, newest first: `{ items, nextCursor }` (null on the last page). */
    protected list(query: ListQueryDto, extra: { filter?: Record<string, boolean>; range?: FindQuery['range'] } = {}) {
      const { filter, limit, cursor } = toPageRequest(query);
      return this.queryBus.execute(new ListRecordsQuery(aggregate, { ...filter, ...extra.filter }, limit, cursor, extra.range));
    }

    /** Sends one of this record's commands; its business time is the one sent, or now. */
    protected send(id: string, occurredAt: string | undefined, context: CommandContext, command: DistributiveOmit<C, 'occurredAt'>, options: ExecuteOptions = {}) {
      const full = { ...command, occurredAt: occurredAtOrNow(occurredAt) } as unknown as C;
      // "Now" stamped here may lose a race with a concurrent command stamped a moment later.
      const timing = occurredAt === undefined ? { catchUpBusinessTime: true } : {};
      return this.commandBus.execute(new ExecuteAggregateCommand(aggregate, id, full, context, { ...options, ...timing }));
    }

    /** Sends the create of a new record whose id `newRecordId` just chose. */
    protected create(id: string, occurredAt: string | undefined, context: CommandContext, command: DistributiveOmit<C, 'occurredAt'>, options: ExecuteOptions = {}) {
      // Under an Idempotency-Key the id is derived from the key and the stream may hold the first attempt.
      return this.send(id, occurredAt, context, command, { ...options, freshId: !context.idempotencyKey });
    }
  }
  return RecordControllerBase;
}

/** Omit over each member of a union, so that each command keeps its own fields. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
