import 'reflect-metadata';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../apps/api/src/app.factory';
import { ImportFiles } from '../apps/api/src/imports/import-files';
import { LeadImportRunner } from '../apps/api/src/imports/lead-import-runner';
import { ReadModels } from '../apps/api/src/read-side/read-models';
import { EVENT_STORE, EventStore } from '@crm/event-store';
import { machine, peakRssMiB, printTable } from './support';

/**
 * `POST /leads/import`'s run on a file of LEADS NDJSON lines, on the embedded store in its default
 * configuration (durable appends, email claims, hash chains, personal-data encryption, the
 * projector in the process): the same runner the route schedules, fed the file from disk (past
 * the route's 50 MiB limit), then every read model caught up. Leads captured per second, the
 * whole import with catch-up, peak memory.
 *   npm run bench:import                 (1,000,000 leads)
 *   BENCH_LEADS=100000 npm run bench:import
 */
const LEADS = Number(process.env.BENCH_LEADS ?? 1_000_000);
const SOURCES = ['Web', 'Phone', 'Email', 'Event', 'Partner Referral', 'Advertisement', 'Purchased List', 'Other'];
const FIRST = Date.parse('2019-01-01T00:00:00.000Z');

async function writeFile(path: string): Promise<void> {
  const out = createWriteStream(path);
  const run = randomUUID().slice(0, 8);
  for (let i = 1; i <= LEADS; i++) {
    const line = {
      lastName: `Lastname ${i}`,
      firstName: `First ${i % 1000}`,
      company: `Company ${i % 20_000}`,
      email: `lead-${run}-${i}@example.com`,
      source: SOURCES[i % SOURCES.length],
      industry: 'Manufacturing',
      annualRevenue: (i % 100) * 10_000,
      ownerId: `rep-${i % 25}`,
      occurredAt: new Date(FIRST + i * 60_000).toISOString(),
    };
    if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** CPU seconds (user + system) of this process's main thread so far (Linux: its task's stat, in clock ticks of 10 ms). */
function mainThreadCpuSeconds(): number {
  const fields = readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'crm-bench-import-'));
  try {
    const file = join(dataDir, 'leads.ndjson');
    await writeFile(file);
    const bytes = statSync(file).size;
    const app = await createApp({ host: '127.0.0.1', port: 0, dataDir, production: false, projector: 'embedded', projectorThread: true, projectorLeaseMs: 15_000, apiKeys: [], logLevel: 'warn' });
    const runner = app.get(LeadImportRunner);
    const files = app.get(ImportFiles);
    const store = app.get<EventStore>(EVENT_STORE);
    let peakHeap = 0;
    const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 250);

    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const mainStarted = mainThreadCpuSeconds();
    const received = await files.receive(createReadStream(file), 'ndjson', Number.POSITIVE_INFINITY);
    const context = { actorId: 'bench', correlationId: randomUUID(), commandId: randomUUID() };
    const accepted = await runner.accept(received, false, context);
    await runner.idle();
    const capturedMs = performance.now() - started;
    const capturedCpu = process.cpuUsage(cpuStarted);
    const mainCaptured = mainThreadCpuSeconds() - mainStarted;
    const report = await runner.report(accepted.id);
    if (report?.status !== 'done' || report.captured !== LEADS) throw new Error(`import did not capture every line: ${JSON.stringify({ ...report, refused: report?.refused.slice(0, 3) })}`);
    const head = await store.headPosition();
    if (!(await app.get(ReadModels).waitFor(head, 30 * 60_000))) throw new Error('read models did not catch up');
    const totalMs = performance.now() - started;
    const totalCpu = process.cpuUsage(cpuStarted);
    const cpuSeconds = ({ user, system }: NodeJS.CpuUsage) => ((user + system) / 1e6).toFixed(1);
    clearInterval(sampler);
    await app.close();
    printTable(`Import of ${LEADS.toLocaleString('en')} NDJSON leads (${(bytes / 2 ** 20).toFixed(0)} MiB), embedded SQLite, durable — ${machine()}`, [
      {
        leads: LEADS,
        events: Number(head) + 1,
        'captured s': (capturedMs / 1000).toFixed(1),
        'leads/s captured': Math.round(LEADS / (capturedMs / 1000)),
        'with catch-up s': (totalMs / 1000).toFixed(1),
        'leads/s with catch-up': Math.round(LEADS / (totalMs / 1000)),
        // Every thread of the process (request thread, SQLite writer, projector): on a shared machine a steadier measure than wall time.
        'CPU s captured': cpuSeconds(capturedCpu),
        'CPU s with catch-up': cpuSeconds(totalCpu),
        // The request thread alone (where lines are validated and decided, events hashed and encrypted) while the lines were captured.
        'request-thread CPU µs a lead': Math.round((mainCaptured * 1e6) / LEADS),
        'peak heap MiB': Math.round(peakHeap / 2 ** 20),
        'peak RSS MiB': peakRssMiB(process.pid),
      },
    ]);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main();
