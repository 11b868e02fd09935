/**
 * The API on the embedded backend, made to die (SIGKILL, no clean-up) once CRASH_AFTER_COUNT
 * events of the type CRASH_AFTER_TYPE are durably appended, in the middle of whatever command
 * or background run appended them (an import between two runs of lines, a bulk conversion
 * between its decisions and the records they open). Started by `startCrashingService`
 * (service-process.ts).
 */
import 'reflect-metadata';
import { EventStore, SqliteEventStore } from '@crm/event-store';
import { listenFromEnvironment } from './api.server';

const type = process.env.CRASH_AFTER_TYPE!;
const limit = Number(process.env.CRASH_AFTER_COUNT);
let seen = 0;
const count = (events: { type: string }[]) => {
  seen += events.filter((event) => event.type === type).length;
  if (seen >= limit) process.kill(process.pid, 'SIGKILL');
};

const append = SqliteEventStore.prototype.append;
SqliteEventStore.prototype.append = async function (this: EventStore, ...args: Parameters<EventStore['append']>) {
  const result = await append.apply(this, args);
  count(args[1]);
  return result;
};
const appendAtomically = SqliteEventStore.prototype.appendAtomically;
SqliteEventStore.prototype.appendAtomically = async function (this: SqliteEventStore, ...args: Parameters<typeof appendAtomically>) {
  const results = await appendAtomically.apply(this, args);
  count(args[0].flatMap((streamAppend) => streamAppend.events));
  return results;
};

void listenFromEnvironment();
