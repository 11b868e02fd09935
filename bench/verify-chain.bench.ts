import 'reflect-metadata';
import { HashChainingEventStore, SqliteEventStore } from '@crm/event-store';
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedDatabaseFile } from '@crm/runtime/event-store.module';
import { loadLeadHistory } from './lead-history';
import { machine, printTable } from './support';

/**
 * `crm verify --chain` over the history of bench:catch-up, written through the hash-chaining
 * store as the service writes it: the CLI runs in a process of its own on that data folder, and
 * its wall time and peak RSS (sampled from /proc) are what is quoted.
 *   npm run bench:verify-chain                (1,000,000 events)
 *   BENCH_EVENTS=200000 npm run bench:verify-chain
 */
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);

function rssMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : 0;
  } catch {
    return 0; // the process has just exited
  }
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'crm-verify-chain-bench-'));
  try {
    const store = new HashChainingEventStore(SqliteEventStore.open(embeddedDatabaseFile(dataDir)));
    const loadStart = Date.now();
    const head = await loadLeadHistory(store, EVENTS);
    const loadSeconds = (Date.now() - loadStart) / 1000;
    await store.close();

    const cli = join(__dirname, '..', 'apps', 'cli', 'src', 'main.js');
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, ['-r', join(__dirname, '..', '..', 'scripts', 'register-paths.js'), cli, 'verify', '--chain'], {
      env: { PATH: process.env.PATH, DATA_DIR: dataDir },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(child.pid!, 'VmHWM'))), 50);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    clearInterval(sampler);
    if (code !== 0 || !stderr.includes('every hash chain holds')) throw new Error(`crm verify --chain did not pass (exit ${code}): ${stderr}`);
    printTable(`crm verify --chain over ${Number(head).toLocaleString('en')} events (${(EVENTS / 5).toLocaleString('en')} streams) — embedded SQLite — ${machine()}`, [
      { events: Number(head), 'verify --chain s': seconds.toFixed(1), 'events/s': Math.round(Number(head) / seconds), 'peak RSS MiB (sampled)': peak },
    ]);
    console.log(`load through the hash-chaining store ${loadSeconds.toFixed(0)} s; CLI said: ${stderr.trim()}`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main();
