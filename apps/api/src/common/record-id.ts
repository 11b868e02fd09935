import { Injectable, PipeTransform } from '@nestjs/common';
import { AggregateNotFound } from '@crm/domain';
import { deterministicUuid, timeOrderedUuid } from '@crm/event-store';
import type { CommandContext } from './command-context';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are server-chosen UUIDs: anything else names no record, so it is a 404 without a lookup. */
@Injectable()
export class RecordIdPipe implements PipeTransform<string, string> {
  constructor(private readonly recordName: string) {}

  transform(value: string): string {
    if (!UUID.test(value)) throw new AggregateNotFound(this.recordName, value);
    return value.toLowerCase();
  }
}

/**
 * The id of a record a create opens. Under an Idempotency-Key it is derived from the key, so a
 * retried create lands on the same stream and is recognised there.
 */
export function newRecordId(context: CommandContext, recordName: string): string {
  return context.idempotencyKey ? deterministicUuid(context.idempotencyKey, recordName) : timeOrderedUuid();
}
