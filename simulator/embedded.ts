/**
 * The embedded default: everything the orchestrator talks to, on this machine. The Amazon MQ simulator and
 * dynalite listen on loopback; the real handlers run with real SDK clients pointed at them by endpoint
 * override, on a clock the caller controls; deadlines fire the real escalate handler through the local
 * scheduler.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createApi } from '#functions/api.ts';
import { arcStep, type RegionSwitchStepResult } from '#functions/arcStep.ts';
import { escalate } from '#functions/escalate.ts';
import { healthCheck } from '#functions/healthCheck.ts';
import { onAlarm } from '#functions/onAlarm.ts';
import { readiness } from '#functions/readiness.ts';
import { type HandlerResult, makeHandler } from '#functions/shared.ts';
import { LocalDeadlineScheduler } from '#lib/adapters/local-scheduler.ts';
import { loadConfig } from '#lib/config.ts';
import type { LogSink } from '#lib/orchestrator.ts';
import type { Clock } from '#lib/ports.ts';
import { createRuntime, type Runtime, type RuntimeOverrides } from '#lib/runtime.ts';
import { alarmStateChangeEvent } from './alarm-event.ts';
import { ReplicationAlarms } from './alarms.ts';
import { type LocalUser, startLocalGateway } from './api-gateway.ts';
import { lambdaContext } from './lambda-context.ts';
import { LOCAL_CREDENTIALS, LOCAL_USERS } from './local-credentials.ts';
import { type RunningSimulator, startSimulator } from './server.ts';
import { CrdrWorld, type SimBroker, type WorldOptions } from './world.ts';

/**
 * A clock that moves only when told to: drills and tests run minutes of outage in milliseconds.
 *
 * An invocation that sleeps (watching a promotion, between probes) moves it itself. Invocations run through
 * `track` (the embedded default's handlers) share it as concurrent Lambdas share time: a sleeper wakes only once
 * every tracked invocation is asleep or done, the earliest first, and the clock moves to its wake time; so one
 * invocation's real I/O never lets another's sleep run ahead of it. Outside `track` a sleep moves the clock at
 * once (never backwards). The drill and the model test read the time back from the clock.
 *
 * A driver that plays AWS's schedules around the invocations (`drive`) takes over the waking: it launches
 * invocations without waiting for them, and at each of its steps wakes the sleepers due by then (`wakeDue`),
 * so its own steps (a fault at 1:05, the view's replication every 5 s) fall between an invocation's probes at
 * their time. What sleeps while it drives waits for it; between its runs, other invocations move the clock as above.
 */
export class ManualClock implements Clock {
  private active = 0;
  private sleepers: Array<{ wake: number; resume: () => void; held: boolean }> = [];
  private idlers: Array<() => void> = [];
  private driving = false;

  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }

  async sleep(ms: number): Promise<void> {
    const wake = this.t + ms;
    if (this.active === 0 && !this.driving) {
      // Let other I/O run, as a timer would.
      await new Promise((resolve) => setImmediate(resolve));
      this.t = Math.max(this.t, wake);
      return;
    }
    await new Promise<void>((resume) => {
      this.sleepers.push({ wake, resume, held: this.driving });
      this.active -= 1;
      this.wakeNext();
    });
  }

  /** Runs one invocation on this clock's shared time. */
  async track<T>(invocation: () => Promise<T>): Promise<T> {
    this.active += 1;
    try {
      return await invocation();
    } finally {
      this.active -= 1;
      this.wakeNext();
    }
  }

  /** Runs a driver's steps: while it drives, sleepers wake only at its `wakeDue`. */
  async drive<T>(steps: () => Promise<T>): Promise<T> {
    this.driving = true;
    try {
      return await steps();
    } finally {
      this.driving = false;
    }
  }

  /** Whether a driver is driving: what it launches must not be awaited inside its step (it may sleep). */
  get isDriving(): boolean {
    return this.driving;
  }

  /**
   * Drives `step` at t0 + t, every `everyMs` up to `untilMs` (t from the next step after now): before each, the
   * sleepers due wake in time order; after it, what it launched runs until it sleeps or ends.
   */
  async playSteps(t0: number, untilMs: number, everyMs: number, step: (t: number) => Promise<void>): Promise<void> {
    await this.drive(async () => {
      for (let t = Math.ceil((this.t - t0) / everyMs) * everyMs; t <= untilMs; t += everyMs) {
        await this.wakeDue(t0 + t);
        if (this.t < t0 + t) this.t = t0 + t;
        await step(t);
        await this.idle();
      }
    });
  }

  /** Lets everything asleep run to its end (a probe loop, a watch), the clock moving as they wake. */
  async settle(): Promise<void> {
    await this.drive(() => this.wakeDue(Number.POSITIVE_INFINITY));
  }

  /** Settles once every tracked invocation is asleep or done. */
  idle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((resolve) => this.idlers.push(resolve));
  }

  /** Wakes, earliest first, every sleeper due by `until`, each once the others are asleep or done again. */
  async wakeDue(until: number): Promise<void> {
    for (;;) {
      await this.idle();
      this.sleepers.sort((a, b) => a.wake - b.wake);
      const next = this.sleepers[0];
      if (!next || next.wake > until) return;
      this.sleepers.shift();
      this.t = Math.max(this.t, next.wake);
      this.active += 1;
      next.resume();
    }
  }

  private wakeNext(): void {
    if (this.active > 0) return;
    for (const settle of this.idlers.splice(0)) settle();
    // A driver wakes its own invocations' sleepers; others wake themselves, as before.
    if (this.driving) return;
    const free = this.sleepers.filter((s) => !s.held).sort((a, b) => a.wake - b.wake);
    const next = free[0];
    if (!next) return;
    this.sleepers.splice(this.sleepers.indexOf(next), 1);
    this.t = Math.max(this.t, next.wake);
    this.active += 1;
    next.resume();
  }
}

export { LOCAL_CREDENTIALS, LOCAL_USERS, alarmStateChangeEvent, ReplicationAlarms };
export const quietLog: LogSink = { info() {}, warn() {}, error() {} };

export async function startDynalite(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}

/** The table as serverless.yml declares it. */
export async function createTable(endpoint: string, tableName: string, region = 'us-west-2'): Promise<void> {
  const client = new DynamoDBClient({ region, endpoint, credentials: LOCAL_CREDENTIALS });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  client.destroy();
}

export { lambdaContext };

export interface EmbeddedOptions {
  clock: Clock;
  /** Environment entries on top of the embedded ones (DEADLINE_SECONDS, DRY_RUN, ...). */
  env?: Record<string, string>;
  pair?: { produceRate?: number; drainRate?: number; backlog?: number };
  failoverMs?: number;
  /** The simulated world's unpublished behaviours and link (see WorldOptions). */
  world?: Pick<WorldOptions, 'stallLag' | 'linkLatencyMs' | 'replicaListsEndpoints'>;
  log?: LogSink;
  newOperationId?: RuntimeOverrides['newOperationId'];
  /** Callers of the local API gateway; LOCAL_USERS by default. */
  users?: Record<string, LocalUser>;
  apiPort?: number;
  /** Receives the result of each escalate invocation fired by a deadline schedule. */
  onScheduledResult?: (result: HandlerResult) => void;
}

export interface Embedded {
  world: CrdrWorld;
  simulator: RunningSimulator;
  dynamodbEndpoint: string;
  /** The operator API behind the local gateway (SigV4-verified with LOCAL_USERS). */
  apiEndpoint: string;
  runtime: Runtime;
  scheduler: LocalDeadlineScheduler;
  primary: SimBroker;
  replica: SimBroker;
  pairName: string;
  invoke: {
    onAlarm(event: unknown): Promise<HandlerResult>;
    healthCheck(event?: unknown): Promise<HandlerResult>;
    escalate(event: unknown): Promise<HandlerResult>;
    /** The ARC Region switch step, as a plan execution invokes it in this (the replica's) Region. */
    arcStep(event: unknown): Promise<RegionSwitchStepResult>;
    /** The scheduled readiness evaluation (every 10 minutes on AWS). */
    readiness(): Promise<HandlerResult>;
  };
  close(): Promise<void>;
}

export const PRIMARY_REGION = 'us-east-1';
export const REPLICA_REGION = 'us-west-2';

/**
 * The environment of the orchestrator of one simulated pair: it runs in the replica's Region, as it is
 * deployed, with every client pointed at the simulator and the given DynamoDB endpoint.
 */
export function pairEnv(p: {
  pairName: string;
  primary: SimBroker;
  replica: SimBroker;
  tableName: string;
  simulatorEndpoint: string;
  dynamodbEndpoint: string;
  topicArn: string;
}): Record<string, string> {
  return {
    PAIR_ID: p.pairName,
    AWS_REGION: p.replica.region,
    LOCAL_BROKER_ID: p.replica.id,
    REMOTE_BROKER_ID: p.primary.id,
    LOCAL_BROKER_NAME: p.replica.name,
    REMOTE_BROKER_NAME: p.primary.name,
    REMOTE_REGION: p.primary.region,
    TABLE_NAME: p.tableName,
    LAG_ALARM_NAMES: `${p.pairName}-replication-lag`,
    HEALTH_ALARM_NAMES: `${p.pairName}-primary-health`,
    PROBE_TIMEOUT_MS: '500',
    MQ_ENDPOINT: p.simulatorEndpoint,
    DYNAMODB_ENDPOINT: p.dynamodbEndpoint,
    SNS_ENDPOINT: p.simulatorEndpoint,
    CLOUDWATCH_ENDPOINT: p.simulatorEndpoint,
    SSM_ENDPOINT: p.simulatorEndpoint,
    SCHEDULER_ENDPOINT: p.simulatorEndpoint,
    TOPIC_ARN: p.topicArn,
    // Clients find the primary's OpenWire failover URL here, in both Regions, after every promotion.
    REDIRECT_SSM_PARAMETER: `/mq-crdr/${p.pairName}/broker-url`,
  };
}

/** The embedded default's pair `orders`: primary in us-east-1, replica in us-west-2, 50 msg/s in, 200 msg/s drained. */
export function addOrdersPair(world: CrdrWorld, pair: EmbeddedOptions['pair'] = {}) {
  const pairName = 'orders';
  const { primary, replica } = world.addPair({
    name: pairName,
    primaryRegion: PRIMARY_REGION,
    replicaRegion: REPLICA_REGION,
    produceRate: pair.produceRate ?? 50,
    drainRate: pair.drainRate ?? 200,
    backlog: pair.backlog ?? 0,
  });
  return { pairName, primary, replica };
}

export async function startEmbedded(options: EmbeddedOptions): Promise<Embedded> {
  const world = new CrdrWorld(options.clock, {
    ...options.world,
    ...(options.failoverMs === undefined ? {} : { failoverMs: options.failoverMs }),
  });
  const { pairName, primary, replica } = addOrdersPair(world, options.pair);
  const simulator = await startSimulator(world);
  const db = await startDynalite();
  const tableName = 'crdr-orchestrator';
  await createTable(db.endpoint, tableName, REPLICA_REGION);

  const config = loadConfig({
    ...pairEnv({
      pairName,
      primary,
      replica,
      tableName,
      simulatorEndpoint: simulator.endpoint,
      dynamodbEndpoint: db.endpoint,
      topicArn: world.addTopic(REPLICA_REGION, 'crdr-notifications'),
    }),
    ...options.env,
  });

  const log = options.log ?? quietLog;
  const { clock } = options;
  /** Every invocation shares the manual clock's time as concurrent Lambdas do (see ManualClock). */
  const track = <T>(invocation: () => Promise<T>): Promise<T> =>
    clock instanceof ManualClock ? clock.track(invocation) : invocation();
  let escalateHandler: ReturnType<typeof makeHandler> | undefined;
  const scheduler = new LocalDeadlineScheduler(options.clock, async (payload) => {
    const invocation = track(() => (escalateHandler as ReturnType<typeof makeHandler>)(payload, lambdaContext('escalate'))).then(
      (result) => options.onScheduledResult?.(result),
    );
    // A driver does not wait inside its step for what may sleep (a watch): it runs on, as on AWS.
    if (clock instanceof ManualClock && clock.isDriving) invocation.catch(() => undefined);
    else await invocation;
  });
  const runtime = createRuntime(config, log, {
    clock: options.clock,
    scheduler,
    credentials: LOCAL_CREDENTIALS,
    ...(options.newOperationId ? { newOperationId: options.newOperationId } : {}),
  });
  const handlers = {
    onAlarm: makeHandler(onAlarm, () => runtime),
    healthCheck: makeHandler(healthCheck, () => runtime),
    escalate: makeHandler(escalate, () => runtime),
    arcStep: makeHandler(arcStep, () => runtime),
    readiness: makeHandler(readiness, () => runtime),
  };
  escalateHandler = handlers.escalate;
  const api = createApi(() => runtime);
  const gateway = await startLocalGateway({
    handler: (event, context) => track(() => api(event, context)),
    users: options.users ?? LOCAL_USERS,
    ...(options.apiPort !== undefined ? { port: options.apiPort } : {}),
  });

  return {
    world,
    simulator,
    dynamodbEndpoint: db.endpoint,
    apiEndpoint: gateway.endpoint,
    runtime,
    scheduler,
    primary,
    replica,
    pairName,
    invoke: {
      onAlarm: (event) => track(() => handlers.onAlarm(event, lambdaContext('onAlarm'))),
      healthCheck: (event = {}) => track(() => handlers.healthCheck(event, lambdaContext('healthCheck'))),
      escalate: (event) => track(() => handlers.escalate(event, lambdaContext('escalate'))),
      arcStep: (event) => track(() => handlers.arcStep(event, lambdaContext('arcStep'))),
      readiness: () => track(() => handlers.readiness({}, lambdaContext('readiness'))),
    },
    close: async () => {
      await gateway.close();
      await simulator.close();
      await db.close();
    },
  };
}
