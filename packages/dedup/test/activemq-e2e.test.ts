/**
 * End to end with real parts: two ActiveMQ brokers standing for the two Regions, dynalite standing for the dedup
 * global table (one table both Regions write, i.e. replication with no delay), consumer processes that are
 * SIGKILLed at the SDK's crash points and restarted, a failover, and the reconcile tool (itself crashed once).
 * The same brokers then serve client redirection end to end. (One file, so that its tests never run beside
 * each other: a JVM starting next to the crash schedules can stall a consumer past its 2 s lease.)
 *
 * Replication model: every message produced on the primary before the failover, except the last UNREPLICATED,
 * is also on the replica; acknowledgements are not replicated, so the replica also holds messages the primary's
 * consumers already processed (the worst case for duplicates).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alarmStateChangeEvent,
  LOCAL_CREDENTIALS,
  ManualClock,
  PRIMARY_REGION,
  REPLICA_REGION,
  startDynalite,
  startEmbedded,
} from '../../../simulator/embedded.ts';
import { SsmBrokerUrl, startFollowingConsumer } from '../src/follow.ts';
import { createDedupTable, DedupStore, type QueueReport, reconcile } from '../src/index.ts';
import { connectStomp, describeEndpoint, publishConfirmed } from '../src/stomp.ts';
import { sleep } from '../src/store.ts';
import { type LocalBroker, startActiveMq } from './activemq.ts';

const PRODUCED_BEFORE = 300;
const UNREPLICATED = 60;
const PRODUCED_AFTER = 100;
const WORKERS = 3;
const LEASE_SECONDS = 2;
const CRASH_POINTS = ['before-claim', 'after-claim', 'before-ack'] as const;
const QUEUE = 'orders';
const GROUP = 'fulfilment';
const TABLE = 'dedup';
const WORKER = join(import.meta.dirname, './consumer-worker.ts');

let dir: string;
let sink: string;
let east: LocalBroker;
let west: LocalBroker;
let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let client: DynamoDBClient;
const live = new Set<ChildProcess>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dedup-e2e-'));
  sink = join(dir, 'processed.log');
  writeFileSync(sink, '');
  [east, west, dynamo] = await Promise.all([startActiveMq('us-east-1'), startActiveMq('us-west-2'), startDynalite()]);
  client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS });
  await createDedupTable(client, TABLE);
});

afterAll(async () => {
  for (const worker of live) worker.kill('SIGKILL');
  client?.destroy();
  await Promise.allSettled([east?.stop(), west?.stop(), dynamo?.close()]);
  if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
});

/** The consumers of one Region: a fixed number of processes, each restarted when it crashes. */
class ConsumerFleet {
  crashes = 0;
  /** Exits that were not crashes we caused: a worker that could not start, or failed on its own. */
  readonly failures: string[] = [];
  private down = false;
  private readonly exits = new Set<Promise<void>>();

  constructor(
    private readonly region: string,
    private readonly broker: LocalBroker,
    private crashPlan: string[],
    private readonly target = { queue: QUEUE, group: GROUP, sink: () => sink, workers: WORKERS },
  ) {}

  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.target.workers }, () => this.spawn()));
  }

  private async spawn(): Promise<void> {
    const crashAt = this.crashPlan.shift() ?? 'none:0';
    const worker = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: {
        ...process.env,
        REGION: this.region,
        SINK: this.target.sink(),
        STOMP_PORT: String(this.broker.stomp.port),
        QUEUE: this.target.queue,
        GROUP: this.target.group,
        TABLE,
        DDB_ENDPOINT: dynamo.endpoint,
        LEASE_SECONDS: String(LEASE_SECONDS),
        CRASH_AT: crashAt,
        WORK_MS: '20',
        AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION: '1',
      },
    });
    live.add(worker);
    const exited = new Promise<void>((resolve) =>
      worker.once('exit', (code, signal) => {
        live.delete(worker);
        this.exits.delete(exited);
        if (code) this.failures.push(`a ${this.region} consumer exited with code ${code}`);
        if (signal === 'SIGKILL' && !this.down) {
          this.crashes++;
          void this.spawn(); // the orchestrator of the consumers (ECS, systemd…) restarts it
        }
        resolve();
      }),
    );
    this.exits.add(exited);
    // Ready, or already gone (crashed on its first message, or killed by the Region going down while starting).
    await new Promise<void>((resolve) => {
      worker.once('message', () => resolve());
      worker.once('exit', () => resolve());
    });
  }

  /** The Region goes down: every consumer dies at its next crash point (or, if idle, a moment later). */
  async regionDown(): Promise<void> {
    this.down = true;
    for (const worker of live) worker.kill('SIGUSR2');
    await sleep(1500);
    for (const worker of live) worker.kill('SIGKILL');
    await Promise.all([...this.exits]);
  }

  async stop(): Promise<void> {
    this.down = true;
    for (const worker of live) worker.kill('SIGTERM');
    await Promise.all([...this.exits]);
  }
}

const processedLines = (file = sink): string[][] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '));

async function waitUntilProcessed(ids: string[], timeoutMs: number, file = sink): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = new Set(processedLines(file).map(([id]) => id));
    const missing = ids.filter((id) => !done.has(id));
    if (missing.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${missing.length} messages never processed, e.g. ${missing.slice(0, 5).join(', ')}`);
    await sleep(200);
  }
}

async function produce(broker: LocalBroker, ids: string[], queue = QUEUE): Promise<void> {
  const producer = await connectStomp(broker.stomp);
  for (const id of ids) {
    await publishConfirmed(producer, {
      destination: `/queue/${queue}`,
      body: JSON.stringify({ order: id }),
      headers: { dedupId: id },
    });
  }
  await producer.deactivate();
}

/** A crash plan: the first spawns die at the given points after a random number of messages. */
// Each worker crashes within its first 3 to 12 messages: early enough that every planned crash happens even when a
// busy machine hands some workers few messages (with 5 to 34, a loaded CI machine once saw 5 of the 9).
const crashPlan = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${CRASH_POINTS[i % CRASH_POINTS.length]}:${3 + Math.floor(Math.random() * 10)}`);

describe('dedup SDK end to end on two ActiveMQ brokers', () => {
  it('processes every message exactly once through crashes, a failover and a crashed-then-rerun reconcile', async () => {
    const before = Array.from({ length: PRODUCED_BEFORE }, (_, i) => `order-${String(i).padStart(4, '0')}`);
    const after = Array.from({ length: PRODUCED_AFTER }, (_, i) => `order-${String(PRODUCED_BEFORE + i).padStart(4, '0')}`);
    const replicated = before.slice(0, PRODUCED_BEFORE - UNREPLICATED);

    // Region 1 is primary: its consumers run (and crash) while the producer fills the queue.
    const eastFleet = new ConsumerFleet('us-east-1', east, crashPlan(6));
    await eastFleet.start();
    await Promise.all([produce(east, before.slice(0, 100)), produce(west, replicated.slice(0, 100))]);
    await waitUntilProcessed(before.slice(0, 100), 60_000);
    await Promise.all([produce(east, before.slice(100)), produce(west, replicated.slice(100))]);

    // Failover: Region 1 goes down mid-stream; Region 2 takes the traffic.
    await eastFleet.regionDown();
    const processedInEast = new Set(processedLines().map(([id]) => id));
    const westFleet = new ConsumerFleet('us-west-2', west, crashPlan(3));
    await westFleet.start();
    await produce(west, after);
    await waitUntilProcessed([...replicated, ...after], 90_000);

    // The old primary is back: reconcile its leftovers. The first run crashes after re-publishing 5 messages,
    // between the publish and the ack; the re-run finishes the job.
    const storeFor = (group: string) =>
      new DedupStore({ client, tableName: TABLE, group, region: 'us-west-2', leaseSeconds: LEASE_SECONDS });
    const options = { source: east.stomp, target: west.stomp, queues: [{ queue: QUEUE, group: GROUP }], storeFor, idleMs: 1500 };
    const actions = { dropped: 0, audited: 0, republished: 0, 'already-republished': 0 };
    let crashNow = true;
    const beforeAck = (_message: unknown, action: keyof typeof actions) => {
      actions[action]++;
      if (crashNow && actions.republished === 5) throw new Error('reconcile crashed');
    };
    await expect(reconcile({ ...options, beforeAck })).rejects.toThrow('reconcile crashed');
    crashNow = false;
    const [report] = (await reconcile({ ...options, beforeAck })) as [QueueReport];
    await waitUntilProcessed([...before, ...after], 60_000);
    await westFleet.stop();

    // Every message processed exactly once, none lost.
    const lines = processedLines();
    const counts = new Map<string, number>();
    for (const [id] of lines) counts.set(id as string, (counts.get(id as string) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    expect([...counts.keys()].sort()).toEqual([...before, ...after].sort());

    // The crashes happened, and the leftovers were sorted as expected.
    expect(eastFleet.crashes + westFleet.crashes).toBeGreaterThanOrEqual(6);
    const unprocessedLeftovers = before.filter((id) => !replicated.includes(id) && !processedInEast.has(id));
    expect(unprocessedLeftovers.length).toBeGreaterThan(0);
    expect(report.republished + 5).toBe(unprocessedLeftovers.length); // 5 by the crashed run
    // The crashed run's fifth message (published, not acknowledged) is not published again: the re-run finds its
    // marker, or, if a west consumer already processed the copy, its record.
    expect(report.alreadyRepublished).toBeLessThanOrEqual(1);
    expect(actions.dropped).toBeGreaterThan(0); // replicated copies already processed in us-west-2
    expect(eastFleet.failures.concat(westFleet.failures)).toEqual([]);
    for (const id of unprocessedLeftovers) {
      expect(lines.find(([line]) => line === id)?.[1]).toBe('us-west-2');
    }
    console.info(
      `e2e: ${lines.length} processed once of ${before.length + after.length}; ${eastFleet.crashes + westFleet.crashes} consumer crashes; ` +
        `${processedInEast.size} processed in us-east-1 before the failover; reconcile (both runs) ` +
        `${actions.dropped} dropped, ${actions.republished} republished, ${actions['already-republished']} already republished`,
    );
  }, 300_000);

  it('loses no message and processes none twice within a Region, over random crash and redelivery schedules', async () => {
    // A schedule: how many consumers, which of them die where (SIGKILL at an SDK crash point of their n-th
    // message, so the broker redelivers what they held), and which messages the producer publishes twice (a
    // retry after a lost receipt).
    const schedule = fc.record({
      messages: fc.integer({ min: 20, max: 50 }),
      workers: fc.integer({ min: 1, max: 3 }),
      crashes: fc.array(fc.record({ point: fc.constantFrom(...CRASH_POINTS), nth: fc.integer({ min: 1, max: 6 }) }), {
        minLength: 1,
        maxLength: 5,
      }),
      publishedTwice: fc.uniqueArray(fc.nat(19), { maxLength: 8 }),
    });
    const totals = { schedules: 0, messages: 0, publishedTwice: 0, crashes: 0, processed: 0 };
    await fc.assert(
      fc.asyncProperty(schedule, async (s) => {
        const run = ++totals.schedules;
        const target = {
          queue: `random-${run}`,
          group: `random-${run}`,
          sink: () => join(dir, `random-${run}.log`),
          workers: s.workers,
        };
        writeFileSync(target.sink(), '');
        const ids = Array.from({ length: s.messages }, (_, i) => `r${run}-${String(i).padStart(3, '0')}`);
        const twice = s.publishedTwice.map((i) => ids[i] as string);
        const fleet = new ConsumerFleet(
          'us-east-1',
          east,
          s.crashes.map((c) => `${c.point}:${c.nth}`),
          target,
        );
        await fleet.start();
        await produce(east, [...ids, ...twice], target.queue);
        await waitUntilProcessed(ids, 60_000, target.sink());
        await sleep(LEASE_SECONDS * 1000 + 500); // anything still to be redelivered would be processed by now
        await fleet.stop();

        const counts = new Map<string, number>();
        for (const [id] of processedLines(target.sink())) counts.set(id as string, (counts.get(id as string) ?? 0) + 1);
        expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
        expect([...counts.keys()].sort()).toEqual(ids);
        expect(fleet.failures).toEqual([]);
        totals.messages += ids.length;
        totals.publishedTwice += twice.length;
        totals.crashes += fleet.crashes;
        totals.processed += [...counts.values()].reduce((a, b) => a + b, 0);
      }),
      { numRuns: Number(process.env.CRASH_SCHEDULES ?? 4), endOnFailure: true },
    );
    console.info(
      `random schedules: ${totals.schedules} schedules, ${totals.messages} messages (${totals.publishedTwice} published twice), ` +
        `${totals.crashes} consumer crashes, ${totals.processed} processed: 0 lost, 0 twice`,
    );
  }, 300_000);
});

describe('client redirection end to end', () => {
  // The simulator reports the real brokers' STOMP ports as the pair's endpoints; the real handlers fail the pair
  // over; a consumer of the dedup SDK follows the SSM parameter the orchestrator writes.
  it('a consumer following the SSM parameter moves to the new primary after a promotion, losing and repeating nothing', async () => {
    const e = await startEmbedded({
      clock: new ManualClock(Date.parse('2026-11-23T09:00:00Z')),
      env: { REDIRECT_PROTOCOL: 'stomp' },
      pair: { backlog: 0, produceRate: 0 },
    });
    e.world.setExternalEndpoints(e.primary.id, [`stomp://127.0.0.1:${east.stomp.port}`]);
    e.world.setExternalEndpoints(e.replica.id, [`stomp://127.0.0.1:${west.stomp.port}`]);
    const parameter = '/mq-crdr/orders/broker-url';
    const ssm = new SSMClient({ region: REPLICA_REGION, endpoint: e.simulator.endpoint, credentials: LOCAL_CREDENTIALS });
    // Set up once by the operator: the parameter names the current primary.
    await ssm.send(
      new PutParameterCommand({ Name: parameter, Value: `failover:(stomp://127.0.0.1:${east.stomp.port})`, Type: 'String' }),
    );
    const processed: string[] = [];
    const moves: string[] = [];
    const consumer = await startFollowingConsumer({
      source: new SsmBrokerUrl(ssm, parameter),
      pollMs: 100,
      destination: '/queue/redirected',
      store: new DedupStore({ client, tableName: TABLE, group: 'redirected', region: REPLICA_REGION }),
      handler: async (message) => {
        processed.push(JSON.parse(message.body).order);
      },
      onMove: (from, to) => moves.push(`${from} -> ${to}`),
    });
    // Until n messages are processed, recorded and acknowledged (the handler runs before the record and the ack).
    const until = async (n: number) => {
      for (const deadline = Date.now() + 30_000; consumer.counts.processed < n; await sleep(50)) {
        if (Date.now() > deadline) throw new Error(`${consumer.counts.processed} of ${n} messages acknowledged`);
      }
    };
    try {
      expect(consumer.endpoint).toBe(describeEndpoint(east.stomp));
      const before = Array.from({ length: 20 }, (_, i) => `before-${i}`);
      await produce(east, before, 'redirected');
      await until(20);

      // The lag alarm starts a switchover; with no backlog it completes at once, then clients are redirected.
      const alarm = alarmStateChangeEvent('orders-replication-lag', 'ALARM', 'OK', e.runtime.orchestrator.clock.now());
      const handled = await e.invoke.onAlarm(alarm);
      expect(handled.decisions.map((d) => d.action)).toEqual([
        'START_SWITCHOVER',
        'COMPLETE',
        'REDIRECT_CLIENTS',
        'IGNORE', // Promote's acceptance, recorded after the completion it led to
        'CLIENTS_REDIRECTED',
      ]);
      expect(handled.decisions.at(-1)?.reason).toContain(`failover:(stomp://127.0.0.1:${west.stomp.port}) (stomp)`);
      expect(e.world.roles(e.pairName).primary.id).toBe(e.replica.id);

      const after = Array.from({ length: 20 }, (_, i) => `after-${i}`);
      await produce(west, after, 'redirected');
      await until(40);
      expect(moves).toEqual([`${describeEndpoint(east.stomp)} -> ${describeEndpoint(west.stomp)}`]);
      expect(consumer.endpoint).toBe(describeEndpoint(west.stomp));
      expect(processed.sort()).toEqual([...before, ...after].sort());
      expect(consumer.counts).toMatchObject({ processed: 40, duplicate: 0, failed: 0 });
      expect(e.world.getParameter(PRIMARY_REGION, parameter)?.value).toBe(`failover:(stomp://127.0.0.1:${west.stomp.port})`);
    } finally {
      await consumer.stop();
      ssm.destroy();
      await e.close();
    }
  }, 90_000);
});
