/**
 * The real handlers, with real event shapes, through the real SDK clients, against the Amazon MQ simulator
 * and dynalite on loopback. The clock is manual so that deadlines pass in milliseconds.
 */
import { DescribeBrokerCommand, MqClient, PromoteCommand, paginateListBrokers } from '@aws-sdk/client-mq';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, describe, expect, it } from 'vitest';
import { MqBrokerApi } from '#lib/adapters/mq.ts';
import { EventBridgeDeadlineScheduler } from '#lib/adapters/scheduler.ts';
import { BrokerApiError, InvalidEventError, RedirectError } from '#lib/errors.ts';
import { REPLICA_ENDPOINTS_LISTED } from '#lib/mq-facts.ts';
import {
  alarmStateChangeEvent,
  type Embedded,
  LOCAL_CREDENTIALS,
  ManualClock,
  PRIMARY_REGION,
  REPLICA_REGION,
  startEmbedded,
} from '#simulator/embedded.ts';
import type { SimBroker } from '#simulator/world.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
let env: Embedded | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function start(
  options: {
    env?: Record<string, string>;
    pair?: { produceRate?: number; drainRate?: number; backlog?: number };
    world?: { replicaListsEndpoints?: boolean };
  } = {},
) {
  const clock = new ManualClock(T0);
  env = await startEmbedded({
    clock,
    // These tests step the clock themselves; watching a promotion (which moves it) has tests of its own.
    env: { DEADLINE_SECONDS: '300', WATCH_SECONDS: '0', ...options.env },
    ...(options.pair ? { pair: options.pair } : {}),
    ...(options.world ? { world: options.world } : {}),
  });
  return { e: env, clock };
}

const alarm = (at: number, state = 'ALARM', previous = 'OK') =>
  alarmStateChangeEvent('orders-replication-lag', state, previous, at);

describe('onAlarm', () => {
  it('starts a switchover on the replica through the real MQ client and records it in DynamoDB', async () => {
    const { e } = await start({ pair: { backlog: 5_000, drainRate: 100, produceRate: 0 } });
    const result = await e.invoke.onAlarm(alarm(T0));
    expect(result.decisions.map((d) => d.action)).toEqual(['START_SWITCHOVER', 'PROMOTE_ACCEPTED']);
    expect(e.world.promoteLog).toEqual([{ at: T0, region: REPLICA_REGION, brokerId: e.replica.id, mode: 'SWITCHOVER' }]);
    expect(e.scheduler.pending).toBe(1);
    const timeline = await e.runtime.orchestrator.store.timeline(e.pairName);
    expect(timeline.map((d) => d.action)).toEqual(['START_SWITCHOVER', 'PROMOTE_ACCEPTED']);
  });

  it('accepts the alarm as a direct Lambda action event (CloudWatchAlarmEvent) too', async () => {
    const { e } = await start({ pair: { backlog: 5_000, drainRate: 100 } });
    const direct = {
      source: 'aws.cloudwatch',
      alarmArn: 'arn:aws:cloudwatch:us-west-2:123456789012:alarm:orders-primary-health',
      accountId: '123456789012',
      time: new Date(T0).toISOString(),
      region: REPLICA_REGION,
      alarmData: {
        alarmName: 'orders-primary-health',
        state: { value: 'ALARM', reason: 'probe failures', timestamp: new Date(T0).toISOString() },
        previousState: { value: 'OK', reason: '', timestamp: new Date(T0).toISOString() },
        configuration: { metrics: [] },
      },
    };
    const result = await e.invoke.onAlarm(direct);
    expect(result.decisions[0]).toMatchObject({ action: 'START_SWITCHOVER', reason: expect.stringContaining('PRIMARY_HEALTH') });
  });

  it('sends Promote once when the same alarm is delivered twice to concurrent invocations', async () => {
    const { e } = await start({ pair: { backlog: 5_000, drainRate: 100 } });
    const event = alarm(T0);
    const results = await Promise.all([e.invoke.onAlarm(event), e.invoke.onAlarm(event), e.invoke.onAlarm(event)]);
    expect(e.world.promoteLog).toHaveLength(1);
    const actions = results.flatMap((r) => r.decisions.map((d) => d.action)).sort();
    expect(actions).toEqual(['PROMOTE_ACCEPTED', 'REFUSE', 'REFUSE', 'START_SWITCHOVER']);
    const timeline = await e.runtime.orchestrator.store.timeline(e.pairName);
    expect(timeline).toHaveLength(4);
  });

  it('ignores an alarm of no concern to the pair and rejects an event that is not an alarm', async () => {
    const { e } = await start();
    const other = alarmStateChangeEvent('billing-alarm', 'ALARM', 'OK', T0);
    other.detail.configuration.metrics = [];
    await expect(e.invoke.onAlarm(other)).resolves.toMatchObject({ decisions: [], ignored: expect.any(String) });
    await expect(e.invoke.onAlarm({ hello: 'world' })).rejects.toBeInstanceOf(InvalidEventError);
    expect(await e.runtime.orchestrator.store.timeline(e.pairName)).toEqual([]);
  });

  it('in dry run records the decision and never calls Promote', async () => {
    const { e } = await start({ env: { DRY_RUN: 'true' } });
    const result = await e.invoke.onAlarm(alarm(T0));
    expect(result.decisions).toMatchObject([{ action: 'START_SWITCHOVER', dryRun: true }]);
    expect(e.world.promoteLog).toEqual([]);
  });
});

describe('escalate', () => {
  it('escalates a stalled switchover to a failover when the deadline schedule fires, and the replica becomes primary', async () => {
    const { e, clock } = await start({ pair: { produceRate: 50, drainRate: 200 } });
    e.world.setPartitioned(true);
    clock.advance(60_000); // 3 000 messages pile up behind the broken link
    await e.invoke.onAlarm(alarm(clock.now()));
    clock.advance(299_000);
    expect(await e.scheduler.runDue()).toBe(0);
    clock.advance(1_000);
    expect(await e.scheduler.runDue()).toBe(1);
    expect(e.world.promoteLog.map((p) => p.mode)).toEqual(['SWITCHOVER', 'FAILOVER']);
    clock.advance(10_000);
    const sweep = await e.invoke.escalate({ kind: 'sweep' });
    expect(sweep.decisions).toMatchObject([
      { action: 'COMPLETE' },
      { action: 'REDIRECT_CLIENTS' },
      { action: 'CLIENTS_REDIRECTED' },
    ]);
    expect(e.world.roles(e.pairName).primary.id).toBe(e.replica.id);
    expect(e.world.pair(e.pairName).unreplicatedOnOldPrimary).toBe(3_000);
  });

  it('escalates from the rate(1 minute) sweep when the deadline schedule was lost', async () => {
    const { e, clock } = await start({ pair: { produceRate: 50, drainRate: 200 } });
    e.world.setPartitioned(true);
    clock.advance(60_000);
    await e.invoke.onAlarm(alarm(clock.now()));
    const operationId = (await e.runtime.orchestrator.store.load(e.pairName)).state.operation?.id as string;
    await e.scheduler.cancel(e.pairName, operationId); // the schedule is lost
    expect(e.scheduler.pending).toBe(0);
    clock.advance(300_000 + 30_000);
    const sweep = await e.invoke.escalate({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} });
    expect(sweep.decisions[0]).toMatchObject({ action: 'ESCALATE_TO_FAILOVER' });
    expect(e.world.promoteLog.map((p) => p.mode)).toEqual(['SWITCHOVER', 'FAILOVER']);
  });

  it('completes a healthy switchover before the deadline and the deadline is cancelled', async () => {
    const { e, clock } = await start({ pair: { backlog: 6_000, drainRate: 200, produceRate: 0 } });
    await e.invoke.onAlarm(alarm(T0));
    clock.advance(29_000);
    expect((await e.invoke.escalate({ kind: 'sweep' })).decisions).toEqual([]);
    clock.advance(2_000);
    const done = await e.invoke.escalate({ kind: 'sweep' });
    expect(done.decisions.map((d) => d.action)).toEqual(['COMPLETE', 'REDIRECT_CLIENTS', 'CLIENTS_REDIRECTED']);
    expect(e.scheduler.pending).toBe(0);
    expect(e.world.promoteLog.map((p) => p.mode)).toEqual(['SWITCHOVER']);
  });

  it('rejects a deadline payload of another pair with a clear error', async () => {
    const { e } = await start();
    await expect(e.invoke.escalate({ kind: 'deadline', pairId: 'payments', operationId: 'op-1' })).rejects.toThrow(
      /deadline is for pair payments, but this function serves pair orders/,
    );
  });
});

describe('predictive escalation and RPO', () => {
  /** Minutes pass with the sweep every minute; the simulator samples the lag every 10 s as CloudWatch would. */
  async function sweepFor(e: Embedded, clock: ManualClock, minutes: number) {
    for (let m = 0; m < minutes; m++) {
      for (let i = 0; i < 6; i++) {
        clock.advance(10_000);
        e.world.sync();
      }
      await e.invoke.escalate({ kind: 'sweep' });
    }
  }

  it('escalates a switchover stuck behind a partition minutes before its deadline, with the estimate and the RPO', async () => {
    const { e, clock } = await start({
      env: { DEADLINE_SECONDS: '600' },
      pair: { backlog: 30_000, drainRate: 100, produceRate: 0 },
    });
    await e.invoke.onAlarm(alarm(T0));
    e.world.setPartitioned(true);
    await sweepFor(e, clock, 5);
    const op = (await e.runtime.orchestrator.store.load(e.pairName)).state.operation;
    expect(op).toMatchObject({ mode: 'FAILOVER', rpo: { events: 30_000 } });
    expect(op?.escalatedAt).toBeLessThan(T0 + 600_000 - 4 * 60_000); // at least 4 minutes before the deadline
    const timeline = await e.runtime.orchestrator.store.timeline(e.pairName);
    const escalation = timeline.find((d) => d.action === 'ESCALATE_TO_FAILOVER');
    expect(escalation).toMatchObject({ escalatedBy: 'prediction', rpo: { events: 30_000 } });
    clock.advance(5_000);
    await e.invoke.escalate({ kind: 'sweep' });
    const completion = (await e.runtime.orchestrator.store.timeline(e.pairName)).find((d) => d.action === 'COMPLETE');
    expect(completion).toMatchObject({ rpo: { events: 30_000 } });
  });

  it('never escalates early a switchover that drains in time: it completes with RPO 0', async () => {
    // 30 000 messages at 100 msg/s: 5 minutes, well inside a 10-minute deadline.
    const { e, clock } = await start({
      env: { DEADLINE_SECONDS: '600' },
      pair: { backlog: 30_000, drainRate: 100, produceRate: 0 },
    });
    await e.invoke.onAlarm(alarm(T0));
    await sweepFor(e, clock, 6);
    const timeline = await e.runtime.orchestrator.store.timeline(e.pairName);
    expect(timeline.map((d) => d.action)).not.toContain('ESCALATE_TO_FAILOVER');
    expect(timeline.find((d) => d.action === 'COMPLETE')).toMatchObject({ rpo: { events: 0, lagSeconds: 0 } });
    expect(e.world.pair(e.pairName).unreplicatedOnOldPrimary).toBe(0);
  });

  it('waits for the deadline when a slow drain would finish just after it (within the margin)', async () => {
    // 61 000 messages at 100 msg/s finish 10 s after a 600 s deadline: inside the 60 s margin, no early call.
    const { e, clock } = await start({
      env: { DEADLINE_SECONDS: '600' },
      pair: { backlog: 61_000, drainRate: 100, produceRate: 0 },
    });
    await e.invoke.onAlarm(alarm(T0));
    await sweepFor(e, clock, 9);
    const timeline = await e.runtime.orchestrator.store.timeline(e.pairName);
    expect(timeline.map((d) => d.action)).not.toContain('ESCALATE_TO_FAILOVER');
  });
});

describe('deadline schedules (EventBridge Scheduler, on the wire)', () => {
  it('creates a one-shot schedule with bounded retries and the dead-letter queue; creating twice or deleting twice is safe', async () => {
    const { e } = await start();
    const client = new SchedulerClient({
      region: REPLICA_REGION,
      endpoint: e.simulator.endpoint,
      credentials: LOCAL_CREDENTIALS,
    });
    const target = {
      functionArn: 'arn:aws:lambda:us-west-2:123456789012:function:mq-crdr-orchestrator-prod-escalate',
      roleArn: 'arn:aws:iam::123456789012:role/scheduler-invoke',
      groupName: 'mq-crdr-orchestrator-prod',
      deadLetterArn: 'arn:aws:sqs:us-west-2:123456789012:mq-crdr-orchestrator-prod-dead-letters',
    };
    const scheduler = new EventBridgeDeadlineScheduler(async () => client, target);
    // The stack creates its schedule group; without it, CreateSchedule is refused.
    await expect(scheduler.schedule('orders', 'op-0', T0)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    e.world.createScheduleGroup(REPLICA_REGION, target.groupName);
    await scheduler.schedule('orders', 'op-1', T0 + 600_000);
    await scheduler.schedule('orders', 'op-1', T0 + 600_000); // a retry: ConflictException, swallowed
    const created = e.world.schedules.get(`${REPLICA_REGION}/${target.groupName}/crdr-orders-op-1`);
    expect(created).toMatchObject({
      ScheduleExpression: 'at(2026-11-23T09:10:00)',
      ScheduleExpressionTimezone: 'UTC',
      ActionAfterCompletion: 'DELETE',
      Target: {
        Arn: target.functionArn,
        RoleArn: target.roleArn,
        RetryPolicy: { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 10 },
        DeadLetterConfig: { Arn: target.deadLetterArn },
      },
    });
    expect(JSON.parse(created?.Target.Input ?? '')).toEqual({ kind: 'deadline', pairId: 'orders', operationId: 'op-1' });
    await scheduler.cancel('orders', 'op-1');
    await scheduler.cancel('orders', 'op-1'); // gone already: ResourceNotFoundException, swallowed
    expect(e.world.schedules.size).toBe(0);
    // What the service validates, the simulator does too: a dead-letter queue that is not an SQS ARN.
    const bad = new EventBridgeDeadlineScheduler(async () => client, {
      ...target,
      deadLetterArn: 'arn:aws:sns:us-west-2:123456789012:topic',
    });
    await expect(bad.schedule('orders', 'op-2', T0)).rejects.toMatchObject({ name: 'ValidationException' });
    client.destroy();
  });
});

describe('stale triggers', () => {
  it('ignores an alarm state change delivered long after it happened, and a probe schedule fired long ago', async () => {
    const { e, clock } = await start({ pair: { backlog: 5_000, drainRate: 100 } });
    clock.advance(3 * 3_600_000); // EventBridge kept retrying while this Region was down
    const late = await e.invoke.onAlarm(alarm(T0));
    expect(late.decisions).toMatchObject([
      { action: 'IGNORE', reason: expect.stringContaining('past MAX_EVENT_AGE_SECONDS (300 s)') },
    ]);
    const schedule = { source: 'aws.events', 'detail-type': 'Scheduled Event', time: new Date(T0).toISOString(), detail: {} };
    e.world.setRegionUp(PRIMARY_REGION, false);
    // One round only: a stale delivery is not probed again within its minute.
    expect((await e.invoke.healthCheck(schedule)).decisions.map((d) => d.action)).toEqual(['IGNORE']);
    expect(e.world.promoteLog).toEqual([]);
  });
});

describe('healthCheck', () => {
  it('probes the primary over DescribeBroker and TCP every 15 s; three failures, 30 s, start a switchover', async () => {
    const { e, clock } = await start({ pair: { backlog: 5_000, drainRate: 100 } });
    // The first good probe records, once, that the endpoints answer from here (PROBE_ENDPOINTS=auto).
    expect((await e.invoke.healthCheck()).decisions.map((d) => d.action)).toEqual(['ENDPOINTS_REACHED']);
    expect((await e.invoke.healthCheck()).decisions).toEqual([]);
    e.world.setRegionUp(PRIMARY_REGION, false);
    await e.world.syncListeners();
    const from = clock.now();
    const { decisions } = await e.invoke.healthCheck();
    expect(decisions.slice(0, 4).map((d) => [d.action, d.at - from])).toEqual([
      ['COUNT_PROBE', 0],
      ['COUNT_PROBE', 15_000],
      ['START_SWITCHOVER', 30_000],
      ['PROMOTE_ACCEPTED', 30_000],
    ]);
    // The invocation ends within its minute: the next one takes over.
    expect(Math.max(...decisions.map((d) => d.at)) - from).toBeLessThan(60_000);
  });

  it('reports a primary whose API answers but whose endpoints refuse connections as unhealthy, not as an outage', async () => {
    const { e } = await start();
    expect(await e.runtime.probe.probe()).toMatchObject({ healthy: true, detail: '1/1 endpoints answer' });
    e.world.setEndpointsUp(e.primary.id, false);
    await e.world.syncListeners();
    const probe = await e.runtime.probe.probe();
    expect(probe).toEqual({
      healthy: false,
      detail: 'none of 1 endpoints answered (ECONNREFUSED)',
      endpoints: 'unreached',
      apiAnswered: true,
    });
  });

  it('takes a hung broker (TCP accepted, no TLS handshake) for an unhealthy one within the probe timeout', async () => {
    const { e } = await start();
    e.world.setEndpointsHung(e.primary.id, true);
    await e.world.syncListeners();
    const probe = await e.runtime.probe.probe();
    expect(probe).toEqual({
      healthy: false,
      detail: 'none of 1 endpoints answered (timed out after 500 ms)',
      endpoints: 'unreached',
      apiAnswered: true,
    });
  });
});

describe('Amazon MQ simulator through the real SDK client', () => {
  it('lists each Region its own brokers, paginated, and refuses Promote on a primary with BadRequest', async () => {
    const { e } = await start();
    const client = (region: string) => new MqClient({ region, endpoint: e.simulator.endpoint, credentials: LOCAL_CREDENTIALS });
    const ids: string[] = [];
    for await (const page of paginateListBrokers({ client: client(PRIMARY_REGION), pageSize: 1 }, {})) {
      ids.push(...(page.BrokerSummaries ?? []).map((b) => b.BrokerId as string));
    }
    expect(ids).toEqual([e.primary.id]);
    const error = await client(PRIMARY_REGION)
      .send(new PromoteCommand({ BrokerId: e.primary.id, Mode: 'SWITCHOVER' }))
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ name: 'BadRequestException', $metadata: { httpStatusCode: 400 } });
    await expect(new MqBrokerApi(client(PRIMARY_REGION)).promote(e.primary.id, 'FAILOVER')).rejects.toMatchObject({
      constructor: BrokerApiError,
      retryable: false,
    });
    const described = await client(REPLICA_REGION).send(new DescribeBrokerCommand({ BrokerId: e.replica.id }));
    expect(described).toMatchObject({
      BrokerState: 'REPLICA',
      DataReplicationMode: 'CRDR',
      DataReplicationMetadata: {
        DataReplicationRole: 'REPLICA',
        DataReplicationCounterpart: { BrokerId: e.primary.id, Region: PRIMARY_REGION },
      },
    });
    await expect(client(REPLICA_REGION).send(new DescribeBrokerCommand({ BrokerId: e.primary.id }))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
  });

  it('shows a switchover as a pending role, lets a failover interrupt it, and refuses a switchover during a failover', async () => {
    const { e, clock } = await start({ pair: { backlog: 10_000, drainRate: 100, produceRate: 0 } });
    const client = new MqClient({ region: REPLICA_REGION, endpoint: e.simulator.endpoint, credentials: LOCAL_CREDENTIALS });
    await client.send(new PromoteCommand({ BrokerId: e.replica.id, Mode: 'SWITCHOVER' }));
    const during = await client.send(new DescribeBrokerCommand({ BrokerId: e.replica.id }));
    expect(during.PendingDataReplicationMetadata?.DataReplicationRole).toBe('PRIMARY');
    await client.send(new PromoteCommand({ BrokerId: e.replica.id, Mode: 'FAILOVER' }));
    await expect(client.send(new PromoteCommand({ BrokerId: e.replica.id, Mode: 'SWITCHOVER' }))).rejects.toMatchObject({
      name: 'BadRequestException',
    });
    clock.advance(5_000);
    const after = await client.send(new DescribeBrokerCommand({ BrokerId: e.replica.id }));
    expect(after).toMatchObject({ BrokerState: 'RUNNING', DataReplicationMetadata: { DataReplicationRole: 'PRIMARY' } });
    // The link stayed up through the 5 s failover, draining 500 of the 10 000 messages at 100 msg/s.
    expect(e.world.pair(e.pairName).unreplicatedOnOldPrimary).toBe(9_500);
  });

  it('injects faults through its admin route: 429 and 500 read as retryable, and a lost answer still promotes', async () => {
    const { e } = await start({ pair: { backlog: 10_000, drainRate: 100, produceRate: 0 } });
    const inject = (body: unknown) =>
      fetch(`${e.simulator.endpoint}/_simulator/faults`, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.status);
    const broker = new MqBrokerApi(
      new MqClient({ region: REPLICA_REGION, endpoint: e.simulator.endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 }),
    );
    expect(await inject({ operation: 'Promote', fault: 'throttle' })).toBe(200);
    expect(await inject({ operation: 'Promote', fault: 'lost-response' })).toBe(200);
    expect(await inject({ operation: 'Promote', fault: 'sometimes' })).toBe(400);

    const throttled = await broker.promote(e.replica.id, 'SWITCHOVER').catch((error: unknown) => error);
    expect(throttled).toBeInstanceOf(BrokerApiError);
    expect(throttled).toMatchObject({ retryable: true, message: expect.stringContaining('TooManyRequestsException') });
    expect(e.world.promoteLog).toEqual([]);

    const lost = await broker.promote(e.replica.id, 'SWITCHOVER').catch((error: unknown) => error);
    expect(lost).toMatchObject({ retryable: true, message: expect.stringContaining('InternalServerErrorException') });
    expect(e.world.promoteLog).toHaveLength(1); // it was applied: only the answer was lost
    expect(await broker.observe(e.replica.id)).toMatchObject({ role: 'REPLICA', promotionPending: true });
  });
});

describe('client redirection', () => {
  const PARAMETER = '/mq-crdr/orders/broker-url';
  const ssmIn = (e: Embedded, region: string) =>
    new SSMClient({ region, endpoint: e.simulator.endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const read = (e: Embedded, region: string) =>
    ssmIn(e, region)
      .send(new GetParameterCommand({ Name: PARAMETER }))
      .then((out) => out.Parameter)
      .catch((error: { name?: string }) => error.name);
  /** A broker's OpenWire endpoints, as DescribeBroker lists them. */
  const openwireOf = (e: Embedded, brokerId: string) =>
    e.world.endpoints(e.world.brokers.get(brokerId) as SimBroker).filter((u) => u.startsWith('ssl://'));
  /** The failover URL redirection writes: the new primary's endpoints, then the other Region's broker's. */
  const failoverOf = (e: Embedded, brokerId: string, otherId?: string) =>
    `failover:(${[...openwireOf(e, brokerId), ...(otherId ? openwireOf(e, otherId) : [])].join(',')})`;

  it.each(REPLICA_ENDPOINTS_LISTED)(
    'points clients at the new primary in both Regions once the switchover is observed complete, and not before (a replica lists its endpoints: %s)',
    async (listed) => {
      const { e, clock } = await start({
        pair: { backlog: 6_000, drainRate: 200, produceRate: 0 },
        world: { replicaListsEndpoints: listed },
      });
      await e.invoke.onAlarm(alarm(T0));
      clock.advance(10_000);
      await e.invoke.escalate({ kind: 'sweep' }); // promotion under way: nothing written yet
      expect(await read(e, REPLICA_REGION)).toBe('ParameterNotFound');
      clock.advance(21_000);
      const done = await e.invoke.escalate({ kind: 'sweep' });
      const redirected = done.decisions.at(-1);
      expect(redirected).toMatchObject({ action: 'CLIENTS_REDIRECTED' });
      // The new primary's endpoints first, then the old primary's (a replica now, which accepts no connection), when
      // DescribeBroker lists them: a client given this URL finds the primary by itself, even after a promotion
      // nobody redirected it for. When a replica lists none, the primary's alone.
      const expected = failoverOf(e, e.replica.id, listed ? e.primary.id : undefined);
      expect(expected).toMatch(
        listed ? /^failover:\(ssl:\/\/127\.0\.0\.1:\d+,ssl:\/\/127\.0\.0\.1:\d+\)$/ : /^failover:\(ssl:\/\/127\.0\.0\.1:\d+\)$/,
      );
      expect(redirected?.reason).toContain(`SSM ${PARAMETER} = ${expected} (openwire) in us-west-2 written, us-east-1 written`);
      for (const region of [REPLICA_REGION, PRIMARY_REGION]) {
        expect(await read(e, region)).toMatchObject({ Value: expected, Version: 1, Type: 'String' });
      }
      // Idempotent: sweeps and a second redirection change nothing, not even the parameter's version.
      clock.advance(3_600_000);
      expect((await e.invoke.escalate({ kind: 'sweep' })).decisions).toEqual([]);
      expect(await e.runtime.orchestrator.redirector?.redirect(e.replica.id)).toContain(
        'us-west-2 unchanged, us-east-1 unchanged',
      );
      expect(await read(e, REPLICA_REGION)).toMatchObject({ Version: 1 });
      expect(e.world.published.map((m) => m.subject)).toContain('[orders] clients redirected');
    },
  );

  it("the simulator answers SSM as Parameter Store does: validation, no silent overwrite, the Region's own parameters", async () => {
    const { e } = await start();
    const west = ssmIn(e, REPLICA_REGION);
    const put = (input: { Name: string; Value: string; Overwrite?: boolean }) =>
      west
        .send(new PutParameterCommand({ Type: 'String', ...input }))
        .catch((error: { name?: string; message?: string }) => error);
    expect(await put({ Name: 'bad name!', Value: 'x' })).toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('letters, digits and . - _ / only'),
    });
    expect(await put({ Name: PARAMETER, Value: 'failover:(ssl://a:61617)' })).toMatchObject({ Version: 1 });
    expect(await put({ Name: PARAMETER, Value: 'failover:(ssl://b:61617)' })).toMatchObject({ name: 'ParameterAlreadyExists' });
    expect(await put({ Name: PARAMETER, Value: 'failover:(ssl://b:61617)', Overwrite: true })).toMatchObject({ Version: 2 });
    expect(await read(e, REPLICA_REGION)).toMatchObject({ Value: 'failover:(ssl://b:61617)', Version: 2 });
    expect(await read(e, PRIMARY_REGION)).toBe('ParameterNotFound');
  });

  it('refuses to point clients at a broker that is not the running primary', async () => {
    const { e } = await start();
    const refused = await e.runtime.orchestrator.redirector?.redirect(e.replica.id).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RedirectError);
    expect(String(refused)).toContain(`broker ${e.replica.id} is not the running primary yet (role REPLICA, REPLICA)`);
    expect(await read(e, REPLICA_REGION)).toBe('ParameterNotFound');
  });

  it('retries a partly failed redirection from the sweep and rewrites only the Region that failed', async () => {
    const { e, clock } = await start({ pair: { backlog: 0, produceRate: 0 } });
    // The new primary's Region's write fails all 3 attempts the SDK makes; the other Region's succeeds.
    e.world.injectFault('PutParameter', 'server-error', 3);
    const first = await e.invoke.onAlarm(alarm(T0)); // no backlog: the switchover completes at once
    expect(first.decisions.at(-1)).toMatchObject({
      action: 'REDIRECT_FAILED',
      reason: expect.stringMatching(
        /not written in us-west-2: .*InternalServerError.*; us-east-1 written; the sweep tries again in 60 s/,
      ),
    });
    expect(await read(e, REPLICA_REGION)).toBe('ParameterNotFound');
    clock.advance(59_000);
    expect((await e.invoke.escalate({ kind: 'sweep' })).decisions).toEqual([]);
    clock.advance(1_000);
    const retried = await e.invoke.escalate({ kind: 'sweep' });
    expect(retried.decisions.map((d) => d.action)).toEqual(['REDIRECT_CLIENTS', 'CLIENTS_REDIRECTED']);
    expect(retried.decisions.at(-1)?.reason).toContain('us-west-2 written, us-east-1 unchanged');
    expect(await read(e, REPLICA_REGION)).toMatchObject({ Value: failoverOf(e, e.replica.id), Version: 1 });
    expect(await read(e, PRIMARY_REGION)).toMatchObject({ Version: 1 });
  });

  it('after a failover during a Region outage, writes the parameter where it can, retries, then asks for a hand', async () => {
    const { e, clock } = await start({
      env: { REDIRECT_MAX_ATTEMPTS: '2' },
      pair: { backlog: 3_000, drainRate: 200, produceRate: 0 },
    });
    await e.invoke.onAlarm(alarm(T0));
    e.world.setRegionUp(PRIMARY_REGION, false); // the switchover cannot finish; the old primary's SSM is down too
    clock.advance(300_000);
    expect(await e.scheduler.runDue()).toBe(1); // the deadline escalates to a failover
    clock.advance(5_000);
    const completed = await e.invoke.escalate({ kind: 'sweep' });
    expect(completed.decisions.map((d) => d.action)).toEqual(['COMPLETE', 'REDIRECT_CLIENTS', 'REDIRECT_FAILED']);
    // The old primary's Region does not answer: the new primary's endpoints alone.
    expect(await read(e, REPLICA_REGION)).toMatchObject({ Value: failoverOf(e, e.replica.id) });
    clock.advance(60_000);
    const last = await e.invoke.escalate({ kind: 'sweep' });
    expect(last.decisions.at(-1)).toMatchObject({
      action: 'REDIRECT_FAILED',
      reason: expect.stringMatching(/not written in us-east-1: .*unavailable.*; us-west-2 unchanged; gave up after 2 attempts/),
    });
    expect((await e.runtime.orchestrator.store.load(e.pairName)).state.operation?.redirect?.status).toBe('FAILED');
    expect(e.world.published.at(-1)?.message).toContain('point clients at the new primary by hand');
    clock.advance(7_200_000);
    expect((await e.invoke.escalate({ kind: 'sweep' })).decisions).toEqual([]);
  });
});
