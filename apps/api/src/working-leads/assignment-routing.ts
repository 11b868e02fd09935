import { Inject, Injectable, Logger } from '@nestjs/common';
import { assignmentTurnsDecider, AssignmentTurnsCommand, AssignmentTurnsEvent, AssignmentTurnsState, firstMatchingRule, LeadDetails, occurred } from '@crm/domain';
import { EVENT_STORE, EventStore, EventToAppend, StreamAppend, timeOrderedUuid, toOccurred, WrongExpectedRevisionError } from '@crm/event-store';
import { BoundedMap } from '@crm/event-store/bounded-map';
import { CommandContext, commandMetadata } from '../common/command-context';
import { LEAD, streamIdOf } from '../records/aggregate-type';
import { Configuration } from './configuration';

/** The owner a capture took under a rule, and where the turn was recorded (to give it back). */
export interface AssignmentTurn {
  ownerId: string;
  ruleName: string;
  streamId: string;
  leadId: string;
}

/** Concurrent captures of other processes can take turns in between; each retry re-reads the one last event. */
const MAX_ATTEMPTS = 1000;
/** Turns that wait while an append is under way go into the next one together (one commit for many captures). */
const MAX_TURNS_PER_APPEND = 500;
/** Turn streams whose state after this process's last transaction is kept (one per rule of the rule sets in use): at least this many, at most twice (the older half dropped at once: BoundedMap). */
const MAX_KEPT_TURN_STREAMS = 64;

/**
 * Round-robin assignment at capture (API.md, "Assignment"). A lead captured without an owner
 * takes the first rule that matches it; the rule's owners take such leads in turn. The turn is
 * decided on the write side: it is appended to the rule's turn stream with the revision read
 * as the expected one, so of concurrent captures exactly one takes each turn (another process
 * that lost the race reads again). Within this process the turns of one stream are taken in
 * order: those that arrive while an append is under way are decided one after the other and
 * appended together in the next, so concurrent captures share a commit instead of racing.
 * On a store with `appendAtomically` a capture goes through `captureInTurn` instead: its turn and
 * its lead in one transaction. `takeTurn`/`giveBack` are the path of EventStoreDB, which has no
 * multi-stream transaction: the turn is appended first, and a refused capture gives it back.
 */
@Injectable()
export class AssignmentRouting {
  /** Per turn stream, the turns waiting for the append under way to finish. */
  private readonly lanes = new Map<string, Lane>();
  /** Per turn stream, the captures waiting for the transaction under way (`captureInTurn`). */
  private readonly captureLanes = new Map<string, CaptureLane<unknown>>();
  /**
   * Per turn stream, the rotation's state and revision as this process's last transaction of
   * captures left them: the next transaction decides on them without reading the stream again.
   * It is still appended at that revision, so when another process (or another path of this
   * one) took a turn in between, the append is refused and the turns are decided again on the
   * stream as read (what keeps the turns fair: the stream's revision, not this copy).
   */
  private readonly turnsAfterLastCapture = new BoundedMap<TurnsNow>(2 * MAX_KEPT_TURN_STREAMS);
  private readonly logger = new Logger('AssignmentRouting');

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly configuration: Configuration,
  ) {}

  /**
   * The turn of a capture sent without an owner. A retry under an Idempotency-Key whose first
   * attempt was captured (its lead id is derived from the key) takes none: it will be answered
   * with the first attempt, which names its owner.
   */
  async takeTurnForCapture(leadId: string, lead: Partial<LeadDetails>, occurredAt: string, context: CommandContext): Promise<AssignmentTurn | undefined> {
    if (context.idempotencyKey && (await this.store.readStream(streamIdOf(LEAD, leadId), { maxCount: 1 })).length > 0) return undefined;
    return this.takeTurn(leadId, lead, occurredAt, context);
  }

  /** Takes the turn of the first rule the lead matches; undefined when no rule does (the lead stays without an owner). */
  async takeTurn(leadId: string, lead: Partial<LeadDetails>, occurredAt: string, context: CommandContext): Promise<AssignmentTurn | undefined> {
    const rules = await this.configuration.assignmentRules();
    const match = firstMatchingRule(rules.value, lead);
    if (!match || rules.revision === null) return undefined;
    // Turns are counted per rule set: new rules start afresh, and old assignments stay as they were.
    const streamId = `assignment-turns-${rules.revision}.${match.index}`;
    const { rule } = match;
    const ownerId = await this.decideInTurn(streamId, { type: 'TakeAssignmentTurn', occurredAt, leadId, ruleName: rule.name, ownerIds: rule.ownerIds }, context);
    return { ownerId, ruleName: rule.name, streamId, leadId };
  }

  /**
   * The rule a capture without an owner matches, and its turn stream; undefined when no rule
   * does (the lead stays without an owner).
   */
  async matchingRule(lead: Partial<LeadDetails>): Promise<{ streamId: string; ruleName: string; ownerIds: string[] } | undefined> {
    const rules = await this.configuration.assignmentRules();
    const match = firstMatchingRule(rules.value, lead);
    if (!match || rules.revision === null) return undefined;
    // Turns are counted per rule set: new rules start afresh, and old assignments stay as they were.
    return { streamId: `assignment-turns-${rules.revision}.${match.index}`, ruleName: match.rule.name, ownerIds: match.rule.ownerIds };
  }

  /**
   * A capture's turn and its own events in ONE transaction (stores with `appendAtomically`): the
   * turn is appended at the revision read, with the capture's appends, so a capture is one
   * commit and a refused capture never took a turn (nothing to give back). Captures that queue
   * while a transaction is under way go into the next one together, their turns decided one
   * after the other; when another process took a turn in between, the whole transaction is
   * refused and decided again. Resolves with what `appendTurned` returned for this capture.
   */
  captureInTurn<T>(rule: { streamId: string; ruleName: string; ownerIds: string[] }, capture: TurnedCapture<T>, appendTurned: AppendTurned<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let lane = this.captureLanes.get(rule.streamId);
      if (!lane) this.captureLanes.set(rule.streamId, (lane = { waiting: [], busy: false }));
      lane.waiting.push({ capture, resolve, reject } as WaitingCapture<unknown>);
      if (!lane.busy) void this.drainCaptures(rule, lane as CaptureLane<T>, appendTurned);
    });
  }

  private async drainCaptures<T>(rule: { streamId: string; ruleName: string; ownerIds: string[] }, lane: CaptureLane<T>, appendTurned: AppendTurned<T>): Promise<void> {
    lane.busy = true;
    while (lane.waiting.length > 0) {
      const batch = lane.waiting.splice(0, MAX_TURNS_PER_APPEND);
      try {
        await this.captureAll(rule, batch, appendTurned);
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
      }
    }
    lane.busy = false;
    this.captureLanes.delete(rule.streamId);
  }

  /**
   * Decides the turns of the batch on the stream's state, each capture for the owner its turn
   * gave, and appends them all in one transaction. Settles every capture of the batch: a capture
   * refused when decided gives its turn to the next one; one whose append fails the transaction
   * is settled with that failure and the others are appended without it.
   */
  private async captureAll<T>(rule: { streamId: string; ruleName: string; ownerIds: string[] }, batch: WaitingCapture<T>[], appendTurned: AppendTurned<T>): Promise<void> {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const read = this.turnsAfterLastCapture.get(rule.streamId) ?? (await this.turnsNow(rule.streamId));
      // Forgotten until this transaction commits: whatever refuses it, the next one reads the stream.
      this.turnsAfterLastCapture.delete(rule.streamId);
      let state = read.state;
      const taken: { waiting: WaitingCapture<T>; turn: AssignmentTurnsEvent; decided: unknown }[] = [];
      const leadsTaken = new Set<string>();
      // A second capture of a lead this round already decides (the same Idempotency-Key sent again
      // meanwhile) waits for the next round: decided on the committed stream, it is the replay it is.
      const deferred: WaitingCapture<T>[] = [];
      for (const waiting of pending) {
        const { capture } = waiting;
        if (leadsTaken.has(capture.leadId)) {
          deferred.push(waiting);
          continue;
        }
        const command: AssignmentTurnsCommand = { type: 'TakeAssignmentTurn', occurredAt: capture.occurredAt, leadId: capture.leadId, ruleName: rule.ruleName, ownerIds: rule.ownerIds };
        const [turn] = assignmentTurnsDecider.decide(command, state);
        let decided: { answer: T } | { append: unknown };
        try {
          decided = await capture.decide({ ownerId: turn.data.ownerId, ruleName: rule.ruleName });
        } catch (error) {
          waiting.reject(error); // refused (a duplicate email…): its turn goes to the next capture
          continue;
        }
        if ('answer' in decided) {
          waiting.resolve(decided.answer); // nothing to append (a replay): the turn goes unused
          continue;
        }
        state = assignmentTurnsDecider.evolve(state, occurred(turn, command.occurredAt));
        taken.push({ waiting, turn, decided: decided.append });
        leadsTaken.add(capture.leadId);
      }
      if (taken.length === 0) {
        this.turnsAfterLastCapture.set(rule.streamId, read); // nothing appended: the stream is as read
        return;
      }
      const turns: StreamAppend = {
        streamId: rule.streamId,
        events: taken.map(({ waiting: { capture }, turn }) => turnEventToAppend(turn, capture.occurredAt, capture.context)),
        expectedRevision: read.expectedRevision,
      };
      try {
        const results = await appendTurned(taken.map((t) => t.decided), turns);
        this.turnsAfterLastCapture.set(rule.streamId, { state, expectedRevision: revisionAfter(read.expectedRevision, taken.length) });
        taken.forEach(({ waiting }, index) => waiting.resolve(results[index]));
        if (deferred.length === 0) return;
        pending = deferred;
      } catch (error) {
        // Another process took a turn in between: the whole transaction is decided again.
        if (error instanceof WrongExpectedRevisionError && error.streamId === rule.streamId && attempt < MAX_ATTEMPTS) continue;
        if (!(error instanceof FailedInTurn)) throw error;
        // One capture failed the transaction (its email claimed by another since, its Idempotency-Key reused…): it gets
        // its failure, and the others are decided and appended again without it.
        taken[error.index].waiting.reject(error.failure);
        pending = [...taken.filter((_, index) => index !== error.index).map((t) => t.waiting), ...deferred];
      }
    }
  }

  /** Turns appended to these streams by another path of this process (an import chunk): the next capture reads them again. */
  turnsAppendedElsewhere(streamIds: Iterable<string>): void {
    for (const streamId of streamIds) this.turnsAfterLastCapture.delete(streamId);
  }

  /**
   * A turn stream as it stands: the rotation's state and the revision the next turns append at.
   * Each turn event carries the whole state after it: the last one is all there is to fold.
   */
  async turnsNow(streamId: string): Promise<TurnsNow> {
    const [last] = await this.store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
    if (!last) return { state: assignmentTurnsDecider.initialState, expectedRevision: 'no_stream' };
    const state = assignmentTurnsDecider.evolve(assignmentTurnsDecider.initialState, toOccurred<AssignmentTurnsEvent>(last));
    return { state, expectedRevision: last.revision };
  }

  /** A capture refused after it took its turn gives it back: the owner gets the next matched lead. */
  async giveBack(turn: AssignmentTurn, occurredAt: string, context: CommandContext): Promise<void> {
    try {
      await this.decideInTurn(turn.streamId, { type: 'ReturnAssignmentTurn', occurredAt, leadId: turn.leadId, ruleName: turn.ruleName, ownerId: turn.ownerId }, context);
    } catch (error) {
      // The capture's own refusal is the answer; a turn not given back only skips that owner once.
      this.logger.warn(`A turn of rule "${turn.ruleName}" could not be given back: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private decideInTurn(streamId: string, command: AssignmentTurnsCommand, context: CommandContext): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let lane = this.lanes.get(streamId);
      if (!lane) this.lanes.set(streamId, (lane = { waiting: [], busy: false }));
      lane.waiting.push({ command, context, resolve, reject });
      if (!lane.busy) void this.drain(streamId, lane);
    });
  }

  /** Appends the waiting turns of one stream, all those that queued during the last append in one. */
  private async drain(streamId: string, lane: Lane): Promise<void> {
    lane.busy = true;
    while (lane.waiting.length > 0) {
      const batch = lane.waiting.splice(0, MAX_TURNS_PER_APPEND);
      try {
        const owners = await this.decideAll(streamId, batch);
        batch.forEach((waiting, index) => waiting.resolve(owners[index]));
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
      }
    }
    lane.busy = false;
    this.lanes.delete(streamId);
  }

  /** Decides the turns one after the other on the stream's state, and appends them at the revision read. */
  private async decideAll(streamId: string, batch: WaitingTurn[]): Promise<string[]> {
    for (let attempt = 1; ; attempt++) {
      const read = await this.turnsNow(streamId);
      let state = read.state;
      const events = batch.map(({ command, context }) => {
        const [event] = assignmentTurnsDecider.decide(command, state);
        state = assignmentTurnsDecider.evolve(state, occurred(event, command.occurredAt));
        return { event, command, context };
      });
      try {
        await this.store.append(
          streamId,
          events.map(({ event, command, context }) => turnEventToAppend(event, command.occurredAt, context)),
          read.expectedRevision,
        );
        return events.map(({ event }) => event.data.ownerId);
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }
}

/** A turn stream's rotation and the revision its next turns append at. */
export interface TurnsNow {
  state: AssignmentTurnsState;
  expectedRevision: number | 'no_stream';
}

/** The revision a stream is at after `count` events were appended at `expected`. */
function revisionAfter(expected: number | 'no_stream', count: number): number {
  return (expected === 'no_stream' ? -1 : expected) + count;
}

/** A turn event for the store, stamped as the capture it serves (actor, business time, causation). */
export function turnEventToAppend(event: AssignmentTurnsEvent, occurredAt: string, context: CommandContext): EventToAppend {
  return {
    id: timeOrderedUuid(),
    type: event.type,
    data: event.data as unknown as Record<string, unknown>,
    metadata: commandMetadata(context, occurredAt),
  };
}

/** A capture waiting for its turn: decided for the owner the turn gives it. */
export interface TurnedCapture<T> {
  leadId: string;
  occurredAt: string;
  context: CommandContext;
  /** Its decision for that owner: what `AppendTurned` appends, or its answer when there is nothing to append (a replay). Throws its refusal. */
  decide(assignment: { ownerId: string; ruleName: string }): Promise<{ answer: T } | { append: unknown }>;
}

/**
 * Appends the decisions of the captures with their turns in one transaction, and answers each
 * capture; throws FailedInTurn when one capture's part failed it (nothing was appended).
 */
export type AppendTurned<T> = (decisions: unknown[], turns: StreamAppend) => Promise<T[]>;

/** The capture at `index` failed the transaction with `failure`: the others can go without it. */
export class FailedInTurn extends Error {
  constructor(
    readonly index: number,
    readonly failure: unknown,
  ) {
    super(`Capture ${index} failed its turn's transaction: ${failure instanceof Error ? failure.message : String(failure)}`);
    this.name = 'FailedInTurn';
  }
}

interface WaitingCapture<T> {
  capture: TurnedCapture<T>;
  resolve(outcome: T): void;
  reject(error: unknown): void;
}

interface CaptureLane<T> {
  waiting: WaitingCapture<T>[];
  busy: boolean;
}

interface WaitingTurn {
  command: AssignmentTurnsCommand;
  context: CommandContext;
  resolve(ownerId: string): void;
  reject(error: unknown): void;
}

interface Lane {
  waiting: WaitingTurn[];
  busy: boolean;
}
