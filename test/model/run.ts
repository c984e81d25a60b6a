/**
 * `npm run test:model`: plays RUNS random fault schedules split over WORKERS processes, each with its own
 * simulator and dynalite, and prints the figures. A failure prints the scenario fast-check shrank it to, ready
 * to keep as a regression, and exits 1. `--model single` (model.ts): the replica Region's orchestrator;
 * `--model pair` (pair-model.ts): both Regions' orchestrators, the pair as deployed.
 *
 *   tsx test/model/run.ts [--model single|pair] [--runs 10000] [--workers 2] [--seed N]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import fc from 'fast-check';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '2' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000_000) },
    model: { type: 'string', default: 'single' },
    /** A scenario still playing after this long has hung: a failure like any other. */
    timeout: { type: 'string', default: '20000' },
  },
});
const runs = Number(values.runs);
const workers = Number(values.workers);
const seed = Number(values.seed);
const model = values.model;
if (
  !Number.isInteger(runs) ||
  runs < 1 ||
  !Number.isInteger(workers) ||
  workers < 1 ||
  !Number.isInteger(seed) ||
  (model !== 'single' && model !== 'pair')
) {
  console.error('usage: tsx test/model/run.ts [--model single|pair] [--runs N] [--workers N] [--seed N] (positive integers)');
  process.exit(2);
}

if (workers > 1) {
  const started = Date.now();
  const share = (i: number) => Math.floor(runs / workers) + (i < runs % workers ? 1 : 0);
  const codes = await Promise.all(
    Array.from(
      { length: workers },
      (_, i) =>
        new Promise<number>((resolve) => {
          const child = spawn(
            process.execPath,
            [
              ...process.execArgv,
              process.argv[1] as string,
              '--runs',
              String(share(i)),
              '--workers',
              '1',
              '--seed',
              String(seed + i),
              '--model',
              model,
              '--timeout',
              values.timeout,
            ],
            { stdio: ['ignore', 'inherit', 'inherit'] },
          );
          child.once('exit', (code) => resolve(code ?? 1));
        }),
    ),
  );
  const failed = codes.filter((c) => c !== 0).length;
  console.log(
    `model: ${runs} scenarios over ${workers} workers in ${((Date.now() - started) / 1000).toFixed(1)} s; ${failed} worker(s) failed`,
  );
  process.exit(failed === 0 ? 0 : 1);
}

// Faults reach the orchestrator's code instead of being absorbed by the SDK's own retries (and their sleeps).
process.env.AWS_MAX_ATTEMPTS = '1';
// Warnings and errors under injected faults are expected; the logger reads its level when it is made.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
const started = Date.now();
let steps = 0;
let played = 0;
const progress = () => {
  if (++played % Number(process.env.MODEL_PROGRESS ?? 500) === 0)
    console.log(`seed ${seed}: ${played} played (shrinking included), ${((Date.now() - started) / 1000).toFixed(0)} s`);
};
const options = { numRuns: runs, seed, timeout: Number(values.timeout) };
// biome-ignore lint/suspicious/noExplicitAny: either model's run details; only the common fields are read
let details: fc.RunDetails<[any]>;
let close = async () => {};
if (model === 'pair') {
  const { pairScenario, playPair, pairStats } = await import('./pair-model.ts');
  close = async () => console.log(`seed ${seed}: reached ${JSON.stringify(Object.fromEntries(pairStats))}`);
  details = await fc.check(
    fc.asyncProperty(pairScenario, (s) => {
      steps += s.steps.length;
      progress();
      return playPair(s);
    }),
    options,
  );
} else {
  const { Servers } = await import('./harness.ts');
  const { play, scenario } = await import('./model.ts');
  const servers = await Servers.start();
  close = () => servers.close();
  details = await fc.check(
    fc.asyncProperty(scenario, (s) => {
      steps += s.steps.length;
      progress();
      return play(servers, s);
    }),
    options,
  );
}
const seconds = (Date.now() - started) / 1000;
console.log(`seed ${seed} (${model}): ${details.numRuns} scenarios, ${steps} steps played in ${seconds.toFixed(1)} s`);
if (details.failed) {
  console.log(`FAILED (${details.numShrinks} shrinks): ${String((details.errorInstance as Error | undefined)?.message)}`);
  console.log(JSON.stringify(details.counterexample?.[0]));
}
await close();
process.exit(details.failed ? 1 : 0);
