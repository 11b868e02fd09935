import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The analysts' and auditors' web app, served by the API at /app from dist/web (see
 * apps/api/src/web-app). Everything is bundled: the API's Content-Security-Policy
 * (default-src 'self') allows no CDN and no inline script.
 */
const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/app/',
  build: {
    outDir: resolve(here, '../../dist/web'),
    emptyOutDir: true,
    // Charts are most of the bundle; one chunk is fine for an internal tool.
    chunkSizeWarningLimit: 400,
  },
});
