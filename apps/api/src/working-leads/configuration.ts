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
 * How long this process answers from what it read, at most, before reading the configuration
 * stream again: the time another process's change takes to reach it. A change made through this
 * process is seen by the next capture (see `changed`).
 */
export const CONFIGURATION_REVALIDATE_MS = 1_000;

/**
 * The assignment rules and the scoring model as they are now. Each change event carries the
 * whole configuration, so reading the stream's last event is enough: one small read, from the
 * write side (a capture decides on the rules of the moment, not on a read model).
 *
 * Every capture without an owner asks for the rules, and on the embedded store that read cost
 * about a tenth of a capture's CPU: the answer is kept with the stream's revision and read again
 * when this process changes the stream (`changed`, called by the change's route whatever its
 * outcome) or CONFIGURATION_REVALIDATE_MS after it was read (a change by another process). A
 * read that was under way when the stream changed is answered but not kept, so no capture after
 * a change decides on the rules before it.
 */
@Injectable()
export class Configuration {
  private readonly rules = new LastEventCache(() => this.readAssignmentRules());
  private readonly model = new LastEventCache(() => this.readScoringModel());

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  assignmentRules(): Promise<Configured<AssignmentRule[]>> {
    return this.rules.get();
  }

  scoringModel(): Promise<Configured<ScoringModel | null>> {
    return this.model.get();
  }

  /** This process appended to (or may have appended to) a configuration stream: the next question reads it again. */
  changed(which: 'assignment-rules' | 'scoring-model'): void {
    (which === 'assignment-rules' ? this.rules : this.model).forget();
  }

  private async readAssignmentRules(): Promise<Configured<AssignmentRule[]>> {
    const last = await this.last(streamIdOf(ASSIGNMENT_RULES, ASSIGNMENT_RULES_ID));
    return last ? { value: (last.data as { rules: AssignmentRule[] }).rules, revision: last.revision, changedAt: last.metadata.occurredAt } : { value: [], revision: null };
  }

  private async readScoringModel(): Promise<Configured<ScoringModel | null>> {
    const last = await this.last(streamIdOf(SCORING_MODEL, SCORING_MODEL_ID));
    return last ? { value: last.data as unknown as ScoringModel, revision: last.revision, changedAt: last.metadata.occurredAt } : { value: null, revision: null };
  }

  private async last(streamId: string): Promise<RecordedEvent | undefined> {
    const [last] = await this.store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    return last;
  }
}

/** One configuration read, kept until forgotten or stale; concurrent questions share one read. */
class LastEventCache<T> {
  private kept?: { value: Configured<T>; until: number };
  private reading?: { generation: number; read: Promise<Configured<T>> };
  /** Counts the changes seen: a read begun before the latest one is not kept. */
  private generation = 0;

  constructor(private readonly read: () => Promise<Configured<T>>) {}

  get(): Promise<Configured<T>> {
    if (this.kept && this.kept.until > Date.now()) return Promise.resolve(this.kept.value);
    if (this.reading?.generation === this.generation) return this.reading.read;
    const generation = this.generation;
    const read = this.read().then(
      (value) => {
        // Frozen: one answer is shared by every capture that asks until the next read.
        deepFreeze(value);
        if (generation === this.generation) this.kept = { value, until: Date.now() + CONFIGURATION_REVALIDATE_MS };
        return value;
      },
    ).finally(() => {
      if (this.reading?.read === read) this.reading = undefined;
    });
    this.reading = { generation, read };
    return read;
  }

  forget(): void {
    this.generation++;
    this.kept = undefined;
  }
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const nested of Object.values(value)) deepFreeze(nested);
}
