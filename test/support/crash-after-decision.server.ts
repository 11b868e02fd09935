/**
 * The API on the suites' backend (DATA_DIR, or EVENTSTORE_URL / MONGODB_URL as backendEnv sets them), made to die (SIGKILL, no clean-up) at the worst moment of a
 * multi-stream command: right after its decision (LeadConverted or LeadMerged) is durably
 * appended, before any record it names is written. Started by crash-recovery.e2e-spec.ts.
 */
import 'reflect-metadata';
import { EventStore, EventStoreDbEventStore, SqliteEventStore } from '@crm/event-store';
import { listenFromEnvironment } from './api.server';

const DECISIONS = new Set(['LeadConverted', 'LeadMerged']);
let decided = false;
// Whichever adapter the configuration picks.
for (const prototype of [SqliteEventStore.prototype, EventStoreDbEventStore.prototype] as EventStore[]) {
  const append = prototype.append;
  prototype.append = async function (this: EventStore, ...args: Parameters<EventStore['append']>) {
    if (decided) process.kill(process.pid, 'SIGKILL');
    const result = await append.apply(this, args);
    if (args[1].some((event) => DECISIONS.has(event.type))) decided = true;
    return result;
  };
}


// A conversion that claims its new account's name writes the claim and LeadConverted in one transaction.
const appendAtomically = SqliteEventStore.prototype.appendAtomically;
SqliteEventStore.prototype.appendAtomically = async function (this: SqliteEventStore, ...args: Parameters<typeof appendAtomically>) {
  if (decided) process.kill(process.pid, 'SIGKILL');
  const results = await appendAtomically.apply(this, args);
  if (args[0].some((append) => append.events.some((event) => DECISIONS.has(event.type)))) decided = true;
  return results;
};

void listenFromEnvironment();
