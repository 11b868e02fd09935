import type { Decider, DomainEvent, Occurred } from '../shared/decider';

/**
 * Whose turn it is under one rule of one rule set (a stream per rule and rule-set revision,
 * so that new rules start afresh and old assignments stay). Taking a turn is appended with the
 * stream's revision as the expected one: of concurrent captures exactly one takes each turn,
 * so the owners' counts never differ by more than one. A capture refused after its turn gives
 * the turn back, and the next capture takes it before the rotation moves on.
 *
 * Each event carries the whole state after it (`next`, `returned`), so the stream's last event
 * is all a capture reads: the cost of a turn does not grow with the stream.
 */
export interface AssignmentTurnsState {
  /** Turns taken so far by the rotation (the next owner is `ownerIds[next % ownerIds.length]`). */
  next: number;
  /** Owners whose turn a refused capture gave back, oldest first: they are served before the rotation. */
  returned: string[];
}

export type AssignmentTurnTaken = DomainEvent<'AssignmentTurnTaken', { leadId: string; ruleName: string; ownerId: string } & AssignmentTurnsState>;
export type AssignmentTurnReturned = DomainEvent<'AssignmentTurnReturned', { leadId: string; ruleName: string; ownerId: string } & AssignmentTurnsState>;
export type AssignmentTurnsEvent = AssignmentTurnTaken | AssignmentTurnReturned;

export interface TakeAssignmentTurn {
  type: 'TakeAssignmentTurn';
  occurredAt: string;
  leadId: string;
  ruleName: string;
  ownerIds: readonly string[];
}
export interface ReturnAssignmentTurn {
  type: 'ReturnAssignmentTurn';
  occurredAt: string;
  leadId: string;
  ruleName: string;
  ownerId: string;
}
export type AssignmentTurnsCommand = TakeAssignmentTurn | ReturnAssignmentTurn;

const initialState: AssignmentTurnsState = { next: 0, returned: [] };

function evolve(_state: AssignmentTurnsState, event: Occurred<AssignmentTurnsEvent>): AssignmentTurnsState {
  return { next: event.data.next, returned: event.data.returned };
}

function decide(command: AssignmentTurnsCommand, state: AssignmentTurnsState): AssignmentTurnsEvent[] {
  const { leadId, ruleName } = command;
  switch (command.type) {
    case 'TakeAssignmentTurn': {
      if (state.returned.length > 0) {
        const [ownerId, ...returned] = state.returned;
        return [{ type: 'AssignmentTurnTaken', data: { leadId, ruleName, ownerId, next: state.next, returned } }];
      }
      const ownerId = command.ownerIds[state.next % command.ownerIds.length];
      return [{ type: 'AssignmentTurnTaken', data: { leadId, ruleName, ownerId, next: state.next + 1, returned: [] } }];
    }
    case 'ReturnAssignmentTurn':
      return [
        { type: 'AssignmentTurnReturned', data: { leadId, ruleName, ownerId: command.ownerId, next: state.next, returned: [...state.returned, command.ownerId] } },
      ];
  }
}

export const assignmentTurnsDecider: Decider<AssignmentTurnsCommand, AssignmentTurnsEvent, AssignmentTurnsState> = { initialState, evolve, decide };
