// Resolves the `@crm/*` path aliases of tsconfig.json against the compiled output in ./dist,
// so that `node -r ./scripts/register-paths.js dist/...` runs what `tsc` built.
const path = require('node:path');
const { compilerOptions } = require('../tsconfig.json');
require('tsconfig-paths').register({
  baseUrl: path.join(__dirname, '..', 'dist'),
  paths: compilerOptions.paths,
});
