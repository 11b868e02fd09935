import { Inject, Injectable } from '@nestjs/common';
import { AggregateNotFound, DomainEvent, fold } from '@crm/domain';
import { EVENT_STORE, EventMetadata, EventStore, RecordedEvent, toOccurred } from '@crm/event-store';
import { AggregateType, streamIdOf } from './aggregate-type';
import { FieldChange, fieldChanges } from './field-history';

/** One entry of `GET /<records>/:id/history`. */
export interface HistoryEntry {
  id: string;
  revision: number;
  position: string;
  type: string;
  data: Record<string, unknown>;
  /** The event's metadata as stored (actorId, onBehalfOf, occurredAt, correlationId, causationId, hash…), with the store's recordedAt. */
  metadata: EventMetadata & { recordedAt: string };
}

/** Where in a record's life to look: by business time or by revision (at most one of them). */
export interface PointInTime {
  asOf?: string;
  revision?: number;
}

/** Audit reads: every record's history and its state at any moment, rebuilt from its events. */
@Injectable()
export class RecordReader {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async history(aggregate: AggregateType<any, any, any>, id: string): Promise<HistoryEntry[]> {
    const events = await this.readExisting(aggregate, id);
    return events.map((e) => ({
      id: e.id,
      revision: e.revision,
      position: e.position.toString(),
      type: e.type,
      data: e.data,
      // All of it, so that an auditor can recompute each hash from this answer alone.
      metadata: { ...e.metadata, recordedAt: e.recordedAt },
    }));
  }

  /** Every change of every field (or of one), newest first. */
  async fieldHistory(aggregate: AggregateType<any, any, any>, id: string, field?: string): Promise<FieldChange[]> {
    return fieldChanges(aggregate.decider, await this.readExisting(aggregate, id), field);
  }

  /** The record as it stands now (`at` omitted) or stood then, with the revision it had. */
  async stateAt<Event extends DomainEvent, State>(
    aggregate: AggregateType<unknown, Event, State>,
    id: string,
    at: PointInTime = {},
  ): Promise<{ state: State; revision: number }> {
    const all = await this.readExisting(aggregate, id);
    const asOf = at.asOf === undefined ? undefined : Date.parse(at.asOf);
    const events = all.filter(
      (e) => (at.revision === undefined || e.revision <= at.revision) && (asOf === undefined || Date.parse(e.metadata.occurredAt) <= asOf),
    );
    if (events.length === 0 || (at.revision !== undefined && at.revision > all[all.length - 1].revision)) {
      throw new AggregateNotFound(aggregate.name, `${id} at ${at.asOf ?? `revision ${at.revision}`}`);
    }
    return { state: fold(aggregate.decider, events.map((e) => toOccurred<Event>(e))), revision: events[events.length - 1].revision };
  }

  private async readExisting(aggregate: AggregateType<any, any, any>, id: string): Promise<RecordedEvent[]> {
    const events = await this.store.readStream(streamIdOf(aggregate, id));
    if (events.length === 0) throw new AggregateNotFound(aggregate.name, id);
    return events;
  }
}
