/**
 * The decision core: (state, event, facts) -> (new state, decisions, commands). Pure and deterministic:
 * the clock, the observation of the local broker and new operation ids all come in through the context.
 *
 * Guards, each recorded with its reason and, when it refuses, waits or ignores, a `Code` (docs/decision-rules.md):
 *  - act only where the local broker is the REPLICA (the orchestrator runs in the replica's Region);
 *  - never promote a primary, nor a broker that could not be observed;
 *  - single flight: no second operation while one is in flight (a failover may interrupt a switchover,
 *    never the reverse);
 *  - a pair-wide cooldown from when either Region's newest promotion took hold (accepted, or completed), against
 *    alarm flapping (operators are not held by it);
 *  - only alarm transitions into ALARM trigger;
 *  - N consecutive failed probes, or fewer within the gray-failure window, before a health trigger counts; a probe the primary's API refused (4xx) is
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
 *    an unreadable view stops automatic promotion; no Promote of an operation under way (a re-send, an automatic
 *    escalation) goes out once the view shows a newer promotion by the other Region; an operation the other
 *    Region's promotion made moot ends SUPERSEDED.
 *
 * Deadline timing of a switchover (S = start, D = S + deadline, B = sweep backstop interval):
 *
 *   S────────────────D─────B
 *   │ Promote(SWITCHOVER)  │ one-shot schedule fires escalate at D; the rate(1 minute) sweep escalates
 *   │ completion observed  │ by D + B at the latest if that schedule was lost. Either way the failover
 *   │ on any event         │ is requested once: the second sees the operation already escalated.
 *
 * Routine events that change nothing (a healthy probe, an idle sweep) yield no decision and no write.
 *
 * This file is the entry point and the dispatch; each concern lives in its own module: detection (alarms,
 * probes), operation (start, accept, complete, fail), escalation (deadline, sweep, outage, prediction),
 * operator (requests, break glass), pair-rules (the pair view: arming, cooldown, newer choices), redirection,
 * and step (the record of one event).
 */

import { onAlarm, onProbe } from './detection.ts';
import { onDeadline, onSweep } from './escalation.ts';
import { Action, Code, type CoreEvent, type DecisionContext, type Outcome, type PairState } from './model.ts';
import { complete, endIfVanished, onPromoteResult, recordExternalPromotion } from './operation.ts';
import { onAbandon, onBreakGlass, onHold, onOperator, onRearm } from './operator.ts';
import { supersedeIfMoot, trackRole } from './pair-rules.ts';
import { onRedirectResult } from './redirection.ts';
import { findRequest, isInFlight, isOperatorRequest, iso, isPromoted, rememberRequest, Step, seconds } from './step.ts';

export function decide(prev: PairState, event: CoreEvent, ctx: DecisionContext): Outcome {
  const step = new Step(prev, event, ctx);
  // A break-glass failover comes first: the promotion the broker may show now is that one.
  if (event.type === 'BREAK_GLASS' && !isReplay(prev, event)) onBreakGlass(step, event.record);

  // Whatever the event, an operation in flight whose promotion is now observed complete is completed first;
  // one that the other Region's promotion made moot ends, and so does one whose accepted promotion is gone.
  const op = step.op;
  if (op && isInFlight(op) && isPromoted(ctx.observation)) complete(step, op);
  else if (op && isInFlight(op)) supersedeIfMoot(step, op);
  if (op && isInFlight(op)) endIfVanished(step, op);
  if (trackRole(step) === 'unexplained promotion') recordExternalPromotion(step);

  // A retried operator request is answered from its first outcome: nothing is decided twice.
  if (event.type !== 'BREAK_GLASS' && !isReplay(prev, event)) onEvent(step, event);

  if (step.decisions.length === 0) return { state: prev, decisions: [], commands: [] };
  step.state.version = prev.version + 1;
  return { state: step.state, decisions: step.decisions, commands: step.commands };
}

const isReplay = (state: PairState, event: CoreEvent): boolean =>
  isOperatorRequest(event)
    ? findRequest(state, event.requestKey) !== undefined
    : event.type === 'BREAK_GLASS' &&
      (findRequest(state, event.record.requestKey) !== undefined || state.operation?.id === event.record.id);

/**
 * Records a change in which readiness checks fail, once: newly failing ones notified with their fixes (a failover
 * would not work now), and the pair ready again when none fails. The same result again decides nothing.
 */
function onReadiness(step: Step, event: Extract<CoreEvent, { type: 'READINESS' }>): void {
  const before = step.state.readinessFailing ?? [];
  const now = event.failing.map((f) => f.id).sort();
  if (now.length === before.length && now.every((id, i) => id === before[i])) return;
  step.state.readinessFailing = now;
  const started = event.failing.filter((f) => !before.includes(f.id));
  const cleared = before.filter((id) => !now.includes(id));
  const parts = [
    ...started.map((f) => `${f.id} fails: ${f.detail}${f.fix ? ` (fix: ${f.fix})` : ''}`),
    ...(cleared.length > 0 ? [`${cleared.join(', ')} ${cleared.length === 1 ? 'passes' : 'pass'} again`] : []),
  ];
  const reason = `${parts.join('; ')}; ${now.length === 0 ? 'a failover would work now' : `a failover would not work now (${now.join(', ')} failing)`}`;
  step.record(Action.READINESS_CHANGED, reason);
  step.notify(now.length === 0 ? 'ready for a failover again' : 'not ready for a failover', reason);
}

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
    step.ignore(Code.STALE_EVENT, stale);
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
    case 'READINESS':
      onReadiness(step, event);
      break;
  }
}

export { grayFailures } from './detection.ts';
export { OUTAGE_EVIDENCE_MAX_AGE_MS } from './escalation.ts';
export { MILESTONES, type Milestone, milestonesOf, recoveryOf } from './operation.ts';
export { arming, MAX_CLOCK_SKEW_MS } from './pair-rules.ts';
export { describeEvent, findRequest, isInFlight, isPromoted, newerOf } from './step.ts';
