/**
 * What goes into the core and what comes out: events, the context of one decision (clock, observation,
 * configuration, the pair view), and the decisions and commands it produces.
 */
import type {
  AlarmKind,
  AlarmState,
  BreakGlassRecord,
  BrokerObservation,
  FailbackPolicy,
  Mode,
  OperationStatus,
  PairState,
  PairViewRead,
  ReplicationPoint,
  RpoEstimate,
} from './model.ts';

export type CoreEvent =
  | {
      type: 'ALARM';
      alarmName: string;
      kind: AlarmKind;
      state: AlarmState;
      previousState?: AlarmState;
      reason?: string;
      /** When the alarm changed state (its own timestamp): a delivery much later than that is stale. */
      sentAt?: number;
    }
  | {
      type: 'PROBE';
      healthy: boolean;
      detail: string;
      /** The primary's Region answered nothing: its API and every known endpoint failed. */
      outage?: boolean;
      /** The primary's API refused the probe (4xx): no verdict on its health. */
      refused?: { code: string; detail: string };
      /** Whether a handshake with the primary's endpoints succeeded, when one was tried. */
      endpoints?: 'reached' | 'unreached';
      /** DescribeBroker answered that the primary is RUNNING (its endpoints alone may have failed). */
      apiAnswered?: boolean;
      /** When the schedule fired the probe, if the event said so. */
      sentAt?: number;
    }
  | { type: 'DEADLINE'; operationId: string }
  | { type: 'SWEEP' }
  /** An invocation watching a promotion accepted and under way, every few seconds: completion seen sooner. */
  | { type: 'WATCH' }
  | {
      type: 'OPERATOR';
      mode: Mode;
      reason: string;
      operator: string;
      /** Idempotency key: a request carrying a key already handled decides nothing again. */
      requestKey?: string;
      /** A digest of the request's body: the same key with another body is another request. */
      requestDigest?: string;
      /** Decide and record, but send no Promote, whatever the deployment's DRY_RUN. */
      dryRun?: boolean;
      /** A switchover that never escalates by itself (deadline, prediction, outage): the operator is on it. */
      holdEscalation?: boolean;
    }
  | { type: 'HOLD'; hold: boolean; reason: string; operator: string; requestKey?: string; requestDigest?: string }
  /** Automatic promotion, disarmed by an automatic one, is armed again. */
  | { type: 'REARM'; reason: string; operator: string; requestKey?: string; requestDigest?: string }
  /** An operator ends the operation in flight. */
  | { type: 'ABANDON'; reason: string; operator: string; requestKey?: string; requestDigest?: string }
  /** A break-glass failover, recorded once the table answers again. */
  | { type: 'BREAK_GLASS'; record: BreakGlassRecord }
  | {
      type: 'PROMOTE_RESULT';
      operationId: string;
      mode: Mode;
      accepted: boolean;
      /** Rejections that may succeed when sent again (throttling, 5xx, network). */
      retryable: boolean;
      error?: string;
    }
  | {
      type: 'REDIRECT_RESULT';
      operationId: string;
      ok: boolean;
      /** What was written (ok), or why not (failed). */
      detail: string;
    }
  /** The scheduled readiness evaluation: the checks that fail now (lib/readiness.ts), each with its fix. */
  | { type: 'READINESS'; failing: Array<{ id: string; detail: string; fix?: string }> };

export type Command =
  | { type: 'PROMOTE'; operationId: string; mode: Mode }
  | { type: 'SCHEDULE_DEADLINE'; operationId: string; at: number }
  | { type: 'CANCEL_DEADLINE'; operationId: string }
  /** Point clients at the local broker, which was just observed the running primary. */
  | { type: 'REDIRECT_CLIENTS'; operationId: string }
  | { type: 'NOTIFY'; notification: Notification };

/** A human-readable message about one transition or refusal, for the pair's SNS topic. */
export interface Notification {
  pairId: string;
  subject: string;
  message: string;
  action: Action;
  status: OperationStatus;
  operationId?: string;
  at: number;
}

export const Action = {
  START_SWITCHOVER: 'START_SWITCHOVER',
  START_FAILOVER: 'START_FAILOVER',
  ESCALATE_TO_FAILOVER: 'ESCALATE_TO_FAILOVER',
  RETRY_PROMOTE: 'RETRY_PROMOTE',
  PROMOTE_ACCEPTED: 'PROMOTE_ACCEPTED',
  COMPLETE: 'COMPLETE',
  FAIL: 'FAIL',
  REFUSE: 'REFUSE',
  IGNORE: 'IGNORE',
  WAIT: 'WAIT',
  COUNT_PROBE: 'COUNT_PROBE',
  HOLD_ESCALATION: 'HOLD_ESCALATION',
  RELEASE_ESCALATION: 'RELEASE_ESCALATION',
  REDIRECT_CLIENTS: 'REDIRECT_CLIENTS',
  CLIENTS_REDIRECTED: 'CLIENTS_REDIRECTED',
  REDIRECT_FAILED: 'REDIRECT_FAILED',
  /** A configuration or permission problem stops the orchestrator from judging the pair (notified once). */
  PROBLEM: 'PROBLEM',
  PROBLEM_CLEARED: 'PROBLEM_CLEARED',
  /** The other Region promoted after this operation started: it ends without escalating. */
  SUPERSEDE: 'SUPERSEDE',
  ABANDON: 'ABANDON',
  REARM: 'REARM',
  /** The local broker's settled role changed (with a pair view): recorded once per change. */
  ROLE_OBSERVED: 'ROLE_OBSERVED',
  /** The local broker became the primary by a promotion this orchestrator did not send (with a pair view). */
  EXTERNAL_PROMOTION: 'EXTERNAL_PROMOTION',
  /** The primary's endpoints answered from this Region for the first time (PROBE_ENDPOINTS=auto): recorded once. */
  ENDPOINTS_REACHED: 'ENDPOINTS_REACHED',
  /** A readiness check started or stopped failing: a failover would not work now, or works again (notified). */
  READINESS_CHANGED: 'READINESS_CHANGED',
} as const;
export type Action = (typeof Action)[keyof typeof Action];

/**
 * What escalates a switchover: its deadline, the sweep (a deadline whose schedule was missed), a confirmed outage
 * of the primary's Region, the prediction that it cannot drain, a hold released past the deadline, an operator, or
 * a FAILOVER sent outside the orchestrator (seen when the switchover completed before its queue could drain).
 */
export type EscalatedBy = 'deadline' | 'sweep' | 'outage' | 'prediction' | 'release' | 'operator' | 'outside';

/** The actions that always say why with a code. */
export type CodedAction = typeof Action.REFUSE | typeof Action.WAIT | typeof Action.IGNORE;

/**
 * Why a decision refused, waited or ignored: the machine-readable half of its reason. Tests, metrics and the
 * model test's coverage count these; the prose may change.
 */
export const Code = {
  // IGNORE
  STALE_EVENT: 'STALE_EVENT',
  NOT_INTO_ALARM: 'NOT_INTO_ALARM',
  NOT_CURRENT_OPERATION: 'NOT_CURRENT_OPERATION',
  ALREADY_ENDED: 'ALREADY_ENDED',
  ALREADY_FAILOVER: 'ALREADY_FAILOVER',
  ALREADY_HELD: 'ALREADY_HELD',
  NOT_HELD: 'NOT_HELD',
  ALREADY_ARMED: 'ALREADY_ARMED',
  NOTHING_IN_FLIGHT: 'NOTHING_IN_FLIGHT',
  // REFUSE (a start, an escalation, a hold)
  COUNTERPART_MISMATCH: 'COUNTERPART_MISMATCH',
  ALREADY_PRIMARY: 'ALREADY_PRIMARY',
  IN_FLIGHT: 'IN_FLIGHT',
  UNRECORDED_PROMOTION: 'UNRECORDED_PROMOTION',
  FAILBACK_DISARMED: 'FAILBACK_DISARMED',
  UNEXPLAINED_DEMOTION: 'UNEXPLAINED_DEMOTION',
  COOLDOWN: 'COOLDOWN',
  ESCALATION_HELD: 'ESCALATION_HELD',
  // REFUSE or WAIT
  BROKER_UNOBSERVED: 'BROKER_UNOBSERVED',
  PAIR_VIEW_UNREADABLE: 'PAIR_VIEW_UNREADABLE',
  // WAIT
  PROMOTION_UNDER_WAY: 'PROMOTION_UNDER_WAY',
  LOCAL_NOT_REPLICA: 'LOCAL_NOT_REPLICA',
  PROMOTE_RETRY: 'PROMOTE_RETRY',
  NEWER_CHOICE: 'NEWER_CHOICE',
  // REFUSE: a Region with no history of its broker's role waits for a view written since it started watching
  VIEW_NOT_CONFIRMED: 'VIEW_NOT_CONFIRMED',
} as const;
export type Code = (typeof Code)[keyof typeof Code];

/** A guard's answer when it says no. */
export interface Refusal {
  code: Code;
  why: string;
}

/** One line of the audit timeline: every handled event yields at least one. */
export interface Decision {
  at: number;
  /** Short description of the event that led to the decision. */
  event: string;
  action: Action;
  reason: string;
  /** On REFUSE, WAIT and IGNORE (always), and on a probe counted while promotion stays refused: why, for machines. */
  code?: Code;
  operationId?: string;
  status: OperationStatus;
  dryRun?: boolean;
  /** The operator and idempotency key of the request that led to the decision. */
  operator?: string;
  requestKey?: string;
  /** On COMPLETE: from the operation's start to the takeover (the new primary running). */
  recoveryMs?: number;
  /** On COMPLETE: from the first evidence (Operation.evidenceAt) to the takeover. */
  evidenceMs?: number;
  /** On CLIENTS_REDIRECTED: from the first evidence to clients pointed at the new primary. */
  clientsMs?: number;
  /** On a failover's start or escalation, and on COMPLETE: the operation's RPO estimate. */
  rpo?: RpoEstimate;
  /**
   * On ESCALATE_TO_FAILOVER: what escalated it (the operator's name is in `operator`).
   */
  escalatedBy?: EscalatedBy;
  /** A failover an operator sent while the table could not be written, recorded once it could. */
  breakGlass?: boolean;
}

export interface CoreConfig {
  pairId: string;
  deadlineMs: number;
  /** Pair-wide: automatic triggers wait this long after either Region's newest promotion took hold. */
  cooldownMs: number;
  probeFailureThreshold: number;
  /**
   * How far apart the health probes are (several within each health-check invocation; absent: a minute, one
   * an invocation). Two failed probes closer than half of it are one probe delivered twice.
   */
  probeIntervalMs?: number;
  /**
   * Gray failure: `grayFailures(probeFailureThreshold, probeIntervalMs)` failed probes within this window start a switchover as
   * `probeFailureThreshold` in a row do, so a Region that is down more than it is up (its probes alternate) still
   * gets a primary, while a single blip (one failed probe) never does. Absent: consecutive failures only.
   */
  probeWindowMs?: number;
  /** Re-send a Promote whose acceptance was never recorded after this long (a crash between the two). */
  promoteRetryAfterMs: number;
  maxPromoteAttempts: number;
  dryRun: boolean;
  /**
   * An alarm or probe event older than this by its own timestamp (EventBridge kept retrying it while this
   * Region was down, a delivery hours late) is recorded and ignored. Absent: no limit.
   */
  maxEventAgeMs?: number;
  /** This deployment's Region: the promotions it records and publishes are this Region's. */
  region?: string;
  /**
   * `manual` (the default): after a promotion by either Region, automatic triggers never promote in the other
   * direction until an operator re-arms or fails back by hand. `automatic`: they may, after the pair-wide
   * cooldown.
   */
  failbackPolicy?: FailbackPolicy;
  /** The remote broker and Region this deployment was configured with, checked against the local broker's counterpart. */
  remote?: { brokerId: string; region: string };
  /**
   * Whether a failed handshake with the primary's endpoints counts: `on`, always; `off`, never (the API's
   * answer alone); `auto`, once they have answered from this Region (a private broker with no route from here
   * is no evidence). Absent: `on`.
   */
  probeEndpoints?: 'auto' | 'on' | 'off';
  /**
   * Escalate a switchover this long after the primary's Region was confirmed unreachable (PROBE events with
   * `outage`, `probeFailureThreshold` in a row), instead of waiting for its deadline. Absent: never.
   */
  outageEscalationMs?: number;
  /**
   * Escalate a switchover before its deadline when its lag series shows it cannot drain by then (at least
   * `minPoints` datapoints since it started, zero expected later than the deadline plus `marginMs`, or never).
   */
  prediction?: { minPoints: number; marginMs: number };
  /**
   * Redirect clients after every completion. A failed attempt is retried by the sweep after `retryAfterMs`,
   * doubling each time up to an hour, `maxAttempts` times in all.
   */
  redirect?: { retryAfterMs: number; maxAttempts: number };
}

export interface DecisionContext {
  now: number;
  observation: BrokerObservation;
  config: CoreConfig;
  /** Fresh operation id, supplied by the caller so that the core stays deterministic. */
  newOperationId: () => string;
  /**
   * Both brokers' CRDR datapoints (ReplicationPoint), oldest first, read when the event may escalate or
   * start a failover; absent when not read or unreadable (then no prediction, and the RPO is unknown).
   */
  lag?: ReplicationPoint[];
  /** The peer Region's published outcomes; absent when the deployment has no pair view (one stack alone). */
  pair?: PairViewRead;
}

export interface Outcome {
  state: PairState;
  decisions: Decision[];
  commands: Command[];
}
