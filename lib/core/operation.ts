/**
 * The operation's lifecycle: start (with the guards every start passes), Promote accepted, completed (observed,
 * never assumed), failed.
 */

import { MAX_DATAPOINT_AGE_MS, PROMOTION_SHOWN_WITHIN_MS } from '../mq-facts.ts';
import {
  Action,
  Code,
  type CoreEvent,
  disarmsReversal,
  type EscalationHold,
  Mode,
  type Operation,
  OperationStatus,
  Origin,
  type Redirect,
  type Refusal,
  Reversal,
  Role,
} from './model.ts';
import { pairRefusal, promotionOf } from './pair-rules.ts';
import { type DrainEstimate, estimateDrain } from './predict.ts';
import { describeRpo, rpoNow } from './rpo.ts';
import { isInFlight, iso, isRequested, type Step, seconds } from './step.ts';

export function onPromoteResult(step: Step, event: Extract<CoreEvent, { type: 'PROMOTE_RESULT' }>): void {
  const op = step.op;
  if (!op || op.id !== event.operationId || op.mode !== event.mode || !isInFlight(op)) {
    step.ignore(Code.NOT_CURRENT_OPERATION, 'result of a Promote that the current operation no longer waits for');
    return;
  }
  if (event.accepted) {
    if (isRequested(op)) {
      markInProgress(step, op, `Amazon MQ accepted Promote ${op.mode}`);
    } else {
      step.ignore(Code.ALREADY_ENDED, `operation already ${op.status}`);
    }
    return;
  }
  const error = event.error ?? 'unknown error';
  if (event.retryable && op.promoteAttempts < step.ctx.config.maxPromoteAttempts) {
    step.wait(Code.PROMOTE_RETRY, `Promote ${op.mode} failed (${error}); the sweep sends it again`);
  } else if (step.ctx.observation.promotionPending) {
    // An earlier Promote of this operation whose answer was lost, or the switchover a failover interrupts:
    // either way a promotion is under way, and failing would let another operation start beside it.
    step.wait(
      Code.PROMOTION_UNDER_WAY,
      `Promote ${op.mode} rejected (${error}), but the broker shows a promotion under way; waiting for it`,
    );
  } else if (step.ctx.observation.role === Role.UNKNOWN) {
    step.wait(
      Code.BROKER_UNOBSERVED,
      `Promote ${op.mode} rejected (${error}) and the broker could not be observed; the sweep decides`,
    );
  } else {
    fail(step, op, `Promote ${op.mode} rejected: ${error}`);
  }
}

export function tryStart(
  step: Step,
  mode: Mode,
  trigger: string,
  reason: string,
  {
    byOperator = false,
    dryRun = false,
    holdEscalation,
    evidenceAt,
  }: { byOperator?: boolean; dryRun?: boolean; holdEscalation?: EscalationHold; evidenceAt?: number } = {},
): void {
  const { now, config, observation } = step.ctx;
  const refusal = startRefusal(step, mode) ?? (byOperator ? undefined : pairRefusal(step));
  if (refusal) {
    step.refuse(refusal.code, `${reason}: ${refusal.why}`);
    // The wait of a stack with no history is notified once, not at every alarm and probe while it lasts.
    if (refusal.code === Code.VIEW_NOT_CONFIRMED && step.state.viewWaitNotified) return;
    if (refusal.code === Code.VIEW_NOT_CONFIRMED) step.state.viewWaitNotified = true;
    step.notify(`refused ${mode}`, `${reason}: ${refusal.why}`);
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
    origin: byOperator ? Origin.OPERATOR : Origin.AUTOMATIC,
    trigger,
    reason,
    evidenceAt: Math.min(evidenceAt ?? now, now),
    startedAt: now,
    promoteRequestedAt: now,
    promoteAttempts: 1,
    ...(mode === Mode.SWITCHOVER ? { deadlineAt: now + config.deadlineMs } : { rpo: rpoNow(step.ctx.lag, now) }),
    ...(holdEscalation ? { escalationHeldBy: holdEscalation } : {}),
  };
  step.state.operation = next;
  step.state.consecutiveProbeFailures = 0;
  delete step.state.probeStreakSince;
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
function startRefusal(step: Step, mode: Mode): Refusal | undefined {
  const { observation } = step.ctx;
  const op = step.op;
  if (observation.role === Role.UNKNOWN) {
    return {
      code: Code.BROKER_UNOBSERVED,
      why: `local broker could not be observed (${observation.error ?? 'no detail'}); never promote blind`,
    };
  }
  if (observation.role === Role.PRIMARY) {
    return { code: Code.ALREADY_PRIMARY, why: 'local broker is already the PRIMARY; only a replica is promoted' };
  }
  if (op && isInFlight(op)) {
    return {
      code: Code.IN_FLIGHT,
      why: `${op.mode} ${op.id} is already in flight (${op.status})${mode === Mode.SWITCHOVER && op.mode === Mode.FAILOVER ? '; a switchover never interrupts a failover' : ''}`,
    };
  }
  if (observation.promotionPending) {
    return {
      code: Code.UNRECORDED_PROMOTION,
      why: 'the local broker shows a promotion under way that no operation of this pair records; promote by hand only after it ends',
    };
  }
  return undefined;
}

export function markInProgress(step: Step, op: Operation, reason: string): void {
  op.status = op.mode === Mode.SWITCHOVER ? OperationStatus.SWITCHOVER_IN_PROGRESS : OperationStatus.FAILOVER_IN_PROGRESS;
  op.acceptedAt ??= step.ctx.now;
  step.recordPromotion(promotionOf(step, op, { acceptedAt: step.ctx.now }));
  step.record(Action.PROMOTE_ACCEPTED, reason);
  step.notify(`${op.mode} in progress`, `${reason}; waiting for the local broker to become the primary`);
}

export function complete(step: Step, op: Operation): void {
  const { now } = step.ctx;
  const outside = interruptedOutside(step, op);
  if (outside) {
    // Recorded as what it was: the FAILOVER that interrupted the switchover, and what it left behind.
    op.mode = Mode.FAILOVER;
    op.escalatedAt = now;
    op.rpo = rpoNow(step.ctx.lag, now);
    const zero = outside.zeroAt === undefined ? 'it was not draining' : `it could not be empty before ${iso(outside.zeroAt)}`;
    step.record(
      Action.ESCALATE_TO_FAILOVER,
      `the switchover completed before its queue could drain (${outside.events} events at ${iso(outside.at)}, ${outside.drainRate.toFixed(1)} events/s over ${outside.points} datapoints; ${zero}): a FAILOVER this orchestrator did not send (the console, the AWS CLI) interrupted it, and may have left messages on the old primary (reconcile when it is back); ${describeRpo(op.rpo)}`,
      { rpo: op.rpo, escalatedBy: 'outside' },
    );
  }
  step.cancelDeadlineIfPending(op);
  op.status = OperationStatus.COMPLETED;
  op.completedAt = now;
  op.acceptedAt ??= now;
  // A switchover completes only once the queue is empty: nothing is left behind.
  op.rpo ??= { events: 0, lagSeconds: 0 };
  const promotion = promotionOf(step, op, { completedAt: now });
  promotion.acceptedAt ??= now;
  step.recordPromotion(promotion);
  const disarms =
    disarmsReversal(promotion.reversal) && (step.ctx.config.failbackPolicy ?? 'manual') === 'manual'
      ? `; automatic promotion back to the other Region is disarmed until an operator re-arms it (mqdr rearm) or fails back by hand${promotion.reversal === Reversal.UNCERTAIN ? ' (this Region could not see what it reversed, so it is not taken for a fail-back: if it was one, mqdr rearm)' : ''}`
      : '';
  // Recovery runs to the takeover: now, or for break glass when the request that broke it saw it (the table, and so
  // this completion, may come back much later); unknown when nobody saw it.
  const measured = recoveryOf(op);
  const took =
    measured === undefined
      ? undefined
      : `${seconds(measured.evidenceMs)} after the first evidence (${iso(op.evidenceAt ?? op.startedAt)}), ${seconds(measured.recoveryMs)} after the operation started`;
  const recovery =
    took === undefined
      ? 'recovery time unknown: the break-glass request did not see the takeover, and the table recorded it later'
      : op.breakGlass
        ? `took over at ${iso(op.tookOverAt ?? now)}, ${took} (seen by the break-glass request)`
        : took;
  const reason = `local broker observed PRIMARY and RUNNING after ${op.mode}, ${recovery}; ${describeRpo(op.rpo)}${disarms}`;
  step.record(Action.COMPLETE, reason, { ...measured, rpo: op.rpo });
  step.notify(`${op.mode} completed`, reason);
  startRedirect(step, op);
}

/**
 * The one definition of an operation's recovery time, as ARC measures an execution's: to the takeover (the new
 * primary running: the completion, or for break glass the takeover its request saw), from the first evidence and
 * from the operation's start. Undefined before the takeover, or when nobody saw it. The timeline's COMPLETE, the
 * API, the CLI, the drills and the report all give these figures.
 */
export function recoveryOf(op: Operation): { evidenceMs: number; recoveryMs: number } | undefined {
  const tookOverAt = takeoverAt(op);
  if (tookOverAt === undefined || op.status !== OperationStatus.COMPLETED) return undefined;
  return { evidenceMs: tookOverAt - (op.evidenceAt ?? op.startedAt), recoveryMs: tookOverAt - op.startedAt };
}

/** When the new primary was seen running: the completion, or for break glass the takeover its request saw. */
const takeoverAt = (op: Operation): number | undefined => (op.breakGlass ? op.tookOverAt : op.completedAt);

export const MILESTONES = ['detected', 'decided', 'Promote accepted', 'primary running', 'clients redirected'] as const;
export type Milestone = (typeof MILESTONES)[number];

/**
 * One operation's recovery, step by step: when each milestone was reached (undefined: not yet, or not kept by an
 * older record), and how long after the first evidence. Primary running is the takeover `recoveryOf` measures to.
 */
export function milestonesOf(
  op: Operation,
): Array<{ name: Milestone; at?: number; afterEvidenceMs?: number; status?: Redirect['status'] }> {
  const from = op.evidenceAt ?? op.startedAt;
  const at: Record<Milestone, number | undefined> = {
    detected: from,
    decided: op.startedAt,
    'Promote accepted': op.acceptedAt,
    'primary running': takeoverAt(op),
    'clients redirected': op.redirect?.status === 'DONE' ? op.redirect.doneAt : undefined,
  };
  return MILESTONES.map((name) => {
    const t = at[name];
    // The redirection's own state says why clients were not redirected yet (PENDING, FAILED, SUPERSEDED).
    const status =
      name === 'clients redirected' && op.redirect && op.redirect.status !== 'DONE' ? { status: op.redirect.status } : {};
    return t === undefined ? { name, ...status } : { name, at: t, afterEvidenceMs: t - from };
  });
}

/**
 * A switchover of this Region that completes long before its queue could have drained was interrupted by a FAILOVER
 * sent outside the orchestrator: the old primary's QueueSize since the switchover started (two datapoints at least,
 * the last one fresh) reaches zero a minute or more after now, or never. Undefined when the datapoints cannot tell
 * (the completion is then recorded as the switchover's).
 */
function interruptedOutside(step: Step, op: Operation): DrainEstimate | undefined {
  const { now, lag } = step.ctx;
  if (op.mode !== Mode.SWITCHOVER || !lag) return undefined;
  const estimate = estimateDrain(
    lag.filter((p) => !p.local),
    op.startedAt,
    2,
  );
  if (!estimate || estimate.events <= 0 || now - estimate.at > MAX_DATAPOINT_AGE_MS) return undefined;
  return estimate.zeroAt === undefined || estimate.zeroAt > now + 60_000 ? estimate : undefined;
}

/**
 * The local broker became the primary by a promotion no operation of this Region was waiting for: the console, the
 * AWS CLI, an ARC plan without the step, or an operation that had ended (failed, abandoned) while Amazon MQ acted.
 * Recorded as what it was, with the RPO of the old primary's last datapoint, and followed as any completion is:
 * published to the pair view (an operator's promotion: automatic triggers never reverse it unless it was a
 * fail-back by hand), the pair-wide cooldown, and clients redirected to the new primary.
 */
export function recordExternalPromotion(step: Step): void {
  const { now, lag } = step.ctx;
  const before = step.op;
  const rpo = rpoNow(lag, now);
  const op: Operation = {
    id: step.ctx.newOperationId(),
    mode: Mode.FAILOVER,
    status: OperationStatus.COMPLETED,
    origin: Origin.EXTERNAL,
    trigger: 'external',
    reason: 'a promotion this orchestrator did not send',
    evidenceAt: now,
    startedAt: now,
    promoteRequestedAt: now,
    promoteAttempts: 0,
    acceptedAt: now,
    completedAt: now,
    external: true,
    rpo,
  };
  step.state.operation = op;
  step.recordPromotion(promotionOf(step, op, { acceptedAt: now, completedAt: now }));
  const last = before ? ` (this Region's last operation, ${before.id}, is ${before.status})` : '';
  const reason = `the local broker became the primary by a promotion this orchestrator did not send: the console, the AWS CLI, or an ARC plan without the step${last}. Amazon MQ does not say which mode (a switchover drains the old primary's queue first, a failover leaves it behind): it is recorded as a FAILOVER, so reconcile when the old primary is back; the old primary's last datapoint: ${describeRpo(rpo)}`;
  step.record(Action.EXTERNAL_PROMOTION, reason, { rpo });
  step.notify('promotion made outside the orchestrator', reason);
  startRedirect(step, op);
}

/** Points clients at the local broker, the new primary, when the deployment redirects them. */
function startRedirect(step: Step, op: Operation): void {
  if (!step.ctx.config.redirect) return;
  op.redirect = { status: 'PENDING', attempts: 1, requestedAt: step.ctx.now };
  step.commands.push({ type: 'REDIRECT_CLIENTS', operationId: op.id });
  step.record(Action.REDIRECT_CLIENTS, 'pointing clients at the new primary (attempt 1)');
}

/**
 * Ends an accepted promotion that is gone without this Region seeing it take effect: long enough after its Promote
 * (PROMOTION_SHOWN_WITHIN_MS), the local broker is a replica with nothing pending, and no newer promotion of the
 * other Region explains it (supersedeIfMoot ends those first). Either it took effect and a promotion this
 * orchestrator did not send reversed it between two looks (the console, the AWS CLI), or Amazon MQ dropped it.
 * Left in flight it would refuse every later operation of this Region, and escalating it would promote against a
 * choice nobody recorded. Returns true when it ended the operation.
 */
export function endIfVanished(step: Step, op: Operation): boolean {
  const { now, observation } = step.ctx;
  const accepted = op.status === OperationStatus.SWITCHOVER_IN_PROGRESS || op.status === OperationStatus.FAILOVER_IN_PROGRESS;
  if (!accepted || observation.role !== Role.REPLICA || observation.promotionPending) return false;
  if (now - op.promoteRequestedAt < PROMOTION_SHOWN_WITHIN_MS) return false;
  fail(
    step,
    op,
    `Amazon MQ accepted Promote ${op.mode} (sent ${iso(op.promoteRequestedAt)}), and ${seconds(now - op.promoteRequestedAt)} later the local broker is a replica with no promotion pending: it either took effect and a promotion this orchestrator did not send (the console, the AWS CLI) reversed it before a sweep saw it, or Amazon MQ dropped it. Check which broker is the primary in both Regions`,
  );
  return true;
}

export function fail(step: Step, op: Operation, reason: string): void {
  step.cancelDeadlineIfPending(op);
  op.status = OperationStatus.FAILED;
  op.failedAt = step.ctx.now;
  step.record(Action.FAIL, reason);
  step.notify(`${op.mode} failed`, `${reason}; promote by hand (console: Promote replica) or retry`);
}
