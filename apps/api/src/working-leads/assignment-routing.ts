import { Inject, Injectable } from '@nestjs/common';
import { assignmentTurnsDecider, AssignmentTurnsCommand, AssignmentTurnsEvent, firstMatchingRule, LeadDetails } from '@crm/domain';
import { EVENT_STORE, EventStore, timeOrderedUuid, WrongExpectedRevisionError } from '@crm/event-store';
import type { CommandContext } from '../common/command-context';
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

/**
 * Round-robin assignment at capture (API.md, "Assignment"). A lead captured without an owner
 * takes the first rule that matches it; the rule's owners take such leads in turn. The turn is
 * decided on the write side: it is appended to the rule's turn stream with the revision read
 * as the expected one, so of concurrent captures exactly one takes each turn (another process
 * that lost the race reads again). Within this process the turns of one stream are taken one
 * at a time, so 50 concurrent captures cost 50 appends, not a storm of lost races.
 */
@Injectable()
export class AssignmentRouting {
  /** The tail of the queue of turn-takers per turn stream. */
  private readonly queues = new Map<string, Promise<unknown>>();

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
    if (context.idempotencyKey && (await this.store.readStream(`lead-${leadId}`, { maxCount: 1 })).length > 0) return undefined;
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
    await this.decideInTurn(turn.streamId, { type: 'ReturnAssignmentTurn', occurredAt, leadId: turn.leadId, ruleName: turn.ruleName, ownerId: turn.ownerId }, context);
  }

  private decideInTurn(streamId: string, command: AssignmentTurnsCommand, context: CommandContext): Promise<string> {
    const previous = this.queues.get(streamId) ?? Promise.resolve();
    const mine = previous.then(
      () => this.decide(streamId, command, context),
      () => this.decide(streamId, command, context),
    );
    this.queues.set(streamId, mine);
    void mine.finally(() => {
      if (this.queues.get(streamId) === mine) this.queues.delete(streamId);
    }).catch(() => undefined);
    return mine;
  }

  private async decide(streamId: string, command: AssignmentTurnsCommand, context: CommandContext): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const [last] = await this.store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
      // Each turn event carries the whole state after it: the last one is all there is to fold.
      const state = last
        ? assignmentTurnsDecider.evolve(assignmentTurnsDecider.initialState, { ...(last as unknown as AssignmentTurnsEvent), occurredAt: last.metadata.occurredAt })
        : assignmentTurnsDecider.initialState;
      const [event] = assignmentTurnsDecider.decide(command, state);
      try {
        await this.store.append(
          streamId,
          [
            {
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
            },
          ],
          last ? last.revision : 'no_stream',
        );
        return event.data.ownerId;
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }
}
