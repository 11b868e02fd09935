import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

export interface ServiceProcess {
  child: ChildProcess;
  base: string;
  /** Everything the process wrote to stdout (its JSON log lines). */
  stdout(): string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** apps/api/src/main.ts in a child process, as `npm start` runs it, on 127.0.0.1 and a free port. */
export async function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const child = fork(join(__dirname, '..', '..', 'apps', 'api', 'src', 'main.ts'), [], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', ...env },
    execArgv: ['-r', join(__dirname, 'register-ts.js')],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let stdout = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const [message] = (await Promise.race([once(child, 'message'), exited.then(() => [undefined])])) as [{ listening: number } | undefined];
  if (!message) throw new Error(`The service exited before listening: ${stdout}`);
  return { child, base: `http://127.0.0.1:${message.listening}`, stdout: () => stdout, exited };
}

export interface CrashingServiceProcess {
  child: ChildProcess;
  base: string;
  exited: Promise<unknown[]>;
  /** SIGKILLs the process unless it has died already (for a finally block). */
  killIfRunning(): void;
}

/**
 * The API on the embedded backend (test/support/crash-after-events.server.ts), SIGKILLed by itself
 * once `count` events of `type` are durably appended; resolves once it listens.
 */
export async function startCrashingService(dataDir: string, crashAfter: { type: string; count: number }, apiKeys: string): Promise<CrashingServiceProcess> {
  const child = fork(join(__dirname, 'crash-after-events.server.ts'), [], {
    env: { ...process.env, DATA_DIR: dataDir, EVENTSTORE_URL: '', MONGODB_URL: '', PORT: '0', HOST: '127.0.0.1', CRASH_AFTER_TYPE: crashAfter.type, CRASH_AFTER_COUNT: String(crashAfter.count), API_KEYS: apiKeys },
    execArgv: ['-r', join(__dirname, 'register-ts.js')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [message] = await once(child, 'message');
  return {
    child,
    base: `http://127.0.0.1:${(message as { port: number }).port}`,
    exited: once(child, 'exit'),
    killIfRunning: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
