// Lets a child process started by a test run the TypeScript sources directly (transpile only,
// like ts-jest does), with the @crm/* path aliases of tsconfig.json.
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');
const { compilerOptions } = require('../../tsconfig.json');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
    },
  });
  module._compile(outputText, filename);
};
require('tsconfig-paths').register({ baseUrl: path.join(__dirname, '..', '..'), paths: compilerOptions.paths });
