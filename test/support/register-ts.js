// Lets a child process started by a test run the TypeScript sources directly (transpile only,
// like ts-jest does), with the @crm/* path aliases of tsconfig.json: the hook the worker threads
// use when they run from the sources.
require('../../scripts/transpile-typescript-on-require.js');
