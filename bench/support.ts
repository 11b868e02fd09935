import autocannon from 'autocannon';
import { ChildProcess, fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** Starts a compiled script in a child process and resolves once it answers on `url`. */
export async function startServer(script: string, env: Record<string, string>, url: string, nodeOptions: string[] = [], registerPaths = require.resolve('../../scripts/register-paths.js')): Promise<ChildProcess> {
  const child = fork(script, [], {
    env: { ...process.env, ...env },
    execArgv: [...nodeOptions, '-r', registerPaths],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      await fetch(url, { method: 'GET' });
      return child;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`${script} did not start`);
}

export async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** Starts this process's peak RSS (VmHWM) afresh, where Linux allows it: each row of a bench then shows its own. */
export function resetPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux, or not allowed: the peak stays the process's so far
  }
}

/** Peak resident memory of a process (Linux), in MiB. */

export function peakRssMiB(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
}

export async function load(options: autocannon.Options): Promise<LoadResult> {
  const result = await autocannon(options);
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export function printTable(title: string, rows: Record<string, string | number>[]): void {
  console.log(`\n${title}`);
  console.table(rows);
}

/**
 * CPU time a process has used so far, in µs: its main thread (the event loop; on Linux its
 * thread id is the process id) and the whole process (worker threads, libuv's pool, GC helpers).
 */
export function cpuMicros(pid: number): { mainThread: number; process: number } {
  const ticks = (stat: string) => {
    // Fields after the command name (in parentheses, which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const microsPerTick = 1e6 / CLOCK_TICKS_PER_SECOND;
  return {
    mainThread: ticks(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')) * microsPerTick,
    process: ticks(readFileSync(`/proc/${pid}/stat`, 'utf8')) * microsPerTick,
  };
}
/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS_PER_SECOND = 100;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
