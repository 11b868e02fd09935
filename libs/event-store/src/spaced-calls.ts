/**
 * Makes a call at most once per `spacingMs` (monotonic clock), for messages to another thread that
 * cost per message whatever they carry. Asked when the last call was at least that long ago, it
 * calls at once, or (`afterThisTurn`) once this turn is over, so that what the turn adds goes
 * along; asked sooner, it calls once when the spacing is up, however often it was asked meanwhile.
 */
export class SpacedCalls {
  private lastCallAt = -Infinity;
  private scheduled?: { cancel(): void };

  constructor(
    private readonly spacingMs: number,
    private readonly call: () => void,
    private readonly options: { afterThisTurn?: boolean } = {},
  ) {}

  ask(): void {
    if (this.scheduled) return;
    const wait = this.lastCallAt + this.spacingMs - performance.now();
    if (wait <= 0 && !this.options.afterThisTurn) return this.callNow();
    const scheduledCall = () => {
      this.scheduled = undefined;
      this.callNow();
    };
    if (wait <= 0) {
      const immediate = setImmediate(scheduledCall).unref();
      this.scheduled = { cancel: () => clearImmediate(immediate) };
    } else {
      const timer = setTimeout(scheduledCall, wait).unref();
      this.scheduled = { cancel: () => clearTimeout(timer) };
    }
  }

  /** Drops a call asked for and not made yet. */
  cancel(): void {
    this.scheduled?.cancel();
    this.scheduled = undefined;
  }

  private callNow(): void {
    this.lastCallAt = performance.now();
    this.call();
  }
}
