/**
 * Escalation of a switchover to a failover: at its deadline, by the backstop sweep, on a confirmed outage of the
 * primary's Region, or when it cannot drain in time; never while an operator holds it. The sweep also re-sends
 * a Promote whose answer was lost.
 */
import { Action, Code, type EscalatedBy, Mode, type Operation, OperationStatus, Role } from './model.ts';
import { fail, markInProgress } from './operation.ts';
import { newerChoiceBlocks } from './pair-rules.ts';
import { estimateDrain } from './predict.ts';
import { retryRedirect } from './redirection.ts';
import { describeRpo, rpoNow } from './rpo.ts';
import { holdOf, isInFlight, iso, isRequested, overdueBy, type Step, seconds } from './step.ts';

/** Outage evidence older than this (the probes stopped) escalates nothing: two and a half probe periods. */
export const OUTAGE_EVIDENCE_MAX_AGE_MS = 150_000;

export function onDeadline(step: Step, operationId: string): void {
  const op = step.op;
  if (!op || op.id !== operationId) {
    step.ignore(Code.NOT_CURRENT_OPERATION, `deadline belongs to ${operationId}, not to the current operation`);
  } else if (!isInFlight(op)) {
    step.ignore(Code.ALREADY_ENDED, `operation already ${op.status}`);
  } else if (op.mode === Mode.FAILOVER) {
    step.ignore(Code.ALREADY_FAILOVER, 'operation already escalated to FAILOVER');
  } else {
    escalate(step, op, 'deadline', `switchover did not complete within ${seconds(step.ctx.config.deadlineMs)}`);
  }
}

export function onSweep(step: Step): void {
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
    step.wait(
      Code.BROKER_UNOBSERVED,
      `local broker could not be observed (${observation.error ?? 'no detail'}); Promote not re-sent`,
    );
  } else if (op.promoteAttempts >= config.maxPromoteAttempts && observation.promotionPending) {
    // Failing now would lose track of the switchover still under way; keep waiting for it, every retry period.
    op.promoteRequestedAt = now;
    step.wait(
      Code.PROMOTION_UNDER_WAY,
      `Promote ${op.mode} not accepted after ${op.promoteAttempts} attempts; the switchover is still under way, so the operation waits for it`,
    );
  } else if (op.promoteAttempts >= config.maxPromoteAttempts) {
    fail(step, op, `Promote ${op.mode} not accepted after ${op.promoteAttempts} attempts`);
  } else if (observation.role !== Role.REPLICA) {
    step.wait(Code.LOCAL_NOT_REPLICA, `local broker is ${observation.role} (${observation.brokerState}); Promote not re-sent`);
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
export function outageEscalationDue(step: Step, op: Operation): string | undefined {
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

export function escalate(step: Step, op: Operation, by: EscalatedBy, reason: string, dryRun = false): void {
  const { now, observation } = step.ctx;
  const held = holdOf(step, op);
  if (held && by !== 'operator') {
    step.refuse(Code.ESCALATION_HELD, `${reason}, but ${held.operator} holds automatic escalation (${held.reason})`);
    step.notify(
      'escalation held',
      `${reason}; not failing over because ${held.operator} holds escalation: release it or fail over by hand`,
    );
    return;
  }
  // An automatic escalation passes the same guard as a re-sent Promote (an operator's is the operator's call).
  if (by !== 'operator' && newerChoiceBlocks(step, op, `${reason}; failover`)) return;
  if (observation.role !== Role.REPLICA) {
    // PRIMARY but not yet RUNNING: the switchover is finishing. UNKNOWN: never promote blind; the sweep retries.
    step.wait(
      observation.role === Role.UNKNOWN ? Code.BROKER_UNOBSERVED : Code.LOCAL_NOT_REPLICA,
      `${reason}, but the local broker is ${observation.role} (${observation.brokerState}); failover not requested`,
    );
    return;
  }
  if (dryRun) {
    step.record(Action.ESCALATE_TO_FAILOVER, `${reason}; dry run: Promote FAILOVER not called`, { dryRun: true });
    step.notify('dry run: would escalate to FAILOVER', `${reason} (by ${by})`);
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
    { rpo: op.rpo, escalatedBy: by },
  );
  step.notify('escalated to FAILOVER', `${reason} (by ${by})`);
}
