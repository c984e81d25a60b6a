/** A switchover's deadline (one-shot EventBridge Scheduler schedule) and the rate(1 minute) backstop sweep. */
import { parseEscalateEvent } from '#lib/events.ts';
import { handleEvent } from '#lib/orchestrator.ts';
import { runtimeFromEnv } from '#lib/runtime.ts';
import { type HandlerBody, logger, makeHandler, metrics } from './shared.ts';

export const escalate: HandlerBody = async (event, { config, orchestrator }) => {
  const parsed = parseEscalateEvent(event, config.pairId);
  return {
    pairId: config.pairId,
    decisions: await handleEvent(orchestrator, parsed, { watch: 'always' }),
    heartbeat: parsed.type === 'SWEEP',
  };
};

export const handler = makeHandler(escalate, runtimeFromEnv(logger), metrics);
