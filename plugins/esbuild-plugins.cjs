'use strict';
/**
 * esbuild plugins for the Lambda bundles (serverless-esbuild loads this file).
 *
 * zod's namespace export `z.locales` keeps every one of its ~40 error-message locales in each bundle (267 KB of
 * a function's 1.5 MB), because a namespace object cannot be tree-shaken. zod configures English itself
 * (it imports locales/en.js directly) and nothing here reads `z.locales`, so the index of locales is replaced
 * by an empty module. The error messages stay the same.
 */
const path = require('node:path');

const zodWithoutLocales = {
  name: 'zod-without-locales',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}zod${path.sep}`) ? { path: 'zod-locales', namespace: 'zod-locales' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

/**
 * With code splitting, the clients a function imports lazily (SSM, SNS, Scheduler, CloudWatch: `import()` in
 * lib/runtime.ts) become chunks that a cold start does not load. serverless-esbuild builds every function into
 * one directory, and would zip every function's chunks into each zip; named `<function>.chunks/…`, the chunks
 * of the other functions are left out of a function's zip by the same rule that leaves out their bundles
 * (`<bundle>.` prefixes).
 */
const chunksPerFunction = {
  name: 'chunks-per-function',
  setup(build) {
    const options = build.initialOptions;
    if (!options.splitting) return;
    const entries = Array.isArray(options.entryPoints) ? options.entryPoints : [];
    if (entries.length !== 1 || typeof entries[0] !== 'string') return;
    const name = path.basename(entries[0]).replace(/\.[^.]+$/, '');
    options.chunkNames = `${name}.chunks/[name]-[hash]`;
  },
};

module.exports = [zodWithoutLocales, chunksPerFunction];
