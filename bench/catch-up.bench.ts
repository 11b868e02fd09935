import 'reflect-metadata';
import { SqliteEventStore } from '@crm/event-store';
import { Logger } from '@nestjs/common';
import { Projection, Projector, RECORD_PROJECTIONS, SqliteReadStore } from '@crm/read-models';
import { ALL_PROJECTIONS } from '@crm/runtime/projection-list';
import { ProjectorThread } from '@crm/runtime/projector-thread';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLeadHistory } from './lead-history';
import { machine, peakRssMiB, printTable, resetPeakRss } from './support';

/**
 * Catch-up of every read model from an event log of EVENTS events on the embedded backend:
 * events per second and peak memory.
 *   npm run bench:catch-up                (1,000,000 events)
 *   BENCH_EVENTS=200000 npm run bench:catch-up
 */
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
/**
 * How the catch-up runs: a projector on this thread over a read store that commits in place or
 * (`commitThread`) whose catch-up batches commit on a thread of their own while the next batch is
 * applied; or, as the service runs it on the embedded default, the projector's thread (which
 * does the latter, with a larger young generation).
 */
type Runner = { projections: Projection[]; commitThread?: boolean } | 'service projector thread';

/** Loads the log into a fresh file and projects it from scratch as `runner` says. */
async function catchUp(name: string, runner: Runner) {
  const dir = mkdtempSync(join(tmpdir(), 'crm-catchup-'));
  const file = join(dir, 'crm.sqlite');
  const events = SqliteEventStore.open(file);
  try {
    const loadStart = Date.now();
    const head = await loadLeadHistory(events, EVENTS);
    const loadSeconds = (Date.now() - loadStart) / 1000;

    const onThread = runner === 'service projector thread';
    const readStore = SqliteReadStore.open(file, { commitThread: !onThread && runner.commitThread });
    resetPeakRss();
    const cpuBefore = process.cpuUsage();
    const projector = onThread
      ? new ProjectorThread({ config: { dataDir: dir, projectorLeaseMs: 15_000, projectionFaultAfterFailures: 5 } }, ALL_PROJECTIONS, readStore, new Logger('bench'))
      : new Projector(events, readStore, runner.projections);
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
      // Of the heap of this thread: not the projector's when it runs on a thread of its own.
      'peak heap MiB (this thread)': onThread ? '-' : Math.round(peakHeap / 2 ** 20),
      'peak RSS MiB': peakRssMiB(process.pid),
    };
  } finally {
    await events.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const rows = [
    await catchUp('leads, accounts, contacts, opportunities', { projections: RECORD_PROJECTIONS }),
    await catchUp('all: records and report views, commits in place', { projections: ALL_PROJECTIONS }),
    await catchUp('all, catch-up batches commit on a thread of their own (pipelined)', { projections: ALL_PROJECTIONS, commitThread: true }),
    await catchUp("all, on the service's projector thread (pipelined, 128 MiB young generation)", 'service projector thread'),
  ];
  printTable(`Catch-up from an event log of ${EVENTS.toLocaleString('en')} events — embedded SQLite — ${machine()}`, rows);
}

void main();
