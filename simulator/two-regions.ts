/**
 * The pair as deployed: one orchestrator stack in each of the two Regions, over one simulated pair. Each stack
 * has its own table, its own deadline scheduler, topic and operator API, and its own broker as the local one
 * (the stack in the primary's Region watches its broker as the "local" one and refuses to promote it). The
 * pair view is two real tables, one per Region, with replication between them whose delay the caller sets
 * (simulator/global-table.ts). The handlers, SDK clients, simulator and dynalite are the real ones, on one
 * manual clock shared as concurrent Lambdas share time (ManualClock.track); each Region's Lambdas may read it
 * skewed.
 */

import { createApi } from '#functions/api.ts';
import { escalate } from '#functions/escalate.ts';
import { healthCheck } from '#functions/healthCheck.ts';
import { onAlarm } from '#functions/onAlarm.ts';
import { readiness } from '#functions/readiness.ts';
import type { HandlerResult } from '#functions/shared.ts';
import { makeHandler } from '#functions/shared.ts';
import { LocalDeadlineScheduler } from '#lib/adapters/local-scheduler.ts';
import { loadConfig } from '#lib/config.ts';
import type { Decision } from '#lib/core/model.ts';
import type { Clock } from '#lib/ports.ts';
import { createRuntime, type Runtime } from '#lib/runtime.ts';
import { startLocalGateway } from './api-gateway.ts';
import {
  addOrdersPair,
  createTable,
  LOCAL_CREDENTIALS,
  LOCAL_USERS,
  type ManualClock,
  PRIMARY_REGION,
  pairEnv,
  quietLog,
  REPLICA_REGION,
  ReplicationAlarms,
  startDynalite,
} from './embedded.ts';
import { GlobalTableReplication } from './global-table.ts';
import { lambdaContext } from './lambda-context.ts';
import { type RunningSimulator, startSimulator } from './server.ts';
import { CrdrWorld, type SimBroker, type WorldOptions } from './world.ts';

export type PairRegion = typeof PRIMARY_REGION | typeof REPLICA_REGION;
export const REGIONS: readonly PairRegion[] = [PRIMARY_REGION, REPLICA_REGION];

export interface RegionStack {
  region: PairRegion;
  /** This stack's own broker. */
  local: SimBroker;
  runtime: Runtime;
  scheduler: LocalDeadlineScheduler;
  /** This Region's operator API (SigV4, as API Gateway with IAM authorization). */
  apiEndpoint: string;
  /** The replication alarms on this Region's broker (serverless.yml's); their state changes go to the other Region's onAlarm. */
  alarms: ReplicationAlarms;
  /** Decisions of deadline schedules that fired, or how their invocation failed. */
  scheduled: Array<HandlerResult | Error>;
  invoke: {
    onAlarm(event: unknown): Promise<HandlerResult>;
    healthCheck(event?: unknown): Promise<HandlerResult>;
    escalate(event: unknown): Promise<HandlerResult>;
    readiness(): Promise<HandlerResult>;
  };
}

export interface TwoRegions {
  world: CrdrWorld;
  simulator: RunningSimulator;
  /** dynalite itself, past any proxy: where tests read the tables as they are. */
  dynamodbEndpoint: string;
  pairName: string;
  alarmName: string;
  stacks: Record<PairRegion, RegionStack>;
  /** The pair view's replication between the Regions' tables: set its delay, pause it. */
  replication: GlobalTableReplication;
  /** Each Region's Lambdas read the clock this far off (ms); change it as the test goes. */
  skewMs: Record<PairRegion, number>;
  /** Runs what time brings in the Regions that are up: due deadline schedules, the pair view's replication. */
  tick(): Promise<void>;
  close(): Promise<void>;
}

export async function startTwoRegions(options: {
  clock: ManualClock;
  env?: Record<string, string>;
  pair?: { produceRate?: number; drainRate?: number; backlog?: number };
  /** The pair view's replication delay (default 1 s, DynamoDB's typical figure). */
  viewDelayMs?: number;
  /** Puts something (a fault proxy) between a Region's stack and DynamoDB; returns the endpoint to use. */
  dynamoEndpoint?: (region: PairRegion, endpoint: string) => Promise<string>;
  /**
   * Whether the stacks ran before the scenario starts (the default), as stacks deployed long before an incident
   * have: each Region's record already knows its broker's role. `false`: new stacks, with no history (a Region
   * with none waits for the pair view before it promotes automatically: PairState.watchingSince).
   */
  history?: boolean;
  /** How Amazon MQ behaves where it is unpublished or slow: a promotion's length, when it shows as pending. */
  world?: Pick<WorldOptions, 'failoverMs' | 'pendingShownAfterMs' | 'viewLatencyIn'>;
}): Promise<TwoRegions> {
  const { clock } = options;
  const world = new CrdrWorld(clock, options.world);
  const { pairName, primary, replica } = addOrdersPair(world, options.pair);
  const alarmName = `${pairName}-replication-lag`;
  const simulator = await startSimulator(world);
  const db = await startDynalite();
  const closers: Array<() => unknown> = [];
  const skewMs: Record<PairRegion, number> = { [PRIMARY_REGION]: 0, [REPLICA_REGION]: 0 };
  const viewTable = (region: string) => `crdr-pair-view-${region}`;
  const DAY_MS = 86_400_000;

  const stack = async (region: PairRegion, local: SimBroker, remote: SimBroker): Promise<RegionStack> => {
    // Each Region's own table, as each stack declares its own; the pair view's replica in this Region.
    const tableName = `crdr-orchestrator-${region}`;
    await createTable(db.endpoint, tableName, region);
    await createTable(db.endpoint, viewTable(region), region);
    const endpoint = options.dynamoEndpoint ? await options.dynamoEndpoint(region, db.endpoint) : db.endpoint;
    const config = loadConfig({
      // pairEnv names the stack's own broker "replica" and the other "primary": here they are local and remote.
      ...pairEnv({
        pairName,
        primary: remote,
        replica: local,
        tableName,
        simulatorEndpoint: simulator.endpoint,
        dynamodbEndpoint: endpoint,
        topicArn: world.addTopic(region, 'crdr-notifications'),
      }),
      PAIR_VIEW_TABLE: viewTable(region),
      ...options.env,
    });
    const lambdaClock: Clock = { now: () => clock.now() + skewMs[region], sleep: (ms) => clock.sleep(ms) };
    const scheduled: Array<HandlerResult | Error> = [];
    let escalateHandler: ReturnType<typeof makeHandler> | undefined;
    // A due schedule invokes the function and does not wait for it (it may watch a promotion for a minute):
    // its outcome is collected when it ends.
    const scheduler = new LocalDeadlineScheduler(lambdaClock, async (payload) => {
      const handler = escalateHandler as ReturnType<typeof makeHandler>;
      void clock
        .track(() => handler(payload, lambdaContext('escalate')))
        .then(
          (result) => scheduled.push(result),
          // Scheduler retries briefly, then the dead-letter queue keeps it; the sweep is the backstop.
          (error: unknown) => scheduled.push(error instanceof Error ? error : new Error(String(error))),
        );
    });
    // A stack given an EventBridge Scheduler target (ESCALATE_FUNCTION_ARN) creates its deadlines in the simulator's
    // Scheduler, which keeps them and fires none (the sweep escalates); otherwise the local scheduler fires them.
    const runtime = createRuntime(config, quietLog, {
      clock: lambdaClock,
      ...(config.scheduler ? {} : { scheduler }),
      credentials: LOCAL_CREDENTIALS,
    });
    closers.push(() => runtime.close());
    const handlers = {
      onAlarm: makeHandler(onAlarm, () => runtime),
      healthCheck: makeHandler(healthCheck, () => runtime),
      escalate: makeHandler(escalate, () => runtime),
      readiness: makeHandler(readiness, () => runtime),
    };
    escalateHandler = handlers.escalate;
    const api = createApi(() => runtime);
    const gateway = await startLocalGateway({
      handler: (event, context) => clock.track(() => api(event, context)),
      users: LOCAL_USERS,
    });
    closers.push(() => gateway.close());
    return {
      region,
      local,
      runtime,
      scheduler,
      apiEndpoint: gateway.endpoint,
      alarms: new ReplicationAlarms(world, [local], { pairId: pairName, lagAlarmName: () => alarmName }),
      scheduled,
      invoke: {
        onAlarm: (event) => clock.track(() => handlers.onAlarm(event, lambdaContext('onAlarm'))),
        healthCheck: (event = {}) => clock.track(() => handlers.healthCheck(event, lambdaContext('healthCheck'))),
        escalate: (event) => clock.track(() => handlers.escalate(event, lambdaContext('escalate'))),
        readiness: () => clock.track(() => handlers.readiness({}, lambdaContext('readiness'))),
      },
    };
  };

  const replication = new GlobalTableReplication(
    db.endpoint,
    [
      { region: PRIMARY_REGION, tableName: viewTable(PRIMARY_REGION) },
      { region: REPLICA_REGION, tableName: viewTable(REPLICA_REGION) },
    ],
    clock,
    (region) => world.isRegionUp(region),
    {
      delayMs: options.viewDelayMs ?? 1_000,
      // One global table, named per Region here (one dynalite): CloudWatch finds its latency by either name.
      onCopy: (c) =>
        world.recordReplication({
          from: c.from.region,
          to: c.to.region,
          tableNames: [viewTable(PRIMARY_REGION), viewTable(REPLICA_REGION)],
          at: c.at,
          latencyMs: c.latencyMs,
        }),
    },
  );
  const stacks = {
    [PRIMARY_REGION]: await stack(PRIMARY_REGION, primary, replica),
    [REPLICA_REGION]: await stack(REPLICA_REGION, replica, primary),
  };
  if (options.history !== false) {
    for (const [region, role] of [
      [PRIMARY_REGION, 'PRIMARY'],
      [REPLICA_REGION, 'REPLICA'],
    ] as const) {
      const store = stacks[region].runtime.orchestrator.store;
      const stored = await store.load(pairName);
      const state = { ...stored.state, version: stored.state.version + 1, localRole: { role, since: clock.now() - DAY_MS } };
      await store.save(stored, state, []);
    }
  }
  return {
    world,
    simulator,
    dynamodbEndpoint: db.endpoint,
    pairName,
    alarmName,
    stacks,
    replication,
    skewMs,
    tick: async () => {
      await world.syncListeners();
      await replication.replicate();
      for (const s of Object.values(stacks)) if (world.isRegionUp(s.region)) await s.scheduler.runDue();
    },
    close: async () => {
      replication.close();
      for (const close of closers) await close();
      await simulator.close();
      await db.close();
    },
  };
}

export interface PairEntry {
  /** ms after the driver's start. */
  t: number;
  region: PairRegion;
  /** The function (and trigger) that decided. */
  via: string;
  decision: Decision;
}

export const otherRegion = (region: PairRegion): PairRegion => (region === PRIMARY_REGION ? REPLICA_REGION : PRIMARY_REGION);

/**
 * Plays what AWS runs for the deployed pair, every 5 s of the manual clock: due deadline schedules and the pair
 * view's replication; every minute, in each Region that is up, the lag alarm of its broker (CloudWatch), whose
 * state changes EventBridge forwards to the other Region's onAlarm, the health probe and the sweep. A state
 * change whose target Region is down waits and is delivered when it is back, as EventBridge retries it (its
 * default policy keeps trying for 24 hours).
 */
export class PairDriver {
  readonly log: PairEntry[] = [];
  readonly failures: Array<{ t: number; region: PairRegion; via: string; error: string }> = [];
  /** How long each invocation took in real time, for budget checks. */
  readonly durations: Array<{ region: PairRegion; via: string; ms: number }> = [];
  private undelivered: Array<{ to: PairRegion; event: unknown }> = [];

  constructor(
    readonly pair: TwoRegions,
    readonly clock: ManualClock,
    readonly t0: number = clock.now(),
    /** The step of the schedules' clock: 5 s by default (deadlines fire within it). */
    readonly tickMs = 5_000,
  ) {}

  get t(): number {
    return this.clock.now() - this.t0;
  }

  /**
   * Plays every step up to `untilMs`: the invocations asleep until then wake in time order first, then the step
   * (`at`, the view's replication, due deadlines, each minute's triggers) launches what it launches, which runs
   * until it sleeps or ends. An invocation still asleep at `untilMs` (a probe loop, a watch) goes on at the next
   * play.
   */
  async play(untilMs: number, at: (t: number) => void | Promise<void> = () => undefined): Promise<void> {
    await this.clock.playSteps(this.t0, untilMs, this.tickMs, async (t) => {
      for (const region of REGIONS) this.drainScheduled(region);
      await at(t);
      await this.pair.tick();
      if (t % 60_000 === 0) this.minute();
    });
    for (const region of REGIONS) this.drainScheduled(region);
  }

  /** Records a handler's decisions, or its failure (a table down fails the invocation: Lambda retries it). */
  async record(region: PairRegion, via: string, invocation: Promise<HandlerResult>): Promise<HandlerResult | undefined> {
    const t = this.t;
    const started = performance.now();
    try {
      const result = await invocation;
      // When each was decided (an invocation probes or watches for up to a minute), on the driver's clock.
      for (const decision of result.decisions)
        this.log.push({ t: decision.at - this.pair.skewMs[region] - this.t0, region, via, decision });
      return result;
    } catch (error) {
      this.failures.push({ t, region, via, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      return undefined;
    } finally {
      this.durations.push({ region, via, ms: performance.now() - started });
    }
  }

  /** An alarm state change EventBridge holds for `to`, delivered when that Region is up (a stale one, say). */
  queueAlarm(to: PairRegion, event: unknown): void {
    this.undelivered.push({ to, event });
  }

  /** What AWS runs every minute in both Regions (see the class comment), launched: it runs on its own. */
  minute(): Promise<unknown> {
    const { world, stacks } = this.pair;
    for (const region of REGIONS) {
      for (const change of stacks[region].alarms.evaluate(this.clock.now())) {
        this.undelivered.push({ to: otherRegion(region), event: change.event });
      }
    }
    const up = REGIONS.filter((r) => world.isRegionUp(r));
    const due = this.undelivered.filter((d) => up.includes(d.to));
    this.undelivered = this.undelivered.filter((d) => !up.includes(d.to));
    return Promise.all([
      ...due.map((d) => this.record(d.to, 'onAlarm', stacks[d.to].invoke.onAlarm(d.event))),
      ...up.flatMap((r) => [
        this.record(r, 'healthCheck', stacks[r].invoke.healthCheck()),
        this.record(r, 'sweep', stacks[r].invoke.escalate({ kind: 'sweep' })),
      ]),
    ]);
  }

  private drainScheduled(region: PairRegion): void {
    for (const result of this.pair.stacks[region].scheduled.splice(0)) {
      if (result instanceof Error)
        this.failures.push({ t: this.t, region, via: 'deadline', error: `${result.name}: ${result.message}` });
      else for (const decision of result.decisions) this.log.push({ t: this.t, region, via: 'deadline', decision });
    }
  }
}
