/**
 * The model-based fault test's world: the embedded default (Amazon MQ simulator, dynalite, the local API
 * gateway, the real handlers and SDK clients) with faults injected on the wire and at the ports.
 *
 * One set of servers serves many runs; each run gets a pair of its own (its own brokers, its own pair record)
 * and a runtime of its own, so that 10 000 runs do not pay 10 000 server starts.
 *
 * Faults:
 *  - Amazon MQ 429 / 500 / 400, and "acted but the response was lost", in the simulator (world.injectFault);
 *  - DynamoDB throttling, 500, conditional failure and lost responses, in a proxy before dynalite;
 *  - a Lambda crash at a point of the orchestrator's step (before or after the conditional write, after
 *    Promote): the invocation stops there for good, as a killed process does;
 *  - lost deadline schedules; Region outages, the inter-Region partition, a primary refusing connections.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { ApiClient } from '#cli/client.ts';
import { createApi } from '#functions/api.ts';
import { escalate } from '#functions/escalate.ts';
import { healthCheck } from '#functions/healthCheck.ts';
import { onAlarm } from '#functions/onAlarm.ts';
import { type HandlerBody, type HandlerResult, makeHandler } from '#functions/shared.ts';
import { LocalDeadlineScheduler } from '#lib/adapters/local-scheduler.ts';
import { loadConfig } from '#lib/config.ts';
import type { Decision, Mode, PairState } from '#lib/core/model.ts';
import { STALL_LAG_BEHAVIOURS, type StallLagBehaviour } from '#lib/mq-facts.ts';
import type { DeadlineScheduler } from '#lib/ports.ts';
import { createRuntime, type Runtime } from '#lib/runtime.ts';
import { startLocalGateway } from '#simulator/api-gateway.ts';
import {
  alarmStateChangeEvent,
  createTable,
  LOCAL_CREDENTIALS,
  LOCAL_USERS,
  ManualClock,
  PRIMARY_REGION,
  pairEnv,
  quietLog,
  REPLICA_REGION,
  startDynalite,
} from '#simulator/embedded.ts';
import { lambdaContext } from '#simulator/lambda-context.ts';
import { type RunningSimulator, startSimulator } from '#simulator/server.ts';
import { CrdrWorld, type SimBroker } from '#simulator/world.ts';
import { type DynamoFaultProxy, startDynamoFaultProxy } from '../support/dynamo-faults.ts';

const TABLE = 'crdr-model';
export const T0 = Date.parse('2026-11-23T09:00:00Z');
/**
 * Real-time limits in every run: short, so that a hung call costs the test little; the budget invariant holds
 * each invocation to INVOCATION_BUDGET_MS whatever hangs.
 */
export const TIMEOUTS = {
  PROBE_TIMEOUT_MS: '100',
  SDK_CONNECT_TIMEOUT_MS: '100',
  SDK_REQUEST_TIMEOUT_MS: '100',
  INVOCATION_BUDGET_MS: '2000',
};
/** The orchestrator's settings in every run (seconds). */
export const SETTINGS = {
  deadline: 120,
  promoteRetryAfter: 30,
  cooldown: 300,
  probeFailureThreshold: 2,
  maxPromoteAttempts: 3,
  /** The rate(1 minute) sweep: the backstop interval of the deadline. */
  backstop: 60,
};
const FAILOVER_MS = 5_000;

export type CrashPoint = 'before-save' | 'after-save' | 'after-promote';

/** Where a Lambda invocation ended. */
export type Outcome = { ok: true; result: HandlerResult } | { ok: false; crashed: boolean; error: string };

export interface PromoteCall {
  at: number;
  mode: Mode;
  /** The world as the call found it: the local broker's role and the promotion under way, if any. */
  localRole: string;
  promotionUnderWay?: Mode;
  /** Sent by one of several invocations run at once (one of which may have crashed meanwhile). */
  racing: boolean;
  error?: string;
}

export class Servers {
  private constructor(
    readonly clock: ManualClock,
    readonly world: CrdrWorld,
    readonly simulator: RunningSimulator,
    readonly dynamodbEndpoint: string,
    readonly proxy: DynamoFaultProxy,
    readonly apiEndpoint: string,
    /** Reads the table past the fault proxy, for the invariants. */
    readonly doc: DynamoDBDocumentClient,
    private readonly closers: Array<() => Promise<void>>,
    private readonly gatewayRun: { current?: Run },
  ) {}

  static async start(): Promise<Servers> {
    const clock = new ManualClock(T0);
    const world = new CrdrWorld(clock, { failoverMs: FAILOVER_MS });
    const simulator = await startSimulator(world);
    const db = await startDynalite();
    await createTable(db.endpoint, TABLE, REPLICA_REGION);
    const proxy = await startDynamoFaultProxy(db.endpoint);
    const gatewayRun: { current?: Run } = {};
    const current = (): Run => {
      if (!gatewayRun.current) throw new Error('no run in progress');
      return gatewayRun.current;
    };
    const api = createApi(() => current().runtime);
    const gateway = await startLocalGateway({
      // A crashed API function gets API Gateway's answer to a Lambda that died: 502.
      handler: (event, context) =>
        current().lambda(() => api(event, context), { statusCode: 502, body: '{"message":"Internal Server Error"}' }),
      users: LOCAL_USERS,
    });
    const raw = new DynamoDBClient({ region: REPLICA_REGION, endpoint: db.endpoint, credentials: LOCAL_CREDENTIALS });
    return new Servers(
      clock,
      world,
      simulator,
      db.endpoint,
      proxy,
      gateway.endpoint,
      DynamoDBDocumentClient.from(raw),
      [gateway.close, proxy.close, simulator.close, db.close, async () => raw.destroy()],
      gatewayRun,
    );
  }

  newRun(index: number, load: { produceRate: number; drainRate: number; backlog: number; stallLag?: StallLagBehaviour }): Run {
    // What TotalReplicationLag does in a stall is unpublished: each run plays one of the plausible behaviours.
    this.world.stallLag = load.stallLag ?? STALL_LAG_BEHAVIOURS[0];
    this.world.clearFaults();
    this.proxy.clear();
    for (const region of [PRIMARY_REGION, REPLICA_REGION]) {
      this.world.setRegionUp(region, true);
      this.world.setRegionHung(region, false);
      this.world.setApiFault(region, undefined);
    }
    this.world.setPartitioned(false);
    const run = new Run(this, `pair-${index}`, load);
    this.gatewayRun.current = run;
    return run;
  }

  async close(): Promise<void> {
    for (const close of this.closers) await close();
  }
}

/**
 * The invocation a crash point is reached in, so that concurrent invocations crash one at a time. One for all
 * runs: every AsyncLocalStorage alive costs every promise of the process a little.
 */
const invocation = new AsyncLocalStorage<{ crash(): void }>();

export class Run {
  readonly primary: SimBroker;
  readonly replica: SimBroker;
  readonly runtime: Runtime;
  readonly scheduler: LocalDeadlineScheduler;
  readonly api: ApiClient;
  readonly promotes: PromoteCall[] = [];
  /** Decisions whose conditional write was acknowledged: each must be in the timeline. */
  readonly acknowledged: Decision[] = [];
  /** Alarm events delivered so far, for duplicate and out-of-order redelivery. */
  readonly delivered: unknown[] = [];
  /** Operator idempotency keys used so far, for retries. */
  readonly keys: string[] = [];
  /** Real time each invocation that returned took, with what it was (for the budget invariant). */
  readonly durations: Array<{ ms: number; what: string }> = [];
  private crashPoint: CrashPoint | undefined;
  /** Set while the model runs invocations at once: their Promotes race each other's decisions. */
  racing = false;
  private loseSchedules = false;
  private readonly handlers: Record<'onAlarm' | 'healthCheck' | 'escalate', ReturnType<typeof makeHandler>>;
  /** Aborts HTTP calls of crashed API invocations, so that nothing is left hanging between runs. */
  private readonly aborts = new AbortController();

  constructor(
    readonly servers: Servers,
    readonly pairId: string,
    load: { produceRate: number; drainRate: number; backlog: number },
  ) {
    const { world, clock } = servers;
    const { primary, replica } = world.addPair({
      name: pairId,
      primaryRegion: PRIMARY_REGION,
      replicaRegion: REPLICA_REGION,
      produceRate: load.produceRate,
      drainRate: load.drainRate,
      backlog: load.backlog,
    });
    this.primary = primary;
    this.replica = replica;
    const config = loadConfig({
      ...pairEnv({
        pairName: pairId,
        primary,
        replica,
        tableName: TABLE,
        simulatorEndpoint: servers.simulator.endpoint,
        dynamodbEndpoint: servers.proxy.endpoint,
        topicArn: world.addTopic(REPLICA_REGION, 'crdr-model'),
      }),
      DEADLINE_SECONDS: String(SETTINGS.deadline),
      PROMOTE_RETRY_AFTER_SECONDS: String(SETTINGS.promoteRetryAfter),
      COOLDOWN_SECONDS: String(SETTINGS.cooldown),
      PROBE_FAILURE_THRESHOLD: String(SETTINGS.probeFailureThreshold),
      MAX_PROMOTE_ATTEMPTS: String(SETTINGS.maxPromoteAttempts),
      ...TIMEOUTS,
    });
    this.scheduler = new LocalDeadlineScheduler(clock, (payload) => this.invoke('escalate', payload));
    this.runtime = createRuntime(config, quietLog, {
      clock,
      scheduler: this.losable(this.scheduler),
      credentials: LOCAL_CREDENTIALS,
    });
    this.instrument();
    const handler = (body: HandlerBody) => makeHandler(body, () => this.runtime);
    this.handlers = { onAlarm: handler(onAlarm), healthCheck: handler(healthCheck), escalate: handler(escalate) };
    this.api = new ApiClient({
      endpoint: servers.apiEndpoint,
      region: REPLICA_REGION,
      credentials: LOCAL_CREDENTIALS,
      attempts: 1,
      fetch: (url, init) => fetch(url, { ...init, signal: this.aborts.signal }),
    });
  }

  get now(): number {
    return this.servers.clock.now();
  }

  armCrash(point: CrashPoint | undefined): void {
    this.crashPoint = point;
  }

  setLoseSchedules(lose: boolean): void {
    this.loseSchedules = lose;
  }

  alarmEvent(kind: 'lag' | 'health', state: 'ALARM' | 'OK'): unknown {
    const name = kind === 'lag' ? `${this.pairId}-replication-lag` : `${this.pairId}-primary-health`;
    return alarmStateChangeEvent(name, state, state === 'ALARM' ? 'OK' : 'ALARM', this.now);
  }

  /** One Lambda invocation; a crash or an error ends it, as on AWS. */
  invoke(name: 'onAlarm' | 'healthCheck' | 'escalate', event: unknown): Promise<Outcome> {
    return this.guard(name, () => this.handlers[name](event, lambdaContext(name)));
  }

  /** One operator request through the API gateway; a 409 is a refusal, an answer like any other. */
  operator(kind: 'SWITCHOVER' | 'FAILOVER' | 'HOLD' | 'RELEASE', key: string, dryRun: boolean): Promise<Outcome> {
    const promotes = kind === 'SWITCHOVER' || kind === 'FAILOVER';
    const body = {
      reason: 'model-based test',
      ...(kind === 'FAILOVER' ? { confirm: this.pairId } : {}),
      ...(dryRun && promotes ? { dryRun } : {}),
    };
    return this.guard(`api ${kind}`, async () => {
      const answer = await this.api.request(kind, this.pairId, body, key);
      return { pairId: this.pairId, decisions: answer.decisions };
    });
  }

  /** The pair record, read past the fault proxy. */
  async readState(): Promise<{ state: PairState; pending?: Decision[] } | undefined> {
    const out = await this.servers.doc.send(
      new GetCommand({ TableName: TABLE, Key: { pk: `PAIR#${this.pairId}`, sk: 'STATE' }, ConsistentRead: true }),
    );
    return out.Item as { state: PairState; pending?: Decision[] } | undefined;
  }

  /** The pair record and the timeline, read past the fault proxy: versions, decisions, pending ones. */
  async readStore(): Promise<{ state: PairState | undefined; timeline: Array<{ version: number; decision: Decision }> }> {
    const { doc } = this.servers;
    const item = await this.readState();
    const timeline = new Map<string, { version: number; decision: Decision }>();
    const pages = paginateQuery(
      { client: doc },
      {
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tl)',
        ExpressionAttributeValues: { ':pk': `PAIR#${this.pairId}`, ':tl': 'TL#' },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const { pk: _pk, sk, ...decision } of page.Items ?? []) {
        timeline.set(sk as string, { version: Number(String(sk).split('#')[1]), decision: decision as Decision });
      }
    }
    for (const [i, decision] of (item?.pending ?? []).entries()) {
      timeline.set(`TL#${String(item?.state.version).padStart(12, '0')}#${String(i).padStart(3, '0')}`, {
        version: item?.state.version ?? 0,
        decision,
      });
    }
    return {
      state: item?.state,
      timeline: [...timeline.keys()].sort().map((k) => timeline.get(k) as { version: number; decision: Decision }),
    };
  }

  async close(): Promise<void> {
    this.aborts.abort();
    this.runtime.close();
    await this.servers.world.removePair(this.pairId);
  }

  private async guard(what: string, call: () => Promise<HandlerResult>): Promise<Outcome> {
    const started = performance.now();
    const outcome = await this.lambda(() => this.settle(call), { ok: false, crashed: true, error: 'crashed' });
    // A crashed invocation never returns: it has no duration to hold to the budget.
    if (!(!outcome.ok && outcome.crashed)) this.durations.push({ ms: performance.now() - started, what });
    return outcome;
  }

  private settle(call: () => Promise<HandlerResult>): Promise<Outcome> {
    return call().then(
      (result): Outcome => ({ ok: true, result }),
      (error: unknown): Outcome => ({
        ok: false,
        crashed: false,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }),
    );
  }

  /** Runs `call` as one Lambda invocation: a crash point reached inside it ends it with `crashed`. */
  lambda<T>(call: () => Promise<T>, crashed: T): Promise<T> {
    let crash = () => {};
    const ended = new Promise<T>((resolve) => {
      crash = () => resolve(crashed);
    });
    return Promise.race([invocation.run({ crash }, call), ended]);
  }

  /** Stops the invocation that reached `point`: its promise never settles, like a process that is gone. */
  private crashIf(point: CrashPoint): Promise<never> | undefined {
    const current = invocation.getStore();
    if (this.crashPoint !== point || !current) return undefined;
    this.crashPoint = undefined;
    current.crash();
    return new Promise<never>(() => {});
  }

  private losable(inner: DeadlineScheduler): DeadlineScheduler {
    return {
      schedule: async (pairId, operationId, at) => {
        if (!this.loseSchedules) await inner.schedule(pairId, operationId, at);
      },
      cancel: (pairId, operationId) => inner.cancel(pairId, operationId),
    };
  }

  /** Wraps the real store and broker adapters with the crash points and the records the invariants read. */
  private instrument(): void {
    const o = this.runtime.orchestrator;
    const store = o.store;
    const broker = o.broker;
    const world = this.servers.world;
    o.store = {
      load: (pairId) => store.load(pairId),
      timeline: (pairId) => store.timeline(pairId),
      timelinePage: (pairId, request, stored) => store.timelinePage(pairId, request, stored),
      save: async (previous, next, decisions) => {
        const before = this.crashIf('before-save');
        if (before) return before;
        await store.save(previous, next, decisions);
        this.acknowledged.push(...decisions);
        const after = this.crashIf('after-save');
        if (after) return after;
      },
    };
    o.broker = {
      observe: (brokerId) => broker.observe(brokerId),
      promote: async (brokerId, mode) => {
        const promotion = world.pair(this.pairId).promotion;
        const call: PromoteCall = {
          at: this.now,
          mode,
          localRole: world.brokers.get(brokerId)?.role ?? 'MISSING',
          ...(promotion ? { promotionUnderWay: promotion.mode } : {}),
          racing: this.racing,
        };
        this.promotes.push(call);
        try {
          await broker.promote(brokerId, mode);
        } catch (error) {
          call.error = error instanceof Error ? error.message : String(error);
          const crash = this.crashIf('after-promote');
          if (crash) return crash;
          throw error;
        }
        const crash = this.crashIf('after-promote');
        if (crash) return crash;
      },
    };
  }
}
