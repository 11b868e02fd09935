/**
 * The projector's thread on the embedded default (see ProjectorThread): its own connections to
 * the embedded file (events, read models, personal-data keys) and the projector over them. It
 * tells the request thread where the projector is after every batch it commits (and, while
 * nothing changes, not at all), and runs the rebuilds it is asked for.
 */
import 'reflect-metadata';
import { SqliteReadStore } from '@crm/read-models';
import { parentPort, workerData } from 'node:worker_threads';
import { embeddedDatabaseFile, openEventStore } from './event-store.module';
import { ALL_PROJECTIONS } from './projection-list';
import { projectorFor } from './read-side-core.module';
import type { FromProjectorThread, ProjectorThreadData, ToProjectorThread } from './projector-thread';

/** While the position stands still, how often the reports (status, rebuild progress) are looked at again. */
const REPORT_INTERVAL_MS = 100;

const port = parentPort!;
const { config } = workerData as ProjectorThreadData;
const { dataDir } = config;
const events = openEventStore({ ...config, eventStoreUrl: undefined, mongodbUrl: undefined }, undefined, 'in-thread');
// While catching up, batches commit on a thread of their own and the next batch is applied
// meanwhile; once caught up (small batches) in place, without the hand-over's copies (see the README).
const store = SqliteReadStore.open(embeddedDatabaseFile(dataDir), { commitThread: true });
const post = (message: FromProjectorThread) => port.postMessage(message);
const activations = new Map<number, () => void>();
let nextActivation = 0;
// A rebuild activates its new version and then drops the old one: the request thread is told of
// the new version, and has it, before the old one goes (else its queries would read a dropped table).
const activate = store.activate.bind(store);
store.activate = async (readModel, version) => {
  await activate(readModel, version);
  const call = nextActivation++;
  await new Promise<void>((resolve) => {
    activations.set(call, resolve);
    post({ kind: 'activate', call, readModel, version });
  });
};
// The thread's log lines are written by the request thread's logger.
const projector = projectorFor(config, events, store, ALL_PROJECTIONS, {
  error: (message: string) => post({ kind: 'log', level: 'error', message }),
  warn: (message: string) => post({ kind: 'log', level: 'warn', message }),
});
post({ kind: 'owner', owner: projector.owner });
let running = false;
let lastSent = '';

function publish(): void {
  const state = {
    position: projector.position(),
    reports: projector.reports(),
    versions: ALL_PROJECTIONS.map(({ readModel }) => [readModel, projector.versionOf(readModel)] as [string, number | undefined]),
    refusals: ALL_PROJECTIONS.map(({ readModel }) => [readModel, projector.rebuildRefusal(readModel)] as [string, string | undefined]),
    retryRefusals: ALL_PROJECTIONS.map(({ readModel }) => [readModel, projector.retryRefusal(readModel)] as [string, string | undefined]),
    revealed: events.revealedEvents(),
  };
  const text = JSON.stringify(state, (_, value) => (typeof value === 'bigint' ? String(value) : value));
  if (text === lastSent) return;
  lastSent = text;
  post({ kind: 'state', ...state });
}

/** Every advance of the position is told at once (what minPosition waits for); the rest at the interval. */
async function follow(): Promise<void> {
  while (running) {
    publish();
    await projector.waitFor(projector.position() + 1n, REPORT_INTERVAL_MS);
  }
}

port.on('message', (message: ToProjectorThread) => {
  switch (message.kind) {
    case 'start':
      running = true;
      projector.start();
      void follow();
      return;
    case 'rebuild':
    case 'retry':
      (message.kind === 'rebuild' ? projector.rebuild(message.readModel) : projector.retry(message.readModel)).then(
        () => post({ kind: 'answer', call: message.call }),
        (error: unknown) => post({ kind: 'answer', call: message.call, error: error instanceof Error ? error.message : String(error) }),
      );
      publish();
      return;
    case 'plaintext':
      events.receiveAppendedPlaintext(message.plaintexts);
      return;
    case 'read-now':
      projector.wake();
      return;
    case 'activated':
      activations.get(message.call)?.();
      activations.delete(message.call);
      return;
    case 'stop':
      running = false;
      void (async () => {
        await projector.stop();
        publish();
        await events.close();
        await store.close();
        port.close();
      })();
      return;
  }
});
