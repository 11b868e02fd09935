import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { AppendResult, EventIdConflictError, WrongExpectedRevisionError } from '../event-store.port';
import { startWorkerThread } from '../worker-thread';
import { AppendGroup, GroupOutcome, SqliteEventWriter, SqliteEventWriterOptions } from './sqlite-event-writer';

/**
 * Where the SQLite store's appends go. Group commit either way: the groups handed over in one
 * turn of the event loop (and, on the writer thread, those that arrive while it commits) are
 * committed in one transaction, and each answer comes only after that commit.
 */
export interface EventLogWriter {
  /** Appends the group, all or none; refused with WrongExpectedRevisionError or EventIdConflictError. */
  write(group: AppendGroup): Promise<AppendResult[]>;
  /** Rejects once the writer can write no more. */
  ping(): Promise<void>;
  /** Answers every write handed over, then closes the writing connection. */
  close(): Promise<void>;
}

/** The writer thread is gone: an append it had not answered may or may not be stored. */
export class EventLogWriterStoppedError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`The event-log writer thread stopped (${reason}); an append it had not answered may or may not be stored`, options);
    this.name = 'EventLogWriterStoppedError';
  }
}

interface PendingWrite {
  group: AppendGroup;
  resolve(results: AppendResult[]): void;
  reject(error: unknown): void;
}

/** Commits on the connection beside the readers, blocking the event loop for the commit (tools, tests, benches). */
export class InThreadEventLogWriter implements EventLogWriter {
  private readonly writer: SqliteEventWriter;
  private queue: PendingWrite[] = [];
  private flushScheduled = false;

  constructor(db: Database.Database, private readonly onCommitted: () => void, options: SqliteEventWriterOptions = {}) {
    this.writer = new SqliteEventWriter(db, options);
  }

  write(group: AppendGroup): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ group, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.flush();
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    this.flushScheduled = false;
    if (batch.length === 0) return;
    let outcomes: GroupOutcome[];
    try {
      outcomes = this.writer.commit(batch.map((item) => item.group));
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, index) => settle(item, outcomes[index]));
    this.onCommitted();
  }
}

/** What the writer thread is started with. */
export interface WriterThreadData {
  file: string;
  options: SqliteEventWriterOptions;
}

/** Messages to the writer thread. */
export type ToWriterThread = { kind: 'batch'; batch: number; groups: AppendGroup[] } | { kind: 'close' };

/** A refusal as it crosses threads (structured clone keeps no error subclass). */
export type EncodedGroupOutcome =
  | { ok: true; results: AppendResult[] }
  | { ok: false; refusal: { kind: 'wrong-expected-revision'; streamId: string; expected: WrongExpectedRevisionError['expected']; actual: number } | { kind: 'event-id-conflict'; streamId: string } };

/** Messages from the writer thread: one per commit, answering every batch in it. */
export type FromWriterThread = {
  answers: ({ batch: number; outcomes: EncodedGroupOutcome[] } | { batch: number; failure: { name: string; code?: string; message: string } })[];
};

export function encodeOutcome(outcome: GroupOutcome): EncodedGroupOutcome {
  if (outcome.ok) return outcome;
  const { error } = outcome;
  return error instanceof WrongExpectedRevisionError
    ? { ok: false, refusal: { kind: 'wrong-expected-revision', streamId: error.streamId, expected: error.expected, actual: error.actual } }
    : { ok: false, refusal: { kind: 'event-id-conflict', streamId: error.streamId } };
}

function decodeOutcome(outcome: EncodedGroupOutcome): GroupOutcome {
  if (outcome.ok) return outcome;
  const { refusal } = outcome;
  return {
    ok: false,
    error: refusal.kind === 'wrong-expected-revision' ? new WrongExpectedRevisionError(refusal.streamId, refusal.expected, refusal.actual) : new EventIdConflictError(refusal.streamId),
  };
}

/**
 * Commits (and fsyncs) on a worker thread of its own, so that the request thread never waits on
 * the disk. Batches go over as one message per turn of the event loop; the thread answers each
 * with the outcome of every group in it. Should the thread die, every unanswered append fails
 * with EventLogWriterStoppedError and so does every later one (ping too, so readiness says so).
 */
export class EventLogWriterThread implements EventLogWriter {
  /** The worker thread (watched by whoever must know it is alive). */
  readonly thread: Worker;
  private queue: PendingWrite[] = [];
  private flushScheduled = false;
  private readonly inFlight = new Map<number, PendingWrite[]>();
  private nextBatch = 0;
  private stopped?: Error;
  private readonly exited: Promise<void>;
  private closing?: Promise<void>;
  private drained?: () => void;

  constructor(file: string, private readonly onCommitted: () => void, options: SqliteEventWriterOptions = {}) {
    this.thread = startWorkerThread(join(__dirname, 'sqlite-writer.worker'), { file, options } satisfies WriterThreadData);
    // Held open only while appends are on their way: an idle writer keeps no process alive.
    this.thread.unref();
    this.thread.on('message', (message: FromWriterThread) => this.answer(message));
    this.thread.on('error', (error) => this.stop(new EventLogWriterStoppedError(`${error.name}${codeOf(error) ? ` ${codeOf(error)}` : ''}`, { cause: error })));
    this.exited = new Promise((resolve) =>
      this.thread.once('exit', (code) => {
        this.stop(new EventLogWriterStoppedError(`exit code ${code}`));
        resolve();
      }),
    );
  }

  write(group: AppendGroup): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(this.stopped);
      if (this.closing) return reject(new EventLogWriterStoppedError('closed'));
      this.queue.push({ group, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  async ping(): Promise<void> {
    if (this.stopped) throw this.stopped;
  }

  /** Drains first (every append handed over is answered), then lets the thread close its connection and end. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.flush();
      if (this.inFlight.size > 0 && !this.stopped) await new Promise<void>((resolve) => (this.drained = resolve));
      if (!this.stopped) {
        this.thread.ref();
        this.thread.postMessage({ kind: 'close' } satisfies ToWriterThread);
      }
      await this.exited;
    })();
    return this.closing;
  }

  private flush(): void {
    const items = this.queue;
    this.queue = [];
    this.flushScheduled = false;
    if (items.length === 0 || this.stopped) return;
    const batch = this.nextBatch++;
    this.inFlight.set(batch, items);
    this.thread.ref();
    this.thread.postMessage({ kind: 'batch', batch, groups: items.map((item) => item.group) } satisfies ToWriterThread);
  }

  private answer({ answers }: FromWriterThread): void {
    for (const answer of answers) {
      const items = this.inFlight.get(answer.batch);
      if (!items) continue;
      this.inFlight.delete(answer.batch);
      if ('failure' in answer) {
        const { name, code, message } = answer.failure;
        const error = Object.assign(new Error(message), { name, code });
        for (const item of items) item.reject(error);
      } else {
        items.forEach((item, index) => settle(item, decodeOutcome(answer.outcomes[index])));
      }
    }
    this.onCommitted();
    if (this.inFlight.size === 0) {
      this.thread.unref();
      this.drained?.();
    }
  }

  private stop(error: Error): void {
    this.stopped ??= error;
    const unanswered = [...this.inFlight.values()].flat().concat(this.queue);
    this.inFlight.clear();
    this.queue = [];
    for (const item of unanswered) item.reject(this.stopped);
    this.drained?.();
  }
}

function settle(item: PendingWrite, outcome: GroupOutcome): void {
  if (outcome.ok) item.resolve(outcome.results);
  else item.reject(outcome.error);
}

function codeOf(error: Error): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
