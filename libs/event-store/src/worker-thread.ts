import { join } from 'node:path';
import { ResourceLimits, Worker } from 'node:worker_threads';

/**
 * Starts the worker thread whose entry is `entry` (a path without extension, beside its caller's
 * file). From the compiled build that is the `.js` file, and the worker inherits the process's
 * `-r ./scripts/register-paths.js`. From the TypeScript sources (jest, ts-node) it is the `.ts`
 * file, loaded through scripts/transpile-typescript-on-require.js, since Node itself runs no
 * TypeScript.
 */
export function startWorkerThread(entry: string, workerData: unknown, resourceLimits?: ResourceLimits): Worker {
  if (!__filename.endsWith('.ts')) return new Worker(`${entry}.js`, { workerData, resourceLimits });
  const hook = join(__dirname, '..', '..', '..', 'scripts', 'transpile-typescript-on-require.js');
  const bootstrap = `require(${JSON.stringify(hook)}); require(${JSON.stringify(`${entry}.ts`)});`;
  // No inherited execArgv: the test runner's flags are not the worker's.
  return new Worker(bootstrap, { eval: true, workerData, execArgv: [], resourceLimits });
}
