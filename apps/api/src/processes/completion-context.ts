import type { EventMetadata, RecordedEvent } from '@crm/event-store';
import type { CommandContext } from '../common/command-context';

/**
 * The context of a step the system takes to complete a decision (open the records a
 * conversion names, close the duplicates of a merge). Its idempotency key is derived from the
 * decision and the step, so repeating the step — inline, or in recovery after a crash —
 * finds the first attempt's events and appends nothing.
 */
export function completionContext(decision: RecordedEvent, stepKey: string): CommandContext {
  return {
    actorId: decision.metadata.actorId,
    ...(typeof decision.metadata.onBehalfOf === 'string' && { onBehalfOf: decision.metadata.onBehalfOf }),
    correlationId: decision.metadata.correlationId,
    commandId: decision.id,
    idempotencyKey: stepKey,
    // The same for every repetition of the step, so that a repetition is a replay of the first.
    requestFingerprint: COMPLETION_FINGERPRINT,
    completionStep: stepKey,
  };
}

const COMPLETION_FINGERPRINT = 'completion';

/**
 * The step an event completes, or undefined for an event of no completion step. Events stored
 * before `completionStep` existed are known by the fingerprint every step had (and their
 * idempotency key is the step key).
 */
export function completionStepOf(metadata: EventMetadata): string | undefined {
  if (typeof metadata.completionStep === 'string') return metadata.completionStep;
  return metadata.requestFingerprint === COMPLETION_FINGERPRINT ? metadata.idempotencyKey : undefined;
}

/** Step keys, shared by the steps and by recovery, which recognises completed steps by them. */
export const conversionStepKey = (leadId: string, record: 'account' | 'contact' | 'opportunity') => `conversion:${leadId}:${record}`;
export const mergeStepKey = (survivorId: string, duplicateId: string) => `merge:${survivorId}:${duplicateId}`;

/** The latest of some global positions: what a multi-stream command answers as its `position`. */
export function latestPosition(...positions: bigint[]): bigint {
  return positions.reduce((latest, position) => (position > latest ? position : latest));
}
