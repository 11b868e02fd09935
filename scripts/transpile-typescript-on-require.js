// Lets a worker thread started from the TypeScript sources (jest with ts-jest, ts-node) require
// .ts files, as ts-jest does for the test itself: each file is transpiled alone (isolatedModules,
// as tsconfig.json says; type checking is `npm run typecheck`'s) and the `@crm/*` aliases resolve
// to the sources. Transpiled files are cached under node_modules/.cache, so that the many app
// starts of the e2e suites load TypeScript (slow to load) only when a source changed.
// The compiled build (dist, the Docker image) never uses this: its workers are plain JavaScript.
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const tsconfigText = fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8');
const { compilerOptions } = JSON.parse(tsconfigText);
const cacheDir = path.join(root, 'node_modules', '.cache', 'crm-worker-typescript');

require('tsconfig-paths').register({ baseUrl: root, paths: compilerOptions.paths });

let transpile;
function transpiler() {
  if (!transpile) {
    const ts = require('typescript');
    const { options } = ts.convertCompilerOptionsFromJson(compilerOptions, root);
    transpile = (source, fileName) => ts.transpileModule(source, { compilerOptions: { ...options, sourceMap: false, inlineSourceMap: true }, fileName }).outputText;
  }
  return transpile;
}

require.extensions['.ts'] = (module, fileName) => {
  const source = fs.readFileSync(fileName, 'utf8');
  const key = createHash('sha256').update(tsconfigText).update('\0').update(fileName).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  let output;
  try {
    output = fs.readFileSync(cached, 'utf8');
  } catch {
    output = transpiler()(source, fileName);
    fs.mkdirSync(cacheDir, { recursive: true });
    // Written aside and renamed: workers starting at once never read half a file.
    const aside = `${cached}.${process.pid}.${require('node:worker_threads').threadId}`;
    fs.writeFileSync(aside, output);
    fs.renameSync(aside, cached);
  }
  module._compile(output, fileName);
};
