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

/** How a writer thread that died is replaced: after a pause, doubling from `initialMs` up to `maxMs` while threads keep dying soon after their start. */
export interface WriterRestartPolicy {
  initialMs: number;
  maxMs: number;
  /** A thread that lived this long counts as healthy: the next death pauses `initialMs` again. */
  healthyAfterMs: number;
}

const DEFAULT_WRITER_RESTART: WriterRestartPolicy = { initialMs: 1_000, maxMs: 30_000, healthyAfterMs: 60_000 };

export interface EventLogWriterThreadOptions {
  restart?: WriterRestartPolicy;
  /** Told when the thread died (for the log): what it died of, and how long until a new one is started. */
  onStopped?: (error: EventLogWriterStoppedError, restartInMs: number) => void;
}

/** One writer thread and its life. */
interface RunningThread {
  thread: Worker;
  startedAt: number;
  /** Resolves once the thread runs, or has ended. */
  online: Promise<void>;
  exited: Promise<void>;
}

/**
 * Commits (and fsyncs) on a worker thread of its own, so that the request thread never waits on
 * the disk. Batches go over as one message per turn of the event loop; the thread answers each
 * with the outcome of every group in it. Should the thread die, every unanswered append fails
 * with EventLogWriterStoppedError (it may or may not be stored: the thread may have committed it
 * before it died), and so does every later one, and ping (readiness says so), until a new thread
 * is started on the next append or ping after the restart pause: a writer that died of something
 * passing (a native fault, a worker killed by mistake) costs the appends of a moment, not the
 * service; one that dies again at once is restarted less and less often.
 */
export class EventLogWriterThread implements EventLogWriter {
  private running!: RunningThread;
  private queue: PendingWrite[] = [];
  private flushScheduled = false;
  private readonly inFlight = new Map<number, PendingWrite[]>();
  private nextBatch = 0;
  private stopped?: EventLogWriterStoppedError;
  private restartAt = 0;
  private restartPause: number;
  private readonly restart: WriterRestartPolicy;
  private closing?: Promise<void>;
  private drained?: () => void;

  constructor(
    private readonly file: string,
    private readonly onCommitted: () => void,
    private readonly writerOptions: SqliteEventWriterOptions = {},
    private readonly options: EventLogWriterThreadOptions = {},
  ) {
    this.restart = options.restart ?? DEFAULT_WRITER_RESTART;
    this.restartPause = this.restart.initialMs;
    this.startThread();
  }

  /** The worker thread now (a new one after a restart). */
  get thread(): Worker {
    return this.running.thread;
  }

  write(group: AppendGroup): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => {
      if (this.closing) return reject(new EventLogWriterStoppedError('closed'));
      if (this.stopped && !this.restartIfDue()) return reject(this.stopped);
      this.queue.push({ group, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Rejects while the writer is stopped; a restart due is started, and answered once its thread runs (or has died again). */
  async ping(): Promise<void> {
    if (this.stopped && (this.closing || !this.restartIfDue())) throw this.stopped;
    await this.running.online;
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
      await this.running.exited;
    })();
    return this.closing;
  }

  private startThread(): void {
    const thread = startWorkerThread(join(__dirname, 'sqlite-writer.worker'), { file: this.file, options: this.writerOptions } satisfies WriterThreadData);
    // Held open only while appends are on their way: an idle writer keeps no process alive.
    thread.unref();
    thread.on('message', (message: FromWriterThread) => this.answer(message));
    thread.on('error', (error) => this.died(thread, new EventLogWriterStoppedError(`${error.name}${codeOf(error) ? ` ${codeOf(error)}` : ''}`, { cause: error })));
    const exited = new Promise<void>((resolve) =>
      thread.once('exit', (code) => {
        this.died(thread, new EventLogWriterStoppedError(`exit code ${code}`));
        resolve();
      }),
    );
    const online = Promise.race([new Promise<void>((resolve) => thread.once('online', () => resolve())), exited]);
    this.running = { thread, startedAt: Date.now(), online, exited };
  }

  /** A new thread, when the pause after the last death is over; whether the writer takes appends again. */
  private restartIfDue(): boolean {
    if (Date.now() < this.restartAt) return false;
    this.stopped = undefined;
    this.startThread();
    return true;
  }

  private flush(): void {
    const items = this.queue;
    this.queue = [];
    this.flushScheduled = false;
    if (items.length === 0) return;
    if (this.stopped) {
      for (const item of items) item.reject(this.stopped);
      return;
    }
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

  /** The thread `thread` ended (an error, then its exit, may both say so: the first counts). */
  private died(thread: Worker, error: EventLogWriterStoppedError): void {
    if (thread !== this.running.thread || this.stopped) return;
    this.stopped = error;
    const unanswered = [...this.inFlight.values()].flat().concat(this.queue);
    this.inFlight.clear();
    this.queue = [];
    for (const item of unanswered) item.reject(error);
    this.drained?.();
    if (this.closing) return;
    const lived = Date.now() - this.running.startedAt;
    if (lived >= this.restart.healthyAfterMs) this.restartPause = this.restart.initialMs;
    this.restartAt = Date.now() + this.restartPause;
    this.options.onStopped?.(error, this.restartPause);
    this.restartPause = Math.min(this.restartPause * 2, this.restart.maxMs);
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
