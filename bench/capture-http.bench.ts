import { randomUUID } from 'node:crypto';
import { ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { configureRulesAndModel } from './capture-configurations';
import { cpuMicros, load, LoadResult, machine, median, peakRssMiB, printTable, startServer, stopServer } from './support';

/**
 * `POST /leads` sustained over HTTP (autocannon, 50 connections, a new random email on every
 * request), beside a bare Fastify route that answers 201, in one run: three rounds, each running
 * every configuration once in turn on a fresh data folder, so that the machine's noise falls on
 * all of them alike; the table gives each configuration's medians and its ratio to bare Fastify
 * in the same round.
 *
 *   default      the embedded default: durable appends (WAL, synchronous=FULL), the write-side
 *                email claim, hash chains, personal-data encryption, the projector in-process
 *   external     PROJECTOR=external, with apps/projector running beside it (its own process)
 *   rules+model  the default with three assignment rules (the captured lead matches the third)
 *                and a scoring model configured
 *   unprotected  the default with BENCH_EVENT_PROTECTION=off: no hash chains, no encryption
 *
 *   baseline     with BENCH_BASELINE=<folder>: the default of another build of this project (a
 *                checkout of an earlier commit, built with `npm run build`), alternated with this one;
 *                with BENCH_BASELINE_VARIANTS=1 also its rules+model and unprotected, so that the
 *                ratios between them are taken before and after a change in the same run
 *
 * BENCH_ONLY=default,unprotected runs only the configurations named (bare Fastify always runs).
 *
 * CPU per request is read from /proc: the API process's main thread (what the event loop
 * spends per request) and the whole process (worker threads included).
 *   npm run bench:capture              (20 s per run after a 3 s warm-up)
 *   BENCH_SECONDS=10 BENCH_ROUNDS=1 npm run bench:capture
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 50;
/** BENCH_PORT=<port>: the first of the ports the runs listen on (bare Fastify, then one per configuration), so that two benches on one machine do not meet. */
const FIRST_PORT = Number(process.env.BENCH_PORT ?? 3901);
/**
 * BENCH_RATE=<req/s>: every run at that fixed rate instead of as fast as it goes. On a busy
 * machine the CPU per request compares better so: a group commit or a projector batch costs
 * per batch, and at different rates the batches differ in size.
 */
const RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
const lead = { lastName: 'Lovelace', firstName: 'Ada', company: 'Analytical Engines', source: 'Web', annualRevenue: 125000 };
/** Every request its own email (the same one twice is refused as a duplicate lead), in random order as real ones come. */
const newLead = () => JSON.stringify({ ...lead, email: `${randomUUID()}@example.com` });

interface Configuration {
  name: string;
  env: Record<string, string>;
  /** Another build's root folder (its dist/ and scripts/), for the baseline. */
  root?: string;
  /** apps/projector runs beside the API (PROJECTOR=external). */
  projector?: boolean;
  configure?: (url: string) => Promise<void>;
}

const CONFIGURATIONS = ([
  { name: 'default', env: {} },
  { name: 'external', env: { PROJECTOR: 'external' }, projector: true },
  {
    name: 'rules+model',
    env: {},
    configure: configureRulesAndModel,
  },
  { name: 'unprotected', env: { BENCH_EVENT_PROTECTION: 'off' } },
  ...(process.env.BENCH_BASELINE ? [{ name: 'baseline', env: {}, root: resolve(process.env.BENCH_BASELINE) }] : []),
  ...(process.env.BENCH_BASELINE && process.env.BENCH_BASELINE_VARIANTS === '1'
    ? [
        { name: 'baseline rules+model', env: {}, root: resolve(process.env.BENCH_BASELINE), configure: configureRulesAndModel },
        { name: 'baseline unprotected', env: { BENCH_EVENT_PROTECTION: 'off' }, root: resolve(process.env.BENCH_BASELINE) },
      ]
    : []),
] as Configuration[]).filter((configuration) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(',').some((name) => configuration.name === name || configuration.name.startsWith('baseline')));

interface Run extends LoadResult {
  name: string;
  round: number;
  mainThreadUs: number;
  processUs: number;
  peakRssMiB: number;
}

async function run(name: string, round: number, script: string, port: number, env: Record<string, string>, setUp?: (url: string) => Promise<void>, beside?: () => ChildProcess, root?: string): Promise<Run> {
  const url = `http://127.0.0.1:${port}`;
  const server = root
    ? await startServer(join(root, 'dist/bench', script), { PORT: String(port), HOST: '127.0.0.1', ...env }, url, [], join(root, 'scripts/register-paths.js'))
    : await startServer(join(__dirname, script), { PORT: String(port), HOST: '127.0.0.1', ...env }, url);
  const projector = beside?.();
  const request = {
    url: `${url}/leads`,
    connections: CONNECTIONS,
    ...(RATE !== undefined && { overallRate: RATE }),
    requests: [{ method: 'POST' as const, headers: { 'content-type': 'application/json' }, setupRequest: (req: object) => ({ ...req, body: newLead() }) }],
  };
  try {
    await setUp?.(url);
    await load({ ...request, duration: 3 }); // warm-up: JIT, SQLite page cache
    const before = cpuMicros(server.pid!);
    const result = await load({ ...request, duration: SECONDS });
    const after = cpuMicros(server.pid!);
    const perRequest = (us: number) => Math.round(us / Math.max(1, result.total));
    return {
      name,
      round,
      ...result,
      mainThreadUs: perRequest(after.mainThread - before.mainThread),
      processUs: perRequest(after.process - before.process),
      peakRssMiB: peakRssMiB(server.pid!),
    };
  } finally {
    await stopServer(server);
    if (projector) await stopServer(projector);
  }
}

function startProjector(env: Record<string, string>): ChildProcess {
  return fork(join(__dirname, '../apps/projector/src/main.js'), [], {
    env: { ...process.env, ...env },
    execArgv: ['-r', require.resolve('../../scripts/register-paths.js')],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
}

async function main() {
  const runs: Run[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    runs.push(await run('bare Fastify 201', round, 'bare-fastify.server.js', FIRST_PORT, {}));
    for (const [index, configuration] of CONFIGURATIONS.entries()) {
      const dataDir = mkdtempSync(join(tmpdir(), 'crm-bench-'));
      const env = { DATA_DIR: dataDir, NODE_ENV: 'benchmark', API_KEYS: '', ...configuration.env };
      try {
        runs.push(
          await run(configuration.name, round, '../apps/api/src/main.js', FIRST_PORT + 1 + index, env, configuration.configure, configuration.projector ? () => startProjector(env) : undefined, configuration.root),
        );
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
    const last = runs.slice(-(CONFIGURATIONS.length + 1));
    console.log(`round ${round}: ${last.map((r) => `${r.name} ${r.requestsPerSecond} req/s`).join(', ')}`);
  }

  const bareOf = (round: number) => runs.find((r) => r.round === round && r.name === 'bare Fastify 201')!;
  const runsOf = (name: string) => runs.filter((r) => r.name === name);
  /** The median over rounds of a ratio taken within each round (the noise of one round falls on both sides). */
  const ratio = (name: string, to: (round: number) => Run) => median(runsOf(name).map((r) => r.requestsPerSecond / to(r.round).requestsPerSecond));
  const names = ['bare Fastify 201', ...CONFIGURATIONS.map((c) => c.name)];
  printTable(`Capture over HTTP — ${CONNECTIONS} connections${RATE === undefined ? '' : `, ${RATE} req/s fixed`}, ${SECONDS} s, ${ROUNDS} rounds alternating, medians — ${machine()}`, [
    ...names.map((name) => {
      const of = runsOf(name);
      const m = (pick: (r: Run) => number) => median(of.map(pick));
      return {
        run: name,
        'req/s': Math.round(m((r) => r.requestsPerSecond)),
        'of bare': ratio(name, bareOf).toFixed(3),
        'p50 ms': m((r) => r.p50),
        'p99 ms': m((r) => r.p99),
        'main-thread µs/req': name.startsWith('bare') ? '—' : m((r) => r.mainThreadUs),
        'process µs/req': m((r) => r.processUs),
        'non-2xx': of.reduce((n, r) => n + r.non2xx + r.errors, 0),
        'peak RSS MiB': m((r) => r.peakRssMiB),
      };
    }),
  ]);
  const ran = (name: string) => runsOf(name).length > 0;
  const of = (name: string) => (round: number) => runs.find((r) => r.round === round && r.name === name)!;
  const cpu = (name: string) => median(runsOf(name).map((r) => r.mainThreadUs));
  /** The three ratios the issues budget, for this build or (prefix 'baseline ') the baseline's. */
  const budgets = (prefix: string, label: string) => {
    const name = (configuration: string) => (prefix ? `${prefix}${configuration === 'default' ? '' : ` ${configuration}`}` : configuration);
    if (ran(name('default'))) console.log(`${label}default / bare Fastify: ${ratio(name('default'), bareOf).toFixed(3)} (issue 13: ≥ 0.20)`);
    if (ran(name('rules+model')))
      console.log(`${label}rules+model / default: ${ratio(name('rules+model'), of(name('default'))).toFixed(3)} req/s, ${cpu(name('rules+model'))} vs ${cpu(name('default'))} main-thread µs/req (issue 16: within 10 %)`);
    if (ran(name('unprotected')))
      console.log(`${label}default (hash chains + encryption on) / unprotected: ${ratio(name('default'), of(name('unprotected'))).toFixed(3)} req/s, ${cpu(name('default'))} vs ${cpu(name('unprotected'))} main-thread µs/req (issue 18: within 15 %)`);
  };
  budgets('', '');
  if (ran('external')) console.log(`external / bare: ${ratio('external', bareOf).toFixed(3)}`);
  if (ran('baseline')) {
    console.log(`default / baseline (${process.env.BENCH_BASELINE}): ${ratio('default', of('baseline')).toFixed(3)} req/s, ${cpu('default')} vs ${cpu('baseline')} main-thread µs/req`);
    budgets('baseline', 'baseline: ');
  }
}

void main();
