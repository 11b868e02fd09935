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
