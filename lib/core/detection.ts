/**
 * Detection: replication-lag alarms and health probes of the primary, judged into a switchover's start (N failed
 * probes in a row, or the gray-failure window), outage evidence for escalation, or a problem that needs a person.
 */
import { escalate, OUTAGE_EVIDENCE_MAX_AGE_MS, outageEscalationDue } from './escalation.ts';
import { Action, Code, type CoreEvent, Mode, type RemoteOutage, Role } from './model.ts';
import { tryStart } from './operation.ts';
import { pairRefusal } from './pair-rules.ts';
import { isInFlight, type Step, seconds } from './step.ts';

export function onAlarm(step: Step, event: Extract<CoreEvent, { type: 'ALARM' }>): void {
  if (event.state !== 'ALARM') {
    step.ignore(Code.NOT_INTO_ALARM, `alarm moved into ${event.state}; only transitions into ALARM trigger`);
    return;
  }
  const mismatch = counterpartMismatch(step);
  if (mismatch) {
    raiseProblem(step, 'counterpart', mismatch);
    step.refuse(
      Code.COUNTERPART_MISMATCH,
      `${event.kind} alarm ${event.alarmName}: the deployment names the wrong remote broker`,
    );
    return;
  }
  tryStart(step, Mode.SWITCHOVER, `alarm:${event.alarmName}`, `${event.kind} alarm ${event.alarmName}`, {
    evidenceAt: event.sentAt ?? step.ctx.now,
  });
}

/**
 * Failed probes within the probe window, not all in a row, that count as `threshold` in a row (gray failure):
 * one fewer, and at least 2, for each minute's worth of probes, so that a blip never does. With probes a minute
 * apart, a Region down more than half the time fails at least every other probe: 2 within 4 minutes; with
 * probes every 15 s, 8 of the 16.
 */
export const grayFailures = (threshold: number, intervalMs = PROBE_PERIOD_MS): number =>
  Math.max(2, threshold - 1) * Math.max(1, Math.round(PROBE_PERIOD_MS / intervalMs));

/** The health check's schedule: an invocation a minute (EventBridge Scheduler's finest rate), one probe or more. */
const PROBE_PERIOD_MS = 60_000;

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

export function onProbe(step: Step, probe: ProbeEvent): void {
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
      delete state.probeStreakSince;
    }
    return;
  }
  // Once the local broker is the primary the remote one is the replica: a failed probe decides nothing.
  if (step.ctx.observation.role === Role.PRIMARY) return;
  state.consecutiveProbeFailures += 1;
  if (state.consecutiveProbeFailures === 1) state.probeStreakSince = now;
  const inRow = state.consecutiveProbeFailures;
  // Gray failure: the failures within the window, whether or not healthy probes came between them.
  const window = config.probeWindowMs;
  // Failures closer together than half a probe period are one probe delivered twice (schedules are at least once).
  const interval = config.probeIntervalMs ?? PROBE_PERIOD_MS;
  const kept = (state.probeFailuresAt ?? []).filter((t) => window !== undefined && t > now - window);
  const recent = window === undefined ? [] : kept.some((t) => now - t < interval / 2) ? kept : [...kept, now];
  if (window !== undefined) state.probeFailuresAt = recent;
  const threshold = config.probeFailureThreshold;
  // Only failures with a healthy probe between them: failures in a row keep their own rule (a Region plainly down).
  const gray = inRow < threshold && recent.length > inRow && recent.length >= grayFailures(threshold, interval);
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
    step.record(Action.COUNT_PROBE, `primary unhealthy (${how}); automatic promotion stays refused: ${refused.why}`, {
      code: refused.code,
    });
    return;
  }
  tryStart(
    step,
    Mode.SWITCHOVER,
    'health-check',
    gray
      ? `primary failed ${recent.length} probes within ${seconds(window ?? 0)}, never ${threshold} in a row (a Region that fails as often as it answers, or more): ${event.detail}`
      : `primary failed ${inRow} consecutive probes: ${event.detail}`,
    { evidenceAt: gray ? (recent[0] ?? now) : (state.probeStreakSince ?? now) },
  );
}
