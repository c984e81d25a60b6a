/**
 * `npm run build:packages`: the two packages this repository ships, built from the sources here.
 *  - packages/dedup (@mq-crdr/dedup): the dedup SDK compiled by tsc to ESM JavaScript with .d.ts files, one
 *    module per source file (packages/dedup/tsconfig.build.json);
 *  - packages/mqdr (@mq-crdr/mqdr): the CLI bundled by esbuild into one ESM file, its npm dependencies left
 *    as imports (they install with it), so plain Node runs it.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('packages/dedup/dist', { recursive: true, force: true });
execFileSync('npx', ['tsc', '-p', 'packages/dedup/tsconfig.build.json'], { stdio: 'inherit' });

rmSync('packages/mqdr/dist', { recursive: true, force: true });
await build({
  entryPoints: ['packages/mqdr/src/bin.ts'],
  outfile: 'packages/mqdr/dist/mqdr.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // npm packages stay imports (the package's dependencies); the repository's own modules are bundled.
  packages: 'external',
  logLevel: 'warning',
});
console.log('built packages/dedup/dist and packages/mqdr/dist');
