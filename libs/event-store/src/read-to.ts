/**
 * A subscription's `readTo` and the waits on it (AllSubscription.readBeyond), for the adapters:
 * it only moves forwards, and each move ends the waits it passed.
 */
export class ReadToPosition {
  private waits: { beyond: bigint; resolve: () => void }[] = [];

  constructor(private position: bigint) {}

  get current(): bigint {
    return this.position;
  }

  moveTo(position: bigint): void {
    if (position <= this.position) return;
    this.position = position;
    if (this.waits.length === 0) return;
    const passed = this.waits.filter((wait) => wait.beyond < position);
    this.waits = this.waits.filter((wait) => wait.beyond >= position);
    for (const wait of passed) wait.resolve();
  }

  beyond(position: bigint): Promise<void> {
    if (this.position > position) return Promise.resolve();
    return new Promise((resolve) => this.waits.push({ beyond: position, resolve }));
  }
}
