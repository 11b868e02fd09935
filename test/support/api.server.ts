/**
 * The API on the embedded backend in a process of its own, configured by the environment as in
 * production (DATA_DIR, PROJECTOR_LEASE_MS…), that tells its parent its port once it listens.
 * Started by crash-recovery.e2e-spec.ts, which kills it.
 */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../apps/api/src/app.factory';
import { loadAppConfig } from '@crm/runtime/app-config';

/** Starts the API from the environment, and tells the parent process its port. Also used by crash-after-decision.server.ts. */
export async function listenFromEnvironment(): Promise<void> {
  const config = loadAppConfig();
  const app = await createApp(config, { logger: false });
  await app.listen(config.port, config.host);
  process.send?.({ port: (app.getHttpServer().address() as AddressInfo).port });
}

if (require.main === module) void listenFromEnvironment();
