/** What the core's unit tests share: a pair's configuration, the brokers as DescribeBroker shows them, the lag alarm. */
import type { BrokerObservation, CoreConfig, CoreEvent } from '#lib/core/model.ts';

export const T0 = Date.parse('2026-11-23T09:00:00Z');
export const MIN = 60_000;

/** One stack alone (no Region, no fail-back policy): a 10-minute deadline, a 15-minute cooldown, 3 probes. */
export const coreConfig: CoreConfig = {
  pairId: 'orders',
  deadlineMs: 600_000,
  cooldownMs: 900_000,
  probeFailureThreshold: 3,
  promoteRetryAfterMs: 120_000,
  maxPromoteAttempts: 3,
  dryRun: false,
};

export const replica: BrokerObservation = { role: 'REPLICA', brokerState: 'REPLICA', promotionPending: false };
export const primary: BrokerObservation = { role: 'PRIMARY', brokerState: 'RUNNING', promotionPending: false };

export const lagAlarm = (state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' = 'ALARM'): CoreEvent => ({
  type: 'ALARM',
  alarmName: 'orders-replication-lag',
  kind: 'REPLICATION_LAG',
  state,
  previousState: 'OK',
});
