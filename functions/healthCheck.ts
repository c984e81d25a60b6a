/**
 * Scheduled probe of the primary from the replica's Region (DescribeBroker plus a handshake with its endpoints), every
 * PROBE_INTERVAL_SECONDS within the minute of its schedule.
 */
import { timeOf } from '#lib/events.ts';
import { probeRounds } from '#lib/orchestrator.ts';
import { runtimeFromEnv } from '#lib/runtime.ts';
import { type HandlerBody, logger, makeHandler, metrics } from './shared.ts';

export const healthCheck: HandlerBody = async (event, { config, orchestrator, probe }) => {
  // A schedule's delivery retried long after it fired is stale: the core ignores it by this time.
  const sentAt = timeOf(event);
  // A round's probe (its DescribeBroker and handshakes) and the decision's write (a load and a save).
  const reserveMs = config.probeTimeoutMs + 3 * config.timeouts.requestMs;
  return {
    pairId: config.pairId,
    decisions: await probeRounds(orchestrator, () => probe.probe(), { ...(sentAt !== undefined ? { sentAt } : {}), reserveMs }),
  };
};

export const handler = makeHandler(healthCheck, runtimeFromEnv(logger), metrics);
