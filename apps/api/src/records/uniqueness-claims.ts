import { claimHolders, ClaimHolder, decideClaim, fold, releaseClaim } from '@crm/domain';
import { EventStore, RecordedEvent, timeOrderedUuid, toOccurred, WrongExpectedRevisionError } from '@crm/event-store';
import { createHash } from 'node:crypto';
import type { CommandContext } from '../common/command-context';
import { problem, ProblemException } from '../common/problem';
import { MAX_DUPLICATES_LISTED } from '../read-side/read-models';
import { LoadState, streamIdOf, UniqueClaim, UniqueRule } from './aggregate-type';

/**
 * How long a holder whose own stream has not been written since it claimed still counts as
 * holding: its write is normally a few milliseconds behind the claim; after a crash between the
 * two appends the orphan claim stops blocking the value once this has passed.
 */
export const PENDING_CLAIM_MS = 10_000;
/** Claims on one value that keep losing races are decided again this many times. */
const MAX_CLAIM_ATTEMPTS = 100;

/** A claim appended for a command, as its release needs it should the command's own append fail. */
export interface TakenClaim {
  streamId: string;
  /** Revision of the claim event appended. */
  revision: number;
  /** The holders named before it, restored if the claimant lets go. */
  holdersBefore: ClaimHolder[];
}

/** Claim streams are named by a hash of the value: neither the name nor the events carry the email or the name. */
export function claimStreamId(rule: UniqueRule, value: string): string {
  return `unique-${rule.name}-${createHash('sha256').update(value).digest('hex')}`;
}

/**
 * Uniqueness claims, decided in the event store with an expected revision, so that they hold at
 * the moment of the write on every backend (the read models are milliseconds behind). A claim
 * stream's last event names the records holding the value; each is checked against its own
 * stream when the value is claimed again, and the ones that no longer hold it are dropped.
 */
export class UniquenessClaims {
  constructor(
    private readonly store: EventStore,
    private readonly load: LoadState,
  ) {}

  /** Appends the claim, or throws the claim's refusal naming the records that hold the value. */
  async take(claim: UniqueClaim, allowedByCaller: boolean, context: CommandContext): Promise<TakenClaim> {
    const allowDuplicate = allowedByCaller || claim.allowDuplicate === true;
    const streamId = claimStreamId(claim.rule, claim.value);
    // Most values are claimed for the first time (every capture of a new email): try that without reading.
    const first = decideClaim({ claimant: claim.claimant, standing: [], allowDuplicate, nextRevision: 0 });
    if (first.kind === 'claimed') {
      try {
        const result = await this.store.append(streamId, [this.toAppend(first.event, context)], 'no_stream');
        return { streamId, revision: result.nextExpectedRevision, holdersBefore: [] };
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
      }
    }
    for (let attempt = 1; ; attempt++) {
      const events = await this.store.readStream(streamId);
      const last = events[events.length - 1];
      const holdersBefore = claimHolders(events);
      const others = holdersBefore.filter((h) => h.id !== claim.claimant.id);
      const stands = await Promise.all(others.map((holder) => this.stands(claim, holder, events)));
      const decision = decideClaim({
        claimant: claim.claimant,
        standing: others.filter((_, i) => stands[i]),
        allowDuplicate,
        nextRevision: last ? last.revision + 1 : 0,
      });
      if (decision.kind === 'refused') throw claim.refusal(decision.duplicates.slice(0, MAX_DUPLICATES_LISTED));
      try {
        const result = await this.store.append(streamId, [this.toAppend(decision.event, context)], last ? last.revision : 'no_stream');
        return { streamId, revision: result.nextExpectedRevision, holdersBefore };
      } catch (error) {
        // Another claim on this value came first: decide again on the holders it left.
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        if (attempt >= MAX_CLAIM_ATTEMPTS) {
          throw new ProblemException(problem(409, 'concurrent-modification', 'Too many concurrent changes', 'The value kept being claimed by other commands while this one was decided; retry it'));
        }
      }
    }
  }

  /**
   * Lets go of a claim whose command's own append failed, unless another claim came since. Best
   * effort, never throwing over the command's own error: a claim left behind is dropped by the
   * next claim of the value once its grace has passed.
   */
  async release(taken: TakenClaim, context: CommandContext): Promise<void> {
    await this.store.append(taken.streamId, [this.toAppend(releaseClaim(taken.holdersBefore), context)], taken.revision).catch(() => undefined);
  }

  /** Whether a holder still holds the value, by its own stream (the authoritative write side, never the read models). */
  private async stands(claim: UniqueClaim, holder: ClaimHolder, claimEvents: RecordedEvent[]): Promise<boolean> {
    const { rule, value } = claim;
    const own = await this.store.readStream(streamIdOf(rule.holder, holder.id));
    if (rule.valueOf(fold(rule.holder.decider, own.map((e) => toOccurred(e)))) === value) return true;
    const addedBy = claimEvents.find((e) => e.revision === holder.since);
    const lastOwn = own[own.length - 1];
    // Written since it claimed (converted, merged, changed): its stream is the answer, and it no longer holds the value.
    if (lastOwn && (!addedBy || lastOwn.position > addedBy.position)) return false;
    if (holder.decidedBy && rule.decidedHolderStands && (await rule.decidedHolderStands(holder, this.load))) return true;
    // Its own write may still be on its way: it holds the value for a short grace only, so that a crash in between blocks nothing for long.
    return addedBy !== undefined && Date.now() - Date.parse(addedBy.recordedAt) < PENDING_CLAIM_MS;
  }

  private toAppend(event: { type: string; data: object }, context: CommandContext) {
    return {
      id: timeOrderedUuid(),
      type: event.type,
      data: event.data as Record<string, unknown>,
      metadata: { actorId: context.actorId, occurredAt: new Date().toISOString(), correlationId: context.correlationId, causationId: context.commandId },
    };
  }
}
