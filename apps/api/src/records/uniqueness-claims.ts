import { claimHolders, ClaimHolder, decideClaim, fold, releaseClaim, UniqueValueClaimed } from '@crm/domain';
import { AppendResult, EventIdConflictError, EventStore, RecordedEvent, StreamAppend, timeOrderedUuid, toOccurred, WrongExpectedRevisionError } from '@crm/event-store';
import { createHash } from 'node:crypto';
import type { CommandContext } from '../common/command-context';
import { problem, ProblemException } from '../common/problem';
import { LoadState, streamIdOf, UniqueClaim, UniqueRule } from './aggregate-type';

/**
 * How long a holder whose own stream has not been written since it claimed still counts as
 * holding: its write is normally a few milliseconds behind the claim; after a crash between the
 * two appends the orphan claim stops blocking the value once this has passed. (On the embedded
 * store the claim and the record are written in one transaction, so no orphan is ever left.)
 */
export const PENDING_CLAIM_MS = 10_000;
/** A 409 for duplicates lists at most this many of them. */
export const MAX_DUPLICATES_LISTED = 100;
/** Claims on one value that keep losing races are decided again this many times. */
const MAX_CLAIM_ATTEMPTS = 100;

/** A value's claim as read: the holders that still stand and where the next claim event goes. */
export interface StandingClaim {
  standing: ClaimHolder[];
  /** The revision the next claim event gets (0 for a value never claimed). */
  nextRevision: number;
  expectedRevision: number | 'no_stream';
}

/** A claim decided for one attempt: the append that takes it, and the holders before it (restored should it be let go). */
interface DecidedClaim {
  append: StreamAppend;
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

  /**
   * Appends a record's events together with the claims they need, or throws the refusal of a
   * claim naming the records that hold its value. In one transaction where the store can
   * (`appendAtomically`), else the claims first and then the record. A claim that lost a race
   * is decided again; a refusal of the record's own append is the caller's to handle.
   */
  async appendClaimed(claims: UniqueClaim[], record: StreamAppend, allowedByCaller: boolean, context: CommandContext): Promise<AppendResult> {
    if (claims.length === 0) return this.store.append(record.streamId, record.events, record.expectedRevision);
    for (let attempt = 1; ; attempt++) {
      const decided: DecidedClaim[] = [];
      // Most values are claimed for the first time (every capture of a new email): the first attempt assumes so, without reading.
      for (const claim of claims) decided.push(attempt === 1 ? this.firstClaim(claim, context) : await this.decide(claim, allowedByCaller, context));
      try {
        return await this.appendTogether(decided, record, context);
      } catch (error) {
        // Another claim on the value came first: decide again on the holders it left.
        if (!(error instanceof WrongExpectedRevisionError) || !decided.some((d) => d.append.streamId === error.streamId)) throw error;
        if (attempt >= MAX_CLAIM_ATTEMPTS) {
          throw new ProblemException(problem(409, 'concurrent-modification', 'Too many concurrent changes', 'The value kept being claimed by other commands while this one was decided; retry it'));
        }
      }
    }
  }

  /**
   * The appends that take these claims now, decided on the holders as they stand (for a bulk
   * decision appended in one transaction: a claim that lost a race there fails the whole
   * transaction, which its caller decides again); throws the refusal of a claim. `assumeFirst`:
   * without reading, as the first claims of their values (as `appendClaimed`'s first attempt):
   * a value claimed before fails the transaction on its claim stream, and the caller decides again.
   */
  async decidedClaims(claims: UniqueClaim[], allowedByCaller: boolean, context: CommandContext, assumeFirst = false): Promise<StreamAppend[]> {
    const appends: StreamAppend[] = [];
    for (const claim of claims) appends.push((assumeFirst ? this.firstClaim(claim, context) : await this.decide(claim, allowedByCaller, context)).append);
    return appends;
  }

  private async appendTogether(decided: DecidedClaim[], record: StreamAppend, context: CommandContext): Promise<AppendResult> {
    if (this.store.appendAtomically) {
      const results = await this.store.appendAtomically([...decided.map((d) => d.append), record]);
      return results[results.length - 1];
    }
    const taken: { claim: DecidedClaim; revision: number }[] = [];
    try {
      for (const claim of decided) {
        const { streamId, events, expectedRevision } = claim.append;
        taken.push({ claim, revision: (await this.store.append(streamId, events, expectedRevision)).nextExpectedRevision });
      }
      return await this.store.append(record.streamId, record.events, record.expectedRevision);
    } catch (error) {
      // Only a definite refusal wrote nothing: after an outcome-unknown failure (a timeout, a lost
      // leader) the record may be stored, and its claims must stand (a claim whose record never
      // appears blocks its value only for the grace period).
      if (error instanceof WrongExpectedRevisionError || error instanceof EventIdConflictError) {
        for (const { claim, revision } of taken) await this.release(claim, revision, context);
      }
      throw error;
    }
  }

  private firstClaim(claim: UniqueClaim, context: CommandContext): DecidedClaim {
    const first = decideClaim({ claimant: claim.claimant, standing: [], allowDuplicate: false, nextRevision: 0 }) as { event: UniqueValueClaimed };
    return { append: { streamId: claimStreamId(claim.rule, claim.value), events: [this.toAppend(first.event, context)], expectedRevision: 'no_stream' }, holdersBefore: [] };
  }

  private async decide(claim: UniqueClaim, allowedByCaller: boolean, context: CommandContext): Promise<DecidedClaim> {
    const { streamId, holdersBefore, standing, nextRevision, expectedRevision } = await this.standing(claim);
    const decision = decideClaim({ claimant: claim.claimant, standing, allowDuplicate: allowedByCaller || claim.allowDuplicate === true, nextRevision });
    if (decision.kind === 'refused') throw claim.refusal(decision.duplicates.slice(0, MAX_DUPLICATES_LISTED));
    return { append: { streamId, events: [this.toAppend(decision.event, context)], expectedRevision }, holdersBefore };
  }

  /**
   * A value's claim as it stands now: the holders other than the claimant that still hold it
   * (each checked against its own stream), and the revision a claim appends at. For deciding
   * many claims at once (the lines of an import chunk, `ImportChunkCapture`).
   */
  async standing(claim: Pick<UniqueClaim, 'rule' | 'value' | 'claimant'>): Promise<StandingClaim & { streamId: string; holdersBefore: ClaimHolder[] }> {
    const streamId = claimStreamId(claim.rule, claim.value);
    const events = await this.store.readStream(streamId);
    const last = events[events.length - 1];
    const holdersBefore = claimHolders(events);
    const others = holdersBefore.filter((h) => h.id !== claim.claimant.id);
    const stands = await Promise.all(others.map((holder) => this.stands(claim, holder, events)));
    const standing = others.filter((_, i) => stands[i]);
    return { streamId, holdersBefore, standing, nextRevision: last ? last.revision + 1 : 0, expectedRevision: last ? last.revision : 'no_stream' };
  }

  /** The append of claim events decided by the caller (`decideClaim`), stamped as this class stamps its own. */
  claimAppend(claim: Pick<UniqueClaim, 'rule' | 'value'>, events: UniqueValueClaimed[], expectedRevision: number | 'no_stream', context: CommandContext): StreamAppend {
    return { streamId: claimStreamId(claim.rule, claim.value), events: events.map((event) => this.toAppend(event, context)), expectedRevision };
  }

  /**
   * Lets go of a claim whose command's own append failed, unless another claim came since. Best
   * effort, never throwing over the command's own error: a claim left behind is dropped by the
   * next claim of the value once its grace has passed.
   */
  private async release(claim: DecidedClaim, revision: number, context: CommandContext): Promise<void> {
    await this.store.append(claim.append.streamId, [this.toAppend(releaseClaim(claim.holdersBefore), context)], revision).catch(() => undefined);
  }

  /** Whether a holder still holds the value, by its own stream (the authoritative write side, never the read models). */
  private async stands(claim: Pick<UniqueClaim, 'rule' | 'value'>, holder: ClaimHolder, claimEvents: RecordedEvent[]): Promise<boolean> {
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
