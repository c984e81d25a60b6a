/**
 * Operator requests: promote, hold or release escalation, re-arm automatic promotion, abandon, and the
 * break-glass failover recorded once the table answers again.
 */
import { escalate } from './escalation.ts';
import {
  Action,
  type BreakGlassRecord,
  Code,
  type CoreEvent,
  Mode,
  type Operation,
  OperationStatus,
  Origin,
  RpoUnknown,
} from './model.ts';
import { tryStart } from './operation.ts';
import { disarmedBy, promotionOf } from './pair-rules.ts';
import { isInFlight, iso, overdueBy, rememberRequest, type Step, seconds } from './step.ts';

export function onOperator(step: Step, event: Extract<CoreEvent, { type: 'OPERATOR' }>): void {
  const op = step.op;
  const trigger = `operator:${event.operator}`;
  const dryRun = event.dryRun === true;
  if (event.mode === Mode.FAILOVER && op && isInFlight(op) && op.mode === Mode.SWITCHOVER) {
    escalate(step, op, 'operator', `operator interrupts the switchover: ${event.reason}`, dryRun);
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

export function onHold(step: Step, event: Extract<CoreEvent, { type: 'HOLD' }>): void {
  const { state } = step;
  const held = state.escalationHold;
  if (event.hold) {
    if (held) {
      step.ignore(Code.ALREADY_HELD, `escalation already held by ${held.operator} (${held.reason})`);
      return;
    }
    // A hold with nothing to hold would wait, forgotten, for the next operation and stop its escalation.
    const op = step.op;
    if (!op || !isInFlight(op)) {
      step.refuse(
        Code.NOTHING_IN_FLIGHT,
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
    step.ignore(Code.NOT_HELD, 'automatic escalation is not held');
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

export function onRearm(step: Step, event: Extract<CoreEvent, { type: 'REARM' }>): void {
  const disarmed = disarmedBy(step);
  if (!disarmed) {
    step.ignore(Code.ALREADY_ARMED, 'automatic promotion is armed: no automatic promotion of the pair waits for a re-arm');
    return;
  }
  step.recordRearm({ operator: event.operator, reason: event.reason, at: step.ctx.now });
  const p = disarmed.promotion;
  const after = p ? `${p.region}'s ${p.mode} ${p.operationId} (${p.trigger})` : 'a demotion the pair view does not explain';
  const reason = `${event.reason}; automatic promotion re-armed after ${after}`;
  step.record(Action.REARM, reason);
  step.notify('automatic promotion re-armed', `${event.operator}: ${reason}`);
}

export function onAbandon(step: Step, event: Extract<CoreEvent, { type: 'ABANDON' }>): void {
  const op = step.op;
  if (!op || !isInFlight(op)) {
    step.ignore(Code.NOTHING_IN_FLIGHT, `no operation in flight${op ? ` (${op.id} is ${op.status})` : ''}: nothing to abandon`);
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
export function onBreakGlass(step: Step, record: BreakGlassRecord): void {
  const { now } = step.ctx;
  const current = step.op;
  const reason = `break glass: ${record.operator} failed over at ${iso(record.at)} while the table could not be written (${record.reason}); recorded ${seconds(now - record.at)} later`;
  if (current && isInFlight(current)) {
    step.cancelDeadlineIfPending(current);
    current.mode = Mode.FAILOVER;
    current.status = OperationStatus.FAILOVER_IN_PROGRESS;
    current.escalatedAt = record.at;
    current.breakGlass = true;
    if (record.promotedAt !== undefined) current.tookOverAt = record.promotedAt;
    current.rpo = { events: null, lagSeconds: null, unknown: RpoUnknown.NOT_READ };
    step.record(Action.ESCALATE_TO_FAILOVER, reason, { breakGlass: true, rpo: current.rpo });
  } else {
    step.state.operation = {
      id: record.id,
      mode: Mode.FAILOVER,
      status: OperationStatus.FAILOVER_IN_PROGRESS,
      origin: Origin.OPERATOR,
      trigger: `operator:${record.operator}`,
      reason: record.reason,
      evidenceAt: record.at,
      startedAt: record.at,
      promoteRequestedAt: record.at,
      promoteAttempts: 1,
      breakGlass: true,
      ...(record.promotedAt !== undefined ? { tookOverAt: record.promotedAt } : {}),
      rpo: { events: null, lagSeconds: null, unknown: RpoUnknown.NOT_READ },
    };
    step.record(Action.START_FAILOVER, reason, { breakGlass: true, rpo: step.state.operation.rpo });
  }
  const op = step.op as Operation;
  op.acceptedAt ??= record.at;
  step.recordPromotion(promotionOf(step, op, { acceptedAt: record.at }));
  step.notify('break-glass FAILOVER recorded', reason);
  rememberRequest(step, record.requestKey, 'FAILOVER', false);
}
