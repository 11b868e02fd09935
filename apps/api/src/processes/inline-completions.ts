import { Injectable } from '@nestjs/common';
import type { RecordedEvent } from '@crm/event-store';

/** Decisions completed inline kept in mind for the reactor at most (it meets each within ms; the bound only caps memory). */
const REMEMBERED = 10_000;

/**
 * The conversions and merges this process's requests decide and complete inline, so that the
 * completion reactor, which follows the log live, neither races them nor repeats their steps:
 * meeting a decision, it waits for a request of this process still at work on that lead, and
 * passes over the decision if that request completed it. A decision that no request here
 * completed (another process's, one whose steps failed, one a crash interrupted) it completes.
 */
@Injectable()
export class InlineCompletions {
  private readonly atWork = new Map<string, Promise<void>>();
  private readonly completed = new Set<string>();
  /** Told when a request ends without completing what it decided (its steps failed, or it was refused). */
  onLeftIncomplete?: () => void;

  /** Runs a request's decision and its completion; the reactor waits for it on these streams. */
  async around<T>(streamIds: string[], work: () => Promise<T>): Promise<T> {
    const running = work();
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    for (const streamId of streamIds) this.atWork.set(streamId, settled);
    try {
      return await running;
    } catch (error) {
      this.onLeftIncomplete?.();
      throw error;
    } finally {
      for (const streamId of streamIds) if (this.atWork.get(streamId) === settled) this.atWork.delete(streamId);
    }
  }

  /** A request completed this decision's every step. */
  completedInline(decisionId: string): void {
    this.completed.add(decisionId);
    if (this.completed.size > REMEMBERED) this.completed.delete(this.completed.values().next().value!);
  }

  /**
   * Waits for a request of this process at work on the decision's stream: `completed` when one
   * completed this decision, `left` when one was at work and did not, `unknown` when none was.
   */
  async doneInline(decision: Pick<RecordedEvent, 'id' | 'streamId'>): Promise<'completed' | 'left' | 'unknown'> {
    const atWork = this.atWork.get(decision.streamId);
    await atWork;
    if (this.completed.delete(decision.id)) return 'completed';
    return atWork ? 'left' : 'unknown';
  }
}
