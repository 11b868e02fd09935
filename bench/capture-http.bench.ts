import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, machine, peakRssMiB, printTable, startServer, stopServer } from './support';

/**
 * `POST /leads` sustained over HTTP against the embedded backend (durable: WAL, synchronous=FULL),
 * beside a bare Fastify route that answers 201, all driven by autocannon with 50 connections.
 * The API runs twice, each on a fresh data folder: open (no keys) and with API keys configured,
 * every request carrying a writer key. Each server runs in its own process; autocannon runs in this one.
 *   npm run bench:capture              (20 s per run)
 *   BENCH_SECONDS=60 npm run bench:capture
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONNECTIONS = 50;
const lead = { lastName: 'Lovelace', firstName: 'Ada', company: 'Analytical Engines', source: 'Web', annualRevenue: 125000 };
/** Every request its own email (the same one twice is refused as a duplicate lead), in random order as real ones come. */
const newLead = () => JSON.stringify({ ...lead, email: `${randomUUID()}@example.com` });

/** A writer key among several, as a deployment has them (the lookup is by digest, so their number does not matter). */
const WRITER_KEY = `bench-${randomUUID()}-${randomUUID()}`;
const API_KEYS = [`capture:${WRITER_KEY}=writer`, ...Array.from({ length: 9 }, (_, i) => `svc-${i}:${randomUUID()}${randomUUID()}=reader,analyst`)].join(';');

async function run(name: string, script: string, port: number, env: Record<string, string>, headers: Record<string, string> = {}) {
  const url = `http://127.0.0.1:${port}`;
  const server = await startServer(join(__dirname, script), { PORT: String(port), HOST: '127.0.0.1', ...env }, url);
  const request = {
    url: `${url}/leads`,
    connections: CONNECTIONS,
    requests: [{ method: 'POST' as const, headers: { 'content-type': 'application/json', ...headers }, setupRequest: (req: object) => ({ ...req, body: newLead() }) }],
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
  const dataDirs = [mkdtempSync(join(tmpdir(), 'crm-bench-')), mkdtempSync(join(tmpdir(), 'crm-bench-'))];
  try {
    const bare = await run('bare Fastify 201', 'bare-fastify.server.js', 3901, {});
    const api = await run('POST /leads (embedded, durable), open', '../apps/api/src/main.js', 3902, { DATA_DIR: dataDirs[0], NODE_ENV: 'benchmark', API_KEYS: '' });
    const keyed = await run(
      'POST /leads (embedded, durable), API keys',
      '../apps/api/src/main.js',
      3903,
      { DATA_DIR: dataDirs[1], NODE_ENV: 'benchmark', API_KEYS },
      { authorization: `Bearer ${WRITER_KEY}` },
    );
    printTable(`Capture over HTTP — ${CONNECTIONS} connections, ${SECONDS} s — ${machine()}`, [
      ...[bare, api, keyed].map((r) => ({
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
    console.log(`API / bare Fastify throughput ratio: open ${(api.requestsPerSecond / bare.requestsPerSecond).toFixed(3)}, with keys ${(keyed.requestsPerSecond / bare.requestsPerSecond).toFixed(3)}`);
    console.log(`With keys / open: ${(keyed.requestsPerSecond / api.requestsPerSecond).toFixed(3)}`);
  } finally {
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}

void main();
