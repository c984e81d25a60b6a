/** CloudWatch alarm state changes of the pair's replication-lag and primary-health alarms. */
import { parseAlarmEvent } from '#lib/events.ts';
import { handleEvent } from '#lib/orchestrator.ts';
import { runtimeFromEnv } from '#lib/runtime.ts';
import { type HandlerBody, logger, makeHandler, metrics } from './shared.ts';

export const onAlarm: HandlerBody = async (event, { config, orchestrator }) => {
  const alarm = parseAlarmEvent(event, config);
  if (!alarm)
    return {
      pairId: config.pairId,
      decisions: [],
      ignored: 'alarm is neither listed for this pair nor on a replication-lag metric',
    };
  return { pairId: config.pairId, decisions: await handleEvent(orchestrator, alarm, { watch: 'after-promote' }) };
};

export const handler = makeHandler(onAlarm, runtimeFromEnv(logger), metrics);
