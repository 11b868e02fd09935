import { Inject, Injectable } from '@nestjs/common';
import { AssignmentRule, ASSIGNMENT_RULES_ID, ScoringModel, SCORING_MODEL_ID } from '@crm/domain';
import { EVENT_STORE, EventStore, RecordedEvent } from '@crm/event-store';
import { streamIdOf } from '../records/aggregate-type';
import { ASSIGNMENT_RULES, SCORING_MODEL } from './working-leads.aggregates';

export interface Configured<T> {
  value: T;
  /** The configuration stream's revision (its ETag), or null before the first change. */
  revision: number | null;
  changedAt?: string;
}

/**
 * The assignment rules and the scoring model as they are now. Each change event carries the
 * whole configuration, so reading the stream's last event is enough: one small read, read
 * from the write side (a capture decides on the rules of the moment, not on a read model).
 */
@Injectable()
export class Configuration {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async assignmentRules(): Promise<Configured<AssignmentRule[]>> {
    const last = await this.last(streamIdOf(ASSIGNMENT_RULES, ASSIGNMENT_RULES_ID));
    return last ? { value: (last.data as { rules: AssignmentRule[] }).rules, revision: last.revision, changedAt: last.metadata.occurredAt } : { value: [], revision: null };
  }

  async scoringModel(): Promise<Configured<ScoringModel | null>> {
    const last = await this.last(streamIdOf(SCORING_MODEL, SCORING_MODEL_ID));
    return last ? { value: last.data as unknown as ScoringModel, revision: last.revision, changedAt: last.metadata.occurredAt } : { value: null, revision: null };
  }

  private async last(streamId: string): Promise<RecordedEvent | undefined> {
    const [last] = await this.store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    return last;
  }
}
