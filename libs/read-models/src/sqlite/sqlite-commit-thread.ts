import { startWorkerThread } from '@crm/event-store/worker-thread';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { LeaseLostError } from '../read-store.port';
import type { EncodedCommit } from './sqlite-document-writer';

export type ToCommitThread = { kind: 'commit'; id: number; generation: number; commit: EncodedCommit } | { kind: 'close' };
export type FromCommitThread = { id: number; failure?: { name: string; code?: string; message: string } };

interface InFlight {
  leaseOwner: string;
  generation: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Commits a read store's commits on a worker thread of its own, one after another in the order
 * handed over, so that the projector applies its next batch while this one commits. A failed
 * commit fails those handed over behind it too (they were applied on top of it) until the
 * caller has seen it: commits handed over after the failure was answered are written again.
 * The thread starts with the first commit (a read store that only answers queries has none) and
 * again after it died.
 */
export class SqliteCommitThread {
  private thread?: Worker;
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 0;
  private generation = 0;

  constructor(private readonly file: string) {}

  commit(commit: EncodedCommit): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const id = this.nextId++;
      this.inFlight.set(id, { leaseOwner: commit.leaseOwner, generation: this.generation, resolve, reject });
      const thread = this.started();
      thread.ref();
      thread.postMessage({ kind: 'commit', id, generation: this.generation, commit } satisfies ToCommitThread);
    });
  }

  /** Lets the thread close its connection and end once every commit handed over is answered (the caller waits for those first). */
  async close(): Promise<void> {
    const thread = this.thread;
    if (!thread) return;
    this.thread = undefined;
    const exited = new Promise((resolve) => thread.once('exit', resolve));
    thread.ref(); // held open until it has ended: closing waits for that
    thread.postMessage({ kind: 'close' } satisfies ToCommitThread);
    await exited;
  }

  private started(): Worker {
    if (this.thread) return this.thread;
    const thread = startWorkerThread(join(__dirname, 'sqlite-commit.worker'), { file: this.file });
    thread.on('message', (answer: FromCommitThread) => this.answer(thread, answer));
    const died = (reason: string) => {
      if (this.thread === thread) this.thread = undefined;
      const error = new Error(`The read store's commit thread stopped (${reason}); a commit it had not answered may or may not be written`);
      for (const [id, item] of this.inFlight) {
        this.inFlight.delete(id);
        item.reject(error);
      }
      this.generation++;
    };
    thread.on('error', (error) => died(error.name));
    thread.on('exit', (code) => {
      if (this.thread === thread) died(`exit code ${code}`);
    });
    this.thread = thread;
    return thread;
  }

  private answer(thread: Worker, { id, failure }: FromCommitThread): void {
    const item = this.inFlight.get(id);
    if (!item) return;
    this.inFlight.delete(id);
    if (this.inFlight.size === 0) thread.unref(); // an idle commit thread keeps no process alive
    if (!failure) return item.resolve();
    // Those handed over from now on are not built on the failed one (its caller has been told).
    if (item.generation === this.generation) this.generation++;
    item.reject(failure.name === 'LeaseLostError' ? new LeaseLostError(item.leaseOwner) : Object.assign(new Error(failure.message), { name: failure.name, code: failure.code }));
  }
}
