import type { EventEmitter } from 'node:events';

/**
 * Resolves with what `settled` answers once it answers anything but undefined — asked now and on
 * every `event` of `emitter` — or with `onTimeout` after `timeoutMs`. The waits of a projector
 * (a position reached, the start taken up) and of its stand-in for a thread are all this.
 */
export function untilSettled<T>(emitter: EventEmitter, event: string, settled: () => T | undefined, timeoutMs: number, onTimeout: T): Promise<T> {
  const now = settled();
  if (now !== undefined) return Promise.resolve(now);
  return new Promise((resolve) => {
    const done = (value: T) => {
      clearTimeout(timer);
      emitter.off(event, check);
      resolve(value);
    };
    const check = () => {
      const value = settled();
      if (value !== undefined) done(value);
    };
    const timer = setTimeout(() => done(onTimeout), timeoutMs);
    emitter.on(event, check);
  });
}
