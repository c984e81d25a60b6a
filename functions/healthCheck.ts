/** Scheduled probe of the primary from the replica's Region (DescribeBroker plus a TCP connect). */
import { handleEvent } from '#lib/orchestrator.ts';
import { runtimeFromEnv } from '#lib/runtime.ts';
import { type HandlerBody, logger, makeHandler, metrics } from './shared.ts';

export const healthCheck: HandlerBody = async (_event, { config, orchestrator, probe }) => {
  const result = await probe.probe();
  return {
    pairId: config.pairId,
    decisions: await handleEvent(orchestrator, { type: 'PROBE', ...result }, { watch: 'after-promote' }),
  };
};

export const handler = makeHandler(healthCheck, runtimeFromEnv(logger), metrics);
