/** What the core's unit tests share: a pair's configuration, the brokers as DescribeBroker shows them, the lag alarm. */
import type { BrokerObservation, CoreConfig, CoreEvent, PairState } from '#lib/core/model.ts';

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

/**
 * The local replica as DescribeBroker shows it given the record: a promotion pending while the record's promotion
 * is accepted and under way (an accepted one that shows nothing pending is gone: lib/mq-facts.ts
 * PROMOTION_SHOWN_WITHIN_MS), nothing pending otherwise. The default observation of the core's unit tests.
 */
export const replicaOf = (state: PairState): BrokerObservation =>
  state.operation?.status === 'SWITCHOVER_IN_PROGRESS' || state.operation?.status === 'FAILOVER_IN_PROGRESS'
    ? { ...replica, promotionPending: true }
    : replica;

export const lagAlarm = (state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' = 'ALARM'): CoreEvent => ({
  type: 'ALARM',
  alarmName: 'orders-replication-lag',
  kind: 'REPLICATION_LAG',
  state,
  previousState: 'OK',
});
