/**
 * The scheduled readiness evaluation (every 10 minutes): would a failover work now? Changes in which checks fail
 * go into the timeline and the notifications (the core records each change once); every run publishes how many
 * fail, which the stack's alarm watches.
 */
import { handleEvent } from '#lib/orchestrator.ts';
import { CheckStatus, evaluateReadiness } from '#lib/readiness.ts';
import { runtimeFromEnv } from '#lib/runtime.ts';
import { type HandlerBody, logger, makeHandler, metrics } from './shared.ts';

export const readiness: HandlerBody = async (_event, runtime) => {
  const result = await evaluateReadiness(runtime);
  const failing = result.checks
    .filter((c) => c.status === CheckStatus.FAIL)
    .map((c) => ({ id: c.id, detail: c.detail, ...(c.fix ? { fix: c.fix } : {}) }));
  return {
    pairId: runtime.config.pairId,
    decisions: await handleEvent(runtime.orchestrator, { type: 'READINESS', failing }),
    gauges: [{ name: 'ReadinessChecksFailing' as const, value: failing.length }],
  };
};

export const handler = makeHandler(readiness, runtimeFromEnv(logger), metrics);
