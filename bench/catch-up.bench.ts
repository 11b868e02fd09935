import 'reflect-metadata';
import { EventToAppend, SqliteEventStore, timeOrderedUuid } from '@crm/event-store';
import { ALL_READ_MODEL_PROJECTIONS, Projection, Projector, RECORD_PROJECTIONS, SqliteReadStore } from '@crm/read-models';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, peakRssMiB, printTable } from './support';

/**
 * Catch-up of every read model from an event log of EVENTS events on the embedded backend:
 * events per second and peak memory.
 *   npm run bench:catch-up                (1,000,000 events)
 *   BENCH_EVENTS=200000 npm run bench:catch-up
 */
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const LEADS_PER_APPEND_ROUND = 2_000;
const SOURCES = ['Web', 'Phone', 'Email', 'Event', 'Partner Referral', 'Advertisement', 'Purchased List', 'Other'];

/** Five events of one lead's life: captured, worked, reassigned, edited, qualified. Ids are time-ordered, as the API makes them. */
function leadLife(leadId: string, n: number): EventToAppend[] {
  const at = new Date(Date.UTC(2025, 0, 1) + n * 60_000);
  const event = (i: number, type: string, data: Record<string, unknown>): EventToAppend => ({
    id: timeOrderedUuid(),
    type,
    data: { leadId, ...data },
    metadata: { actorId: 'bench', occurredAt: new Date(at.getTime() + i * 3_600_000).toISOString(), correlationId: leadId, causationId: leadId },
  });
  return [
    event(0, 'LeadCaptured', { lastName: `Last${n}`, firstName: 'First', company: `Company ${n % 5000}`, email: `lead${n}@example.com`, source: SOURCES[n % 8], ownerId: `rep-${n % 50}` }),
    event(1, 'LeadStatusChanged', { status: 'Working', previousStatus: 'New' }),
    event(2, 'LeadAssigned', { ownerId: `rep-${(n + 7) % 50}`, previousOwnerId: `rep-${n % 50}` }),
    event(3, 'LeadDetailsChanged', { changes: { title: 'Buyer', phone: '+1 555 0100' } }),
    event(4, 'LeadQualified', { previousStatus: 'Working', budget: '10k' }),
  ];
}

/** Loads the log into a fresh file and projects it from scratch into `projections`. */
async function catchUp(name: string, projections: Projection[]) {
  const dir = mkdtempSync(join(tmpdir(), 'crm-catchup-'));
  const file = join(dir, 'crm.sqlite');
  const events = SqliteEventStore.open(file);
  try {
    const leads = Math.ceil(EVENTS / 5);
    const loadStart = Date.now();
    for (let first = 0; first < leads; first += LEADS_PER_APPEND_ROUND) {
      const round = Array.from({ length: Math.min(LEADS_PER_APPEND_ROUND, leads - first) }, (_, i) => first + i);
      // Appends issued in one turn share one transaction (group commit).
      await Promise.all(
        round.map((n) => {
          const leadId = timeOrderedUuid();
          return events.append(`lead-${leadId}`, leadLife(leadId, n), 'no_stream');
        }),
      );
    }
    const head = await events.headPosition();
    const loadSeconds = (Date.now() - loadStart) / 1000;

    const readStore = SqliteReadStore.open(file);
    const projector = new Projector(events, readStore, projections);
    let peakHeap = process.memoryUsage().heapUsed;
    const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 100);
    const start = process.hrtime.bigint();
    projector.start();
    const reached = await projector.waitFor(head, 30 * 60_000);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
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
    await catchUp('all: records and report views', ALL_READ_MODEL_PROJECTIONS),
  ];
  printTable(`Catch-up from an event log of ${EVENTS.toLocaleString('en')} events — embedded SQLite — ${machine()}`, rows);
}

void main();
