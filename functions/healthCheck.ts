/** Scheduled probe of the primary from the replica's Region (DescribeBroker plus a handshake with its endpoints). */
import { timeOf } from '#lib/events.ts';
import { handleEvent } from '#lib/orchestrator.ts';
import { runtimeFromEnv } from '#lib/runtime.ts';
import { type HandlerBody, logger, makeHandler, metrics } from './shared.ts';

export const healthCheck: HandlerBody = async (event, { config, orchestrator, probe }) => {
  // A schedule's delivery retried long after it fired is stale: the core ignores it by this time.
  const sentAt = timeOf(event);
  const result = await probe.probe();
  return {
    pairId: config.pairId,
    decisions: await handleEvent(
      orchestrator,
      { type: 'PROBE', ...result, ...(sentAt !== undefined ? { sentAt } : {}) },
      { watch: 'after-promote' },
    ),
  };
};

export const handler = makeHandler(healthCheck, runtimeFromEnv(logger), metrics);
