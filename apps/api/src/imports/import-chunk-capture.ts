import { Inject, Injectable } from '@nestjs/common';
import { normalizedForMatch, RefusedLine } from '@crm/domain';
import { EVENT_STORE, EventIdConflictError, EventStore, StreamAppend, WrongExpectedRevisionError } from '@crm/event-store';
import type { CommandContext } from '../common/command-context';
import { knownProblemOf } from '../common/problem.filter';
import { problem, ProblemException } from '../common/problem';
import { validateAs } from '../common/validation';
import { captureCommandOf } from '../leads/lead-capture';
import { CaptureLeadDto } from '../leads/lead.dto';
import { LEAD, LEAD_EMAIL, LoadState, streamIdOf } from '../records/aggregate-type';
import { CommandExecutor, Decision } from '../records/command-executor';
import { UniquenessClaims } from '../records/uniqueness-claims';
import { AssignmentRouting, TurnsNow, turnEventToAppend } from '../working-leads/assignment-routing';
import { ChunkCandidate, ClaimAsRead, decideImportChunk } from './import-chunk';
import type { ImportLine } from './import-lines';
import { importedLeadId, importedLineContext, refusedLineOf } from './lead-import.aggregate';

/** A chunk whose transaction keeps being refused (other commands taking its emails or turns meanwhile) is decided again this many times. */
const MAX_CHUNK_ATTEMPTS = 10;

type LeadDecision = Extract<Decision<unknown>, { kind: 'append' }>;

/** A chunk's lines validated: the ones refused as `POST /leads` would refuse their bodies (400), and the captures of the others. */
export interface ValidatedChunk {
  invalid: RefusedLine[];
  valid: ValidLine[];
}

/** A line validated and its capture built, before it is decided. */
interface ValidLine {
  line: number;
  context: CommandContext;
  command: ChunkCandidate['command'];
  stampedNow: boolean;
}

/**
 * The batch path of imports, on a store that appends to several streams in one transaction
 * (the embedded one): a chunk of lines is validated line by line exactly as `POST /leads`
 * validates a body, decided at once (`decideImportChunk`: the lead decider, the email claims,
 * the assignment turns), and appended in ONE transaction — every lead, its claim, its turn,
 * and (when the caller asks) the import's progress — so a crash leaves the whole chunk or
 * none of it. EventStoreDB keeps the per-line path (LeadCapture).
 */
@Injectable()
export class ImportChunkCapture {
  private readonly claims: UniquenessClaims;

  constructor(
    private readonly executor: CommandExecutor,
    private readonly routing: AssignmentRouting,
    @Inject(EVENT_STORE) store: EventStore,
  ) {
    this.claims = new UniquenessClaims(store, executor.load);
  }

  /** Whether the store can take a chunk in one transaction. */
  get available(): boolean {
    return this.executor.appendsAtomically;
  }

  /** The chunks of one run of an import, in file order. */
  chunks(importId: string, allowDuplicate: boolean, base: Omit<CommandContext, 'commandId'>): ImportChunks {
    return new ImportChunks(this.executor, this.routing, this.claims, importId, allowDuplicate, base);
  }
}

/**
 * One run's chunks. A run starts where an earlier one may have stopped (a crash after some
 * chunks were appended, before their progress was recorded), so its first chunks read each
 * line's lead stream: a line captured before is recognised by its key and counted once,
 * deciding nothing (no second claim, no second turn). That must be read, not guessed: the
 * lead's events have ids derived from the line, so appending them again would be taken as a
 * retry and succeed as a no-op beside a second claim and turn. Chunks are appended in order, so
 * once a chunk with lines to capture finds none captured, the rest of the file is new.
 *
 * Most emails are new, so a chunk is first decided without reading the claims: each claim
 * expects no claim stream. A wrong guess fails the transaction on that claim stream, and the
 * chunk is decided again reading the claims (a taken email is refused, or joined with
 * allowDuplicate); the next chunks read them too until one meets none.
 */
export class ImportChunks {
  /** Read each line's lead stream first (lines captured before a crash, not yet recorded). */
  private readLeads = true;
  /** Read each email's claim first (the file's emails are held already). */
  private readClaims = false;

  constructor(
    private readonly executor: CommandExecutor,
    private readonly routing: AssignmentRouting,
    private readonly claims: UniquenessClaims,
    private readonly importId: string,
    private readonly allowDuplicate: boolean,
    private readonly base: Omit<CommandContext, 'commandId'>,
  ) {}

  /**
   * Validates a chunk's lines exactly as `POST /leads` validates a body and builds their
   * captures; reads and decides nothing, so it may run while the chunk before it is appended.
   */
  async validate(lines: readonly ImportLine[]): Promise<ValidatedChunk> {
    const invalid: RefusedLine[] = [];
    const valid: ValidLine[] = [];
    for (const line of lines) {
      if ('unreadable' in line) {
        invalid.push({ line: line.line, status: 400, errors: [line.unreadable] });
        continue;
      }
      const validated = await validateAs(CaptureLeadDto, line.body);
      if ('errors' in validated) {
        invalid.push({ line: line.line, status: 400, errors: validated.errors });
        continue;
      }
      const { command, stampedNow } = captureCommandOf(importedLeadId(this.importId, line.line), validated.value);
      valid.push({ line: line.line, context: importedLineContext(this.importId, line.line, this.base), command, stampedNow });
    }
    return { invalid, valid };
  }

  /**
   * Captures the chunk's lines; the refused ones (each with the problem `POST /leads` would
   * answer), in file order. `alongside(refused)`: appends that stand or fall with the chunk
   * (the import's progress), decided on its outcome on each attempt.
   */
  async capture(chunk: ValidatedChunk, alongside: (refused: RefusedLine[]) => Promise<StreamAppend[]>): Promise<RefusedLine[]> {
    const { invalid, valid } = chunk;
    for (let attempt = 1; ; attempt++) {
      const { candidates, refused: refusedFirst, replays } = await this.candidatesOf(valid);
      const contexts = new Map(valid.map((v) => [v.line, v.context]));
      const contextOfLead = new Map(valid.map((v) => [v.command.leadId, v.context]));
      const claimsRead = this.readClaims ? await this.readClaimsOf(candidates) : new Map<string, ClaimAsRead & { expectedRevision: number | 'no_stream' }>();
      const turnsRead = new Map<string, TurnsNow>();
      for (const { rule } of candidates) if (rule && !turnsRead.has(rule.streamId)) turnsRead.set(rule.streamId, await this.routing.turnsNow(rule.streamId));

      const decision = decideImportChunk({
        candidates,
        claims: claimsRead,
        turns: new Map([...turnsRead].map(([streamId, read]) => [streamId, read.state])),
        allowDuplicate: this.allowDuplicate,
      });
      const refused = [...invalid, ...refusedFirst, ...decision.refused.map(({ line, error }) => refusedLineOf(line, knownProblemOf(error)!))].sort((a, b) => a.line - b.line);

      const claimAppends = [...decision.claims.values()].map(({ claim, events }) =>
        this.claims.claimAppend(claim, events, claimsRead.get(claim.value)?.expectedRevision ?? 'no_stream', contextOfLead.get(claim.claimant.id)!),
      );
      const turnAppends: StreamAppend[] = [...decision.turns].map(([streamId, taken]) => ({
        streamId,
        events: taken.map(({ event, occurredAt, line }) => turnEventToAppend(event, occurredAt, contexts.get(line)!)),
        expectedRevision: turnsRead.get(streamId)?.expectedRevision ?? 'no_stream',
      }));
      const leads = decision.captured.map(({ line, leadId, occurredAt, events, next }) => {
        const context = contexts.get(line)!;
        const record = { streamId: streamIdOf(LEAD, leadId), events: this.executor.toAppend(events, occurredAt, context), expectedRevision: 'no_stream' as const };
        return { decision: { kind: 'append', id: leadId, record, claims: [], next, events } satisfies LeadDecision, allowDuplicate: this.allowDuplicate, context };
      });
      // What this chunk met decides how the next one starts; its outcome is counted as the per-line path's captures are.
      const met = () => {
        if (candidates.length + replays > 0) this.readLeads = replays > 0;
        if (claimsRead.size > 0) this.readClaims = [...claimsRead.values()].some((read) => read.nextRevision > 0);
        this.executor.counted('CaptureLead', 'refused', refusedFirst.length + decision.refused.length);
        this.executor.counted('CaptureLead', 'replayed', replays);
        return refused;
      };
      const extra = await alongside(refused);
      if (leads.length === 0 && claimAppends.length === 0 && turnAppends.length === 0 && extra.length === 0) return met();

      try {
        await this.executor.appendTogether(leads, [...claimAppends, ...turnAppends, ...extra]);
        this.routing.turnsAppendedElsewhere(turnAppends.map(({ streamId }) => streamId));
        this.executor.counted('CaptureLead', 'succeeded', leads.length);
        return met();
      } catch (error) {
        if (attempt >= MAX_CHUNK_ATTEMPTS) throw error instanceof WrongExpectedRevisionError ? keptChanging() : error;
        if (error instanceof EventIdConflictError) {
          this.readLeads = true;
          continue;
        }
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        // The stream that refused says what was guessed wrong; a turn taken meanwhile is read again anyway.
        if (claimAppends.some((append) => append.streamId === error.streamId)) this.readClaims = true;
        else if (leads.some(({ decision: lead }) => lead.record.streamId === error.streamId)) this.readLeads = true;
        else if (!turnAppends.some((append) => append.streamId === error.streamId)) throw error;
      }
    }
  }

  /**
   * The chunk's lines as the decider takes them: facts resolved (the campaign a line names),
   * the assignment rule of a line without an owner. Reading their streams first (`readLeads`),
   * a line captured before is a replay (counted as captured, deciding nothing).
   */
  private async candidatesOf(valid: readonly ValidLine[]): Promise<{ candidates: ChunkCandidate[]; refused: RefusedLine[]; replays: number }> {
    const candidates: ChunkCandidate[] = [];
    const refused: RefusedLine[] = [];
    let replays = 0;
    // Facts are read once a chunk (a campaign named by many lines), never kept across chunks.
    const loaded = new Map<string, Promise<unknown>>();
    const load: LoadState = (aggregate, id) => {
      const key = `${aggregate.streamPrefix}-${id}`;
      let state = loaded.get(key);
      if (!state) loaded.set(key, (state = this.executor.load(aggregate, id)));
      return state as never;
    };
    for (const { line, context, command, stampedNow } of valid) {
      try {
        if (this.readLeads) {
          const options = { allowDuplicate: this.allowDuplicate, ...(stampedNow && { catchUpBusinessTime: true }) };
          const decided = await this.executor.decide(LEAD, command.leadId, command, context, options);
          if (decided.kind === 'decided') {
            replays++;
            continue;
          }
        }
        const resolved = (await LEAD.resolveFacts!(command, { load })) as ChunkCandidate['command'];
        const rule = command.ownerId === undefined ? await this.routing.matchingRule(command.details) : undefined;
        candidates.push({ line, command: resolved, ...(rule && { rule }) });
      } catch (error) {
        const known = knownProblemOf(error);
        // Contention is not the line's fault: the run stops and resumes it, rather than refusing it for good.
        if (!known || known.status >= 500 || known.type === '/problems/concurrent-modification') throw error;
        refused.push(refusedLineOf(line, known));
      }
    }
    return { candidates, refused, replays };
  }

  /** The claims of the chunk's emails as they stand. */
  private async readClaimsOf(candidates: readonly ChunkCandidate[]): Promise<Map<string, ClaimAsRead & { expectedRevision: number | 'no_stream' }>> {
    const read = new Map<string, ClaimAsRead & { expectedRevision: number | 'no_stream' }>();
    for (const { command } of candidates) {
      if (command.details.email === undefined) continue;
      const value = normalizedForMatch(command.details.email);
      if (read.has(value)) continue;
      const { standing, nextRevision, expectedRevision } = await this.claims.standing({ rule: LEAD_EMAIL, value, claimant: { id: command.leadId } });
      read.set(value, { standing, nextRevision, expectedRevision });
    }
    return read;
  }
}

function keptChanging(): ProblemException {
  return new ProblemException(problem(409, 'concurrent-modification', 'Too many concurrent changes', 'The emails or assignment turns of an import chunk kept changing while it was decided'));
}

