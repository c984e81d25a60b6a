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

module.exports = [zodWithoutLocales];
