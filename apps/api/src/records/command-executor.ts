import { Inject, Injectable } from '@nestjs/common';
import { assertOccurredInOrder, DomainError, DomainEvent, fold, occurred } from '@crm/domain';
import {
  AppendResult,
  deterministicUuid,
  EVENT_STORE,
  EventIdConflictError,
  EventStore,
  EventToAppend,
  RecordedEvent,
  StreamAppend,
  timeOrderedUuid,
  toOccurred,
  WrongExpectedRevisionError,
} from '@crm/event-store';
import { CommandContext, commandMetadata } from '../common/command-context';
import { idempotencyKeyReused, preconditionFailed, problem, ProblemException } from '../common/problem';
import { CommandOutcomeLabel, Metrics } from '../observability/metrics';
import { AggregateType, Facts, LoadState, streamIdOf, UniqueClaim } from './aggregate-type';
import { UniquenessClaims } from './uniqueness-claims';
import { RetryTurn, RetryTurns } from './retry-turns';

export interface CommandOutcome<State, Event extends DomainEvent = DomainEvent> {
  id: string;
  /** Revision of the stream after the command (unchanged when the command changed nothing). */
  revision: number;
  /** Global position of the command's last event, or of the stream's last event when nothing was appended. */
  position: bigint;
  state: State;
  /** The events this command appended, or for a replay the ones the first attempt appended. */
  events: Event[];
  /** True when an Idempotency-Key matched an earlier success and nothing was appended. */
  replayed: boolean;
}

export interface ExecuteOptions {
  /**
   * For a business time the service chose itself — "now" when the client sent none, or the
   * steps it completes on the user's behalf (the records a conversion opens): when the
   * record's last event is later, the command takes that time instead of being refused.
   */
  catchUpBusinessTime?: boolean;
  /**
   * The id was just drawn at random for a create: no stream can exist yet, so the first
   * attempt skips reading it (the append still guards with no_stream).
   */
  freshId?: boolean;
  /** The caller knowingly allows a duplicate of a unique value (`?allowDuplicate=true`): the record joins its holders. */
  allowDuplicate?: boolean;
  /**
   * A step completing a decision that already claimed the record's unique values (the account
   * a conversion opens was claimed with LeadConverted): no claim is taken again.
   */
  claimedByDecision?: boolean;
}

/** One attempt's decision: already decided (nothing to append), or the append that records it. */
export type Decision<State, Event extends DomainEvent = DomainEvent> =
  | { kind: 'decided'; outcome: CommandOutcome<State, Event> }
  | { kind: 'append'; id: string; record: StreamAppend; claims: UniqueClaim[]; next: State; events: Event[] };

/** Without If-Match, a command that loses a race re-reads the stream and decides again, this many times. */
const MAX_ATTEMPTS = 10;

/**
 * The write path of every aggregate: read the stream, fold, decide, append with the revision
 * read. Applies the conventions of API.md: Idempotency-Key replays, If-Match (412), business
 * time in order, and the actor / correlation / causation metadata on every event.
 */
@Injectable()
export class CommandExecutor {
  private readonly facts: Facts;
  private readonly claims: UniquenessClaims;
  private readonly retryTurns = new RetryTurns();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly metrics: Metrics,
  ) {
    this.facts = { load: this.load };
    this.claims = new UniquenessClaims(store, this.load);
  }

  /** Runs the command and counts it in `crm_commands_total` by its type and outcome. */
  async execute<Command extends { type: string; occurredAt: string }, Event extends DomainEvent, State>(
    aggregate: AggregateType<Command, Event, State>,
    id: string,
    requested: Command,
    context: CommandContext,
    options: ExecuteOptions = {},
  ): Promise<CommandOutcome<State, Event>> {
    const turn = new RetryTurn(this.retryTurns, streamIdOf(aggregate, id));
    try {
      return await this.countedOutcome(requested.type, () => this.decideAndAppend(aggregate, id, requested, context, options, turn));
    } finally {
      turn.done();
    }
  }

  private async decideAndAppend<Command extends { occurredAt: string }, Event extends DomainEvent, State>(
    aggregate: AggregateType<Command, Event, State>,
    id: string,
    requested: Command,
    context: CommandContext,
    options: ExecuteOptions,
    turn: RetryTurn,
  ): Promise<CommandOutcome<State, Event>> {
    await turn.queueIfTaken();
    for (let attempt = 1; ; attempt++) {
      const decision = await this.decide(aggregate, id, requested, context, options, attempt);
      if (decision.kind === 'decided') return decision.outcome;
      const { record, claims, next, events } = decision;
      try {
        const result = await this.timed(() => this.claims.appendClaimed(claims, record, options.allowDuplicate ?? false, context));
        return { id, revision: result.nextExpectedRevision, position: result.position, state: next, events, replayed: false };
      } catch (error) {
        if (error instanceof EventIdConflictError) throw idempotencyKeyReused();
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        if (context.expectedRevision !== undefined) throw preconditionFailed(error.actual, context.expectedRevision);
        if (attempt >= MAX_ATTEMPTS) throw concurrentModification(aggregate.name, id);
        await turn.take();
      }
    }
  }

  /**
   * One attempt of a command, not appended: the outcome when there is nothing to append (a
   * replay, no change), else the record's append and the unique values it claims. A refusal
   * (business rule, If-Match) is thrown. `execute` appends it; a bulk command appends the
   * decisions of several records together (`appendTogether`).
   */
  async decide<Command extends { occurredAt: string }, Event extends DomainEvent, State>(
    aggregate: AggregateType<Command, Event, State>,
    id: string,
    requested: Command,
    context: CommandContext,
    options: ExecuteOptions = {},
    attempt = 1,
  ): Promise<Decision<State, Event>> {
    const streamId = streamIdOf(aggregate, id);
    const recorded = options.freshId && attempt === 1 ? [] : await this.store.readStream(streamId);
    const replay = this.replayOf<Event, State>(aggregate, id, recorded, context);
    if (replay) return { kind: 'decided', outcome: replay };
    // Facts about other records are looked up again on every attempt, so a retry never decides on stale ones.
    const resolved = aggregate.resolveFacts ? await aggregate.resolveFacts(requested, this.facts) : requested;

    const last = recorded[recorded.length - 1];
    const revision = last?.revision ?? -1;
    if (last && context.expectedRevision !== undefined && context.expectedRevision !== revision) {
      throw preconditionFailed(revision, context.expectedRevision);
    }
    const state = fold(aggregate.decider, recorded.map((e) => toOccurred<Event>(e)));
    const command = options.catchUpBusinessTime ? withBusinessTimeAtLeast(resolved, last?.metadata.occurredAt) : resolved;
    const events = aggregate.decider.decide(command, state);
    if (events.length === 0) {
      return { kind: 'decided', outcome: { id, revision, position: last?.position ?? -1n, state, events, replayed: false } };
    }
    // After decide, so that a business refusal (e.g. a converted lead) is the answer it deserves.
    assertOccurredInOrder(command.occurredAt, last?.metadata.occurredAt);
    const next = events.reduce((s, e) => aggregate.decider.evolve(s, occurred(e, command.occurredAt)), state);

    // Unique values (an email, an account name) are claimed in the event store with the events that take them.
    const claims = options.claimedByDecision ? [] : (aggregate.claimsOf?.(command, state, next) ?? []);
    const record = { streamId, events: this.toAppend(events, command.occurredAt, context), expectedRevision: last ? revision : ('no_stream' as const) };
    return { kind: 'append', id, record, claims, next, events };
  }

  /**
   * Appends the decisions of several records all or none, with their claims (decided now, on
   * the holders as they stand), in one transaction: on a store with `appendAtomically` only.
   * Throws a claim's refusal, or the store's refusal of any append (another command came first:
   * the caller decides again). `alongside`: appends of the caller's own that stand or fall with
   * the records (a capture's assignment turn); their results are not returned. `claimsAssumedFirst`:
   * see UniquenessClaims.decidedClaims.
   */
  async appendTogether(
    decisions: { decision: Extract<Decision<unknown>, { kind: 'append' }>; allowDuplicate: boolean; context: CommandContext; claimsAssumedFirst?: boolean }[],
    alongside: StreamAppend[] = [],
  ): Promise<AppendResult[]> {
    if (!this.store.appendAtomically) throw new Error('appendTogether needs an event store that appends to several streams in one transaction');
    const appends: StreamAppend[] = [];
    for (const [index, { decision, allowDuplicate, context, claimsAssumedFirst }] of decisions.entries()) {
      try {
        appends.push(...(await this.claims.decidedClaims(decision.claims, allowDuplicate, context, claimsAssumedFirst)));
      } catch (error) {
        throw new RefusedInBatch(index, error);
      }
    }
    appends.push(...alongside);
    const records = decisions.map(({ decision }) => decision.record);
    const results = await this.timed(() => this.store.appendAtomically!([...appends, ...records]));
    return results.slice(appends.length);
  }

  /** The outcome of a decision appended by `appendTogether` (its caller counts it: `counted`). */
  appended<State, Event extends DomainEvent>(decision: Extract<Decision<State, Event>, { kind: 'append' }>, result: AppendResult): CommandOutcome<State, Event> {
    return { id: decision.id, revision: result.nextExpectedRevision, position: result.position, state: decision.next, events: decision.events, replayed: false };
  }

  /** Runs a command to its end and counts it once (as `counted`): its outcome, or its failure. `execute` counts its own so. */
  async countedOutcome<O extends Pick<CommandOutcome<unknown, DomainEvent>, 'replayed' | 'events'>>(commandType: string, run: () => Promise<O>): Promise<O> {
    try {
      const outcome = await run();
      this.counted(commandType, outcomeLabel(outcome));
      return outcome;
    } catch (error) {
      this.counted(commandType, failureLabel(error));
      throw error;
    }
  }

  /**
   * Commands decided outside `execute` (by `decide` and `appendTogether`: a capture in its turn,
   * an import chunk, an all-or-none batch), counted in `crm_commands_total` as `execute` counts
   * its own: once, on their final outcome (`outcomeLabel`, `failureLabel`).
   */
  counted(commandType: string, outcome: CommandOutcomeLabel, count = 1): void {
    if (count > 0) this.metrics.commands.inc({ command: commandType, outcome }, count);
  }

  /** Whether the store can append to several streams in one transaction (the embedded store can; EventStoreDB cannot). */
  get appendsAtomically(): boolean {
    return this.store.appendAtomically !== undefined;
  }

  /** An append (with its claims), timed in `crm_event_store_append_duration_seconds` (commit and fsync included). */
  private async timed<T>(append: () => Promise<T>): Promise<T> {
    const end = this.metrics.appendDuration.startTimer();
    try {
      const result = await append();
      end({ outcome: 'appended' });
      return result;
    } catch (error) {
      end({ outcome: error instanceof WrongExpectedRevisionError ? 'conflict' : 'failed' });
      throw error;
    }
  }

  /** A record's current state; the decider's initial state when it does not exist. */
  readonly load: LoadState = async (aggregate, id) => {
    const recorded = await this.store.readStream(streamIdOf(aggregate, id));
    return fold(aggregate.decider, recorded.map((e) => toOccurred(e)));
  };

  /** Events for the store: deterministic ids under an Idempotency-Key, so a retried append is a no-op (also for a batch deciding many records itself). */
  toAppend(events: DomainEvent[], occurredAt: string, context: CommandContext): EventToAppend[] {
    return events.map((event, index) => ({
      id: context.idempotencyKey ? deterministicUuid(context.idempotencyKey, String(index)) : timeOrderedUuid(),
      type: event.type,
      data: event.data as Record<string, unknown>,
      metadata: {
        ...commandMetadata(context, occurredAt),
        ...(context.idempotencyKey && { idempotencyKey: context.idempotencyKey, requestFingerprint: context.requestFingerprint }),
        ...(context.personId !== undefined && { personId: context.personId }),
        ...(context.completionStep !== undefined && { completionStep: context.completionStep }),
      },
    }));
  }

  /** The first response again when this Idempotency-Key already succeeded on this stream; 422 if the request differs. */
  private replayOf<Event extends DomainEvent, State>(
    aggregate: AggregateType<unknown, Event, State>,
    id: string,
    recorded: RecordedEvent[],
    context: CommandContext,
  ): CommandOutcome<State, Event> | undefined {
    if (!context.idempotencyKey) return undefined;
    const earlier = recorded.filter((e) => e.metadata.idempotencyKey === context.idempotencyKey);
    if (earlier.length === 0) return undefined;
    if (earlier.some((e) => e.metadata.requestFingerprint !== context.requestFingerprint)) throw idempotencyKeyReused();
    const last = earlier[earlier.length - 1];
    const state = fold(aggregate.decider, recorded.filter((e) => e.revision <= last.revision).map((e) => toOccurred<Event>(e)));
    const events = earlier.map((e) => ({ type: e.type, data: e.data }) as Event);
    return { id, revision: last.revision, position: last.position, state, events, replayed: true };
  }
}

/** A claim of one decision of `appendTogether` was refused (the holders of its value changed since it was decided): nothing was appended. */
export class RefusedInBatch extends Error {
  constructor(
    readonly index: number,
    readonly refusal: unknown,
  ) {
    super(`Decision ${index} of the batch was refused: ${refusal instanceof Error ? refusal.message : String(refusal)}`);
    this.name = 'RefusedInBatch';
  }
}

/** A refusal the caller can act on (4xx: a business rule, a stale revision, bad input), as opposed to a failure. */
function isRefusal(error: unknown): boolean {
  if (error instanceof DomainError) return true;
  return error instanceof ProblemException && error.problem.status < 500;
}

/** What a command that answered came to, as `crm_commands_total` counts it. */
export function outcomeLabel(outcome: Pick<CommandOutcome<unknown, DomainEvent>, 'replayed' | 'events'>): CommandOutcomeLabel {
  return outcome.replayed ? 'replayed' : outcome.events.length === 0 ? 'unchanged' : 'succeeded';
}

/** What a command that threw came to, as `crm_commands_total` counts it. */
export function failureLabel(error: unknown): CommandOutcomeLabel {
  return isRefusal(error) ? 'refused' : 'failed';
}

function withBusinessTimeAtLeast<C extends { occurredAt: string }>(command: C, lastOccurredAt: string | undefined): C {
  return lastOccurredAt && Date.parse(lastOccurredAt) > Date.parse(command.occurredAt) ? { ...command, occurredAt: lastOccurredAt } : command;
}

/** The answer to a command that kept losing races: a 409 the client may retry. */
export function concurrentModification(name: string, id: string): ProblemException {
  return new ProblemException(
    problem(409, 'concurrent-modification', 'Too many concurrent changes', `${name} ${id} kept changing while this command was decided; retry it`),
  );
}
