import { Command, CommandHandler, ICommandHandler, IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import { AggregateNotFound, type DomainEvent } from '@crm/domain';
import type { FindQuery, ReadDocument } from '@crm/read-models';
import { ReadModels } from '../read-side/read-models';
import type { CommandContext } from '../common/command-context';
import type { AggregateType } from './aggregate-type';
import { CommandExecutor, CommandOutcome, ExecuteOptions } from './command-executor';
import type { FieldChange } from './field-history';
import { HistoryEntry, PointInTime, RecordReader } from './record-reader';

/** Any aggregate's command, sent over the CommandBus; one handler serves every aggregate. */
export class ExecuteAggregateCommand<C extends { occurredAt: string }, E extends DomainEvent, S> extends Command<CommandOutcome<S, E>> {
  constructor(
    readonly aggregate: AggregateType<C, E, S>,
    readonly id: string,
    readonly command: C,
    readonly context: CommandContext,
    readonly options: ExecuteOptions = {},
  ) {
    super();
  }
}

@CommandHandler(ExecuteAggregateCommand)
export class ExecuteAggregateCommandHandler implements ICommandHandler<ExecuteAggregateCommand<any, any, any>> {
  constructor(private readonly executor: CommandExecutor) {}

  execute({ aggregate, id, command, context, options }: ExecuteAggregateCommand<any, any, any>) {
    return this.executor.execute(aggregate, id, command, context, options);
  }
}

/** A record as it is now, or as it stood at a point in time, rebuilt from its events. */
export class GetRecordStateQuery<S> extends Query<{ state: S; revision: number }> {
  constructor(
    readonly aggregate: AggregateType<any, any, S>,
    readonly id: string,
    readonly at: PointInTime = {},
  ) {
    super();
  }
}

@QueryHandler(GetRecordStateQuery)
export class GetRecordStateHandler implements IQueryHandler<GetRecordStateQuery<unknown>> {
  constructor(private readonly reader: RecordReader) {}

  execute({ aggregate, id, at }: GetRecordStateQuery<unknown>) {
    return this.reader.stateAt(aggregate, id, at);
  }
}

export class GetRecordHistoryQuery extends Query<HistoryEntry[]> {
  constructor(
    readonly aggregate: AggregateType<any, any, any>,
    readonly id: string,
  ) {
    super();
  }
}

@QueryHandler(GetRecordHistoryQuery)
export class GetRecordHistoryHandler implements IQueryHandler<GetRecordHistoryQuery> {
  constructor(private readonly reader: RecordReader) {}

  execute({ aggregate, id }: GetRecordHistoryQuery) {
    return this.reader.history(aggregate, id);
  }
}

/** Every change of every field of a record (or of one field), newest first. */
export class GetFieldHistoryQuery extends Query<FieldChange[]> {
  constructor(
    readonly aggregate: AggregateType<any, any, any>,
    readonly id: string,
    readonly field?: string,
  ) {
    super();
  }
}

@QueryHandler(GetFieldHistoryQuery)
export class GetFieldHistoryHandler implements IQueryHandler<GetFieldHistoryQuery> {
  constructor(private readonly reader: RecordReader) {}

  execute({ aggregate, id, field }: GetFieldHistoryQuery) {
    return this.reader.fieldHistory(aggregate, id, field);
  }
}

/** One record from its read model. */
export class GetRecordQuery extends Query<ReadDocument> {
  constructor(
    readonly aggregate: AggregateType<any, any, any>,
    readonly id: string,
  ) {
    super();
  }
}

@QueryHandler(GetRecordQuery)
export class GetRecordHandler implements IQueryHandler<GetRecordQuery> {
  constructor(private readonly readModels: ReadModels) {}

  async execute({ aggregate, id }: GetRecordQuery): Promise<ReadDocument> {
    const doc = await this.readModels.get(aggregate.readModel, id);
    if (!doc) throw new AggregateNotFound(aggregate.name, id);
    return doc;
  }
}

/** A filtered page of records, newest first. */
export class ListRecordsQuery extends Query<{ items: ReadDocument[]; nextCursor: string | null }> {
  constructor(
    readonly aggregate: AggregateType<any, any, any>,
    readonly filter: Record<string, string | boolean>,
    readonly limit: number,
    readonly cursor?: string,
    readonly range?: FindQuery['range'],
  ) {
    super();
  }
}

@QueryHandler(ListRecordsQuery)
export class ListRecordsHandler implements IQueryHandler<ListRecordsQuery> {
  constructor(private readonly readModels: ReadModels) {}

  async execute({ aggregate, filter, limit, cursor, range }: ListRecordsQuery) {
    const page = await this.readModels.find(aggregate.readModel, { filter, limit, cursor, ...(range && { range }) });
    return { items: page.items, nextCursor: page.nextCursor ?? null };
  }
}

export const RECORD_HANDLERS = [ExecuteAggregateCommandHandler, GetRecordStateHandler, GetRecordHistoryHandler, GetFieldHistoryHandler, GetRecordHandler, ListRecordsHandler];
