/**
 * One progress line on stderr, redrawn in place in a terminal (a line every few seconds
 * otherwise, so that logs stay readable): done / total, rate and time left.
 */
export class ProgressLine {
  private readonly started = Date.now();
  private lastPrinted = 0;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number): void {
    const now = Date.now();
    if (!this.stream.isTTY && now - this.lastPrinted < 5_000 && done < total) return;
    this.lastPrinted = now;
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const rate = done / seconds;
    const fraction = total > 0 ? Math.min(done / total, 1) : 1;
    const width = 30;
    const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '.');
    const eta = rate > 0 && total > done ? `${Math.ceil((total - done) / rate)} s left` : '';
    const line = `${this.label} [${bar}] ${done.toLocaleString('en')} / ${total.toLocaleString('en')} events, ${Math.round(rate).toLocaleString('en')}/s ${eta}`;
    this.stream.write(this.stream.isTTY ? `\r${line.padEnd(100)}` : `${line}\n`);
  }

  done(summary: string): void {
    this.stream.write(`${this.stream.isTTY ? '\n' : ''}${summary}\n`);
  }

  elapsedSeconds(): number {
    return (Date.now() - this.started) / 1000;
  }
}
