import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, machine, peakRssMiB, printTable, startServer, stopServer } from './support';

/**
 * `POST /leads` sustained over HTTP against the embedded backend (durable: WAL, synchronous=FULL),
 * beside a bare Fastify route that answers 201, both driven by autocannon with 50 connections.
 * Each server runs in its own process; autocannon runs in this one.
 *   npm run bench:capture              (20 s per run)
 *   BENCH_SECONDS=60 npm run bench:capture
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONNECTIONS = 50;
const lead = { lastName: 'Lovelace', firstName: 'Ada', company: 'Analytical Engines', source: 'Web', annualRevenue: 125000 };
/** Every request its own email (the same one twice is refused as a duplicate lead), in random order as real ones come. */
const newLead = () => JSON.stringify({ ...lead, email: `${randomUUID()}@example.com` });

async function run(name: string, script: string, port: number, env: Record<string, string>) {
  const url = `http://127.0.0.1:${port}`;
  const server = await startServer(join(__dirname, script), { PORT: String(port), HOST: '127.0.0.1', ...env }, url);
  const request = {
    url: `${url}/leads`,
    connections: CONNECTIONS,
    requests: [{ method: 'POST' as const, headers: { 'content-type': 'application/json' }, setupRequest: (req: object) => ({ ...req, body: newLead() }) }],
  };
  try {
    await load({ ...request, duration: 3 }); // warm-up: JIT, SQLite page cache
    const result = await load({ ...request, duration: SECONDS });
    return { name, ...result, peakRssMiB: peakRssMiB(server.pid!) };
  } finally {
    await stopServer(server);
  }
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'crm-bench-'));
  try {
    const bare = await run('bare Fastify 201', 'bare-fastify.server.js', 3901, {});
    const api = await run('POST /leads (embedded, durable)', '../apps/api/src/main.js', 3902, { DATA_DIR: dataDir, NODE_ENV: 'benchmark' });
    printTable(`Capture over HTTP — ${CONNECTIONS} connections, ${SECONDS} s — ${machine()}`, [
      ...[bare, api].map((r) => ({
        run: r.name,
        'req/s': r.requestsPerSecond,
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        requests: r.total,
        'non-2xx': r.non2xx,
        errors: r.errors,
        'peak RSS MiB': r.peakRssMiB,
      })),
    ]);
    console.log(`API / bare Fastify throughput ratio: ${(api.requestsPerSecond / bare.requestsPerSecond).toFixed(2)}`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main();
