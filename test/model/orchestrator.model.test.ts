/**
 * Model-based fault test of the orchestrator on the embedded default (see model.ts for the faults and the
 * invariants). `npm test` plays a sample; `npm run test:model` plays MODEL_RUNS (10 000) scenarios. A failing
 * scenario is shrunk by fast-check and printed with its seed; keep it in regressions.ts.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';

// Faults reach the orchestrator's code instead of being absorbed by the SDK's own retries (and their sleeps).
process.env.AWS_MAX_ATTEMPTS = '1';
// The handlers' warnings and errors under injected faults are expected; they would drown the figures. The
// logger reads its level when it is made, so the modules are loaded after this.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
const { Servers } = await import('./harness.ts');
const { play, scenario } = await import('./model.ts');
const { REGRESSIONS } = await import('./regressions.ts');

const RUNS = Number(process.env.MODEL_RUNS ?? 100);
const SEED = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);

let servers: Awaited<ReturnType<typeof Servers.start>>;
beforeAll(async () => {
  servers = await Servers.start();
});
afterAll(async () => {
  await servers?.close();
});

describe('orchestrator under random faults', () => {
  it.each(REGRESSIONS.map((r) => [r.name, r.scenario] as const))('regression: %s', async (_name, s) => {
    await play(servers, s);
  });

  it(`keeps its invariants over ${RUNS} random fault schedules`, { timeout: Math.max(60_000, RUNS * 2_000) }, async () => {
    const started = Date.now();
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        steps += s.steps.length;
        await play(servers, s);
      }),
      { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: false },
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(`model: ${RUNS} scenarios, ${steps} steps in ${seconds.toFixed(1)} s`);
  });
});
