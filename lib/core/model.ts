/**
 * Domain model of the orchestrator: the state of one CRDR broker pair as seen from the replica's Region, and
 * what the pair view publishes of it. No I/O lives here.
 */
import type { Action } from './contract.ts';

export const Mode = { SWITCHOVER: 'SWITCHOVER', FAILOVER: 'FAILOVER' } as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

/**
 * Status of the pair's current (or last) operation.
 *
 *   IDLE ──start──▶ SWITCHOVER_REQUESTED ──Promote accepted──▶ SWITCHOVER_IN_PROGRESS ──observed primary──▶ COMPLETED
 *                          │                                          │
 *                          └────────── deadline / operator ───────────┴──▶ FAILOVER_REQUESTED (escalated)
 *                                                                            │ Promote accepted
 *   IDLE ──operator failover──▶ FAILOVER_REQUESTED ──────────────────────────▶ FAILOVER_IN_PROGRESS ──observed──▶ COMPLETED
 *
 * Any *_REQUESTED whose Promote is rejected for good ends FAILED. An operation in flight ends SUPERSEDED when
 * the other Region's orchestrator promoted its broker after it started and the local broker is a replica with
 * nothing pending (its promotion is moot), and ABANDONED when an operator ends it. COMPLETED, FAILED, SUPERSEDED
 * and ABANDONED are at rest: a new operation may start from them (after the cooldown), as from IDLE.
 */
export const OperationStatus = {
  IDLE: 'IDLE',
  SWITCHOVER_REQUESTED: 'SWITCHOVER_REQUESTED',
  SWITCHOVER_IN_PROGRESS: 'SWITCHOVER_IN_PROGRESS',
  FAILOVER_REQUESTED: 'FAILOVER_REQUESTED',
  FAILOVER_IN_PROGRESS: 'FAILOVER_IN_PROGRESS',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  SUPERSEDED: 'SUPERSEDED',
  ABANDONED: 'ABANDONED',
} as const;
export type OperationStatus = (typeof OperationStatus)[keyof typeof OperationStatus];

export const IN_FLIGHT: ReadonlySet<OperationStatus> = new Set([
  OperationStatus.SWITCHOVER_REQUESTED,
  OperationStatus.SWITCHOVER_IN_PROGRESS,
  OperationStatus.FAILOVER_REQUESTED,
  OperationStatus.FAILOVER_IN_PROGRESS,
]);

export const Role = { PRIMARY: 'PRIMARY', REPLICA: 'REPLICA', UNKNOWN: 'UNKNOWN' } as const;
export type Role = (typeof Role)[keyof typeof Role];

export const AlarmKind = { REPLICATION_LAG: 'REPLICATION_LAG', PRIMARY_HEALTH: 'PRIMARY_HEALTH' } as const;
export type AlarmKind = (typeof AlarmKind)[keyof typeof AlarmKind];

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** What DescribeBroker of the local (replica-Region) broker showed when the event was handled. */
export interface BrokerObservation {
  role: Role;
  /** brokerState as the API returns it (RUNNING, REPLICA, REBOOT_IN_PROGRESS, ...), or UNREACHABLE. */
  brokerState: string;
  /** The API lists a pending role change: a promotion (or demotion) is under way. */
  promotionPending: boolean;
  /** Why the observation failed, when role is UNKNOWN. */
  error?: string;
  /** The broker's name, for its CloudWatch `Broker` dimension; the core does not read it. */
  brokerName?: string;
  /** The broker DescribeBroker names as this one's replication counterpart (`dataReplicationCounterpart`). */
  counterpart?: { brokerId: string; region: string };
}

/**
 * One minute of a broker's CRDR metrics while it was the primary (lib/mq-facts.ts): the Maximum over the
 * minute and over its two instances, in their units. Either measure may be missing from a minute.
 */
export interface ReplicationPoint {
  at: number;
  /** Published by this Region's own broker (when it was the primary), not by the other Region's. */
  local: boolean;
  /** QueueSize: replication events (messages, acks, transactions) not yet acknowledged by the replica. */
  events?: number;
  /** TotalReplicationLag, in seconds. */
  lagSeconds?: number;
}

/** Why an RPO is unknown. */
export const RpoUnknown = {
  /** No datapoint of the primary could be read. */
  NO_DATAPOINT: 'NO_DATAPOINT',
  /** The primary's last datapoint is older than MAX_DATAPOINT_AGE_MS. */
  STALE: 'STALE',
  /** The only datapoints are this Region's broker's, from when it was the primary: not the broker left behind. */
  OTHER_BROKER: 'OTHER_BROKER',
  /** A break-glass failover: decided while nothing could be read. */
  NOT_READ: 'NOT_READ',
} as const;
export type RpoUnknown = (typeof RpoUnknown)[keyof typeof RpoUnknown];

/**
 * The RPO estimate of an operation: what the primary had not replicated when the replica was promoted, from
 * the primary's own datapoint. A switchover's is 0 (it completes only once nothing is left).
 */
export interface RpoEstimate {
  /** QueueSize: events not replicated; null when unknown. */
  events: number | null;
  /** TotalReplicationLag, seconds; null when unknown. */
  lagSeconds: number | null;
  /** When the datapoint was measured, and how old it was when the decision was made. */
  measuredAt?: number;
  ageMs?: number;
  unknown?: RpoUnknown;
}

/**
 * Pointing clients at the new primary once its promotion is observed complete. PENDING until the redirector
 * reports it done (retried by the sweep, with backoff); FAILED after the last attempt; SUPERSEDED when the
 * local broker stopped being the primary before it was done.
 */
export interface Redirect {
  status: 'PENDING' | 'DONE' | 'FAILED' | 'SUPERSEDED';
  attempts: number;
  requestedAt: number;
  /** What the redirector wrote, once DONE. */
  target?: string;
  doneAt?: number;
}

/**
 * Who started an operation: an alarm or a probe, an operator through this orchestrator (API, CLI, ARC plan), or
 * someone outside it (the console, the AWS CLI, an ARC plan without the step): a promotion observed, not sent.
 */
export const Origin = { AUTOMATIC: 'AUTOMATIC', OPERATOR: 'OPERATOR', EXTERNAL: 'EXTERNAL' } as const;
export type Origin = (typeof Origin)[keyof typeof Origin];

/**
 * What a promotion does to automatic promotion in the other direction (under FAILBACK_POLICY=manual), decided once,
 * when it is first recorded:
 *  - DISARMS: automatic triggers may not reverse it until an operator re-arms (every automatic promotion, and an
 *    operator's move that reverses nothing disarming);
 *  - UNCERTAIN: disarms too; this Region could not know what it reversed (the pair view unreadable, or behind the
 *    local broker's demotion), so a reversal of it by hand does not count as a fail-back either;
 *  - FAILBACK: an operator's reversal by hand of a promotion that disarmed: it re-arms, and disarms nothing;
 *  - ALONE: one stack without a pair view: nothing to reverse.
 */
export const Reversal = { DISARMS: 'DISARMS', UNCERTAIN: 'UNCERTAIN', FAILBACK: 'FAILBACK', ALONE: 'ALONE' } as const;
export type Reversal = (typeof Reversal)[keyof typeof Reversal];

/** Whether a promotion keeps automatic triggers from reversing it. */
export const disarmsReversal = (r: Reversal): boolean => r === Reversal.DISARMS || r === Reversal.UNCERTAIN;

export interface Operation {
  id: string;
  mode: Mode;
  status: OperationStatus;
  origin: Origin;
  /** What started it, for people: `alarm:<name>`, `health-check` or `operator:<name>`. */
  trigger: string;
  /**
   * The first evidence of what it answers: the first failed probe of the streak (or of the window), the alarm's
   * state change, the operator's request. Recovery is measured from here and from `startedAt`, as ARC measures an
   * execution's. Absent in records written before it was kept: then from `startedAt`.
   */
  evidenceAt?: number;
  reason: string;
  startedAt: number;
  /** When a switchover escalates to a failover unless it completed (absent for failovers). */
  deadlineAt?: number;
  /** Last time Promote was requested; the sweep re-sends it when no acceptance was recorded. */
  promoteRequestedAt: number;
  /** When Amazon MQ first accepted a Promote of it (or it was seen under way, or completed before an answer). */
  acceptedAt?: number;
  promoteAttempts: number;
  escalatedAt?: number;
  completedAt?: number;
  failedAt?: number;
  /** Set when the operation becomes a failover (lag at that moment) or completes as a switchover (0). */
  rpo?: RpoEstimate;
  /** Client redirection after completion, when the deployment configures it. */
  redirect?: Redirect;
  /** An operator started this switchover with automatic escalation held, for this operation only. */
  escalationHeldBy?: EscalationHold;
  /** When it ended SUPERSEDED or ABANDONED, and why. */
  endedAt?: number;
  /** An operator's failover sent while the table could not be written, recorded once it could. */
  breakGlass?: boolean;
  /** Break glass: when the local broker was seen taking over, before the table could record it. */
  tookOverAt?: number;
  /**
   * A promotion this orchestrator did not send, recorded when observed (origin EXTERNAL). Amazon MQ does not say
   * which mode it was: it is recorded as a FAILOVER, the mode that may leave messages behind (reconcile as after one).
   */
  external?: boolean;
}

/**
 * A promotion of the pair's broker in one Region, as that Region's orchestrator records and publishes it: the
 * pair-wide view the fail-back policy and the pair-wide cooldown are judged on.
 */
export interface Promotion {
  region: string;
  operationId: string;
  mode: Mode;
  trigger: string;
  origin: Origin;
  reversal: Reversal;
  startedAt: number;
  /** When Amazon MQ accepted the Promote (or it was seen under way). */
  acceptedAt?: number;
  completedAt?: number;
  breakGlass?: boolean;
}

/** An operator re-armed automatic promotion after an automatic one disarmed it. */
export interface Rearm {
  operator: string;
  reason: string;
  at: number;
}

/**
 * What one Region's orchestrator publishes for the other to read (the pair view: a DynamoDB global table on
 * AWS, where each Region writes only its own item).
 */
export interface PublishedOutcome {
  region: string;
  /** The writer's record version and clock when it wrote this. */
  version: number;
  publishedAt: number;
  /** Its newest promotion, accepted or completed. */
  lastPromotion?: Promotion;
  /** Its current operation, in flight or at rest. */
  operation?: { id: string; mode: Mode; status: OperationStatus; trigger: string; startedAt: number };
  rearm?: Rearm;
}

/**
 * The peer Region's outcomes as this Region read them before deciding: `peer` null when it has published
 * nothing yet, `error` when the view could not be read (automatic promotion then waits: it never acts blind).
 */
export type PairViewRead = { peer: PublishedOutcome | null; error?: undefined } | { peer?: undefined; error: string };

export const FailbackPolicy = { MANUAL: 'manual', AUTOMATIC: 'automatic' } as const;
export type FailbackPolicy = (typeof FailbackPolicy)[keyof typeof FailbackPolicy];

/** An operator failover sent while the table could not be written, kept until it can be recorded. */
export interface BreakGlassRecord {
  id: string;
  operator: string;
  reason: string;
  requestKey: string;
  /** When Amazon MQ accepted its Promote FAILOVER. */
  at: number;
  /** When the request that broke the glass saw the local broker the running primary (the takeover), if it did. */
  promotedAt?: number;
}

/** An operator's hold on automatic escalation: deadlines and the sweep do not fail over while it is set. */
export interface EscalationHold {
  operator: string;
  reason: string;
  at: number;
}

export const RequestKind = {
  SWITCHOVER: 'SWITCHOVER',
  FAILOVER: 'FAILOVER',
  HOLD: 'HOLD',
  RELEASE: 'RELEASE',
  REARM: 'REARM',
  ABANDON: 'ABANDON',
} as const;
export type RequestKind = (typeof RequestKind)[keyof typeof RequestKind];

/** What an operator request with an idempotency key led to; a retry with the same key is answered from it. */
export interface OperatorRequest {
  key: string;
  kind: RequestKind;
  dryRun: boolean;
  at: number;
  action: Action;
  operationId?: string;
  /** The digest of the body the key was first used with. */
  digest?: string;
}

/** How many keyed requests the pair remembers (newest kept); a retry comes within minutes, not after 50 more. */
export const MAX_REMEMBERED_REQUESTS = 50;

/**
 * Consecutive probes that found the primary's Region not answering at all (its API and its endpoints), the
 * evidence that a switchover cannot complete.
 */
export interface RemoteOutage {
  since: number;
  lastAt: number;
  probes: number;
  /** When `probes` reached the probe threshold: the outage is confirmed from then on. */
  confirmedAt?: number;
  /** What the last probe saw. */
  detail: string;
}

/** A problem that stops the orchestrator from judging the pair (configuration, permissions); notified once. */
export interface Problem {
  key: string;
  detail: string;
  since: number;
}

export interface PairState {
  pairId: string;
  /** Incremented by every recorded decision; the store writes only when it still holds version - 1. */
  version: number;
  operation?: Operation;
  consecutiveProbeFailures: number;
  /** When the current streak of failed probes began (its first failure): the evidence an operation counts from. */
  probeStreakSince?: number;
  /** When the failed probes within the probe window failed (gray failure; CoreConfig.probeWindowMs). */
  probeFailuresAt?: number[];
  remoteOutage?: RemoteOutage;
  problem?: Problem;
  escalationHold?: EscalationHold;
  /** Recent operator requests that carried an idempotency key, oldest first. */
  requests?: OperatorRequest[];
  /** This Region's newest promotion (published to the pair view). */
  lastPromotion?: Promotion;
  /** The last re-arm of automatic promotion made through this Region (published to the pair view). */
  rearm?: Rearm;
  /**
   * The local broker's settled role as last recorded (with a pair view only): a broker seen PRIMARY that is
   * later seen a REPLICA was demoted by a promotion in the other Region, whether or not the view shows it yet.
   */
  localRole?: { role: 'PRIMARY' | 'REPLICA'; since: number };
  /** When the local broker was first seen a REPLICA after being the PRIMARY. */
  demotedAt?: number;
  /**
   * When the primary's endpoints first answered a handshake from this Region (recorded once): under
   * PROBE_ENDPOINTS=auto, endpoints that stop answering count as failed probes only after this.
   */
  endpointsReachedAt?: number;
  /** The readiness checks failing at the last evaluation (ids, sorted): a change is recorded once. */
  readinessFailing?: string[];
  /**
   * When this Region started watching the pair with no history of its broker's role (a new stack, or a lost table)
   * and found it a replica. Until the pair view shows an item of the other Region written after this (the clock
   * allowance added), the view may lag behind the promotion that made this broker the replica, and automatic
   * promotion waits. A Region that has seen its broker's role before has none: it tracks its demotions itself.
   */
  watchingSince?: number;
  /** The wait for a view written since `watchingSince` has been notified (once). */
  viewWaitNotified?: boolean;
  /**
   * The other Region's promotion after which the local broker was found the primary again and recorded as promoted
   * back from outside: recorded once per such promotion (the Regions' stamps cannot order them, their clocks skew).
   */
  promotedBackAfter?: string;
}

export const initialState = (pairId: string): PairState => ({
  pairId,
  version: 0,
  consecutiveProbeFailures: 0,
});

// The core's inputs and outputs (events, commands, decisions, configuration) live in contract.ts.
export * from './contract.ts';
