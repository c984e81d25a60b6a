/**
 * Random fault schedules for the pair as deployed: both Regions' orchestrators (simulator/two-regions.ts), each
 * with its own table behind a fault proxy, the pair view replicated between the Regions with a delay the
 * schedule changes, each Region's Lambdas reading a clock skewed by up to ±30 s. Every minute each Region that
 * is up runs its alarm, probe and sweep, as AWS does; operators act through a Region's API.
 *
 * Faults: Regions down or hung, a Region flapping (down 70 s, up 50 s, for 12 minutes), the inter-Region link down,
 * a broker's endpoints refusing (probes fail), a Region's table failing or hanging, a Region's pair view
 * unreadable, replication paused or slow, alarm deliveries late by up to hours (EventBridge retries), a Promote
 * whose answer is lost after Amazon MQ acted, operator switchovers, failovers (break glass when the table is
 * down), re-arms and abandons, and promotions made outside the orchestrator (the console). The fail-back policy
 * and the cooldown vary per schedule; each Region's clock is skewed by up to ±30 s (up to the core's 60 s
 * allowance between them, either way).
 *
 * Invariants, checked after every step (P1, P2, P5, P6) and at rest once every fault has healed (P3, P4, P7):
 *  P1 no automatic promotion reverses an earlier promotion of the pair while fail-back is disarmed
 *     (FAILBACK_POLICY=manual; every promotion disarms its reversal except an operator's fail-back, the reversal
 *     of one that disarmed; a re-arm lifts it), once that promotion had reached the deciding Region's view;
 *  P2 pair-wide cooldown: an automatic promotion starts no sooner than the cooldown after any promotion of the
 *     pair completed, once that completion had reached the deciding Region's view;
 *  P3 at rest, no record is in flight while its broker is a replica with nothing pending;
 *  P4 a break-glass failover is in its Region's timeline once the table answers;
 *  P5 every invocation returns within its budget (2 s here, 1 s slack);
 *  P6 an invocation fails only with the orchestrator's typed errors;
 *  P7 at rest the pair has one primary and no promotion under way;
 *  P8 no Promote the orchestrator sends by itself for an operation (a re-send, an automatic escalation) reverses a
 *     promotion of the other Region that truly came after that operation started and that the deciding Region's
 *     view showed (an operator's request is the operator's decision, and may reverse anything);
 *  P9 at rest, the redirect parameter in every Region, once written, names the primary first (unless that
 *     Region's redirection is still retrying, or gave up and asked for a hand);
 *  P10 a primary's Region that flaps (down more than half the time) loses the primary within detection (the
 *     4-minute window) + the deadline + 2 minutes, when the other Region can act (up, its tables and view
 *     readable, armed, no cooldown, nothing in flight or held).
 * What the view cannot show in time (its replication delay, a Region down) is outside P1 and P2: docs/decision-rules.md
 * says why the guards stay safe then.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { ApiClient, ApiError } from '#cli/client.ts';
import { parseFailoverUrl } from '#dedup/broker-urls.ts';
import { isInFlight, MAX_CLOCK_SKEW_MS } from '#lib/core/decide.ts';
import type { PairState, Promotion, PublishedOutcome } from '#lib/core/model.ts';
import { alarmStateChangeEvent, LOCAL_CREDENTIALS, ManualClock } from '#simulator/embedded.ts';
import { otherRegion, PairDriver, type PairRegion, REGIONS, startTwoRegions, type TwoRegions } from '#simulator/two-regions.ts';
import { type DynamoFaultProxy, startDynamoFaultProxy } from '../support/dynamo-faults.ts';
import { T0, TIMEOUTS } from './harness.ts';

const MIN = 60_000;
const BUDGET_MS = Number(TIMEOUTS.INVOCATION_BUDGET_MS) + 1_000;
const EXPECTED_FAILURE = /^(StoreError|ContentionError)\b/;

type Region = PairRegion;
const region = fc.constantFrom<Region>(...REGIONS);

export type PairStep =
  | { t: 'minute' }
  | { t: 'tick'; seconds: number }
  | { t: 'region'; r: Region; up: boolean }
  | { t: 'hang'; r: Region; on: boolean }
  | { t: 'partition'; on: boolean }
  | { t: 'endpoints'; r: Region; up: boolean }
  | { t: 'table'; r: Region; how: 'fail' | 'hang' | 'up' }
  | { t: 'view'; r: Region; how: 'fail' | 'up' }
  | { t: 'replication'; how: 'pause' | 'resume' | 'slow' | 'fast' }
  /** An alarm state change delivered to `to` (from the other Region's alarm) `ageSeconds` after it happened. */
  | { t: 'alarm'; to: Region; state: 'ALARM' | 'OK'; ageSeconds: number }
  | { t: 'operator'; r: Region; kind: 'SWITCHOVER' | 'FAILOVER' | 'REARM' | 'ABANDON' }
  | { t: 'skew'; r: Region; ms: number }
  /** The primary's Region flaps: down 70 s, up 50 s, six times (12 minutes). */
  | { t: 'flap' }
  /** The next Promote, in either Region, is applied but its answer lost (a 500 after acting). */
  | { t: 'lost-answer' }
  /** Someone promotes `r`'s broker outside the orchestrator (the console, the AWS CLI). */
  | { t: 'console'; r: Region; mode: 'SWITCHOVER' | 'FAILOVER' }
  /** `r`'s scheduled readiness evaluation runs (its event goes through the core like any other). */
  | { t: 'readiness'; r: Region };

export interface PairScenario {
  policy: 'manual' | 'automatic';
  cooldownSeconds: number;
  load: { produceRate: number; drainRate: number; backlog: number };
  skew: Record<Region, number>;
  /** PROBE_FAILURE_THRESHOLD: 2, or the default 3 (with which a flapping Region needs the gray-failure window). */
  probeThreshold: 2 | 3;
  steps: PairStep[];
}

/** A Region's clock skew: up to ±30 s, the extremes drawn as often as the rest (60 s between the Regions). */
const skewMs = fc.oneof(fc.integer({ min: -30_000, max: 30_000 }), fc.constantFrom(-30_000, 30_000));

const step: fc.Arbitrary<PairStep> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ t: 'minute' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('tick' as const), seconds: fc.integer({ min: 5, max: 50 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('region' as const), r: region, up: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('hang' as const), r: region, on: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('partition' as const), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('endpoints' as const), r: region, up: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('table' as const),
      r: region,
      how: fc.constantFrom('fail' as const, 'hang' as const, 'up' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('view' as const), r: region, how: fc.constantFrom('fail' as const, 'up' as const) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('replication' as const),
      how: fc.constantFrom('pause' as const, 'resume' as const, 'slow' as const, 'fast' as const),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('alarm' as const),
      to: region,
      state: fc.constantFrom('ALARM' as const, 'ALARM' as const, 'OK' as const),
      ageSeconds: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 299 }), fc.integer({ min: 301, max: 3 * 3600 })),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('operator' as const),
      r: region,
      kind: fc.constantFrom('SWITCHOVER' as const, 'FAILOVER' as const, 'REARM' as const, 'ABANDON' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('skew' as const), r: region, ms: skewMs }) },
  { weight: 1, arbitrary: fc.constant({ t: 'flap' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'lost-answer' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('console' as const),
      r: region,
      mode: fc.constantFrom('SWITCHOVER' as const, 'FAILOVER' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('readiness' as const), r: region }) },
);

const policyAndCooldown = fc.oneof(
  fc.record({ policy: fc.constant('manual' as const), cooldownSeconds: fc.constantFrom(0, 300, 900) }),
  // Automatic fail-back needs a cooldown (lib/config.ts refuses less than 300 s).
  fc.record({ policy: fc.constant('automatic' as const), cooldownSeconds: fc.constantFrom(300, 900) }),
);

export const pairScenario: fc.Arbitrary<PairScenario> = fc
  .record({
    load: fc.record({
      produceRate: fc.constantFrom(0, 50, 200),
      drainRate: fc.constantFrom(150, 400),
      backlog: fc.constantFrom(0, 2_000, 30_000),
    }),
    skew: fc.record({ 'us-east-1': skewMs, 'us-west-2': skewMs }) as fc.Arbitrary<Record<Region, number>>,
    probeThreshold: fc.constantFrom(2 as const, 3 as const),
    steps: fc.array(step, { minLength: 4, maxLength: 16 }),
  })
  .chain((s) => policyAndCooldown.map((pc) => ({ ...s, ...pc })));

/** How often the schedules reached what the invariants are about, for the run's figures. */
export const pairStats = new Map<string, number>();
const tally = (what: string) => pairStats.set(what, (pairStats.get(what) ?? 0) + 1);

export class PairInvariantViolation extends Error {
  override name = 'PairInvariantViolation';
}

/** A promotion as the model saw it happen (Amazon MQ accepted a Promote). */
interface Accepted {
  region: Region;
  operationId: string;
  automatic: boolean;
  at: number;
  /** Every promotion disarms its reversal, except an operator's reversal of one that still disarmed. */
  disarms: boolean;
}

/** Plays one schedule on a fresh pair of stacks; throws at the first broken invariant. */
export async function playPair(s: PairScenario): Promise<void> {
  const clock = new ManualClock(T0);
  const proxies = new Map<Region, DynamoFaultProxy>();
  const p = await startTwoRegions({
    clock,
    pair: s.load,
    env: {
      ...TIMEOUTS,
      DEADLINE_SECONDS: '300',
      COOLDOWN_SECONDS: String(s.cooldownSeconds),
      FAILBACK_POLICY: s.policy,
      PROBE_FAILURE_THRESHOLD: String(s.probeThreshold),
      PROMOTE_RETRY_AFTER_SECONDS: '30',
      WATCH_SECONDS: '0',
      AWS_MAX_ATTEMPTS: '1',
    },
    dynamoEndpoint: async (r, endpoint) => {
      const proxy = await startDynamoFaultProxy(endpoint);
      proxies.set(r, proxy);
      return proxy.endpoint;
    },
  });
  const raw = new DynamoDBClient({ region: 'us-east-1', endpoint: p.dynamodbEndpoint, credentials: LOCAL_CREDENTIALS });
  const doc = DynamoDBDocumentClient.from(raw);
  try {
    await new PairRun(s, p, clock, doc, (r) => proxies.get(r) as DynamoFaultProxy).play();
  } finally {
    raw.destroy();
    await p.close();
    for (const proxy of proxies.values()) await proxy.close();
  }
}

class PairRun {
  private readonly driver: PairDriver;
  private readonly accepted: Accepted[] = [];
  private readonly operatorOps = new Set<string>();
  /** When an operator step's Promote was accepted last: promotions then are an operator's. */
  private lastOperatorPromote = Number.NEGATIVE_INFINITY;
  /** The last re-arm: it lifts the disarm of every earlier promotion. */
  private lastRearm = Number.NEGATIVE_INFINITY;
  private breakGlass: Array<{ region: Region; key: string; operationId?: string }> = [];
  private promotesSeen = 0;
  /** When the model first saw each operation in its Region's record (true time, after its real start). */
  private readonly firstSeen = new Map<string, number>();
  /** What the schedule has broken and not healed yet (P10 asks whether a Region can act). */
  private readonly broken = new Set<string>();
  /** The promoteLog entries an operator's request sent (its own decision, outside P8), by index. */
  private readonly operatorCalls = new Set<number>();
  /** The promoteLog entries made outside the orchestrator (the console step), by index. */
  private readonly consoleCalls = new Set<number>();
  private keys = 0;
  private log: string[] = [];

  constructor(
    readonly s: PairScenario,
    readonly p: TwoRegions,
    readonly clock: ManualClock,
    readonly doc: DynamoDBDocumentClient,
    readonly proxy: (r: Region) => DynamoFaultProxy,
  ) {
    this.driver = new PairDriver(p, clock, T0, 30_000);
    for (const r of REGIONS) p.skewMs[r] = s.skew[r];
  }

  fail(message: string): never {
    if (process.env.DEBUG_PAIR) {
      for (const e of this.driver.log)
        console.log(e.t / 1000, e.region, e.via, e.decision.action, e.decision.reason.slice(0, 220));
      for (const f of this.driver.failures) console.log(f.t / 1000, f.region, f.via, 'FAILED', f.error.slice(0, 220));
      console.log(this.p.world.promoteLog.map((x) => `${(x.at - T0) / 1000} ${x.region} ${x.mode}`).join('\n'));
    }
    throw new PairInvariantViolation(`${message}\n  steps so far: ${this.log.join(' | ')}`);
  }

  async play(): Promise<void> {
    await this.driver.play(0);
    await this.observe('start');
    for (const st of this.s.steps) {
      this.log.push(JSON.stringify(st));
      await this.apply(st);
      await this.observe(st.t);
    }
    // At rest: every fault heals, replication catches up, time passes.
    const { world } = this.p;
    for (const r of REGIONS) {
      world.setRegionUp(r, true);
      world.setRegionHung(r, false);
      world.setEndpointsUp(this.p.stacks[r].local.id, true);
      this.proxy(r).setTableDown(`crdr-orchestrator-${r}`, undefined);
      this.proxy(r).setTableDown(`crdr-pair-view-${r}`, undefined);
    }
    world.setPartitioned(false);
    // The load returns below the link's rate: with producers outrunning it, automatic fail-back (as configured)
    // would keep bouncing the primary every cooldown and the pair would never be at rest.
    world.setProduceRate(this.p.pairName, Math.min(this.s.load.produceRate, this.s.load.drainRate / 2));
    this.p.replication.paused = false;
    this.p.replication.delayMs = 1_000;
    this.log.push('heal');
    // Up to 8 minutes (a deadline, an escalation and a failover fit), ending once both records and the pair
    // have been settled for two minutes in a row: a record stuck in flight plays all 8 and fails P3.
    for (let minute = 0, settled = 0; minute < 8 && settled < 2; minute++) {
      await this.driver.play(this.driver.t + MIN);
      await this.observe('rest');
      settled = (await this.settled()) ? settled + 1 : 0;
    }
    await this.atRest();
    for (const e of this.driver.log) {
      const a = e.decision.action;
      if (
        [
          'SUPERSEDE',
          'ABANDON',
          'REARM',
          'ROLE_OBSERVED',
          'START_SWITCHOVER',
          'START_FAILOVER',
          'ESCALATE_TO_FAILOVER',
          'EXTERNAL_PROMOTION',
          'READINESS_CHANGED',
        ].includes(a)
      )
        tally(a);
      // Counted by the decision's code, never by its prose.
      const code = e.decision.code;
      if (a === 'REFUSE' && (code === 'FAILBACK_DISARMED' || code === 'UNEXPLAINED_DEMOTION'))
        tally('refused: fail-back disarmed');
      if (a === 'REFUSE' && code === 'COOLDOWN') tally('refused: pair-wide cooldown');
      if (code === 'PAIR_VIEW_UNREADABLE') tally('waited: pair view unreadable');
      if (code === 'NEWER_CHOICE') tally('waited: the view shows a newer promotion');
      if (a === 'SUPERSEDE') tally('superseded');
      if (a === 'IGNORE' && code === 'STALE_EVENT') tally('ignored: stale event');
    }
    if (this.breakGlass.length > 0) tally('break-glass failovers');
    tally(`schedules (${this.s.policy} fail-back)`);
  }

  private async apply(st: PairStep): Promise<void> {
    const { world, stacks, replication } = this.p;
    switch (st.t) {
      case 'minute':
        await this.driver.play(this.driver.t + MIN);
        return;
      case 'tick':
        await this.driver.play(this.driver.t + st.seconds * 1000);
        return;
      case 'region':
        world.setRegionUp(st.r, st.up);
        this.mark(`down ${st.r}`, !st.up);
        return;
      case 'hang':
        world.setRegionHung(st.r, st.on);
        this.mark(`hung ${st.r}`, st.on);
        return;
      case 'partition':
        world.setPartitioned(st.on);
        this.mark('partition', st.on);
        return;
      case 'table':
        this.proxy(st.r).setTableDown(`crdr-orchestrator-${st.r}`, st.how === 'up' ? undefined : st.how);
        this.mark(`table ${st.r}`, st.how !== 'up');
        return;
      case 'view':
        this.proxy(st.r).setTableDown(`crdr-pair-view-${st.r}`, st.how === 'up' ? undefined : 'fail');
        this.mark(`view ${st.r}`, st.how !== 'up');
        return;
      case 'endpoints':
        world.setEndpointsUp(stacks[st.r].local.id, st.up);
        this.mark(`endpoints ${st.r}`, !st.up);
        return;
      case 'replication':
        if (st.how === 'pause') replication.paused = true;
        if (st.how === 'resume') replication.paused = false;
        this.mark('replication', replication.paused || replication.delayMs > 1_000 || st.how === 'slow');
        if (st.how === 'slow') replication.delayMs = 3 * MIN;
        if (st.how === 'fast') replication.delayMs = 1_000;
        return;
      case 'alarm': {
        if (!world.isRegionUp(st.to)) return;
        const event = alarmStateChangeEvent(
          this.p.alarmName,
          st.state,
          st.state === 'ALARM' ? 'OK' : 'ALARM',
          this.clock.now() - st.ageSeconds * 1000,
          'late delivery',
          otherRegion(st.to),
        );
        await this.driver.record(st.to, 'onAlarm(late)', stacks[st.to].invoke.onAlarm(event));
        return;
      }
      case 'operator':
        await this.operator(st.r, st.kind);
        return;
      case 'skew':
        this.p.skewMs[st.r] = st.ms;
        return;
      case 'lost-answer':
        world.injectFault('Promote', 'lost-response');
        return;
      case 'console': {
        // The console needs the Region's API, and Amazon MQ refuses what it refuses (a primary, a failover under way).
        if (!world.isRegionServing(st.r)) return;
        try {
          world.promote(st.r, stacks[st.r].local.id, st.mode);
          this.consoleCalls.add(world.promoteLog.length - 1);
          tally(`console ${st.mode}`);
        } catch {
          tally(`console ${st.mode}: refused`);
        }
        return;
      }
      case 'flap':
        await this.flap();
        return;
      case 'readiness':
        if (world.isRegionUp(st.r)) await this.driver.record(st.r, 'readiness', stacks[st.r].invoke.readiness());
        return;
    }
  }

  /** P10: the primary's Region flaps (down 70 s, up 50 s) for 12 minutes; the other Region must take over in time. */
  private async flap(): Promise<void> {
    const { world, stacks, pairName } = this.p;
    const from = world.roles(pairName).primary.region as Region;
    const other = otherRegion(from);
    const start = this.clock.now();
    const canAct = await this.canTakeOver(other, start);
    let lostAt: number | undefined;
    for (let cycle = 0; cycle < 6; cycle++) {
      world.setRegionUp(from, false);
      await this.driver.play(this.driver.t + 70_000);
      if (lostAt === undefined && stacks[from].local.role !== 'PRIMARY') lostAt = this.clock.now();
      world.setRegionUp(from, true);
      await this.driver.play(this.driver.t + 50_000);
      if (lostAt === undefined && stacks[from].local.role !== 'PRIMARY') lostAt = this.clock.now();
    }
    if (!canAct) return;
    tally('flapping primary Region (P10 checked)');
    const bound = 4 * MIN + 300_000 + 2 * MIN;
    if (lostAt === undefined || lostAt - start > bound) {
      this.fail(
        `P10: ${from} flapped from ${new Date(start).toISOString()} and ${other} had not taken over ${bound / 1000} s later`,
      );
    }
  }

  private mark(what: string, on: boolean): void {
    if (on) this.broken.add(what);
    else this.broken.delete(what);
  }

  /** Whether `r` can take the primary over by itself now: nothing broken, armed, nothing in its way. */
  private async canTakeOver(r: Region, now: number): Promise<boolean> {
    const { world, stacks } = this.p;
    if (this.broken.size > 0 || world.armedFaults > 0 || !world.isRegionServing(r) || world.pair(this.p.pairName).promotion) {
      return false;
    }
    if (stacks[r].local.role !== 'REPLICA') return false;
    const state = await this.record(r);
    if (!state || (state.operation && isInFlight(state.operation)) || state.escalationHold) return false;
    // The pair-wide cooldown and the fail-back rule, as the model tracks promotions (with the clock allowance).
    const last = this.accepted.at(-1);
    if (last && now < last.at + this.s.cooldownSeconds * 1000 + 2 * MAX_CLOCK_SKEW_MS + 5 * MIN) return false;
    if (last && this.s.policy === 'manual' && last.region === r) return true;
    if (last && this.s.policy === 'manual' && this.stillDisarms(last)) return false;
    return true;
  }

  private async operator(r: Region, kind: 'SWITCHOVER' | 'FAILOVER' | 'REARM' | 'ABANDON'): Promise<void> {
    if (!this.p.world.isRegionServing(r)) return; // the Region's API Gateway is down with it
    const api = new ApiClient({ endpoint: this.p.stacks[r].apiEndpoint, region: r, credentials: LOCAL_CREDENTIALS, attempts: 1 });
    const key = `model-${++this.keys}-${r}`;
    const body =
      kind === 'FAILOVER' ? { reason: 'model failover', confirm: this.p.pairName } : { reason: `model ${kind.toLowerCase()}` };
    const before = this.p.world.promoteLog.length;
    const started = performance.now();
    try {
      const answer = await api.request(kind, this.p.pairName, body, key);
      tally(`operator ${kind}: ${answer.breakGlass ? 'break glass' : answer.request.action}`);
      if (answer.request.operationId && kind !== 'ABANDON') this.operatorOps.add(answer.request.operationId);
      if (answer.request.action === 'REARM') this.lastRearm = this.clock.now();
      if (answer.breakGlass) {
        this.breakGlass.push({
          region: r,
          key,
          ...(answer.request.operationId ? { operationId: answer.request.operationId } : {}),
        });
      }
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      tally(`operator ${kind}: HTTP ${error.status}`);
      // A 4xx or 5xx is an answer: the table down, a refused break glass, Amazon MQ refusing.
    } finally {
      this.driver.durations.push({ region: r, via: `api ${kind}`, ms: performance.now() - started });
    }
    for (const [k, call] of this.p.world.promoteLog.slice(before).entries()) {
      if (call.region !== r) continue;
      this.lastOperatorPromote = Math.max(this.lastOperatorPromote, call.at);
      this.operatorCalls.add(before + k);
    }
  }

  private async read<T>(table: string, key: { pk: string; sk: string }): Promise<T | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
    return out.Item as T | undefined;
  }

  private async record(r: Region): Promise<PairState | undefined> {
    return (await this.read<{ state: PairState }>(`crdr-orchestrator-${r}`, { pk: `PAIR#${this.p.pairName}`, sk: 'STATE' }))
      ?.state;
  }

  /** After each step: attribute new promotions, check P1, P2, P5, P6, then note what each view shows now. */
  private async observe(after: string): Promise<void> {
    const first = this.promotesSeen;
    const calls = this.p.world.promoteLog.slice(first);
    this.promotesSeen = this.p.world.promoteLog.length;
    const records = Object.fromEntries(await Promise.all(REGIONS.map(async (r) => [r, await this.record(r)] as const))) as Record<
      Region,
      PairState | undefined
    >;
    for (const r of REGIONS) {
      const id = records[r]?.operation?.id;
      if (id && !this.firstSeen.has(id)) this.firstSeen.set(id, this.clock.now());
    }
    for (const [k, call] of calls.entries()) {
      const r = call.region as Region;
      const outside = this.consoleCalls.has(first + k);
      const op = outside ? undefined : records[r]?.operation;
      if (op && !this.operatorCalls.has(first + k)) this.checkNewerChoice(r, op, call.at, after);
      const operationId = outside ? `console@${call.at}` : (op?.id ?? `unrecorded@${call.at}`);
      const byOperator =
        outside || this.operatorOps.has(operationId) || op?.origin === 'OPERATOR' || call.at <= this.lastOperatorPromote;
      if (this.accepted.some((a) => a.operationId === operationId)) continue; // an escalation, or a re-sent Promote
      const previous = this.accepted.at(-1);
      const reversesDisarming = previous !== undefined && this.stillDisarms(previous);
      const promotion: Accepted = {
        region: r,
        operationId,
        automatic: !byOperator,
        at: call.at,
        disarms: !byOperator || !reversesDisarming,
      };
      if (promotion.automatic) this.checkAutomatic(promotion, after);
      this.accepted.push(promotion);
    }
    for (const d of this.driver.durations.splice(0)) {
      if (d.ms > BUDGET_MS) this.fail(`P5: ${d.region} ${d.via} took ${Math.round(d.ms)} ms, over its budget`);
    }
    for (const f of this.driver.failures.splice(0)) {
      if (!EXPECTED_FAILURE.test(f.error)) this.fail(`P6: ${f.region} ${f.via} failed with an untyped error: ${f.error}`);
    }
  }

  /**
   * The other Region's promotions as `region`'s replica of the view showed them at `at`: from the replication's
   * log of copies (the writer's own Region reads its own items at once).
   */
  private shownIn(region: Region, at: number): Promotion[] {
    const shown = new Map<string, Promotion>();
    for (const copy of this.p.replication.copies) {
      if (copy.to !== region || copy.at > at) continue;
      const last = (copy.item.outcome as PublishedOutcome | undefined)?.lastPromotion;
      if (last) shown.set(`${last.operationId} ${last.completedAt ?? ''}`, last);
    }
    return [...shown.values()];
  }

  /**
   * P8: a Promote the orchestrator in `r` sends for `op` (a re-send, an escalation) never reverses a promotion of
   * the other Region that truly came after `op` started and that `r`'s view showed when it decided (copies made by
   * the call's time: the driver replicates before it invokes). True times, not the Regions' skewed stamps: Amazon MQ accepted
   * the other Region's Promote after the model first saw `op` in its record.
   */
  private checkNewerChoice(r: Region, op: { id: string }, at: number, after: string): void {
    const seen = this.firstSeen.get(op.id);
    if (seen === undefined) return; // an operation started within this step: a first send
    const newer = this.shownIn(r, at).find((x) => {
      const accepted = this.accepted.find((y) => y.operationId === x.operationId && y.region !== r);
      return x.region !== r && accepted !== undefined && accepted.at > seen;
    });
    if (newer) {
      this.fail(
        `P8: ${r} sent a Promote for ${op.id} (first seen ${new Date(seen).toISOString()}, after ${after}) while its view showed ${newer.region}'s newer ${newer.operationId}`,
      );
    }
  }

  /** P1 and P2 for an automatic promotion of a new operation in `a.region`. */
  private checkAutomatic(a: Accepted, after: string): void {
    const shown = this.shownIn(a.region, a.at);
    const previous = this.accepted.filter((x) => x.at <= a.at).at(-1);
    if (
      this.s.policy === 'manual' &&
      previous !== undefined &&
      previous.region !== a.region &&
      this.stillDisarms(previous) &&
      shown.some((x) => x.operationId === previous.operationId)
    ) {
      this.fail(
        `P1: ${a.region} promoted automatically (${a.operationId}, after ${after}) and reversed ${previous.region}'s ${previous.automatic ? 'automatic' : "operator's"} ${previous.operationId}, which its view showed, with fail-back disarmed`,
      );
    }
    for (const x of shown) {
      if (x.completedAt === undefined || !this.accepted.some((y) => y.operationId === x.operationId)) continue;
      // Completion stamped by the other Region's clock: the core's skew allowance applies.
      if (a.at + MAX_CLOCK_SKEW_MS < x.completedAt + this.s.cooldownSeconds * 1000) {
        this.fail(
          `P2: ${a.region} promoted automatically at ${new Date(a.at).toISOString()}, within the pair-wide cooldown after ${x.operationId} (completed ${new Date(x.completedAt).toISOString()})`,
        );
      }
    }
  }

  /** No operation in flight in either record, no promotion under way. */
  private async settled(): Promise<boolean> {
    if (this.p.world.pair(this.p.pairName).promotion) return false;
    for (const r of REGIONS) {
      const op = (await this.record(r))?.operation;
      if (op && isInFlight(op)) return false;
    }
    return true;
  }

  private stillDisarms(p: Accepted): boolean {
    return p.disarms && p.at > this.lastRearm;
  }

  private async atRest(): Promise<void> {
    const { world, pairName, stacks } = this.p;
    const roles = REGIONS.map((r) => stacks[r].local.role);
    if (roles.filter((x) => x === 'PRIMARY').length !== 1) this.fail(`P7: at rest the brokers are ${roles.join(' and ')}`);
    if (world.pair(pairName).promotion) this.fail('P7: a promotion is still under way at rest');
    for (const r of REGIONS) {
      const state = await this.record(r);
      const op = state?.operation;
      if (op && isInFlight(op) && stacks[r].local.role === 'REPLICA') {
        this.fail(`P3: at rest ${r}'s record says ${op.id} ${op.status} while its broker is a replica with nothing pending`);
      }
    }
    // P9: clients follow the primary, in every Region, once anything was written there.
    const primary = world.roles(pairName).primary;
    for (const r of REGIONS) {
      const value = world.getParameter(r, `/mq-crdr/${pairName}/broker-url`)?.value;
      if (value === undefined) continue;
      const writer = REGIONS.find((x) => stacks[x].local.id === primary.id) as Region;
      const redirect = (await this.record(writer))?.operation?.redirect;
      if (redirect && redirect.status !== 'DONE') continue; // still retrying with its backoff, or it asked for a hand
      const first = parseFailoverUrl(value)[0] ?? '';
      if (!first.endsWith(`:${primary.port}`)) {
        this.fail(
          `P9: at rest ${r}'s redirect parameter names ${first} first, not the primary ${primary.id} (port ${primary.port})`,
        );
      }
    }
    for (const g of this.breakGlass) {
      const timeline = await stacks[g.region].runtime.orchestrator.store.timeline(pairName);
      if (!timeline.some((d) => d.breakGlass && d.requestKey === g.key)) {
        this.fail(`P4: break-glass failover ${g.key} in ${g.region} is not in its timeline once the table answers`);
      }
    }
  }
}
