import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { LeadImportState, RefusedLine } from '@crm/domain';
import { EVENT_STORE, EventStore } from '@crm/event-store';
import { randomUUID } from 'node:crypto';
import type { CommandContext } from '../common/command-context';
import { knownProblemOf } from '../common/problem.filter';
import { newRecordId } from '../common/record-id';
import { validateAs } from '../common/validation';
import { LeadCapture } from '../leads/lead-capture';
import { CaptureLeadDto } from '../leads/lead.dto';
import { CommandExecutor, CommandOutcome } from '../records/command-executor';
import { streamIdOf } from '../records/aggregate-type';
import { ImportFiles, KeptFile, ReceivedFile } from './import-files';
import { ImportChunkCapture, ImportChunks, ValidatedChunk } from './import-chunk-capture';
import { ImportLine, readImportLines } from './import-lines';
import { importedLeadId, importedLineContext, LEAD_IMPORT, refusedLineOf } from './lead-import.aggregate';

/**
 * Lines captured together: their captures run concurrently, so the embedded store commits them
 * in a few transactions (it group-commits the appends of one turn of the event loop).
 */
export const LINES_PER_RUN = 500;
/**
 * Lines decided and appended together on a store with multi-stream transactions (the batch
 * path, ImportChunkCapture): one transaction of about twice as many events. A divisor of
 * LINES_PER_RECORD, so that progress is recorded inside the chunk that reaches it.
 */
export const LINES_PER_CHUNK = 1_000;
/**
 * The outcome of the runs is recorded (one ImportLinesRecorded) once this many lines are done,
 * at the end, and before a shutdown: a resumed import repeats at most this many lines (as
 * replays), and the import's stream stays short (each record reads it).
 */
export const LINES_PER_RECORD = 5_000;
/** A run that fails on an unexpected error is resumed this many times (after 1, 2, 4, 8 s) before it waits for the next start. */
const MAX_RUN_ATTEMPTS = 5;
const RUN_RETRY_MS = 1_000;

/**
 * Runs imports: lines in file order, in runs of up to LINES_PER_RUN lines, each line validated
 * and captured exactly as `POST /leads` would (LeadCapture, the same DTO), its lead id and
 * idempotency key derived from the import and the line number. Every LINES_PER_RECORD lines
 * their outcome is recorded on the import's stream; a restart resumes every kept file whose import is not done
 * after the last recorded line, and a line captured before the crash but not yet recorded is
 * recognised by its key on its lead's stream (captured once, counted once). Imports run one
 * after the other.
 */
@Injectable()
export class LeadImportRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('LeadImports');
  private queue: Promise<void> = Promise.resolve();
  private readonly scheduled = new Set<string>();
  private stopping = false;

  constructor(
    private readonly executor: CommandExecutor,
    private readonly leadCapture: LeadCapture,
    private readonly chunkCapture: ImportChunkCapture,
    private readonly files: ImportFiles,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // The kept files are listed before the service takes requests: listing them deletes the
    // receiving files a crash left behind, and a kept file not yet accepted counts as abandoned,
    // so a listing that ran late would meet an upload under way (seen in bench:import, which
    // receives a file right after the app starts). The interrupted imports resume in the
    // background: the service starts listening while they run.
    for (const file of await this.files.kept()) this.schedule(file);
  }

  async onApplicationShutdown(): Promise<void> {
    // The run under way finishes and is recorded; the rest resumes on the next start.
    this.stopping = true;
    await this.queue;
  }

  /** Accepts a received file as an import (or, under the same Idempotency-Key, finds the import it already is) and schedules it. */
  async accept(received: ReceivedFile, allowDuplicate: boolean, context: CommandContext): Promise<CommandOutcome<LeadImportState>> {
    const importId = newRecordId(context, 'import');
    // Kept before it is accepted: an accepted import always has its file until it is done.
    const kept = await this.files.keep(received, importId);
    let outcome: CommandOutcome<LeadImportState>;
    try {
      const { format, bytes, sha256 } = received;
      const command = { type: 'AcceptImport', importId, occurredAt: new Date().toISOString(), format, bytes, sha256, allowDuplicate } as const;
      outcome = await this.executor.execute(LEAD_IMPORT, importId, command, context, { freshId: !context.idempotencyKey });
    } catch (error) {
      await this.files.remove(kept.path);
      throw error;
    }
    if (outcome.state?.status === 'done') await this.files.remove(kept.path);
    else this.schedule(kept);
    return outcome;
  }

  /** The import as it stands (null when there is none). */
  report(importId: string): Promise<LeadImportState> {
    return this.executor.load(LEAD_IMPORT, importId);
  }

  /** Resolves when every import scheduled so far has run (or stopped for the shutdown). */
  idle(): Promise<void> {
    return this.queue;
  }

  private schedule(file: KeptFile): void {
    if (this.scheduled.has(file.importId)) return;
    this.scheduled.add(file.importId);
    this.queue = this.queue
      .then(() => this.runUntilStopped(file))
      .catch((error) => this.logger.error(`Import ${file.importId} stopped; it resumes on the next start: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => this.scheduled.delete(file.importId));
  }

  /**
   * Runs an import; a run that fails on an unexpected error (the store's file locked past its
   * busy timeout on a loaded machine, the store briefly down) resumes after a pause, a few
   * times, before it waits for the next start. Resuming is exact (lines captured are replays).
   */
  private async runUntilStopped(file: KeptFile): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        return await this.run(file);
      } catch (error) {
        if (attempt >= MAX_RUN_ATTEMPTS) throw error;
        const pauseMs = RUN_RETRY_MS * 2 ** (attempt - 1);
        this.logger.warn(`Import ${file.importId} stopped; it resumes in ${pauseMs} ms: ${error instanceof Error ? error.message : String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
  }

  private async run(file: KeptFile): Promise<void> {
    const { importId, path, format } = file;
    const state = await this.report(importId);
    const accepted = state && (await this.acceptedEvent(importId));
    if (!state || !accepted || state.status === 'done') {
      // Kept but never accepted (a crash in between: no 202 was sent), or done before its file was deleted.
      await this.files.remove(path);
      return;
    }
    // The lines are captured as the actor who sent the import.
    const { actorId, onBehalfOf, correlationId } = accepted.metadata;
    const base = { actorId, correlationId, ...(typeof onBehalfOf === 'string' && { onBehalfOf }) };
    const context = (): CommandContext => ({ ...base, commandId: randomUUID() });

    let outcome: Outcome = { throughLine: state.throughLine, lines: 0, refused: [] };
    if (this.chunkCapture.available) {
      // The batch path: chunks of lines in one transaction each (the embedded store).
      const chunks = this.chunkCapture.chunks(importId, state.allowDuplicate, base);
      // One chunk's transaction is under way while the next chunk is read and validated (they depend on nothing it decides).
      let appending: Promise<Outcome> | undefined;
      const next = async (lines: ImportLine[]) => {
        const validated = await chunks.validate(lines);
        if (appending) outcome = await appending;
        appending = undefined;
        if (this.stopping) return;
        const before = outcome;
        appending = this.runChunk(importId, chunks, validated, lines[lines.length - 1].line, before, context);
        // Awaited with the next chunk (or at the end); marked handled meanwhile, so that a failure is not reported twice.
        appending.catch(() => undefined);
      };
      let chunk: ImportLine[] = [];
      for await (const line of readImportLines(path, format)) {
        if (line.line <= state.throughLine) continue;
        chunk.push(line);
        if (chunk.length < LINES_PER_CHUNK) continue;
        await next(chunk);
        chunk = [];
        if (this.stopping) break;
      }
      if (chunk.length > 0 && !this.stopping) await next(chunk);
      if (appending) outcome = await appending;
      // Stopping for a shutdown: what is done is recorded, the rest resumes on the next start.
      if (this.stopping) await this.record(importId, outcome, context());
    } else {
      outcome = await this.runPerLine(importId, path, format, state, base, outcome, context);
    }
    if (this.stopping) return;
    await this.record(importId, outcome, context());
    await this.executor.execute(LEAD_IMPORT, importId, { type: 'CompleteImport', importId, occurredAt: new Date().toISOString() }, context());
    await this.files.remove(path);
  }

  /**
   * One chunk in one transaction; once LINES_PER_RECORD lines are done since the last record,
   * the chunk's transaction records them too (ImportLinesRecorded): a crash loses the chunk and
   * its record together, or neither. The outcome to add the next chunks to.
   */
  private async runChunk(importId: string, chunks: ImportChunks, chunk: ValidatedChunk, throughLine: number, before: Outcome, context: () => CommandContext): Promise<Outcome> {
    const lines = before.lines + chunk.invalid.length + chunk.valid.length;
    let recorded = false;
    const refused = await chunks.capture(chunk, async (refusedInChunk) => {
      recorded = false;
      if (lines < LINES_PER_RECORD) return [];
      const all = [...before.refused, ...refusedInChunk];
      const command = { type: 'RecordImportLines', importId, occurredAt: new Date().toISOString(), throughLine, lines, captured: lines - all.length, refused: all } as const;
      const decision = await this.executor.decide(LEAD_IMPORT, importId, command, context());
      if (decision.kind !== 'append') return [];
      recorded = true;
      return [decision.record];
    });
    return recorded ? { throughLine, lines: 0, refused: [] } : { throughLine, lines, refused: [...before.refused, ...refused] };
  }

  /** The per-line path (EventStoreDB: no transaction across streams): runs of lines captured concurrently, each as `POST /leads` captures. */
  private async runPerLine(
    importId: string,
    path: string,
    format: KeptFile['format'],
    state: NonNullable<LeadImportState>,
    base: Omit<CommandContext, 'commandId'>,
    start: Outcome,
    context: () => CommandContext,
  ): Promise<Outcome> {
    let run: ImportLine[] = [];
    const emails = new Set<string>();
    let outcome = start;
    const runLines = async () => {
      outcome = await this.runLines(importId, run, state.allowDuplicate, base, outcome);
      run = [];
      emails.clear();
      if (outcome.lines >= LINES_PER_RECORD || this.stopping) outcome = await this.record(importId, outcome, context());
    };
    for await (const line of readImportLines(path, format)) {
      if (line.line <= state.throughLine) continue;
      // A run holds each email once, so that of two lines with one email the earlier is captured first (lines run in order).
      const email = 'body' in line && typeof line.body.email === 'string' ? line.body.email.trim().toLowerCase() : undefined;
      if (run.length >= LINES_PER_RUN || (email !== undefined && emails.has(email))) {
        await runLines();
        if (this.stopping) return outcome;
      }
      run.push(line);
      if (email !== undefined) emails.add(email);
    }
    if (run.length > 0) await runLines();
    return outcome;
  }

  /**
   * Where a done import ends in the log: the position of its completion, appended after every
   * line's capture, so that reads with `minPosition` at it see every lead it captured.
   */
  async completedAt(importId: string): Promise<bigint | undefined> {
    const [last] = await this.store.readStream(streamIdOf(LEAD_IMPORT, importId), { direction: 'backwards', maxCount: 1 });
    return last?.type === 'ImportCompleted' ? last.position : undefined;
  }

  private async acceptedEvent(importId: string) {
    const [first] = await this.store.readStream(streamIdOf(LEAD_IMPORT, importId), { maxCount: 1 });
    return first;
  }

  /** Captures a run of lines; the outcome so far with theirs added. */
  private async runLines(importId: string, run: ImportLine[], allowDuplicate: boolean, base: Omit<CommandContext, 'commandId'>, before: Outcome): Promise<Outcome> {
    const outcomes = await Promise.all(run.map((line) => this.captureLine(importId, line, allowDuplicate, base)));
    const refused = outcomes.filter((outcome): outcome is RefusedLine => outcome !== undefined);
    return { throughLine: run[run.length - 1].line, lines: before.lines + run.length, refused: [...before.refused, ...refused] };
  }

  /** Records the outcome of the lines captured since the last record; the outcome to add the next runs to. */
  private async record(importId: string, outcome: Outcome, context: CommandContext): Promise<Outcome> {
    if (outcome.lines === 0) return outcome;
    const { throughLine, lines, refused } = outcome;
    const command = { type: 'RecordImportLines', importId, occurredAt: new Date().toISOString(), throughLine, lines, captured: lines - refused.length, refused } as const;
    await this.executor.execute(LEAD_IMPORT, importId, command, context);
    return { throughLine, lines: 0, refused: [] };
  }

  /** Captures one line; the line refused (with the problem `POST /leads` would answer) or undefined when it is captured. */
  private async captureLine(importId: string, line: ImportLine, allowDuplicate: boolean, base: Omit<CommandContext, 'commandId'>): Promise<RefusedLine | undefined> {
    if ('unreadable' in line) return { line: line.line, status: 400, errors: [line.unreadable] };
    const validated = await validateAs(CaptureLeadDto, line.body);
    if ('errors' in validated) return { line: line.line, status: 400, errors: validated.errors };
    const context = importedLineContext(importId, line.line, base);
    try {
      await this.leadCapture.capture(importedLeadId(importId, line.line), validated.value, context, allowDuplicate);
      return undefined;
    } catch (error) {
      const problem = knownProblemOf(error);
      // Contention is not the line's fault: the run stops and resumes it, rather than refusing it for good.
      if (!problem || problem.status >= 500 || problem.type === '/problems/concurrent-modification') throw error;
      return refusedLineOf(line.line, problem);
    }
  }
}

/** The lines captured since the outcome was last recorded. */
interface Outcome {
  throughLine: number;
  lines: number;
  refused: RefusedLine[];
}

