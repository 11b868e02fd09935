import 'reflect-metadata';
import { SqliteEventStore } from '@crm/event-store';
import { Projector, SqliteReadStore, verifyReadModels } from '@crm/read-models';
import { ALL_PROJECTIONS } from '@crm/runtime/projection-list';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLeadHistory } from './lead-history';
import { machine, peakRssMiB, printTable } from './support';

/**
 * `crm verify` on the history of bench:catch-up: the log is loaded, every read model caught up
 * (the "live" side), then verifyReadModels replays the log into a scratch store and compares
 * every document. Time and peak memory of the verification alone.
 *   npm run bench:verify                (1,000,000 events)
 *   BENCH_EVENTS=200000 npm run bench:verify
 */
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'crm-verify-bench-'));
  const file = join(dir, 'crm.sqlite');
  const events = SqliteEventStore.open(file);
  const live = SqliteReadStore.open(file);
  const scratch = SqliteReadStore.open(join(dir, 'scratch.sqlite'));
  try {
    const head = await loadLeadHistory(events, EVENTS);
    const projector = new Projector(events, live, ALL_PROJECTIONS);
    projector.start();
    if (!(await projector.waitFor(head, 30 * 60_000))) throw new Error('live catch-up did not finish');
    await projector.stop();
    const rssBefore = peakRssMiB(process.pid);

    let peakHeap = 0;
    const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 100);
    const start = process.hrtime.bigint();
    const result = await verifyReadModels({ events, live, scratch, projections: ALL_PROJECTIONS });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    clearInterval(sampler);
    if (result.inconclusive || result.differences.length > 0) throw new Error(`verification did not pass: ${result.inconclusive ?? `${result.differences.length} differences`}`);
    printTable(`crm verify over ${Number(head).toLocaleString('en')} events, all read models — embedded SQLite — ${machine()}`, [
      {
        events: Number(head),
        documents: result.documents,
        'verify s': seconds.toFixed(1),
        'events/s': Math.round(Number(head) / seconds),
        'peak heap MiB': Math.round(peakHeap / 2 ** 20),
        'peak RSS MiB (before verify)': rssBefore,
        'peak RSS MiB (after verify)': peakRssMiB(process.pid),
      },
    ]);
  } finally {
    await scratch.close();
    await live.close();
    await events.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
