/**
 * The decision core: (state, event, facts) -> (new state, decisions, commands). Pure and deterministic:
 * the clock, the observation of the local broker and new operation ids all come in through the context.
 *
 * Guards, each recorded with its reason when it refuses:
 *  - act only where the local broker is the REPLICA (the orchestrator runs in the replica's Region);
 *  - never promote a primary, nor a broker that could not be observed;
 *  - single flight: no second operation while one is in flight (a failover may interrupt a switchover,
 *    never the reverse);
 *  - cooldown after a completed operation, against alarm flapping (operators are not held by it);
 *  - only alarm transitions into ALARM trigger;
 *  - N consecutive failed probes before a health trigger counts; a probe the primary's API refused (4xx) is
 *    no verdict: a configuration or permission problem, notified once;
 *  - the local broker's replication counterpart must be the remote broker the deployment names;
 *  - a switchover waiting while the primary's Region answers nothing at all (API and endpoints, N probes in a
 *    row) escalates after the outage delay instead of its deadline; never while that Region answers;
 *  - dry run (the deployment's, or one operator request's) decides and records, but emits no Promote;
 *  - an operator hold stops deadlines and the sweep from escalating (an operator's own failover still does);
 *  - an operator request carrying an idempotency key already seen decides nothing again;
 *  - clients are redirected only after the promotion is observed complete, and never to a broker that has
 *    stopped being the primary;
 *  - pair-wide (the peer Region's outcomes, read from the pair view before deciding): automatic triggers never
 *    reverse a promotion of the pair until an operator re-arms or fails back by hand (FAILBACK_POLICY=manual);
 *    the cooldown counts from either Region's last completion; an unreadable view stops automatic promotion;
 *    an operation the other Region's promotion made moot ends SUPERSEDED.
 *
 * Deadline timing of a switchover (S = start, D = S + deadline, B = sweep backstop interval):
 *
 *   S────────────────D─────B
 *   │ Promote(SWITCHOVER)  │ one-shot schedule fires escalate at D; the rate(1 minute) sweep escalates
 *   │ completion observed  │ by D + B at the latest if that schedule was lost. Either way the failover
 *   │ on any event         │ is requested once: the second sees the operation already escalated.
 *
 * Routine events that change nothing (a healthy probe, an idle sweep) yield no decision and no write.
 */
import {
  Action,
  type BreakGlassRecord,
  type BrokerObservation,
  type Command,
  type CoreEvent,
  type Decision,
  type DecisionContext,
  type EscalationHold,
  IN_FLIGHT,
  MAX_REMEMBERED_REQUESTS,
  Mode,
  type Operation,
  OperationStatus,
  type OperatorRequest,
  type Outcome,
  type PairState,
  type Promotion,
  type Rearm,
  type Redirect,
  type RemoteOutage,
  type RequestKind,
  Role,
  RpoUnknown,
} from './model.ts';
import { estimateDrain } from './predict.ts';
import { describeRpo, rpoNow } from './rpo.ts';

export const isInFlight = (op: Operation | undefined): boolean => op !== undefined && IN_FLIGHT.has(op.status);

/** Promote was requested but its acceptance is not recorded yet. */
const isRequested = (op: Operation): boolean =>
  op.status === OperationStatus.SWITCHOVER_REQUESTED || op.status === OperationStatus.FAILOVER_REQUESTED;

/** How long ago a switchover in flight passed its deadline; undefined if it has not. */
const overdueBy = (op: Operation, now: number): number | undefined =>
  isInFlight(op) && op.mode === Mode.SWITCHOVER && op.deadlineAt !== undefined && now >= op.deadlineAt
    ? now - op.deadlineAt
    : undefined;

/** The local broker has finished becoming the primary: completion is observed, never assumed. */
export const isPromoted = (o: BrokerObservation): boolean =>
  o.role === Role.PRIMARY && o.brokerState === 'RUNNING' && !o.promotionPending;

export const describeEvent = (event: CoreEvent): string => {
  switch (event.type) {
    case 'ALARM':
      return `alarm ${event.alarmName} ${event.previousState ?? '?'}→${event.state}`;
    case 'PROBE':
      return `probe ${event.refused ? 'refused' : event.outage ? 'unreachable' : event.healthy ? 'healthy' : 'unhealthy'}: ${event.detail}`;
    case 'DEADLINE':
      return `deadline of ${event.operationId}`;
    case 'SWEEP':
      return 'sweep';
    case 'WATCH':
      return 'watch';
    case 'OPERATOR':
      return `operator ${event.operator} asks ${event.mode}${event.dryRun ? ' (dry run)' : ''}`;
    case 'HOLD':
      return `operator ${event.operator} ${event.hold ? 'holds' : 'releases'} automatic escalation`;
    case 'REARM':
      return `operator ${event.operator} re-arms automatic promotion`;
    case 'ABANDON':
      return `operator ${event.operator} abandons the operation`;
    case 'BREAK_GLASS':
      return `break-glass failover by ${event.record.operator} at ${iso(event.record.at)}`;
    case 'PROMOTE_RESULT':
      return `Promote ${event.mode} ${event.accepted ? 'accepted' : `rejected (${event.error ?? 'no reason'})`}`;
    case 'REDIRECT_RESULT':
      return `client redirection ${event.ok ? 'done' : 'failed'}`;
  }
};

const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;

/** Collects the outcome of one event; the helpers below read and change it. */
class Step {
  readonly state: PairState;
  readonly decisions: Decision[] = [];
  readonly commands: Command[] = [];
  private readonly eventText: string;

  constructor(
    prev: PairState,
    readonly event: CoreEvent,
    readonly ctx: DecisionContext,
  ) {
    this.state = structuredClone(prev);
    this.eventText = describeEvent(event);
  }

  get op(): Operation | undefined {
    return this.state.operation;
  }

  record(action: Action, reason: string, extra: Partial<Decision> = {}): void {
    const op = this.state.operation;
    const { event } = this;
    const requester = isOperatorRequest(event)
      ? event
      : event.type === 'BREAK_GLASS'
        ? { operator: event.record.operator, requestKey: event.record.requestKey }
        : undefined;
    this.decisions.push({
      at: this.ctx.now,
      event: this.eventText,
      action,
      reason,
      status: op?.status ?? OperationStatus.IDLE,
      ...(op ? { operationId: op.id } : {}),
      ...(requester ? { operator: requester.operator } : {}),
      ...(requester?.requestKey ? { requestKey: requester.requestKey } : {}),
      ...extra,
    });
  }

  /** Notifies about the decision recorded last. */
  notify(subject: string, message: string): void {
    const last = this.decisions.at(-1);
    if (!last) throw new Error('notify() follows record()');
    this.commands.push({
      type: 'NOTIFY',
      notification: {
        pairId: this.ctx.config.pairId,
        subject: `[${this.ctx.config.pairId}] ${subject}`,
        message,
        action: last.action,
        status: last.status,
        at: last.at,
        ...(last.operationId ? { operationId: last.operationId } : {}),
      },
    });
  }

  cancelDeadlineIfPending(op: Operation): void {
    if (op.deadlineAt !== undefined && this.ctx.now < op.deadlineAt) {
      this.commands.push({ type: 'CANCEL_DEADLINE', operationId: op.id });
    }
  }
}

export function decide(prev: PairState, event: CoreEvent, ctx: DecisionContext): Outcome {
  const step = new Step(prev, event, ctx);
  // A break-glass failover comes first: the promotion the broker may show now is that one.
  if (event.type === 'BREAK_GLASS' && !isReplay(prev, event)) onBreakGlass(step, event.record);

  // Whatever the event, an operation in flight whose promotion is now observed complete is completed first;
  // one that the other Region's promotion made moot ends.
  const op = step.op;
  if (op && isInFlight(op) && isPromoted(ctx.observation)) complete(step, op);
  else if (op && isInFlight(op)) supersedeIfMoot(step, op);
  trackRole(step);

  // A retried operator request is answered from its first outcome: nothing is decided twice.
  if (event.type !== 'BREAK_GLASS' && !isReplay(prev, event)) onEvent(step, event);

  if (step.decisions.length === 0) return { state: prev, decisions: [], commands: [] };
  step.state.version = prev.version + 1;
  return { state: step.state, decisions: step.decisions, commands: step.commands };
}

/** The request an idempotency key was first used for, if the pair still remembers it. */
export const findRequest = (state: PairState, key: string | undefined): OperatorRequest | undefined =>
  key === undefined ? undefined : state.requests?.find((r) => r.key === key);

const isOperatorRequest = (event: CoreEvent): event is Extract<CoreEvent, { type: 'OPERATOR' | 'HOLD' | 'REARM' | 'ABANDON' }> =>
  event.type === 'OPERATOR' || event.type === 'HOLD' || event.type === 'REARM' || event.type === 'ABANDON';

const isReplay = (state: PairState, event: CoreEvent): boolean =>
  isOperatorRequest(event)
    ? findRequest(state, event.requestKey) !== undefined
    : event.type === 'BREAK_GLASS' &&
      (findRequest(state, event.record.requestKey) !== undefined || state.operation?.id === event.record.id);

/** Why an alarm or probe event is too old to act on, if it is. */
function staleness(step: Step, event: CoreEvent): string | undefined {
  const { now, config } = step.ctx;
  if ((event.type !== 'ALARM' && event.type !== 'PROBE') || event.sentAt === undefined || config.maxEventAgeMs === undefined) {
    return undefined;
  }
  const age = now - event.sentAt;
  return age > config.maxEventAgeMs
    ? `stale: sent at ${iso(event.sentAt)}, ${seconds(age)} ago, past MAX_EVENT_AGE_SECONDS (${seconds(config.maxEventAgeMs)}); a late delivery decides nothing`
    : undefined;
}

function onEvent(step: Step, event: CoreEvent): void {
  const stale = staleness(step, event);
  if (stale) {
    step.record(Action.IGNORE, stale);
    return;
  }
  switch (event.type) {
    case 'ALARM':
      onAlarm(step, event);
      break;
    case 'PROBE':
      onProbe(step, event);
      break;
    case 'DEADLINE':
      onDeadline(step, event.operationId);
      break;
    case 'SWEEP':
      onSweep(step);
      break;
    case 'WATCH':
      // Only the completion check above: escalation stays with the deadline, the sweep and the probes.
      break;
    case 'OPERATOR':
      onOperator(step, event);
      rememberRequest(step, event.requestKey, event.mode, event.dryRun === true, event.requestDigest);
      break;
    case 'HOLD':
      onHold(step, event);
      rememberRequest(step, event.requestKey, event.hold ? 'HOLD' : 'RELEASE', false, event.requestDigest);
      break;
    case 'REARM':
      onRearm(step, event);
      rememberRequest(step, event.requestKey, 'REARM', false, event.requestDigest);
      break;
    case 'ABANDON':
      onAbandon(step, event);
      rememberRequest(step, event.requestKey, 'ABANDON', false, event.requestDigest);
      break;
    case 'BREAK_GLASS':
      break; // decided before the completion check (decide)
    case 'PROMOTE_RESULT':
      onPromoteResult(step, event);
      break;
    case 'REDIRECT_RESULT':
      onRedirectResult(step, event);
      break;
  }
}

function rememberRequest(step: Step, key: string | undefined, kind: RequestKind, dryRun: boolean, digest?: string): void {
  const last = step.decisions.at(-1);
  if (key === undefined || !last) return;
  const request: OperatorRequest = {
    key,
    kind,
    dryRun,
    at: step.ctx.now,
    action: last.action,
    ...(last.operationId ? { operationId: last.operationId } : {}),
    ...(digest ? { digest } : {}),
  };
  step.state.requests = [...(step.state.requests ?? []), request].slice(-MAX_REMEMBERED_REQUESTS);
}

function onAlarm(step: Step, event: Extract<CoreEvent, { type: 'ALARM' }>): void {
  if (event.state !== 'ALARM') {
    step.record(Action.IGNORE, `alarm moved into ${event.state}; only transitions into ALARM trigger`);
    return;
  }
  const mismatch = counterpartMismatch(step);
  if (mismatch) {
    raiseProblem(step, 'counterpart', mismatch);
    step.record(Action.REFUSE, `${event.kind} alarm ${event.alarmName}: the deployment names the wrong remote broker`);
    return;
  }
  tryStart(step, Mode.SWITCHOVER, `alarm:${event.alarmName}`, `${event.kind} alarm ${event.alarmName}`);
}

/**
 * How far apart the two Regions' Lambda clocks may be when their timestamps are compared (an assumption:
 * Lambda's clocks are synchronized by Amazon Time Sync, and the model test skews them by up to ±30 s).
 */
export const MAX_CLOCK_SKEW_MS = 60_000;

/**
 * Failed probes within the probe window, not all in a row, that count as `threshold` in a row (gray failure):
 * one fewer, and at least 2, so that a single blip (one failed probe) never does. With probes a minute apart, a
 * Region down more than half the time fails at least every other probe: 2 within 4 minutes.
 */
export const grayFailures = (threshold: number): number => Math.max(2, threshold - 1);

/** The health check's schedule: a probe a minute (EventBridge Scheduler's precision). */
const PROBE_PERIOD_MS = 60_000;

/** Outage evidence older than this (the probes stopped) escalates nothing: two and a half probe periods. */
export const OUTAGE_EVIDENCE_MAX_AGE_MS = 150_000;

/** Why the local broker's replication counterpart is not the remote broker configured, if it is not. */
function counterpartMismatch(step: Step): string | undefined {
  const { observation, config } = step.ctx;
  const seen = observation.counterpart;
  const want = config.remote;
  if (!seen || !want || (seen.brokerId === want.brokerId && seen.region === want.region)) return undefined;
  return `the deployment names ${want.brokerId} in ${want.region} as the remote broker, but the local broker replicates with ${seen.brokerId} in ${seen.region}; fix REMOTE_BROKER_ID and REMOTE_REGION (serverless params remoteBrokerId, remoteRegion). Automatic promotion is refused until then`;
}

/** Records and notifies a problem once; the same problem again decides nothing (no write, no message). */
function raiseProblem(step: Step, key: string, detail: string): void {
  if (step.state.problem?.key === key) return;
  step.state.problem = { key, detail, since: step.ctx.now };
  step.record(Action.PROBLEM, detail);
  step.notify('needs attention: the orchestrator cannot judge the pair', detail);
}

function clearProblem(step: Step): void {
  const problem = step.state.problem;
  // A counterpart problem ends only when the counterpart is seen again, and right.
  if (!problem || (problem.key === 'counterpart' && !step.ctx.observation.counterpart)) return;
  delete step.state.problem;
  step.record(Action.PROBLEM_CLEARED, `resolved after ${seconds(step.ctx.now - problem.since)}: ${problem.detail}`);
}

/** Records the end of a streak of unreachable probes: the probe that answered says what it saw. */
function answersAgain(step: Step, outage: RemoteOutage, detail: string): void {
  step.record(Action.COUNT_PROBE, `primary's Region answers again after ${outage.probes} unreachable probe(s): ${detail}`);
}

/**
 * PROBE_ENDPOINTS: whether a failed handshake with the primary's endpoints counts. `on`: always. `off`: never,
 * the API's answer alone. `auto`: once the endpoints have answered from this Region (recorded once); before,
 * their silence is no evidence (a private broker this Region has no route to would look down on every probe),
 * so an API that answers RUNNING makes the probe no verdict, raised as a PROBLEM that names the fix. A failed
 * API still counts; with the endpoints no evidence, it is never taken for the whole Region out.
 */
function judgeEndpoints(step: Step, event: ProbeEvent): ProbeEvent {
  const mode = step.ctx.config.probeEndpoints ?? 'on';
  const { state } = step;
  if (mode === 'auto' && event.endpoints === 'reached' && state.endpointsReachedAt === undefined) {
    state.endpointsReachedAt = step.ctx.now;
    step.record(
      Action.ENDPOINTS_REACHED,
      "the primary's endpoints answered a handshake from this Region: from now on, endpoints that stop answering count as failed probes (PROBE_ENDPOINTS=auto)",
    );
  }
  const evidence = mode === 'on' || (mode === 'auto' && state.endpointsReachedAt !== undefined);
  if (event.endpoints !== 'unreached' || evidence) return event;
  if (!event.apiAnswered) return { ...event, outage: false };
  if (mode === 'off')
    return { ...event, healthy: true, outage: false, detail: `${event.detail} (not counted: PROBE_ENDPOINTS=off)` };
  const detail = `the primary's endpoints have never answered a handshake from this Region (${event.detail}): attach the health check to a VPC with a route to them (the pair file's brokers[].vpc), or set PROBE_ENDPOINTS=off to judge by the Amazon MQ API alone`;
  return { ...event, healthy: false, outage: false, detail, refused: { code: 'ENDPOINTS_NEVER_REACHED', detail } };
}

type ProbeEvent = Extract<CoreEvent, { type: 'PROBE' }>;

function onProbe(step: Step, probe: ProbeEvent): void {
  const { state } = step;
  const { now, config } = step.ctx;
  const mismatch = counterpartMismatch(step);
  if (mismatch) {
    raiseProblem(step, 'counterpart', mismatch);
    return;
  }
  const event = judgeEndpoints(step, probe);
  if (event.refused) {
    // A refusal is an answer: the primary's Region is not out, whatever earlier probes saw.
    const outage = state.remoteOutage;
    if (outage) {
      delete state.remoteOutage;
      answersAgain(step, outage, event.detail);
    }
    raiseProblem(
      step,
      `probe:${event.refused.code}`,
      `the primary's health cannot be probed: ${event.detail}; this is a configuration, permission or quota problem, not a failed probe, and probes are not counted until it is fixed`,
    );
    return;
  }
  clearProblem(step);
  const before = state.remoteOutage;
  if (event.outage) {
    // Evidence from probes that stopped long ago does not continue: a new outage starts counting afresh.
    const prev = before && now - before.lastAt <= OUTAGE_EVIDENCE_MAX_AGE_MS ? before : undefined;
    const probes = (prev?.probes ?? 0) + 1;
    const confirmedAt = prev?.confirmedAt ?? (probes >= config.probeFailureThreshold ? now : undefined);
    state.remoteOutage = {
      since: prev?.since ?? now,
      lastAt: now,
      probes,
      detail: event.detail,
      ...(confirmedAt !== undefined ? { confirmedAt } : {}),
    };
  } else {
    delete state.remoteOutage;
  }
  const op = step.op;
  if (isInFlight(op) && op) {
    // Failing probes are expected during a promotion (the old primary stops taking clients): only a Region
    // that answers nothing at all matters, as the evidence that a switchover cannot complete.
    if (state.remoteOutage) {
      step.record(
        Action.COUNT_PROBE,
        `primary's Region unreachable (${state.remoteOutage.probes} consecutive probe(s)) during ${op.mode}: ${event.detail}`,
      );
    } else if (before) {
      answersAgain(step, before, event.detail);
    }
    const outage = outageEscalationDue(step, op);
    if (outage) escalate(step, op, 'outage', outage);
    return;
  }
  if (event.healthy) {
    if (state.consecutiveProbeFailures > 0) {
      step.record(Action.COUNT_PROBE, `primary healthy again after ${state.consecutiveProbeFailures} failed probe(s)`);
      state.consecutiveProbeFailures = 0;
    }
    return;
  }
  // Once the local broker is the primary the remote one is the replica: a failed probe decides nothing.
  if (step.ctx.observation.role === Role.PRIMARY) return;
  state.consecutiveProbeFailures += 1;
  const inRow = state.consecutiveProbeFailures;
  // Gray failure: the failures within the window, whether or not healthy probes came between them.
  const window = config.probeWindowMs;
  // Failures closer together than half a probe period are one probe delivered twice (schedules are at least once).
  const kept = (state.probeFailuresAt ?? []).filter((t) => window !== undefined && t > now - window);
  const recent = window === undefined ? [] : kept.some((t) => now - t < PROBE_PERIOD_MS / 2) ? kept : [...kept, now];
  if (window !== undefined) state.probeFailuresAt = recent;
  const threshold = config.probeFailureThreshold;
  // Only failures with a healthy probe between them: failures in a row keep their own rule (a Region plainly down).
  const gray = inRow < threshold && recent.length > inRow && recent.length >= grayFailures(threshold);
  if (inRow < threshold && !gray) {
    const within = recent.length > inRow ? `; ${recent.length} within ${seconds(window ?? 0)}` : '';
    step.record(Action.COUNT_PROBE, `primary unhealthy (${inRow}/${threshold}${within}): ${event.detail}`);
    return;
  }
  const count = Math.max(inRow, recent.length);
  const refused = count > threshold ? pairRefusal(step) : undefined;
  if (refused) {
    // Refused and notified at the threshold already: a probe that keeps failing counts quietly.
    const how = gray ? `${recent.length} probes within ${seconds(window ?? 0)}` : `${inRow} probes in a row`;
    step.record(Action.COUNT_PROBE, `primary unhealthy (${how}); automatic promotion stays refused: ${refused}`);
    return;
  }
  tryStart(
    step,
    Mode.SWITCHOVER,
    'health-check',
    gray
      ? `primary failed ${recent.length} probes within ${seconds(window ?? 0)}, never ${threshold} in a row (a Region that fails as often as it answers, or more): ${event.detail}`
      : `primary failed ${inRow} consecutive probes: ${event.detail}`,
  );
}

function onDeadline(step: Step, operationId: string): void {
  const op = step.op;
  if (!op || op.id !== operationId) {
    step.record(Action.IGNORE, `deadline belongs to ${operationId}, not to the current operation`);
  } else if (!isInFlight(op)) {
    step.record(Action.IGNORE, `operation already ${op.status}`);
  } else if (op.mode === Mode.FAILOVER) {
    step.record(Action.IGNORE, 'operation already escalated to FAILOVER');
  } else {
    escalate(step, op, 'deadline', `switchover did not complete within ${seconds(step.ctx.config.deadlineMs)}`);
  }
}

function onSweep(step: Step): void {
  const op = step.op;
  if (op?.status === OperationStatus.COMPLETED) retryRedirect(step, op);
  if (!op || !isInFlight(op)) return;
  const { now, config, observation } = step.ctx;
  // Under an operator hold the deadline's own event has recorded the refusal; the sweep does not repeat it
  // every minute, but still re-sends a Promote that was never accepted.
  const late = overdueBy(op, now);
  if (late !== undefined && !holdOf(step, op)) {
    escalate(step, op, 'sweep', `switchover passed its deadline by ${seconds(late)} (backstop sweep)`);
    return;
  }
  const outage = outageEscalationDue(step, op);
  if (outage) {
    escalate(step, op, 'outage', outage);
    return;
  }
  const doomed = late === undefined && !holdOf(step, op) ? cannotDrainInTime(step, op) : undefined;
  if (doomed) {
    escalate(step, op, 'prediction', `switchover cannot drain before its deadline: ${doomed}`);
    return;
  }
  if (!isRequested(op) || now - op.promoteRequestedAt < config.promoteRetryAfterMs) return;
  // DescribeBroker shows that a promotion is under way, not which: after an escalation it may be the
  // switchover the failover interrupts, so only a FAILOVER that was not escalated is known to be ours.
  const ours = observation.promotionPending && op.escalatedAt === undefined;
  if (ours) {
    markInProgress(step, op, 'Promote acceptance was not recorded, but the broker shows the promotion under way');
  } else if (observation.role === Role.UNKNOWN) {
    // Blind, the sweep can tell neither whether a promotion is under way nor whether to fail: it waits.
    step.record(Action.WAIT, `local broker could not be observed (${observation.error ?? 'no detail'}); Promote not re-sent`);
  } else if (op.promoteAttempts >= config.maxPromoteAttempts && observation.promotionPending) {
    // Failing now would lose track of the switchover still under way; keep waiting for it, every retry period.
    op.promoteRequestedAt = now;
    step.record(
      Action.WAIT,
      `Promote ${op.mode} not accepted after ${op.promoteAttempts} attempts; the switchover is still under way, so the operation waits for it`,
    );
  } else if (op.promoteAttempts >= config.maxPromoteAttempts) {
    fail(step, op, `Promote ${op.mode} not accepted after ${op.promoteAttempts} attempts`);
  } else if (observation.role !== Role.REPLICA) {
    step.record(Action.WAIT, `local broker is ${observation.role} (${observation.brokerState}); Promote not re-sent`);
  } else if (!newerChoiceBlocks(step, op, `Promote ${op.mode} not accepted yet; attempt ${op.promoteAttempts + 1}`)) {
    op.promoteAttempts += 1;
    op.promoteRequestedAt = now;
    step.commands.push({ type: 'PROMOTE', operationId: op.id, mode: op.mode });
    step.record(Action.RETRY_PROMOTE, `no Promote ${op.mode} accepted yet; sending attempt ${op.promoteAttempts}`);
  }
}

/**
 * Why a switchover in flight cannot complete because the primary's Region answers nothing, once the outage
 * delay has passed since the outage was confirmed (or since the switchover started, if later); undefined
 * otherwise, while held, and when the evidence is stale (the probes stopped).
 */
function outageEscalationDue(step: Step, op: Operation): string | undefined {
  const { now, config } = step.ctx;
  const outage = step.state.remoteOutage;
  if (config.outageEscalationMs === undefined || outage?.confirmedAt === undefined || holdOf(step, op)) return undefined;
  if (op.mode !== Mode.SWITCHOVER || !isInFlight(op) || now - outage.lastAt > OUTAGE_EVIDENCE_MAX_AGE_MS) return undefined;
  if (now < Math.max(outage.confirmedAt, op.startedAt) + config.outageEscalationMs) return undefined;
  return `the primary's Region has answered nothing (API and endpoints) for ${outage.probes} consecutive probes since ${iso(outage.since)} (last: ${outage.detail}); a switchover needs both Regions and cannot complete, escalating ${seconds(config.outageEscalationMs)} after the outage was confirmed instead of at the deadline ${op.deadlineAt === undefined ? '' : iso(op.deadlineAt)}`;
}

/**
 * Why an accepted switchover will not have replicated everything by its deadline (plus the margin), from the
 * primary's QueueSize since it started; undefined when it will, or when there are not enough datapoints.
 */
function cannotDrainInTime(step: Step, op: Operation): string | undefined {
  const { config, lag } = step.ctx;
  if (!config.prediction || !lag || op.status !== OperationStatus.SWITCHOVER_IN_PROGRESS || op.deadlineAt === undefined) {
    return undefined;
  }
  // The primary is the other Region's broker while this one is being promoted.
  const estimate = estimateDrain(
    lag.filter((p) => !p.local),
    op.startedAt,
    config.prediction.minPoints,
  );
  if (!estimate || (estimate.zeroAt !== undefined && estimate.zeroAt <= op.deadlineAt + config.prediction.marginMs)) {
    return undefined;
  }
  const zero = estimate.zeroAt === undefined ? 'it is not draining' : `empty queue expected at ${iso(estimate.zeroAt)}`;
  return `${estimate.events} events not replicated (QueueSize) at ${iso(estimate.at)}, draining ${estimate.drainRate.toFixed(1)} events/s over ${estimate.points} datapoints, ${zero}; deadline ${iso(op.deadlineAt)}`;
}

const iso = (t: number): string => new Date(t).toISOString();

function onOperator(step: Step, event: Extract<CoreEvent, { type: 'OPERATOR' }>): void {
  const op = step.op;
  const trigger = `operator:${event.operator}`;
  const dryRun = event.dryRun === true;
  if (event.mode === Mode.FAILOVER && op && isInFlight(op) && op.mode === Mode.SWITCHOVER) {
    escalate(step, op, trigger, `operator interrupts the switchover: ${event.reason}`, dryRun);
    return;
  }
  const holdEscalation =
    event.mode === Mode.SWITCHOVER && event.holdEscalation === true
      ? { operator: event.operator, reason: `started with escalation held: ${event.reason}`, at: step.ctx.now }
      : undefined;
  tryStart(step, event.mode, trigger, event.reason, {
    byOperator: true,
    dryRun,
    ...(holdEscalation ? { holdEscalation } : {}),
  });
}

function onHold(step: Step, event: Extract<CoreEvent, { type: 'HOLD' }>): void {
  const { state } = step;
  const held = state.escalationHold;
  if (event.hold) {
    if (held) {
      step.record(Action.IGNORE, `escalation already held by ${held.operator} (${held.reason})`);
      return;
    }
    // A hold with nothing to hold would wait, forgotten, for the next operation and stop its escalation.
    const op = step.op;
    if (!op || !isInFlight(op)) {
      step.record(
        Action.REFUSE,
        `no operation in flight${op ? ` (${op.id} is ${op.status})` : ''}: nothing to hold. A hold stops the escalation of an operation under way; to move the primary without escalation, start it with mqdr switchover --no-escalate`,
      );
      return;
    }
    state.escalationHold = { operator: event.operator, reason: event.reason, at: step.ctx.now };
    step.record(Action.HOLD_ESCALATION, `${event.reason}; deadlines will not fail over until released`);
    step.notify('automatic escalation held', `${event.operator}: ${event.reason}`);
    return;
  }
  if (!held) {
    step.record(Action.IGNORE, 'automatic escalation is not held');
    return;
  }
  delete state.escalationHold;
  step.record(Action.RELEASE_ESCALATION, `${event.reason}; held by ${held.operator} for ${seconds(step.ctx.now - held.at)}`);
  step.notify('automatic escalation released', `${event.operator}: ${event.reason}`);
  // A switchover that passed its deadline while held escalates now rather than at the next sweep.
  const op = step.op;
  const late = op && overdueBy(op, step.ctx.now);
  if (op && late !== undefined) {
    escalate(step, op, 'release', `switchover passed its deadline by ${seconds(late)} while held`);
  }
}

function onPromoteResult(step: Step, event: Extract<CoreEvent, { type: 'PROMOTE_RESULT' }>): void {
  const op = step.op;
  if (!op || op.id !== event.operationId || op.mode !== event.mode || !isInFlight(op)) {
    step.record(Action.IGNORE, 'result of a Promote that the current operation no longer waits for');
    return;
  }
  if (event.accepted) {
    if (isRequested(op)) {
      markInProgress(step, op, `Amazon MQ accepted Promote ${op.mode}`);
    } else {
      step.record(Action.IGNORE, `operation already ${op.status}`);
    }
    return;
  }
  const error = event.error ?? 'unknown error';
  if (event.retryable && op.promoteAttempts < step.ctx.config.maxPromoteAttempts) {
    step.record(Action.WAIT, `Promote ${op.mode} failed (${error}); the sweep sends it again`);
  } else if (step.ctx.observation.promotionPending) {
    // An earlier Promote of this operation whose answer was lost, or the switchover a failover interrupts:
    // either way a promotion is under way, and failing would let another operation start beside it.
    step.record(
      Action.WAIT,
      `Promote ${op.mode} rejected (${error}), but the broker shows a promotion under way; waiting for it`,
    );
  } else if (step.ctx.observation.role === Role.UNKNOWN) {
    step.record(Action.WAIT, `Promote ${op.mode} rejected (${error}) and the broker could not be observed; the sweep decides`);
  } else {
    fail(step, op, `Promote ${op.mode} rejected: ${error}`);
  }
}

function tryStart(
  step: Step,
  mode: Mode,
  trigger: string,
  reason: string,
  {
    byOperator = false,
    dryRun = false,
    holdEscalation,
  }: { byOperator?: boolean; dryRun?: boolean; holdEscalation?: EscalationHold } = {},
): void {
  const { now, config, observation } = step.ctx;
  const refusal = startRefusal(step, mode) ?? (byOperator ? undefined : pairRefusal(step));
  if (refusal) {
    step.record(Action.REFUSE, `${reason}: ${refusal}`);
    step.notify(`refused ${mode}`, `${reason}: ${refusal}`);
    return;
  }
  const action = mode === Mode.SWITCHOVER ? Action.START_SWITCHOVER : Action.START_FAILOVER;
  if (config.dryRun || dryRun) {
    step.record(action, `${reason}; dry run: Promote ${mode} not called`, { dryRun: true });
    step.notify(`dry run: would start ${mode}`, reason);
    return;
  }
  const id = step.ctx.newOperationId();
  const next: Operation = {
    id,
    mode,
    status: mode === Mode.SWITCHOVER ? OperationStatus.SWITCHOVER_REQUESTED : OperationStatus.FAILOVER_REQUESTED,
    trigger,
    reason,
    startedAt: now,
    promoteRequestedAt: now,
    promoteAttempts: 1,
    ...(mode === Mode.SWITCHOVER ? { deadlineAt: now + config.deadlineMs } : { rpo: rpoNow(step.ctx.lag, now) }),
    ...(holdEscalation ? { escalationHeldBy: holdEscalation } : {}),
  };
  step.state.operation = next;
  step.state.consecutiveProbeFailures = 0;
  step.commands.push({ type: 'PROMOTE', operationId: id, mode });
  if (next.deadlineAt !== undefined) {
    step.commands.push({ type: 'SCHEDULE_DEADLINE', operationId: id, at: next.deadlineAt });
  }
  const deadline =
    next.deadlineAt === undefined
      ? ''
      : holdEscalation
        ? `; escalation held by ${holdEscalation.operator}: it will not fail over by itself (fail over by hand)`
        : `; escalates to FAILOVER in ${seconds(config.deadlineMs)}`;
  const rpo = next.rpo ? `; ${describeRpo(next.rpo)}` : '';
  step.record(action, `${reason}${deadline}${rpo}`, next.rpo ? { rpo: next.rpo } : {});
  step.notify(`${mode} started`, `${reason} (local broker ${observation.brokerState})${deadline}`);
}

/** Why no operation may start, for operators and automatic triggers alike. */
function startRefusal(step: Step, mode: Mode): string | undefined {
  const { observation } = step.ctx;
  const op = step.op;
  if (observation.role === Role.UNKNOWN) {
    return `local broker could not be observed (${observation.error ?? 'no detail'}); never promote blind`;
  }
  if (observation.role === Role.PRIMARY) {
    return 'local broker is already the PRIMARY; only a replica is promoted';
  }
  if (op && isInFlight(op)) {
    return `${op.mode} ${op.id} is already in flight (${op.status})${mode === Mode.SWITCHOVER && op.mode === Mode.FAILOVER ? '; a switchover never interrupts a failover' : ''}`;
  }
  if (observation.promotionPending) {
    return 'the local broker shows a promotion under way that no operation of this pair records; promote by hand only after it ends';
  }
  return undefined;
}

/** The pair's newest promotion, by either Region, as far as this Region knows. */
function newestPromotion(step: Step): Promotion | undefined {
  return newerOf(step.state.lastPromotion, step.ctx.pair?.peer?.lastPromotion, (p) => p.startedAt);
}

function newestRearm(step: Step): Rearm | undefined {
  return newerOf(step.state.rearm, step.ctx.pair?.peer?.rearm, (r) => r.at);
}

/** This Region's or the other's, whichever is newer by `at` (this Region's on a tie); either may be missing. */
export const newerOf = <T>(own: T | undefined, peer: T | undefined, at: (x: T) => number): T | undefined =>
  own === undefined ? peer : peer === undefined || at(own) >= at(peer) ? own : peer;

/**
 * What keeps automatic promotion from this Region disarmed, and why, if anything: a demotion of the local broker
 * that the view does not explain yet (no promotion by the other Region newer than this Region's own: the view
 * lags, or that Region could not publish), under any policy; under the manual fail-back policy, the pair's
 * newest promotion when it was automatic and made by the other Region. A re-arm after it lifts either.
 */
function disarmedBy(step: Step): { promotion?: Promotion; why: string } | undefined {
  const { config } = step.ctx;
  const promotion = newestPromotion(step);
  const demotedAt = step.state.demotedAt;
  if (demotedAt !== undefined && unexplainedDemotion(step)) {
    return {
      why: `the local broker was the primary and was seen a replica at ${iso(demotedAt)}, but the pair view shows no promotion by the other Region that explains it (the view lags, or that Region could not publish); automatic promotion waits until it does`,
    };
  }
  if (!promotion || promotion.region === (config.region ?? promotion.region) || !stillDisarms(step, promotion)) return undefined;
  const what = `${promotion.region}'s ${promotion.mode} ${promotion.operationId} (${promotion.trigger}, started ${iso(promotion.startedAt)})`;
  return {
    promotion,
    why: `automatic fail-back is disarmed: automatic triggers never reverse ${what} (FAILBACK_POLICY=manual)`,
  };
}

/**
 * Whether automatic promotion may start in this Region now, pair-wide, and if not why: the one answer the core
 * decides on, the operator API returns and the CLI prints (none of them derives it again).
 */
export function arming(
  state: PairState,
  ctx: Pick<DecisionContext, 'now' | 'config' | 'pair'>,
): { armed: true } | { armed: false; why: string; promotion?: Promotion } {
  const step = new Step(state, { type: 'SWEEP' }, { ...ctx, observation: UNOBSERVED, newOperationId: () => '' });
  const disarmed = disarmedBy(step);
  return disarmed
    ? { armed: false, why: disarmed.why, ...(disarmed.promotion ? { promotion: disarmed.promotion } : {}) }
    : { armed: true };
}

/** No observation: `arming` reads the pair-wide facts only. */
const UNOBSERVED: BrokerObservation = { role: Role.UNKNOWN, brokerState: 'UNKNOWN', promotionPending: false };

/**
 * The local broker was demoted by a promotion the view does not show yet (it lags, or the other Region could not
 * publish): the other Region's newest promotion must be newer than this Region's own. A re-arm since lifts it.
 */
function unexplainedDemotion(step: Step): boolean {
  const { demotedAt, lastPromotion: own } = step.state;
  if (demotedAt === undefined) return false;
  const peer = step.ctx.pair?.peer?.lastPromotion;
  const rearm = newestRearm(step);
  const explained = peer !== undefined && (own === undefined || peer.startedAt > own.startedAt);
  return !explained && !(rearm && rearm.at >= demotedAt);
}

/** A promotion that disarmed its reversal and was not re-armed since (by either Region). */
function stillDisarms(step: Step, promotion: Promotion): boolean {
  const rearm = newestRearm(step);
  return (
    (step.ctx.config.failbackPolicy ?? 'manual') === 'manual' &&
    promotion.disarms !== false &&
    !(rearm && rearm.at >= promotion.startedAt)
  );
}

/**
 * Whether this Region's new promotion disarms its reversal: always when automatic; for an operator's, unless it
 * reverses the other Region's promotion that still disarms (failing back by hand re-arms). When this Region cannot
 * know what it reversed (the view unreadable, or behind the local broker's demotion), it disarms and is marked
 * uncertain, so that its own reversal by hand is not taken for a fail-back either: guessing "fail-back" there
 * would let automatic triggers reverse an operator's promotion.
 */
function reversalOf(step: Step, op: Operation): Pick<Promotion, 'disarms' | 'uncertain'> {
  if (!op.trigger.startsWith('operator:')) return { disarms: true };
  const { pair } = step.ctx;
  if (pair === undefined) return { disarms: false }; // one stack alone: nothing to reverse
  if (pair.error !== undefined || unexplainedDemotion(step)) return { disarms: true, uncertain: true };
  const peer = pair.peer?.lastPromotion;
  const failback =
    peer !== undefined &&
    peer.startedAt <= op.startedAt + MAX_CLOCK_SKEW_MS &&
    peer.uncertain !== true &&
    stillDisarms(step, peer);
  return { disarms: !failback };
}

/**
 * Records the local broker's settled role when it changes (only with a pair view: a stack alone has nobody
 * to compare with). PRIMARY then REPLICA marks a demotion, which keeps automatic promotion waiting until the
 * view shows the promotion that caused it.
 */
function trackRole(step: Step): void {
  const { observation, now, pair } = step.ctx;
  if (pair === undefined || observation.promotionPending) return;
  const role =
    observation.role === Role.PRIMARY && observation.brokerState === 'RUNNING'
      ? 'PRIMARY'
      : observation.role === Role.REPLICA
        ? 'REPLICA'
        : undefined;
  const before = step.state.localRole;
  if (!role || before?.role === role) return;
  step.state.localRole = { role, since: now };
  if (role === 'PRIMARY') delete step.state.demotedAt;
  else if (before?.role === 'PRIMARY') step.state.demotedAt = now;
  // A completion recorded in this step already says the broker became the primary.
  if (step.decisions.some((d) => d.action === Action.COMPLETE)) return;
  step.record(
    Action.ROLE_OBSERVED,
    `local broker is ${role === 'PRIMARY' ? 'the PRIMARY' : 'a REPLICA'}${before ? ` (was ${before.role} since ${iso(before.since)}${role === 'REPLICA' ? ': the other Region promoted its broker' : ''})` : ''}`,
  );
}

/** Why an automatic trigger may not start an operation, pair-wide: the fail-back policy and the cooldown. */
function pairRefusal(step: Step): string | undefined {
  const { now, config, pair } = step.ctx;
  if (pair?.error !== undefined) {
    return `the pair view cannot be read (${pair.error}); automatic promotion needs the other Region's outcomes and waits (an operator can still promote)`;
  }
  const disarmed = disarmedBy(step);
  if (disarmed) return `${disarmed.why}; re-arm it (mqdr rearm) or fail back by hand (mqdr switchover, then reconcile)`;
  const op = step.op;
  // From either Region's newest promotion as soon as it took hold (accepted, or completed): one still under way
  // counts, as it completes any moment.
  const completions: Array<{ at: number; what: string }> = [
    ...(op?.status === OperationStatus.COMPLETED && op.completedAt !== undefined ? [{ at: op.completedAt, what: op.id }] : []),
    ...[step.state.lastPromotion, pair?.peer?.lastPromotion].flatMap((p) => {
      const at = p && tookHoldAt(p);
      return p && at !== undefined ? [{ at, what: `${p.operationId} in ${p.region}` }] : [];
    }),
  ];
  const last = completions.sort((a, b) => b.at - a.at)[0];
  if (last && now < last.at + config.cooldownMs) {
    return `pair-wide cooldown after ${last.what} for another ${seconds(last.at + config.cooldownMs - now)}`;
  }
  return undefined;
}

/**
 * When a promotion last took hold: its last accepted Promote (an escalation's, say) or its completion; undefined
 * while it has done neither (its Promote may still be refused).
 */
const tookHoldAt = (p: Promotion): number | undefined =>
  p.acceptedAt === undefined && p.completedAt === undefined
    ? undefined
    : Math.max(p.acceptedAt ?? Number.NEGATIVE_INFINITY, p.completedAt ?? Number.NEGATIVE_INFINITY);

/** This Region's promotion as the pair view shows it. */
function promotionOf(step: Step, op: Operation, extra: Partial<Promotion>): Promotion {
  const previous = step.state.lastPromotion?.operationId === op.id ? step.state.lastPromotion : undefined;
  return {
    ...previous,
    region: step.ctx.config.region ?? 'local',
    operationId: op.id,
    mode: op.mode,
    trigger: op.trigger,
    automatic: !op.trigger.startsWith('operator:'),
    // Decided once, when the promotion is first recorded: what it reversed then.
    ...(previous ? { disarms: previous.disarms } : reversalOf(step, op)),
    startedAt: op.startedAt,
    ...(op.breakGlass ? { breakGlass: true } : {}),
    ...extra,
  };
}

/**
 * The guard every Promote of an operation already under way passes (a re-send after a lost answer, an automatic
 * escalation): none goes out while the pair view cannot be read, or once it shows the other Region's promotion
 * started since this operation started, within the clock allowance either way. Such a Promote could reverse the
 * pair's newer choice: an operator failed over here, Amazon MQ acted but its answer was lost, the operator moved
 * the primary back, and the re-sent FAILOVER undid it. Then the operation ends SUPERSEDED (when the local broker
 * is a replica with nothing pending and the peer's promotion took hold) or waits. Records why and returns true when the Promote must not be sent.
 * A stack alone (no pair view) has nothing to compare with.
 */
function newerChoiceBlocks(step: Step, op: Operation, what: string): boolean {
  const { pair, observation } = step.ctx;
  if (pair === undefined) return false;
  if (pair.error !== undefined) {
    // Whether the other Region promoted since this operation started is unknown: never promote blind.
    step.record(
      Action.WAIT,
      `${what}, but the pair view cannot be read (${pair.error}); Promote not sent, the sweep tries again`,
    );
    return true;
  }
  const peer = pair.peer?.lastPromotion;
  if (!peer || peer.operationId === op.id || peer.startedAt <= op.startedAt - MAX_CLOCK_SKEW_MS) return false;
  const since = `${peer.region} promoted its broker (${peer.mode} ${peer.operationId}, ${peer.trigger}, started ${iso(peer.startedAt)}) since this ${op.mode} started at ${iso(op.startedAt)} (within the ${seconds(MAX_CLOCK_SKEW_MS)} clock allowance)`;
  // Ended only once the peer's promotion took hold (its Promote may still be refused) and nothing is pending here.
  if (observation.role !== Role.REPLICA || observation.promotionPending || tookHoldAt(peer) === undefined) {
    step.record(Action.WAIT, `${what}, but ${since}; Promote not sent`);
    return true;
  }
  step.cancelDeadlineIfPending(op);
  op.status = OperationStatus.SUPERSEDED;
  op.endedAt = step.ctx.now;
  const reason = `${since}, and the local broker is a replica with no promotion pending; ${what} not sent: it could reverse the pair's newer choice`;
  step.record(Action.SUPERSEDE, reason);
  step.notify(`${op.mode} superseded`, reason);
  return true;
}

/**
 * Ends an operation in flight that the other Region's promotion made moot: the local broker is a replica with
 * nothing pending, and the peer's view shows a promotion that took hold (accepted or completed) after this
 * operation started (within the clock skew allowance). Escalating it would promote against the pair's newer
 * choice.
 */
function supersedeIfMoot(step: Step, op: Operation): void {
  const { observation, pair } = step.ctx;
  const peer = pair?.peer?.lastPromotion;
  if (observation.role !== Role.REPLICA || observation.promotionPending || !peer) return;
  const tookHold = tookHoldAt(peer);
  if (tookHold === undefined) return;
  // Amazon MQ accepted this operation's Promote and it is gone: a peer promotion stamped up to the skew before
  // the operation started may still have come after it. One not accepted yet (its Promote may be in flight
  // right now) is moot only if the peer promoted certainly after it started.
  const accepted = op.status === OperationStatus.SWITCHOVER_IN_PROGRESS || op.status === OperationStatus.FAILOVER_IN_PROGRESS;
  if (tookHold <= op.startedAt + (accepted ? -MAX_CLOCK_SKEW_MS : MAX_CLOCK_SKEW_MS)) return;
  step.cancelDeadlineIfPending(op);
  op.status = OperationStatus.SUPERSEDED;
  op.endedAt = step.ctx.now;
  const reason = `${peer.region} promoted its broker (${peer.mode} ${peer.operationId}, ${peer.trigger}) at ${iso(tookHold)}, after this ${op.mode} started, and the local broker is a replica with no promotion pending; never escalated`;
  step.record(Action.SUPERSEDE, reason);
  step.notify(`${op.mode} superseded`, reason);
}

function onRearm(step: Step, event: Extract<CoreEvent, { type: 'REARM' }>): void {
  const disarmed = disarmedBy(step);
  if (!disarmed) {
    step.record(Action.IGNORE, 'automatic promotion is armed: no automatic promotion of the pair waits for a re-arm');
    return;
  }
  step.state.rearm = { operator: event.operator, reason: event.reason, at: step.ctx.now };
  const p = disarmed.promotion;
  const after = p ? `${p.region}'s ${p.mode} ${p.operationId} (${p.trigger})` : 'a demotion the pair view does not explain';
  const reason = `${event.reason}; automatic promotion re-armed after ${after}`;
  step.record(Action.REARM, reason);
  step.notify('automatic promotion re-armed', `${event.operator}: ${reason}`);
}

function onAbandon(step: Step, event: Extract<CoreEvent, { type: 'ABANDON' }>): void {
  const op = step.op;
  if (!op || !isInFlight(op)) {
    step.record(Action.IGNORE, `no operation in flight${op ? ` (${op.id} is ${op.status})` : ''}: nothing to abandon`);
    return;
  }
  step.cancelDeadlineIfPending(op);
  op.status = OperationStatus.ABANDONED;
  op.endedAt = step.ctx.now;
  const pending = step.ctx.observation.promotionPending
    ? '; Amazon MQ still shows a promotion under way, which abandoning does not stop'
    : '';
  step.record(Action.ABANDON, `${event.reason}${pending}`);
  step.notify(`${op.mode} abandoned`, `${event.operator}: ${event.reason}${pending}`);
}

/**
 * Records a failover an operator sent while the table could not be written (break glass). It interrupts a
 * switchover in flight, as an operator's failover does; completion follows as for any failover.
 */
function onBreakGlass(step: Step, record: BreakGlassRecord): void {
  const { now } = step.ctx;
  const current = step.op;
  const reason = `break glass: ${record.operator} failed over at ${iso(record.at)} while the table could not be written (${record.reason}); recorded ${seconds(now - record.at)} later`;
  if (current && isInFlight(current)) {
    step.cancelDeadlineIfPending(current);
    current.mode = Mode.FAILOVER;
    current.status = OperationStatus.FAILOVER_IN_PROGRESS;
    current.escalatedAt = record.at;
    current.breakGlass = true;
    current.rpo = { events: null, lagSeconds: null, unknown: RpoUnknown.NOT_READ };
    step.record(Action.ESCALATE_TO_FAILOVER, reason, { breakGlass: true, rpo: current.rpo });
  } else {
    step.state.operation = {
      id: record.id,
      mode: Mode.FAILOVER,
      status: OperationStatus.FAILOVER_IN_PROGRESS,
      trigger: `operator:${record.operator}`,
      reason: record.reason,
      startedAt: record.at,
      promoteRequestedAt: record.at,
      promoteAttempts: 1,
      breakGlass: true,
      rpo: { events: null, lagSeconds: null, unknown: RpoUnknown.NOT_READ },
    };
    step.record(Action.START_FAILOVER, reason, { breakGlass: true, rpo: step.state.operation.rpo });
  }
  const op = step.op as Operation;
  step.state.lastPromotion = promotionOf(step, op, { acceptedAt: record.at });
  step.notify('break-glass FAILOVER recorded', reason);
  rememberRequest(step, record.requestKey, 'FAILOVER', false);
}

/**
 * What holds automatic escalation of `op`, if anything: an operator's hold on the pair, or the operator who
 * started this switchover with escalation held (`--no-escalate`), for this operation only.
 */
function holdOf(step: Step, op: Operation): EscalationHold | undefined {
  return step.state.escalationHold ?? op.escalationHeldBy;
}

function escalate(step: Step, op: Operation, trigger: string, reason: string, dryRun = false): void {
  const { now, observation } = step.ctx;
  const held = holdOf(step, op);
  if (held && !trigger.startsWith('operator:')) {
    step.record(Action.REFUSE, `${reason}, but ${held.operator} holds automatic escalation (${held.reason})`);
    step.notify(
      'escalation held',
      `${reason}; not failing over because ${held.operator} holds escalation: release it or fail over by hand`,
    );
    return;
  }
  // An automatic escalation passes the same guard as a re-sent Promote (an operator's is the operator's call).
  if (!trigger.startsWith('operator:') && newerChoiceBlocks(step, op, `${reason}; failover`)) return;
  if (observation.role !== Role.REPLICA) {
    // PRIMARY but not yet RUNNING: the switchover is finishing. UNKNOWN: never promote blind; the sweep retries.
    step.record(
      Action.WAIT,
      `${reason}, but the local broker is ${observation.role} (${observation.brokerState}); failover not requested`,
    );
    return;
  }
  if (dryRun) {
    step.record(Action.ESCALATE_TO_FAILOVER, `${reason}; dry run: Promote FAILOVER not called`, { dryRun: true });
    step.notify('dry run: would escalate to FAILOVER', `${reason} (trigger ${trigger})`);
    return;
  }
  step.cancelDeadlineIfPending(op);
  op.mode = Mode.FAILOVER;
  op.status = OperationStatus.FAILOVER_REQUESTED;
  op.escalatedAt = now;
  op.promoteRequestedAt = now;
  op.promoteAttempts = 1;
  op.rpo = rpoNow(step.ctx.lag, now);
  step.commands.push({ type: 'PROMOTE', operationId: op.id, mode: Mode.FAILOVER });
  step.record(
    Action.ESCALATE_TO_FAILOVER,
    `${reason}; failover may leave unreplicated messages on the old primary; ${describeRpo(op.rpo)}`,
    { rpo: op.rpo, escalatedBy: trigger },
  );
  step.notify('escalated to FAILOVER', `${reason} (trigger ${trigger})`);
}

function markInProgress(step: Step, op: Operation, reason: string): void {
  op.status = op.mode === Mode.SWITCHOVER ? OperationStatus.SWITCHOVER_IN_PROGRESS : OperationStatus.FAILOVER_IN_PROGRESS;
  step.state.lastPromotion = promotionOf(step, op, { acceptedAt: step.ctx.now });
  step.record(Action.PROMOTE_ACCEPTED, reason);
  step.notify(`${op.mode} in progress`, `${reason}; waiting for the local broker to become the primary`);
}

function complete(step: Step, op: Operation): void {
  const { now } = step.ctx;
  step.cancelDeadlineIfPending(op);
  op.status = OperationStatus.COMPLETED;
  op.completedAt = now;
  // A switchover completes only once the queue is empty: nothing is left behind.
  op.rpo ??= { events: 0, lagSeconds: 0 };
  const promotion = promotionOf(step, op, { completedAt: now });
  promotion.acceptedAt ??= now;
  step.state.lastPromotion = promotion;
  const disarms =
    promotion.disarms && (step.ctx.config.failbackPolicy ?? 'manual') === 'manual'
      ? `; automatic promotion back to the other Region is disarmed until an operator re-arms it (mqdr rearm) or fails back by hand${promotion.uncertain ? ' (this Region could not see what it reversed, so it is not taken for a fail-back: if it was one, mqdr rearm)' : ''}`
      : '';
  const reason = `local broker observed PRIMARY and RUNNING after ${op.mode}, ${seconds(now - op.startedAt)} after the operation started; ${describeRpo(op.rpo)}${disarms}`;
  step.record(Action.COMPLETE, reason, { recoveryMs: now - op.startedAt, rpo: op.rpo });
  step.notify(`${op.mode} completed`, reason);
  if (step.ctx.config.redirect) {
    op.redirect = { status: 'PENDING', attempts: 1, requestedAt: now };
    step.commands.push({ type: 'REDIRECT_CLIENTS', operationId: op.id });
    step.record(Action.REDIRECT_CLIENTS, 'pointing clients at the new primary (attempt 1)');
  }
}

/** When the sweep sends a failed redirection again: doubling from the configured delay, at most an hour. */
const redirectRetryAt = (redirect: Redirect, retryAfterMs: number): number =>
  redirect.requestedAt + Math.min(retryAfterMs * 2 ** (redirect.attempts - 1), 3_600_000);

function retryRedirect(step: Step, op: Operation): void {
  const { now, config, observation } = step.ctx;
  const redirect = op.redirect;
  if (!config.redirect || redirect?.status !== 'PENDING' || now < redirectRetryAt(redirect, config.redirect.retryAfterMs)) {
    return;
  }
  if (observation.role === Role.REPLICA) {
    // Roles swapped back (the other Region's orchestrator, or by hand): its redirection is not ours to undo.
    redirect.status = 'SUPERSEDED';
    step.record(Action.REDIRECT_FAILED, 'the local broker is a REPLICA again; clients are not pointed at it');
    return;
  }
  if (!isPromoted(observation)) return; // not observable, or rebooting: the next sweep looks again
  redirect.attempts += 1;
  redirect.requestedAt = now;
  step.commands.push({ type: 'REDIRECT_CLIENTS', operationId: op.id });
  step.record(Action.REDIRECT_CLIENTS, `pointing clients at the new primary (attempt ${redirect.attempts})`);
}

function onRedirectResult(step: Step, event: Extract<CoreEvent, { type: 'REDIRECT_RESULT' }>): void {
  const op = step.op;
  const redirect = op?.redirect;
  if (!op || op.id !== event.operationId || redirect?.status !== 'PENDING') {
    step.record(Action.IGNORE, 'result of a client redirection that the current operation no longer waits for');
    return;
  }
  const { now, config } = step.ctx;
  if (event.ok) {
    redirect.status = 'DONE';
    redirect.target = event.detail;
    redirect.doneAt = now;
    step.record(Action.CLIENTS_REDIRECTED, `clients pointed at the new primary: ${event.detail}`);
    step.notify('clients redirected', event.detail);
    return;
  }
  const maxAttempts = config.redirect?.maxAttempts ?? 1;
  if (redirect.attempts >= maxAttempts) {
    redirect.status = 'FAILED';
    step.record(Action.REDIRECT_FAILED, `${event.detail}; gave up after ${redirect.attempts} attempts`);
    step.notify('client redirection failed', `${event.detail}; point clients at the new primary by hand`);
    return;
  }
  const retryIn = redirectRetryAt(redirect, config.redirect?.retryAfterMs ?? 0) - now;
  step.record(Action.REDIRECT_FAILED, `${event.detail}; the sweep tries again in ${seconds(retryIn)}`);
}

function fail(step: Step, op: Operation, reason: string): void {
  step.cancelDeadlineIfPending(op);
  op.status = OperationStatus.FAILED;
  op.failedAt = step.ctx.now;
  step.record(Action.FAIL, reason);
  step.notify(`${op.mode} failed`, `${reason}; promote by hand (console: Promote replica) or retry`);
}
