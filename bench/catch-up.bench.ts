import 'reflect-metadata';
import { SqliteEventStore } from '@crm/event-store';
import { Projection, Projector, RECORD_PROJECTIONS, SqliteReadStore } from '@crm/read-models';
import { ALL_PROJECTIONS } from '@crm/runtime/projection-list';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLeadHistory } from './lead-history';
import { machine, peakRssMiB, printTable } from './support';

/**
 * Catch-up of every read model from an event log of EVENTS events on the embedded backend:
 * events per second and peak memory.
 *   npm run bench:catch-up                (1,000,000 events)
 *   BENCH_EVENTS=200000 npm run bench:catch-up
 */
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
/**
 * Loads the log into a fresh file and projects it from scratch into `projections`; with
 * `commitThread` the read store commits on a thread of its own and the next batch is applied
 * meanwhile, else (as the service's projector) every commit is written before the next batch.
 */
async function catchUp(name: string, projections: Projection[], commitThread = false) {
  const dir = mkdtempSync(join(tmpdir(), 'crm-catchup-'));
  const file = join(dir, 'crm.sqlite');
  const events = SqliteEventStore.open(file);
  try {
    const loadStart = Date.now();
    const head = await loadLeadHistory(events, EVENTS);
    const loadSeconds = (Date.now() - loadStart) / 1000;

    const readStore = SqliteReadStore.open(file, { commitThread });
    const cpuBefore = process.cpuUsage();
    const projector = new Projector(events, readStore, projections);
    let peakHeap = process.memoryUsage().heapUsed;
    const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 100);
    const start = process.hrtime.bigint();
    projector.start();
    const reached = await projector.waitFor(head, 30 * 60_000);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    clearInterval(sampler);
    await projector.stop();
    await readStore.close();
    if (!reached) throw new Error('catch-up did not finish');
    return {
      'read models': name,
      events: Number(head),
      'load s': loadSeconds.toFixed(1),
      'catch-up s': seconds.toFixed(1),
      'events/s': Math.round(Number(head) / seconds),
      // Every thread of the process: on a shared machine a steadier measure of the work than the time taken.
      'CPU s': ((cpu.user + cpu.system) / 1e6).toFixed(1),
      'peak heap MiB': Math.round(peakHeap / 2 ** 20),
      'peak RSS MiB (process so far)': peakRssMiB(process.pid),
    };
  } finally {
    await events.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const rows = [
    await catchUp('leads, accounts, contacts, opportunities', RECORD_PROJECTIONS),
    await catchUp('all: records and report views', ALL_PROJECTIONS),
    await catchUp('all, commits on a thread of their own (pipelined)', ALL_PROJECTIONS, true),
  ];
  printTable(`Catch-up from an event log of ${EVENTS.toLocaleString('en')} events — embedded SQLite — ${machine()}`, rows);
}

void main();
