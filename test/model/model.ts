/**
 * Random fault schedules for the orchestrator on the embedded default, and the invariants checked after
 * every step. A scenario is plain data (so that fast-check shrinks it and a failing one can be kept as a
 * regression test); `play` runs it step by step and throws at the first broken invariant.
 *
 * Invariants:
 *  I1 single flight: no SWITCHOVER is sent while a promotion of the pair is under way (a FAILOVER may be:
 *     it interrupts a switchover, or re-sends a failover whose answer was lost), and the pair's record never
 *     loses track of a promotion under way;
 *  I2 never promote a primary: every Promote finds the local broker a REPLICA, except when invocations race
 *     and a switchover completes between one's DescribeBroker and its Promote (refused by Amazon MQ);
 *  I3 escalation: after the first fault-free sweep at or past a switchover's deadline (sweeps run every
 *     minute, the backstop), the switchover is escalated or completed, unless an operator holds escalation;
 *  I4 nothing lost: every decision whose write was acknowledged is in the timeline, and every version of
 *     the record has its decisions there;
 *  I5 one primary: once every fault has healed and time has passed, the pair has exactly one primary, no
 *     promotion under way, no operation in flight, and the record's outcome matches the brokers;
 *  I6 nothing repeated: an operation is started, escalated and completed at most once, and a completion in
 *     the timeline is a broker that is the primary;
 *  I7 clients follow the primary: the redirect parameter exists only once the local broker is the primary, and
 *     at rest, after a completion, it names the primary's endpoints in both Regions;
 *  I8 bounded: every invocation that returns (a crashed one never does) returns within its budget, whatever
 *     hangs or answers late (INVOCATION_BUDGET_MS, plus a second for the runtime's own scheduling).
 * Besides, an invocation fails only with the orchestrator's typed errors.
 */
import fc from 'fast-check';
import { failoverUrl } from '#dedup/broker-urls.ts';
import { endpointsFor } from '#lib/broker-urls.ts';
import { isInFlight } from '#lib/core/decide.ts';
import type { Decision, PairState } from '#lib/core/model.ts';
import { STALL_LAG_BEHAVIOURS, type StallLagBehaviour } from '#lib/mq-facts.ts';
import { API_FAULTS, type ApiFault, FAULTABLE, type FaultableOperation } from '#simulator/world.ts';
import { DYNAMO_FAULTS, type DynamoFault, type DynamoOperation } from '../support/dynamo-faults.ts';
import { type CrashPoint, type Outcome, type Run, SETTINGS, type Servers, T0, TIMEOUTS } from './harness.ts';

/** What the runtime may add to a budget: answering, and the event loop under two workers' load. */
const BUDGET_SLACK_MS = 1_000;

export type Basic =
  | { t: 'alarm'; kind: 'lag' | 'health'; state: 'ALARM' | 'OK' }
  /** Delivers again the alarm event delivered `back` deliveries ago: a duplicate, or out of order. */
  | { t: 'redeliver'; back: number }
  | { t: 'probe' }
  | { t: 'sweep' }
  /** `retry`: reuse the last idempotency key, as a client retrying a lost answer does. */
  | { t: 'operator'; kind: 'SWITCHOVER' | 'FAILOVER' | 'HOLD' | 'RELEASE'; retry: boolean; dryRun: boolean };

export type Step =
  | Basic
  | { t: 'concurrent'; steps: Basic[] }
  /** Time passes: deadlines fire when due, the sweep every minute. */
  | { t: 'tick'; seconds: number }
  | { t: 'region'; which: 'primary' | 'replica'; up: boolean }
  | { t: 'partition'; on: boolean }
  /** The primary's standby instance takes over in its Region: its metrics move to the other `Broker` name. */
  | { t: 'takeover' }
  | { t: 'endpoints'; up: boolean }
  /** Accepted and never answered: the primary's whole Region, one Region's API, or both brokers' endpoints. */
  | { t: 'hang'; what: 'primary-region' | 'primary-api' | 'replica-api' | 'endpoints'; on: boolean }
  /** A Region's API answers `ms` late (0: on time again); past the request timeout that is a timeout. */
  | { t: 'slow'; which: 'primary' | 'replica'; ms: number }
  | { t: 'mqFault'; operation: FaultableOperation; fault: ApiFault; count: number }
  | { t: 'ddbFault'; operation: DynamoOperation; fault: DynamoFault; count: number }
  | { t: 'crash'; at: CrashPoint }
  | { t: 'loseSchedules'; lose: boolean };

export interface Scenario {
  /** `stallLag`: freeze when absent (the regressions were found before it varied). */
  load: { produceRate: number; drainRate: number; backlog: number; stallLag?: StallLagBehaviour };
  steps: Step[];
}

const basic: fc.Arbitrary<Basic> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('alarm' as const),
      kind: fc.constantFrom('lag' as const, 'health' as const),
      state: fc.constantFrom('ALARM' as const, 'ALARM' as const, 'OK' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('redeliver' as const), back: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.constant({ t: 'probe' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'sweep' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('operator' as const),
      kind: fc.constantFrom('SWITCHOVER' as const, 'FAILOVER' as const, 'HOLD' as const, 'RELEASE' as const),
      retry: fc.boolean(),
      dryRun: fc.constantFrom(false, false, false, true),
    }),
  },
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: basic },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('concurrent' as const), steps: fc.array(basic, { minLength: 2, maxLength: 3 }) }),
  },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('tick' as const), seconds: fc.integer({ min: 1, max: 300 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('region' as const),
      which: fc.constantFrom('primary' as const, 'replica' as const),
      up: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('partition' as const), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('takeover' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('endpoints' as const), up: fc.boolean() }) },
  {
    // One weight for both: each affected call costs real time (up to the 100 ms timeouts of the harness).
    weight: 1,
    arbitrary: fc.oneof(
      fc.record({
        t: fc.constant('hang' as const),
        what: fc.constantFrom('primary-region' as const, 'primary-api' as const, 'replica-api' as const, 'endpoints' as const),
        on: fc.boolean(),
      }),
      fc.record({
        t: fc.constant('slow' as const),
        which: fc.constantFrom('primary' as const, 'replica' as const),
        ms: fc.constantFrom(0, 30, 60, 300),
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('mqFault' as const),
      operation: fc.constantFrom(...FAULTABLE),
      fault: fc.constantFrom(...API_FAULTS),
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('ddbFault' as const),
      operation: fc.constantFrom<DynamoOperation>('GetItem', 'PutItem', 'BatchWriteItem', 'Query'),
      fault: fc.constantFrom(...DYNAMO_FAULTS),
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('crash' as const),
      at: fc.constantFrom<CrashPoint>('before-save', 'after-save', 'after-promote'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('loseSchedules' as const), lose: fc.boolean() }) },
);

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  load: fc.record({
    produceRate: fc.integer({ min: 0, max: 200 }),
    drainRate: fc.integer({ min: 50, max: 500 }),
    backlog: fc.integer({ min: 0, max: 20_000 }),
    stallLag: fc.constantFrom(...STALL_LAG_BEHAVIOURS),
  }),
  steps: fc.array(step, { minLength: 1, maxLength: 40, size: 'medium' }),
});

export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

/** Failures an invocation may end with under faults: the orchestrator's typed errors, and the API's 5xx. */
const EXPECTED_FAILURE = /^(StoreError|ContentionError|ApiError)\b|^crashed$/;

let runs = 0;

/** Plays a scenario on a fresh pair; throws InvariantViolation (or whatever broke) at the first problem. */
export async function play(servers: Servers, s: Scenario): Promise<void> {
  const run = servers.newRun(runs++, s.load);
  const checker = new Checker(run);
  try {
    for (const [index, st] of s.steps.entries()) {
      await perform(run, checker, st);
      await checker.afterStep(`step ${index} ${JSON.stringify(st)}`);
    }
    await quiesce(run, checker);
    await checker.atRest();
  } finally {
    await run.close();
  }
}

async function perform(run: Run, checker: Checker, st: Step): Promise<void> {
  const { world } = run.servers;
  switch (st.t) {
    case 'concurrent':
      run.racing = true;
      try {
        checker.outcomes(await Promise.all(st.steps.map((b) => invokeBasic(run, b))));
      } finally {
        run.racing = false;
      }
      return;
    case 'tick':
      return tick(run, checker, st.seconds * 1000);
    case 'region':
      world.setRegionUp(st.which === 'primary' ? run.primary.region : run.replica.region, st.up);
      return world.syncListeners();
    case 'partition':
      return world.setPartitioned(st.on);
    case 'takeover':
      return world.takeOver(run.primary.id);
    case 'endpoints':
      world.setEndpointsUp(run.primary.id, st.up);
      world.setEndpointsUp(run.replica.id, st.up);
      return world.syncListeners();
    case 'hang':
      if (st.what === 'primary-region') world.setRegionHung(run.primary.region, st.on);
      if (st.what === 'primary-api') world.setApiFault(run.primary.region, st.on ? { kind: 'hang' } : undefined);
      if (st.what === 'replica-api') world.setApiFault(run.replica.region, st.on ? { kind: 'hang' } : undefined);
      if (st.what === 'endpoints') {
        world.setEndpointsHung(run.primary.id, st.on);
        world.setEndpointsHung(run.replica.id, st.on);
      }
      return world.syncListeners();
    case 'slow':
      return world.setApiFault(
        st.which === 'primary' ? run.primary.region : run.replica.region,
        st.ms > 0 ? { kind: 'slow', ms: st.ms } : undefined,
      );
    case 'mqFault':
      return world.injectFault(st.operation, st.fault, st.count);
    case 'ddbFault':
      return run.servers.proxy.inject(st.operation, st.fault, st.count);
    case 'crash':
      return run.armCrash(st.at);
    case 'loseSchedules':
      return run.setLoseSchedules(st.lose);
    default:
      checker.outcomes([await invokeBasic(run, st)]);
  }
}

async function invokeBasic(run: Run, b: Basic): Promise<Outcome | undefined> {
  switch (b.t) {
    case 'alarm': {
      const event = run.alarmEvent(b.kind, b.state);
      run.delivered.push(event);
      return run.invoke('onAlarm', event);
    }
    case 'redeliver': {
      const event = run.delivered[Math.max(0, run.delivered.length - 1 - b.back)];
      return event === undefined ? undefined : run.invoke('onAlarm', event);
    }
    case 'probe':
      return run.invoke('healthCheck', {});
    case 'sweep':
      return run.invoke('escalate', { kind: 'sweep' });
    case 'operator': {
      const reuse = b.retry ? run.keys.at(-1) : undefined;
      const key = reuse ?? `key-${run.pairId}-${run.keys.length}`;
      if (!reuse) run.keys.push(key);
      return run.operator(b.kind, key, b.dryRun);
    }
  }
}

/** Advances the clock, firing each due deadline at its time and the backstop sweep at every whole minute. */
async function tick(run: Run, checker: Checker, ms: number): Promise<void> {
  const { clock } = run.servers;
  const end = run.now + ms;
  while (run.now < end) {
    const minute = SETTINGS.backstop * 1000;
    const nextSweep = T0 + (Math.floor((run.now - T0) / minute) + 1) * minute;
    const due = run.scheduler.nextAt;
    const target = Math.min(end, nextSweep, due !== undefined && due > run.now ? due : Number.POSITIVE_INFINITY);
    clock.advance(target - run.now);
    await run.scheduler.runDue();
    if (run.now === nextSweep) await checker.sweep();
  }
}

/**
 * Every fault heals and any hold is released; then time passes, a minute at a time, until the pair is at rest
 * (no promotion under way, no operation in flight) and one more sweep has run, or for 15 minutes at most.
 */
async function quiesce(run: Run, checker: Checker): Promise<void> {
  const { world, proxy } = run.servers;
  world.clearFaults();
  proxy.clear();
  run.armCrash(undefined);
  run.setLoseSchedules(false);
  world.setRegionUp(run.primary.region, true);
  world.setRegionUp(run.replica.region, true);
  world.setPartitioned(false);
  world.setEndpointsUp(run.primary.id, true);
  world.setEndpointsUp(run.replica.id, true);
  world.setEndpointsHung(run.primary.id, false);
  world.setEndpointsHung(run.replica.id, false);
  for (const region of [run.primary.region, run.replica.region]) {
    world.setRegionHung(region, false);
    world.setApiFault(region, undefined);
  }
  await world.syncListeners();
  if ((await run.readState())?.state.escalationHold) {
    checker.outcomes([await run.operator('RELEASE', `release-${run.pairId}`, false)]);
  }
  // Up to 70 minutes: a redirection that failed a few times waits 1, 2, 4 … 60 minutes before the next attempt.
  for (let minute = 0, quiet = 0; minute < 70 && quiet < 2; minute++) {
    await tick(run, checker, 60_000);
    const op = (await run.readState())?.state.operation;
    const atRest = !world.pair(run.pairId).promotion && !isInFlight(op) && op?.redirect?.status !== 'PENDING';
    quiet = atRest ? quiet + 1 : 0;
  }
}

const stable = (d: Decision): string =>
  JSON.stringify(Object.fromEntries(Object.entries(d).sort(([a], [b]) => (a < b ? -1 : 1))));

class Checker {
  /** False once a read showed no operation in flight: sweeps and deadlines alone never start one. */
  private maybeInFlight = true;

  constructor(private readonly run: Run) {}

  private fail(message: string): never {
    throw new InvariantViolation(`${this.run.pairId} at +${(this.run.now - T0) / 1000} s: ${message}`);
  }

  outcomes(outcomes: Array<Outcome | undefined>): void {
    for (const o of outcomes) {
      if (o && !o.ok && !EXPECTED_FAILURE.test(o.error)) this.fail(`an invocation failed with an untyped error: ${o.error}`);
    }
  }

  /** The backstop sweep; if it ran without meeting any fault, I3 must hold right after it. */
  async sweep(): Promise<void> {
    const { world, proxy } = this.run.servers;
    const faultsBefore = world.armedFaults + proxy.armed;
    // A local Region that hangs or answers late is a fault too: its broker cannot be seen, so nothing escalates.
    const localUp = world.isRegionUp(this.run.replica.region) && world.apiFaultIn(this.run.replica.region) === undefined;
    const at = this.run.now;
    const outcome = await this.run.invoke('escalate', { kind: 'sweep' });
    this.outcomes([outcome]);
    const clean = outcome.ok && localUp && world.armedFaults + proxy.armed === faultsBefore;
    if (!clean || !this.maybeInFlight) return;
    const state = (await this.run.readState())?.state;
    const op = state?.operation;
    this.maybeInFlight = isInFlight(op);
    if (
      isInFlight(op) &&
      op?.mode === 'SWITCHOVER' &&
      op.deadlineAt !== undefined &&
      op.deadlineAt <= at &&
      !state?.escalationHold
    ) {
      this.fail(
        `I3: switchover ${op.id} passed its deadline ${(at - op.deadlineAt) / 1000} s ago and a fault-free sweep did not escalate it`,
      );
    }
  }

  async afterStep(where: string): Promise<void> {
    try {
      await this.check();
    } catch (error) {
      if (error instanceof InvariantViolation) error.message = `${error.message} (after ${where})`;
      throw error;
    }
  }

  private async check(): Promise<{ state: PairState | undefined }> {
    const { run } = this;
    const { world } = run.servers;
    // I8: every invocation that returned did so within its budget.
    const budget = Number(TIMEOUTS.INVOCATION_BUDGET_MS);
    for (const d of run.durations.splice(0)) {
      if (d.ms > budget + BUDGET_SLACK_MS)
        this.fail(`I8: ${d.what} returned after ${Math.round(d.ms)} ms, over its ${budget} ms budget`);
    }
    // I1, I2: every Promote, as the world was when it arrived.
    for (const call of run.promotes) {
      // DescribeBroker then Promote is not atomic: an escalation decided while a racing invocation's switchover
      // completes (at once, with no backlog) reaches a broker that has just become the primary. Amazon MQ refuses
      // it; anything else reaching a primary is a bug.
      if (call.localRole !== 'REPLICA' && !(call.racing && call.error !== undefined)) {
        this.fail(`I2: Promote ${call.mode} sent to a ${call.localRole} broker${call.error ? '' : ', and accepted'}`);
      }
      // A FAILOVER may go out during a promotion: it interrupts a switchover, or re-sends a failover whose
      // answer was lost (DescribeBroker cannot tell the two apart), which Amazon MQ refuses as a duplicate.
      if (call.promotionUnderWay && call.mode !== 'FAILOVER') {
        this.fail(`I1: Promote ${call.mode} sent while a ${call.promotionUnderWay} was under way`);
      }
      if (call.promotionUnderWay === 'FAILOVER' && call.error === undefined) this.fail('I1: a second FAILOVER was accepted');
    }
    const { state, timeline } = await run.readStore();
    const promotion = world.pair(run.pairId).promotion;
    const op = state?.operation;
    const inFlight = isInFlight(op);
    this.maybeInFlight = inFlight;
    if (promotion && !inFlight) {
      this.fail(`I1: a ${promotion.mode} is under way but the record shows ${op ? `${op.id} ${op.status}` : 'no operation'}`);
    }
    // I4: nothing acknowledged is missing, and no version of the record lacks its decisions.
    const present = new Set(timeline.map((t) => stable(t.decision)));
    for (const d of run.acknowledged) {
      if (!present.has(stable(d))) this.fail(`I4: acknowledged decision missing from the timeline: ${stable(d)}`);
    }
    const versions = new Set(timeline.map((t) => t.version));
    for (let v = 1; v <= (state?.version ?? 0); v++) {
      if (!versions.has(v)) this.fail(`I4: version ${v} of the record has no decision in the timeline`);
    }
    // I6: each operation starts, escalates and completes once at most; a completion is a real primary.
    const counts = new Map<string, number>();
    for (const { decision: d } of timeline) {
      if (d.dryRun || !d.operationId) continue;
      if (!['START_SWITCHOVER', 'START_FAILOVER', 'ESCALATE_TO_FAILOVER', 'COMPLETE'].includes(d.action)) continue;
      const key = `${d.operationId} ${d.action}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if ((counts.get(key) ?? 0) > 1) this.fail(`I6: ${key} recorded twice`);
      if (d.action === 'COMPLETE' && run.replica.role !== 'PRIMARY') {
        this.fail(`I6: ${d.operationId} recorded COMPLETE but the local broker is ${run.replica.role}`);
      }
    }
    // I7: the parameter clients read appears only once the local broker is the primary.
    for (const value of this.redirectValues()) {
      if (value !== undefined && run.replica.role !== 'PRIMARY') {
        this.fail(`I7: clients pointed at ${value} while the local broker is ${run.replica.role}`);
      }
    }
    return { state };
  }

  /** The redirect parameter's value in the primary's and the replica's Region (undefined: not written). */
  private redirectValues(): Array<string | undefined> {
    const { run } = this;
    const name = run.runtime.config.redirect?.parameterName ?? '';
    return [run.primary.region, run.replica.region].map((r) => run.servers.world.parameters.get(r)?.get(name)?.value);
  }

  /** I5, after the faults healed. */
  async atRest(): Promise<void> {
    const { state } = await this.check();
    const { run } = this;
    const { world } = run.servers;
    const primaries = [run.primary, run.replica].filter((b) => b.role === 'PRIMARY');
    if (primaries.length !== 1) this.fail(`I5: ${primaries.length} primaries at rest`);
    const promotion = world.pair(run.pairId).promotion;
    if (promotion) this.fail(`I5: a ${promotion.mode} is still under way at rest`);
    const op = state?.operation;
    if (op && isInFlight(op)) this.fail(`I5: ${op.id} still ${op.status} at rest`);
    const promoted = run.replica.role === 'PRIMARY';
    if (promoted !== (op?.status === 'COMPLETED')) {
      this.fail(
        `I5: the local broker is ${run.replica.role} but the record says ${op ? `${op.id} ${op.status}` : 'no operation'}`,
      );
    }
    // I7: after the completion, clients in both Regions are pointed at the primary.
    if (promoted) {
      const expected = failoverUrl(endpointsFor('openwire', world.endpoints(run.replica)));
      if (op?.redirect?.status !== 'DONE') {
        const { timeline } = await run.readStore();
        const last = timeline.filter((t) => t.decision.action.includes('REDIRECT')).slice(-3);
        this.fail(
          `I7: redirection ${op?.redirect?.status ?? 'never requested'} at rest; last: ${last.map((t) => `${t.decision.action} ${t.decision.reason}`).join(' | ')}`,
        );
      }
      const values = this.redirectValues();
      if (values.some((v) => v !== expected)) this.fail(`I7: clients read ${values.join(' / ')} at rest, not ${expected}`);
    }
  }
}
