import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { configureRulesAndModel } from './capture-configurations';
import { load, machine, startServer, stopServer } from './support';

/**
 * Where `POST /leads` spends the main thread's time: the built API (embedded default, or what the
 * environment configures) runs under `node --cpu-prof` while autocannon captures new leads (50
 * connections, 3 s warm-up, then BENCH_SECONDS); the profile is summarised as µs of main-thread
 * CPU per request, by function (self time) and by area. The summary is what `bench/profiles/`
 * keeps; the raw profile stays in the temporary folder when PROFILE_KEEP is set.
 *   npm run bench:capture-profile
 *   BENCH_SECONDS=10 PROJECTOR=external npm run bench:capture-profile
 *   PROFILE_THREADS=all npm run bench:capture-profile   (the worker threads summarised too)
 *   BENCH_RATE=1500 npm run bench:capture-profile         (at a fixed rate: on a busy machine two builds or
 *                                                          configurations compare better so, as in bench:capture)
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const TOP = Number(process.env.PROFILE_TOP ?? 30);
const RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
const lead = { lastName: 'Lovelace', firstName: 'Ada', company: 'Analytical Engines', source: 'Web', annualRevenue: 125000 };

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The build whose service is profiled (this one, or BENCH_BASELINE's). */
const root = process.env.BENCH_BASELINE ? resolve(process.env.BENCH_BASELINE) : join(__dirname, '..', '..');
/** The area a function belongs to: a package, a folder of this project, or V8's own entries. */
function area(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const path = url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1];
  if (path.startsWith('node:')) return 'node:' + path.slice(5).split('/')[0];
  const own = relative(join(root, 'dist'), path);
  if (!own.startsWith('..')) return own.replace(/\.js$/, '');
  return path;
}

function summarise(profile: CpuProfile, requests: number, fromUs: number, toUs: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let busy = 0;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < fromUs || t > toUs) continue;
    const delta = profile.timeDeltas[i + 1] ?? 0; // a sample stands for the time until the next one
    const node = byId.get(profile.samples[i])!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    busy += delta;
    const short = url ? `${area(url, functionName)}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${short}`.trim();
    self.set(key, (self.get(key) ?? 0) + delta);
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + delta);
    // Inclusive time of this project's functions (each counted once per sample, however deep its recursion).
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (!frame.url || frame.url.includes('node_modules') || !frame.url.includes('/dist/')) continue;
      const k = `${frame.functionName || '(anonymous)'} ${area(frame.url, frame.functionName)}:${frame.lineNumber + 1}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + delta);
    }
  }
  const perRequest = (us: number) => (us / requests).toFixed(1);
  const lines = [`main thread busy: ${perRequest(busy)} µs per request (${requests} requests, ${((toUs - fromUs) / 1e6).toFixed(1)} s measured)`, '', '| area | µs/request |', '|---|---|'];
  for (const [name, us] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, 20)) lines.push(`| ${name} | ${perRequest(us)} |`);
  lines.push('', `| function (self time), top ${TOP} | µs/request |`, '|---|---|');
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) lines.push(`| ${name.replace(/\|/g, '\\|')} | ${perRequest(us)} |`);
  lines.push('', `| this project's function (inclusive), top ${TOP} | µs/request |`, '|---|---|');
  for (const [name, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, TOP)) lines.push(`| ${name.replace(/\|/g, '\\|')} | ${perRequest(us)} |`);
  return lines.join('\n');
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'crm-profile-'));
  const profileDir = join(dataDir, 'profile');
  const port = Number(process.env.BENCH_PORT ?? 3911); // another port where two benches share the machine
  const url = `http://127.0.0.1:${port}`;
  // BENCH_BASELINE=<folder>: profile another build of this project (its dist/ and scripts/), for the "before".
  const server = await startServer(
    join(root, 'dist/apps/api/src/main.js'),
    { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: join(dataDir, 'data'), NODE_ENV: 'benchmark', API_KEYS: '', ...configuredEnv() },
    url,
    ['--cpu-prof', '--cpu-prof-dir', profileDir],
    join(root, 'scripts/register-paths.js'),
  );
  const request = {
    url: `${url}/leads`,
    connections: 50,
    ...(RATE !== undefined && { overallRate: RATE }),
    requests: [{ method: 'POST' as const, headers: { 'content-type': 'application/json' }, setupRequest: (req: object) => ({ ...req, body: JSON.stringify({ ...lead, email: `${randomUUID()}@example.com` }) }) }],
  };
  try {
    await setUp(url);
    await load({ ...request, duration: 3 });
    const from = now();
    const result = await load({ ...request, duration: SECONDS });
    const to = now();
    await stopServer(server);
    // One file per thread, named CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile: the main thread is thread 0.
    const files = readdirSync(profileDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => ({ file: f, thread: Number(f.split('.')[4]) }))
      .sort((a, b) => a.thread - b.thread);
    if (files.length === 0 || files[0].thread !== 0) throw new Error('the service wrote no profile of its main thread');
    console.log(`# POST /leads profile — ${machine()}\n`);
    console.log(`${result.requestsPerSecond} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, non-2xx ${result.non2xx}; environment: ${describeEnv()}\n`);
    // PROFILE_THREADS=all: the worker threads too (the event log's writer, the projector), each summarised alike.
    for (const { file, thread } of process.env.PROFILE_THREADS === 'all' ? files : files.slice(0, 1)) {
      const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
      if (from < profile.startTime || to > profile.endTime) throw new Error(`the profile of thread ${thread} does not cover the measured window`);
      // The profile's clock is the process's monotonic clock in µs; ours is the same clock (hrtime) in this process.
      if (thread !== 0) console.log(`\n## Worker thread ${thread}\n`);
      console.log(summarise(profile, result.total, from, to).replace(/^main thread busy/, thread === 0 ? 'main thread busy' : 'thread busy'));
      if (process.env.PROFILE_KEEP) console.log(`\nraw profile: ${join(profileDir, file)}`);
    }
  } finally {
    await stopServer(server);
    if (!process.env.PROFILE_KEEP) rmSync(dataDir, { recursive: true, force: true });
  }
}

const now = () => Number(process.hrtime.bigint() / 1000n);
/** The service's own variables pass through (PROJECTOR, BENCH_EVENT_PROTECTION…); BENCH_RULES=1 configures bench:capture's rules and scoring model first. */
const configuredEnv = (): Record<string, string> => ({});
const describeEnv = () => ['PROJECTOR', 'BENCH_EVENT_PROTECTION', 'BENCH_RULES', 'BENCH_BASELINE', 'BENCH_RATE'].map((k) => `${k}=${process.env[k] ?? '(default)'}`).join(' ');
const setUp = (url: string) => (process.env.BENCH_RULES === '1' ? configureRulesAndModel(url) : Promise.resolve());

void main();
