import { Inject, Injectable, Logger } from '@nestjs/common';
import { assignmentTurnsDecider, AssignmentTurnsCommand, AssignmentTurnsEvent, firstMatchingRule, LeadDetails } from '@crm/domain';
import { EVENT_STORE, EventStore, timeOrderedUuid, WrongExpectedRevisionError } from '@crm/event-store';
import type { CommandContext } from '../common/command-context';
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

/**
 * Round-robin assignment at capture (API.md, "Assignment"). A lead captured without an owner
 * takes the first rule that matches it; the rule's owners take such leads in turn. The turn is
 * decided on the write side: it is appended to the rule's turn stream with the revision read
 * as the expected one, so of concurrent captures exactly one takes each turn (another process
 * that lost the race reads again). Within this process the turns of one stream are taken in
 * order: those that arrive while an append is under way are decided one after the other and
 * appended together in the next, so concurrent captures share a commit instead of racing.
 */
@Injectable()
export class AssignmentRouting {
  /** Per turn stream, the turns waiting for the append under way to finish. */
  private readonly lanes = new Map<string, Lane>();
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
      const [last] = await this.store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
      // Each turn event carries the whole state after it: the last one is all there is to fold.
      let state = last
        ? assignmentTurnsDecider.evolve(assignmentTurnsDecider.initialState, { ...(last as unknown as AssignmentTurnsEvent), occurredAt: last.metadata.occurredAt })
        : assignmentTurnsDecider.initialState;
      const events = batch.map(({ command, context }) => {
        const [event] = assignmentTurnsDecider.decide(command, state);
        state = assignmentTurnsDecider.evolve(state, { ...event, occurredAt: command.occurredAt });
        return { event, command, context };
      });
      try {
        await this.store.append(
          streamId,
          events.map(({ event, command, context }) => ({
            id: timeOrderedUuid(),
            type: event.type,
            data: event.data as unknown as Record<string, unknown>,
            metadata: {
              actorId: context.actorId,
              ...(context.onBehalfOf !== undefined && { onBehalfOf: context.onBehalfOf }),
              occurredAt: command.occurredAt,
              correlationId: context.correlationId,
              causationId: context.commandId,
            },
          })),
          last ? last.revision : 'no_stream',
        );
        return events.map(({ event }) => event.data.ownerId);
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }
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
