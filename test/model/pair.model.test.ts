/**
 * Model-based fault test of the pair as deployed: both Regions' orchestrators (see pair-model.ts for the faults
 * and the invariants). `npm test` plays a sample; `tsx test/model/run.ts --model pair --runs 10000` plays the
 * full run. A failing schedule is shrunk by fast-check and printed with its seed.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';

// Faults reach the orchestrator's code instead of being absorbed by the SDK's own retries (and their sleeps);
// the handlers' warnings under injected faults are expected. Both are read when the modules load.
process.env.AWS_MAX_ATTEMPTS = '1';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
const { pairScenario, playPair } = await import('./pair-model.ts');

const RUNS = Number(process.env.PAIR_MODEL_RUNS ?? 30);
const SEED = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);

describe('the pair, both Regions, under random faults', () => {
  it(`keeps its invariants over ${RUNS} random fault schedules`, { timeout: Math.max(60_000, RUNS * 4_000) }, async () => {
    const started = Date.now();
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(pairScenario, async (s) => {
        steps += s.steps.length;
        await playPair(s);
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: false },
    );
    console.log(`pair model: ${RUNS} schedules, ${steps} steps in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
