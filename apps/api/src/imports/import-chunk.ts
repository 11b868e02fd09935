import {
  AssignmentTurnsCommand,
  assignmentTurnsDecider,
  AssignmentTurnsEvent,
  AssignmentTurnsState,
  ClaimHolder,
  decideClaim,
  DomainError,
  LeadCommand,
  LeadEvent,
  LeadState,
  occurred,
  UniqueValueClaimed,
} from '@crm/domain';
import { LEAD, UniqueClaim } from '../records/aggregate-type';
import { MAX_DUPLICATES_LISTED } from '../records/uniqueness-claims';

/** A line of an import chunk that is to be captured: validated, its command built and its facts resolved. */
export interface ChunkCandidate {
  line: number;
  /** The capture, without an assignment (a line without an owner that a rule matches gets its turn here). */
  command: Extract<LeadCommand, { type: 'CaptureLead' }>;
  /** The assignment rule the line matches (lines without an owner only), and the stream of its turns. */
  rule?: { streamId: string; ruleName: string; ownerIds: readonly string[] };
}

/** A value's claim as it was read: the holders that still stand, and the revision its next claim event gets. */
export interface ClaimAsRead {
  standing: ClaimHolder[];
  nextRevision: number;
}

export interface ChunkInput {
  /** In file order. */
  candidates: readonly ChunkCandidate[];
  /**
   * Per claimed value (a normalized email), its claim as read. A value not named is taken as
   * never claimed: the append expects its claim stream not to exist, so a wrong guess fails the
   * chunk's transaction and the chunk is decided again with the claims read.
   */
  claims: ReadonlyMap<string, ClaimAsRead>;
  /** Per turn stream, the rotation's state as read (a stream not named is a new one). */
  turns: ReadonlyMap<string, AssignmentTurnsState>;
  /** The import says `allowDuplicate`: a line joins the open leads holding its email. */
  allowDuplicate: boolean;
}

export interface CapturedLine {
  line: number;
  leadId: string;
  occurredAt: string;
  events: LeadEvent[];
  next: LeadState;
}

export interface ChunkDecision {
  captured: CapturedLine[];
  /** Lines the domain refused (a duplicate email, an unknown campaign…), in file order, with the error a single capture would get. */
  refused: { line: number; error: DomainError }[];
  /** Per claimed value: the claim and its events, one per line that claims it, in file order. */
  claims: Map<string, { claim: UniqueClaim; events: UniqueValueClaimed[] }>;
  /** Per turn stream: the turns taken, in file order, each with the business time of the line it serves. */
  turns: Map<string, { event: AssignmentTurnsEvent; occurredAt: string; line: number }[]>;
}

/**
 * Decides the captures of a chunk of import lines at once, as each would be decided alone one
 * after the other in file order: the lead decider on a new stream; the email claim on the
 * claim as read plus the claims of the chunk's earlier lines (so of two lines with one email
 * the later is refused naming the earlier, as a capture right after it would be, unless
 * `allowDuplicate`); and for a line a rule matches, the rule's next turn, taken only when the
 * line is captured (a refused line leaves the turn to the next matched line, as a refused
 * single capture takes none). Pure: what it reads is in `input`; the caller appends the
 * outcome in one transaction with the expected revisions it read.
 */
export function decideImportChunk(input: ChunkInput): ChunkDecision {
  const decision: ChunkDecision = { captured: [], refused: [], claims: new Map(), turns: new Map() };
  const claims = new Map(input.claims);
  const turns = new Map(input.turns);
  for (const { line, command, rule } of input.candidates) {
    const turnCommand: AssignmentTurnsCommand | undefined = rule && { type: 'TakeAssignmentTurn', occurredAt: command.occurredAt, leadId: command.leadId, ruleName: rule.ruleName, ownerIds: rule.ownerIds };
    const turnState = rule ? (turns.get(rule.streamId) ?? assignmentTurnsDecider.initialState) : undefined;
    const [turn] = turnCommand && turnState ? assignmentTurnsDecider.decide(turnCommand, turnState) : [];
    const assigned = rule && turn ? { ...command, assignment: { ownerId: turn.data.ownerId, ruleName: rule.ruleName } } : command;
    let events: LeadEvent[];
    try {
      events = LEAD.decider.decide(assigned, LEAD.decider.initialState);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      decision.refused.push({ line, error });
      continue;
    }
    const next = events.reduce((state, event) => LEAD.decider.evolve(state, occurred(event, command.occurredAt)), LEAD.decider.initialState);
    const [claim] = LEAD.claimsOf!(assigned, LEAD.decider.initialState, next);
    if (claim) {
      const read = claims.get(claim.value) ?? { standing: [], nextRevision: 0 };
      const claimed = decideClaim({ claimant: claim.claimant, standing: read.standing, allowDuplicate: input.allowDuplicate, nextRevision: read.nextRevision });
      if (claimed.kind === 'refused') {
        decision.refused.push({ line, error: claim.refusal(claimed.duplicates.slice(0, MAX_DUPLICATES_LISTED)) });
        continue;
      }
      // The line now holds the value too: a later line of the chunk with it meets it there.
      claims.set(claim.value, { standing: claimed.event.data.holders, nextRevision: read.nextRevision + 1 });
      const decided = decision.claims.get(claim.value);
      if (decided) decided.events.push(claimed.event);
      else decision.claims.set(claim.value, { claim, events: [claimed.event] });
    }
    if (rule && turn && turnState) {
      turns.set(rule.streamId, assignmentTurnsDecider.evolve(turnState, occurred(turn, command.occurredAt)));
      const taken = decision.turns.get(rule.streamId) ?? [];
      taken.push({ event: turn, occurredAt: command.occurredAt, line });
      decision.turns.set(rule.streamId, taken);
    }
    decision.captured.push({ line, leadId: command.leadId, occurredAt: command.occurredAt, events, next });
  }
  return decision;
}
