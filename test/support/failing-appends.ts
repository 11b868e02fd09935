import { SqliteEventStore } from '@crm/event-store';

/**
 * While `failing.on`, appends to the streams starting with `prefix` are refused as a failing disk
 * would refuse them ("disk I/O error"): a spy on the embedded store's append stands in for the
 * disk, which cannot be made to fail here. Installed for the suite that calls it.
 */
export function failingAppendsTo(prefix: string): { on: boolean } {
  const failing = { on: false };
  const append = SqliteEventStore.prototype.append;
  beforeAll(() => {
    jest.spyOn(SqliteEventStore.prototype, 'append').mockImplementation(function (this: SqliteEventStore, ...args: Parameters<typeof append>) {
      if (failing.on && args[0].startsWith(prefix)) return Promise.reject(new Error('disk I/O error'));
      return append.apply(this, args);
    });
  });
  afterAll(() => jest.restoreAllMocks());
  return failing;
}

/** Reads until `done` says so, every 20 ms, for at most about 6 s; resolves with the last value read (the test's assertion judges it). */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 300 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}
