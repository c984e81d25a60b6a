/**
 * The replication metrics as AWS publishes them, and the alarm as serverless.yml declares it, on the embedded
 * default: a healthy but distant pair never alarms; a partition alarms and ends in a failover whatever
 * TotalReplicationLag does in a stall (unpublished: both behaviours run), and when the primary's standby
 * instance takes over in the middle of it. Each has a counter-test: the alarm this project shipped before
 * (a count-sized threshold on one instance's TotalReplicationLag) fails where this one holds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Decision } from '#lib/core/model.ts';
import { CRDR_METRIC, STALL_LAG_BEHAVIOURS } from '#lib/mq-facts.ts';
import { type AlarmDefinition, ReplicationAlarms, SimAlarm } from '#simulator/alarms.ts';
import { type Embedded, ManualClock, startEmbedded } from '#simulator/embedded.ts';
import { CrdrWorld } from '#simulator/world.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;

/** The alarm this project deployed before: TotalReplicationLag of instance -1 above 1000 "messages". */
const oldAlarm = (brokerName: string): AlarmDefinition => ({
  AlarmName: 'old',
  Metrics: [
    {
      Id: 'lag',
      ReturnData: false,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/AmazonMQ',
          MetricName: CRDR_METRIC.TOTAL_REPLICATION_LAG,
          Dimensions: [{ Name: 'Broker', Value: `${brokerName}-1` }],
        },
        Period: 60,
        Stat: 'Maximum',
      },
    },
    { Id: 'value', Expression: 'MAX([lag])', ReturnData: true },
  ],
  Threshold: 1000,
  EvaluationPeriods: 3,
  DatapointsToAlarm: 3,
  ComparisonOperator: 'GreaterThanThreshold',
  TreatMissingData: 'notBreaching',
});

describe('a healthy pair far apart', () => {
  it('at 500 msg/s with a steady 2 s lag: 0 alarms over a simulated hour (the old alarm: ALARM within minutes)', () => {
    const clock = new ManualClock(T0);
    const world = new CrdrWorld(clock, { listen: false, linkLatencyMs: 2_000 });
    const { primary } = world.addPair({
      name: 'orders',
      primaryRegion: 'us-east-1',
      replicaRegion: 'us-west-2',
      produceRate: 500,
      drainRate: 2_000,
    });
    const alarms = new ReplicationAlarms(world, [primary], { pairId: 'orders', lagAlarmName: () => 'orders-replication-lag' });
    const old = new SimAlarm(world, primary.region, oldAlarm(primary.name));
    const changes: string[] = [];
    let oldFiredAt: number | undefined;
    for (let t = 0; t < 60 * MIN; t += 10_000) {
      clock.advance(10_000);
      world.sync();
      if (clock.now() % MIN !== 0) continue;
      changes.push(...alarms.evaluate(clock.now()).map((c) => `${c.to} ${c.reason}`));
      if (old.evaluate(clock.now())?.to === 'ALARM') oldFiredAt ??= clock.now() - T0;
    }
    expect(changes).toEqual([]);
    // What CloudWatch shows: about 2 s of lag (in ms), about 1000 events in flight, a wait of about 2 s.
    const last = (metric: string) => world.metrics.filter((m) => m.metric === metric).at(-1)?.value ?? Number.NaN;
    expect(last(CRDR_METRIC.TOTAL_REPLICATION_LAG)).toBeGreaterThanOrEqual(1_900);
    expect(last(CRDR_METRIC.TOTAL_REPLICATION_LAG)).toBeLessThanOrEqual(3_100);
    expect(last(CRDR_METRIC.QUEUE_SIZE)).toBeGreaterThan(900);
    expect(last(CRDR_METRIC.PRIMARY_WAIT_TIME)).toBeLessThanOrEqual(3_100);
    expect(oldFiredAt).toBeLessThanOrEqual(5 * MIN);
  });

  it('an idle pair (nothing produced for an hour, the wait time growing) never alarms', () => {
    const clock = new ManualClock(T0);
    const world = new CrdrWorld(clock, { listen: false, linkLatencyMs: 2_000 });
    const { primary } = world.addPair({ name: 'orders', primaryRegion: 'us-east-1', replicaRegion: 'us-west-2', produceRate: 0 });
    const alarms = new ReplicationAlarms(world, [primary], { pairId: 'orders', lagAlarmName: () => 'lag' });
    const changes: unknown[] = [];
    for (let t = 0; t < 60 * MIN; t += MIN) {
      clock.advance(MIN);
      world.sync();
      changes.push(...alarms.evaluate(clock.now()));
    }
    expect(world.metrics.filter((m) => m.metric === CRDR_METRIC.PRIMARY_WAIT_TIME).at(-1)?.value).toBeGreaterThan(50 * MIN);
    expect(changes).toEqual([]);
  });
});

let env: Embedded | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

/** The embedded default through the real handlers: every minute the alarm, the health check and the sweep. */
async function partition(stallLag: (typeof STALL_LAG_BEHAVIOURS)[number], takeOverAt?: number) {
  const clock = new ManualClock(T0);
  const decisions: Decision[] = [];
  const e = await startEmbedded({
    clock,
    world: { stallLag, linkLatencyMs: 1_000 },
    pair: { produceRate: 50, drainRate: 200 },
    onScheduledResult: (r) => decisions.push(...r.decisions),
  });
  env = e;
  const alarms = new ReplicationAlarms(e.world, [e.primary], {
    pairId: e.pairName,
    lagAlarmName: () => 'orders-replication-lag',
  });
  const old = new SimAlarm(e.world, e.primary.region, oldAlarm(e.primary.name));
  let oldFired = false;
  for (let t = 5_000; t <= 25 * MIN; t += 5_000) {
    clock.advance(T0 + t - clock.now());
    if (t === 2 * MIN) e.world.setPartitioned(true);
    if (t === takeOverAt) e.world.takeOver(e.primary.id);
    await e.world.syncListeners();
    await e.scheduler.runDue();
    if (t % MIN !== 0) continue;
    for (const change of alarms.evaluate(clock.now())) decisions.push(...(await e.invoke.onAlarm(change.event)).decisions);
    if (old.evaluate(clock.now())?.to === 'ALARM') oldFired = true;
    decisions.push(...(await e.invoke.healthCheck()).decisions, ...(await e.invoke.escalate({ kind: 'sweep' })).decisions);
  }
  return { e, decisions, oldFired };
}

describe('a partition: the primary answers, nothing replicates', () => {
  it.each(STALL_LAG_BEHAVIOURS)(
    'TotalReplicationLag that %ss in a stall: the alarm fires, the switchover cannot drain, it ends in a failover',
    async (stallLag) => {
      const { e, decisions, oldFired } = await partition(stallLag);
      const started = decisions.find((d) => d.action === 'START_SWITCHOVER');
      expect(started?.event).toMatch(/alarm orders-replication-lag OK→ALARM/);
      expect(decisions.find((d) => d.action === 'ESCALATE_TO_FAILOVER')).toBeDefined();
      expect(e.world.roles(e.pairName).primary.id).toBe(e.replica.id);
      expect(e.world.promoteLog.map((p) => p.mode)).toEqual(['SWITCHOVER', 'FAILOVER']);
      // The escalation's RPO comes from the primary's own fresh datapoint: events, seconds, age.
      const escalation = decisions.find((d) => d.action === 'ESCALATE_TO_FAILOVER');
      expect(escalation?.rpo?.events).toBeGreaterThan(0);
      expect(escalation?.rpo?.ageMs).toBeLessThanOrEqual(3 * MIN);
      // The old alarm sees a frozen lag as a healthy one; a growing one it takes for messages.
      expect(oldFired).toBe(stallLag === 'grow');
    },
    60_000,
  );

  it.each(STALL_LAG_BEHAVIOURS)(
    "with a %s lag, the primary's standby takes over (-1 to -2) during the partition: the alarm still fires, it still fails over",
    async (stallLag) => {
      const { e, decisions, oldFired } = await partition(stallLag, 3 * MIN);
      expect(e.world.metrics.some((m) => m.broker === `${e.primary.name}-2`)).toBe(true);
      expect(decisions.find((d) => d.action === 'START_SWITCHOVER')?.event).toMatch(/alarm orders-replication-lag/);
      expect(e.world.roles(e.pairName).primary.id).toBe(e.replica.id);
      // The old alarm read -1 only: after the takeover it sees nothing.
      expect(oldFired).toBe(false);
    },
    60_000,
  );
});
