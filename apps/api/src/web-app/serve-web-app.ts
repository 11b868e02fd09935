import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { problem, PROBLEM_CONTENT_TYPE } from '../common/problem';

export const WEB_APP_PREFIX = '/app';

/**
 * Where `npm run build:web` puts the web app (apps/web): `dist/web` of the repository, found
 * from this file both as TypeScript source (apps/api/src/web-app) and compiled (dist/apps/api/src/web-app).
 */
export function builtWebAppDir(): string | undefined {
  return [resolve(__dirname, '../../../../dist/web'), resolve(__dirname, '../../../../web')].find((dir) => existsSync(join(dir, 'index.html')));
}

/**
 * Serves the analysts' and auditors' web app at /app (open: its pages hold no data, and every
 * call they make sends the user's key). Either way the routes are the same two, `GET /app` and
 * `GET /app/*`, declared open in route-roles.ts; without a build they answer 404 saying how to build it.
 */
export async function serveWebApp(app: NestFastifyApplication, dir = builtWebAppDir()): Promise<void> {
  if (dir) {
    // redirect: /app → /app/ (the page's relative asset URLs need the slash); index.html for /app/.
    await app.register(fastifyStatic, { root: dir, prefix: WEB_APP_PREFIX, redirect: true, index: 'index.html', wildcard: true });
    return;
  }
  const fastify = app.getHttpAdapter().getInstance();
  const notBuilt = problem(404, 'not-found', 'Not Found', 'The web app is not built on this server: run `npm run build:web` (npm start and npm test do it).');
  for (const url of [WEB_APP_PREFIX, `${WEB_APP_PREFIX}/*`]) {
    fastify.get(url, (_request, reply) => reply.code(404).header('content-type', PROBLEM_CONTENT_TYPE).send(notBuilt));
  }
}
