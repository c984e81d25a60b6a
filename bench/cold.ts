/**
 * `npm run bench:cold [-- --runs 15]`: each Lambda function's bundle, side by side with a minimal Powertools +
 * DynamoDB handler (bench/baseline-handler.ts) bundled the same way: the esbuild options are read from
 * serverless.yml's custom.esbuild (format, target, minify, source map, banner, plugins, main fields), as the package step
 * uses them, code splitting included. Printed per function: the zipped size (deflate of every file it ships, as in
 * the deployment zip), the median cold init (a fresh Node process importing the bundle: module loading and
 * top-level code, what a Lambda cold start pays before the first invocation; chunks imported lazily load later,
 * on the path that needs them) measured in turns with the baseline's, and both as ratios to the baseline.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { parse } from 'yaml';
import { commandLine } from '#dedup/command-line.ts';

const { values } = commandLine(
  'bench:cold',
  'usage: npm run bench:cold -- [--runs 15]\n\nZip size and cold init of every function, against a minimal Powertools + DynamoDB handler.',
  { runs: { type: 'string', default: '15' } },
  { versionOf: import.meta.url },
);
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 3 || runs > 101) {
  console.error('bench:cold: --runs takes a whole number from 3 to 101');
  process.exit(2);
}

// serverless.yml uses CloudFormation tags (!Ref, !Sub …): read them as plain values, only custom.esbuild matters.
const config = parse(readFileSync('serverless.yml', 'utf8'), {
  customTags: ['Ref', 'Sub', 'GetAtt', 'Equals', 'If', 'Join', 'Select', 'Split'].flatMap((name) =>
    (['scalar', 'seq', 'map'] as const).map((kind) => ({
      tag: `!${name}`,
      ...(kind === 'scalar' ? {} : { collection: kind }),
      resolve: (value: unknown) => value,
    })),
  ),
}) as { custom: { esbuild: Record<string, unknown> }; functions: Record<string, { handler: string }> };
const esb = config.custom.esbuild;
const plugins =
  typeof esb.plugins === 'string' ? (createRequire(import.meta.url)(join(process.cwd(), esb.plugins)) as Plugin[]) : [];
const out = mkdtempSync(join(tmpdir(), 'bench-cold-'));

async function bundle(name: string, entry: string): Promise<{ file: string; bytes: number; zipped: number }> {
  const dir = join(out, name);
  await build({
    entryPoints: [entry],
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: esb.format as 'esm',
    target: esb.target as string,
    minify: esb.minify === true,
    keepNames: esb.keepNames === true,
    sourcemap: esb.sourcemap === true,
    splitting: esb.splitting === true,
    ...(Array.isArray(esb.mainFields) ? { mainFields: esb.mainFields as string[] } : {}),
    banner: esb.banner as Record<string, string>,
    plugins,
    logLevel: 'error',
  });
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  let bytes = 0;
  let zipped = 0;
  for (const f of files) {
    const code = readFileSync(join(f.parentPath, f.name));
    bytes += code.length;
    zipped += deflateRawSync(code, { level: 6 }).length;
  }
  return { file: join(dir, `${basename(entry).replace(/\.ts$/, '')}.mjs`), bytes, zipped };
}

/**
 * A fresh Node process importing the bundle (its handler is not called): the wall time of the import, and the
 * CPU time the process spent on it (parsing, compiling, running top-level code, on every thread), which a busy
 * machine does not inflate as it does the wall time. On Lambda the init phase has its CPU to itself, so its
 * wall time follows the CPU time.
 */
function importMs(file: string): { wall: number; cpu: number } {
  const probe = join(out, 'probe.mjs');
  writeFileSync(
    probe,
    `const c = process.cpuUsage(); const t = performance.now(); await import(${JSON.stringify(file)}); const u = process.cpuUsage(c); console.log(performance.now() - t, (u.user + u.system) / 1000);`,
  );
  const out_ = execFileSync(process.execPath, [probe], {
    env: { ...process.env, AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'SILENT', NODE_NO_WARNINGS: '1' },
    encoding: 'utf8',
  });
  const [wall, cpu] = (out_.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  return { wall: wall ?? Number.NaN, cpu: cpu ?? Number.NaN };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/**
 * The function's and the baseline's cold init, measured in turns (baseline, function, baseline, …) so that a
 * machine whose load drifts during the run weighs on both alike: medians, and the median of the paired ratios.
 */
function coldInit(file: string, baselineFile: string) {
  const pairs: Array<[{ wall: number; cpu: number }, { wall: number; cpu: number }]> = [];
  for (let i = 0; i < runs; i++) pairs.push([importMs(baselineFile), importMs(file)]);
  return {
    cpu: median(pairs.map(([, f]) => f.cpu)),
    baseCpu: median(pairs.map(([b]) => b.cpu)),
    cpuRatio: median(pairs.map(([b, f]) => f.cpu / b.cpu)),
    wallRatio: median(pairs.map(([b, f]) => f.wall / b.wall)),
  };
}

const baseline = await bundle('baseline', 'bench/baseline-handler.ts');
const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
console.log(
  `cold init: ${runs} fresh Node ${process.versions.node} processes importing each bundle, in turns with the baseline; medians\n`,
);
console.log(
  `${'function'.padEnd(22)} ${'zip'.padStart(8)} ${'x base'.padStart(7)} ${'init CPU'.padStart(9)} ${'baseline'.padStart(9)} ${'x base'.padStart(7)} ${'wall x'.padStart(7)}`,
);
console.log(`${'baseline (Powertools+DDB)'.padEnd(22).slice(0, 22)} ${kb(baseline.zipped).padStart(8)} ${'1.00'.padStart(7)}`);
for (const [name, fn] of Object.entries(config.functions)) {
  const b = await bundle(name, `${fn.handler.replace(/\.handler$/, '')}.ts`);
  const m = coldInit(b.file, baseline.file);
  console.log(
    `${name.padEnd(22)} ${kb(b.zipped).padStart(8)} ${(b.zipped / baseline.zipped).toFixed(2).padStart(7)} ${`${m.cpu.toFixed(1)} ms`.padStart(9)} ${`${m.baseCpu.toFixed(1)} ms`.padStart(9)} ${m.cpuRatio.toFixed(2).padStart(7)} ${m.wallRatio.toFixed(2).padStart(7)}`,
  );
}
