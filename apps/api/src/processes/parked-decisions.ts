import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@crm/domain';
import { EVENT_STORE, EventStore, RecordedEvent, timeOrderedUuid } from '@crm/event-store';
import type { ReactorParking, ReactorStep } from '@crm/read-models';

/**
 * The completion reactor's parked steps (ReactorParking), a stream in the event store (so it is
 * durable and the same on both backends): each failed attempt to complete a decision, the
 * parking, and an admin's successful retry. It holds ids, counts and the refusal's message,
 * never a record's data. (The stream keeps the name of the recovery sweep it was first written by.)
 */
export const RECOVERY_LEDGER_STREAM = 'completion-recovery';
const RECOVERY_ACTOR = 'completion-recovery';

/** What the ledger's events say about one decision. */
export interface DecisionRef {
  /** The id of the decision's event (LeadConverted or LeadMerged). */
  decisionId: string;
  type: string;
  streamId: string;
  position: string;
}

export interface ParkedDecision extends DecisionRef {
  /** Failed attempts so far (the reactor's, then an admin's retries). */
  failures: number;
  /** Why the last attempt failed. */
  reason: string;
  parkedAt: string;
}

type LedgerEvent =
  | { type: 'CompletionFailed'; data: DecisionRef & { failures: number; reason: string } }
  | { type: 'CompletionParked'; data: DecisionRef & { failures: number; reason: string } }
  | { type: 'CompletionRetried'; data: { decisionId: string } };

export interface Ledger {
  /** Failed attempts per decision id, while it is not complete. */
  failures: Map<string, number>;
  parked: Map<string, ParkedDecision>;
}

/** Folds the ledger's events (pure). */
export function foldLedger(events: readonly Pick<RecordedEvent, 'type' | 'data' | 'recordedAt'>[]): Ledger {
  const ledger: Ledger = { failures: new Map(), parked: new Map() };
  for (const event of events as (LedgerEvent & { recordedAt: string })[]) {
    const { decisionId } = event.data;
    if (event.type === 'CompletionRetried') {
      ledger.failures.delete(decisionId);
      ledger.parked.delete(decisionId);
      continue;
    }
    ledger.failures.set(decisionId, event.data.failures);
    const parked = ledger.parked.get(decisionId);
    if (event.type === 'CompletionParked') ledger.parked.set(decisionId, { ...event.data, parkedAt: event.recordedAt });
    else if (parked) ledger.parked.set(decisionId, { ...parked, failures: event.data.failures, reason: event.data.reason });
  }
  return ledger;
}

export function refOf(decision: RecordedEvent): DecisionRef {
  return { decisionId: decision.id, type: decision.type, streamId: decision.streamId, position: String(decision.position) };
}

/** A failure's message for the ledger and the admin: a refusal names its problem type. */
export function reasonOf(error: unknown): string {
  if (error instanceof DomainError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

@Injectable()
export class RecoveryLedger implements ReactorParking {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /** The completion reactor's record (the one reactor whose steps it keeps). */
  async read(_reactor?: string): Promise<Ledger> {
    return foldLedger(await this.store.readStream(RECOVERY_LEDGER_STREAM));
  }

  /** A failed attempt of the completion reactor at a decision (parked when `park`). */
  async failed(step: ReactorStep, failures: number, error: unknown, park: boolean): Promise<void> {
    const decision = { decisionId: step.eventId, type: step.type, streamId: step.streamId, position: String(step.position) };
    await this.recordFailure(decision, failures, reasonOf(error), park);
  }

  /** Records a failed attempt, parking the decision when `park`. */
  async recordFailure(decision: DecisionRef, failures: number, reason: string, park: boolean): Promise<void> {
    await this.append({ type: park ? 'CompletionParked' : 'CompletionFailed', data: { ...decision, failures, reason } }, RECOVERY_ACTOR);
  }

  /** An admin's retry completed a parked decision. */
  async retried(decisionId: string, actorId: string): Promise<void> {
    await this.append({ type: 'CompletionRetried', data: { decisionId } }, actorId);
  }

  private async append(event: LedgerEvent, actorId: string): Promise<void> {
    const { decisionId } = event.data;
    const metadata = { actorId, occurredAt: new Date().toISOString(), correlationId: decisionId, causationId: decisionId };
    // Two API processes may both run the reactor: their records interleave, and neither needs the other's revision.
    await this.store.append(RECOVERY_LEDGER_STREAM, [{ id: timeOrderedUuid(), type: event.type, data: { ...event.data }, metadata }], 'any');
  }
}
