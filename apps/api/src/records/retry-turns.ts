/**
 * Turns, per stream, for the commands that lost a race on it. The losers of one race learn it
 * from one group commit, together; were they to retry at once, they would race each other again
 * and only one would win each commit. Taking turns, each retries on what the one before it wrote.
 * (Within this process; commands of other processes race as before.)
 */
export class RetryTurns {
  private readonly last = new Map<string, Promise<void>>();

  /** Whether a command holds or waits for a turn on the stream. */
  taken(streamId: string): boolean {
    return this.last.has(streamId);
  }

  /** Waits for the turns taken before on the stream; the turn is held until the returned release is called. */
  async take(streamId: string): Promise<() => void> {
    const before = this.last.get(streamId) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const mine = before.then(() => held);
    this.last.set(streamId, mine);
    await before;
    return () => {
      release();
      if (this.last.get(streamId) === mine) this.last.delete(streamId);
    };
  }
}

/** One command's turn on its stream: taken after each lost race, given back when it takes the next or is done. */
export class RetryTurn {
  private release?: () => void;

  constructor(
    private readonly turns: RetryTurns,
    private readonly streamId: string,
  ) {}

  async take(): Promise<void> {
    this.done();
    this.release = await this.turns.take(this.streamId);
  }

  /**
   * Before a first attempt: while others retry on the stream in turns, this command takes its turn
   * behind them rather than racing the one whose turn it is (under load a command could otherwise
   * lose every one of its attempts to newcomers).
   */
  async queueIfTaken(): Promise<void> {
    if (this.turns.taken(this.streamId)) await this.take();
  }

  done(): void {
    this.release?.();
    this.release = undefined;
  }
}
