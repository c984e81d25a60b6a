/**
 * The worst day on the embedded default, through the real handlers, SDK clients, simulator and dynalite: a
 * primary Region that hangs or goes down, probes that say nothing about the primary, and how soon a completed
 * promotion is seen. AWS's part is played as the drill plays it: every minute the lag alarm is evaluated (in
 * the primary's Region, so not while it is down or hangs; serverless.yml's alarms), and the health check and the sweep fire at once.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { HandlerResult } from '#functions/shared.ts';
import type { Decision } from '#lib/core/model.ts';
import {
  type Embedded,
  ManualClock,
  PRIMARY_REGION,
  REPLICA_REGION,
  ReplicationAlarms,
  startEmbedded,
} from '#simulator/embedded.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;
/** Short timeouts so that a hang costs a test little real time; the drill plays the same with the defaults. */
const FAST = {
  PROBE_TIMEOUT_MS: '300',
  SDK_CONNECT_TIMEOUT_MS: '200',
  SDK_REQUEST_TIMEOUT_MS: '400',
  INVOCATION_BUDGET_MS: '6000',
};

let env: Embedded | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

/** AWS's schedules around the orchestrator, on the manual clock; keeps what every invocation did. */
class Aws {
  readonly failures: string[] = [];
  /** Real time each invocation took. */
  readonly durations: number[] = [];
  private readonly alarms: ReplicationAlarms;

  constructor(
    readonly e: Embedded,
    readonly clock: ManualClock,
    readonly decisions: Decision[],
  ) {
    this.alarms = new ReplicationAlarms(e.world, [e.primary], {
      pairId: e.pairName,
      lagAlarmName: () => `${e.pairName}-replication-lag`,
    });
  }

  private async call(invocation: () => Promise<HandlerResult>): Promise<void> {
    const started = performance.now();
    try {
      this.decisions.push(...(await invocation()).decisions);
    } catch (error) {
      this.failures.push(String(error));
    } finally {
      this.durations.push(performance.now() - started);
    }
  }

  /**
   * Runs until `until` (ms after T0) in 5 s steps; `at` scripts what happens at a given step, between the probes
   * of a health check under way. Invocations run on their own (a health check probes for most of its minute).
   */
  async runUntil(until: number, at: (t: number) => void = () => undefined): Promise<void> {
    const { e, clock } = this;
    await clock.playSteps(T0, until, 5_000, async (t) => {
      at(t);
      await e.world.syncListeners();
      await e.scheduler.runDue();
      if (t % MIN !== 0) return;
      for (const change of this.alarms.evaluate(clock.now())) void this.call(() => e.invoke.onAlarm(change.event));
      void this.call(() => e.invoke.healthCheck());
      void this.call(() => e.invoke.escalate({ kind: 'sweep' }));
    });
  }

  /** An operator's or another alarm's trigger now: a lag alarm state change delivered to onAlarm. */
  async alarmNow(): Promise<void> {
    const { alarmStateChangeEvent } = await import('#simulator/embedded.ts');
    await this.call(() =>
      this.e.invoke.onAlarm(alarmStateChangeEvent('orders-replication-lag', 'ALARM', 'OK', this.clock.now())),
    );
  }

  /** When the replica became the primary, in the simulator (it takes clients from then). */
  promotedAt(): number | undefined {
    return this.e.world.acceptingSince(this.e.pairName, this.e.replica.id);
  }

  first(action: string): Decision | undefined {
    return this.decisions.filter((d) => d.action === action).sort((a, b) => a.at - b.at)[0];
  }
}

async function start(options: {
  env?: Record<string, string>;
  pair?: { produceRate?: number; drainRate?: number; backlog?: number };
}): Promise<Aws> {
  const clock = new ManualClock(T0);
  const decisions: Decision[] = [];
  // Deadlines fire the escalate handler through the local scheduler: their decisions count too.
  env = await startEmbedded({
    clock,
    env: options.env ?? {},
    pair: options.pair ?? {},
    onScheduledResult: (r) => decisions.push(...r.decisions),
  });
  return new Aws(env, clock, decisions);
}

describe('a primary Region that hangs or goes down', () => {
  it.each([
    ['hangs', FAST],
    ['goes down', {}],
  ] as const)(
    'when it %s just after a healthy probe, a new primary takes clients within 5 min, and no invocation outlives its budget',
    async (how, settings) => {
      const aws = await start({ env: settings });
      const outageAt = T0 + MIN + 5_000;
      await aws.runUntil(10 * MIN, (t) => {
        if (T0 + t !== outageAt) return;
        if (how === 'hangs') aws.e.world.setRegionHung(PRIMARY_REGION, true);
        else aws.e.world.setRegionUp(PRIMARY_REGION, false);
      });
      const promotedAt = aws.promotedAt();
      expect(promotedAt).toBeDefined();
      expect((promotedAt as number) - outageAt).toBeLessThanOrEqual(5 * MIN);
      expect(aws.first('ESCALATE_TO_FAILOVER')?.escalatedBy).toBe('outage');
      expect(aws.failures).toEqual([]);
      const budget = aws.e.runtime.config.budgetMs;
      expect(Math.max(...aws.durations)).toBeLessThan(budget);
      if (how === 'hangs') expect(aws.decisions.some((d) => d.reason.includes('timed out after 300 ms'))).toBe(true);
    },
  );

  it('a partition (both Regions answer) keeps the deadline: no outage escalation', async () => {
    const aws = await start({ env: { DEADLINE_SECONDS: '300', PREDICTIVE_ESCALATION: 'false' } });
    await aws.runUntil(12 * MIN, (t) => {
      if (t === MIN) aws.e.world.setPartitioned(true);
    });
    const started = aws.first('START_SWITCHOVER');
    // Nothing is replicated and events wait: the alarm (PrimaryWaitTime while QueueSize > 0) starts it.
    expect(started?.event).toMatch(/alarm orders-replication-lag OK→ALARM/);
    const escalated = aws.first('ESCALATE_TO_FAILOVER');
    expect(started).toBeDefined();
    expect(['deadline', 'sweep']).toContain(escalated?.escalatedBy);
    expect((escalated?.at ?? 0) - (started?.at ?? 0)).toBeGreaterThanOrEqual(300_000);
  });

  it('our own Region hanging: the invocation answers within its budget, refusing to promote a broker it cannot see', async () => {
    const aws = await start({ env: FAST });
    aws.e.world.setApiFault(REPLICA_REGION, { kind: 'hang' });
    const started = performance.now();
    const result = await aws.e.invoke.onAlarm(
      (await import('#simulator/embedded.ts')).alarmStateChangeEvent('orders-replication-lag', 'ALARM', 'OK', T0),
    );
    expect(performance.now() - started).toBeLessThan(6_000);
    expect(result.decisions).toMatchObject([
      { action: 'REFUSE', reason: expect.stringMatching(/could not be observed .*timed out after 400 ms/) },
    ]);
    expect(aws.e.world.promoteLog).toEqual([]);
  });

  it('a slow Region answers late but answers; one slower than the request timeout is a timeout', async () => {
    const aws = await start({ env: FAST });
    aws.e.world.setApiFault(PRIMARY_REGION, { kind: 'slow', ms: 150 });
    const t1 = performance.now();
    expect(await aws.e.runtime.probe.probe()).toMatchObject({ healthy: true });
    expect(performance.now() - t1).toBeGreaterThanOrEqual(150);
    aws.e.world.setApiFault(PRIMARY_REGION, { kind: 'slow', ms: 1_000 });
    expect(await aws.e.runtime.probe.probe()).toMatchObject({
      healthy: false,
      detail: expect.stringContaining('timed out after 300 ms'),
    });
  });
});

describe('gray failure: a primary Region that flaps', () => {
  /** us-east-1 down 70 s, up 50 s, and so on from T+1:00 for 20 minutes (`phase` shifts where the probes fall). */
  const flap =
    (aws: Aws, phase: number, downMs = 70_000, upMs = 50_000) =>
    (t: number) => {
      if (t < MIN || t > 21 * MIN) return;
      const down = (t - MIN + phase) % (downMs + upMs) < downMs;
      if (aws.e.world.isRegionUp(PRIMARY_REGION) === down) aws.e.world.setRegionUp(PRIMARY_REGION, !down);
    };

  it.each([0, 30_000, 60_000, 90_000])(
    'down 70 s, up 50 s (phase %i ms): a new primary within 5 minutes of the flapping starting',
    async (phase) => {
      const aws = await start({});
      await aws.runUntil(22 * MIN, flap(aws, phase));
      const promotedAt = aws.promotedAt();
      expect(promotedAt).toBeDefined();
      expect((promotedAt as number) - (T0 + MIN)).toBeLessThanOrEqual(5 * MIN);
      expect(aws.failures).toEqual([]);
    },
    60_000,
  );

  // Down 20 s, up 20 s: probes 15 s apart never find it down 3 times in a row, but half the time. The window
  // counts those (8 within 4 minutes); without it, nothing does.
  it.each([
    ['with the window', {}, 1],
    ['without the window (PROBE_WINDOW_SECONDS=0)', { PROBE_WINDOW_SECONDS: '0' }, 0],
  ] as const)(
    'down 20 s, up 20 s, %s: %i promotions',
    async (_name, env, promotions) => {
      const aws = await start({ env });
      await aws.runUntil(12 * MIN, flap(aws, 0, 20_000, 20_000));
      expect(aws.e.world.promoteLog.length).toBe(promotions);
    },
    60_000,
  );

  it('a single 20 s blip, and two blips 5 minutes apart (outside the 4-minute window): 0 promotions', async () => {
    const aws = await start({});
    await aws.runUntil(15 * MIN, (t) => {
      const blip = (from: number) => t >= from && t < from + 20_000;
      aws.e.world.setRegionUp(PRIMARY_REGION, !(blip(MIN + 40_000) || blip(6 * MIN + 40_000)));
    });
    expect(aws.e.world.promoteLog).toEqual([]);
    expect(aws.decisions.filter((d) => d.action === 'COUNT_PROBE').length).toBeGreaterThan(0);
  }, 60_000);
});

describe('hang and slow faults through the simulator’s admin routes', () => {
  it('a Region hangs, its API alone hangs or is slow, a broker’s endpoints hang; bad bodies are refused', async () => {
    const aws = await start({ env: FAST });
    const admin = (path: string, body: unknown) =>
      fetch(`${aws.e.simulator.endpoint}/_simulator/${path}`, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({
        status: r.status,
        state: (await r.json()) as { regionsHung?: string[]; apiFaults?: Record<string, unknown> },
      }));
    expect(await aws.e.runtime.probe.probe()).toMatchObject({ healthy: true });
    expect((await admin(`regions/${PRIMARY_REGION}`, { hung: true })).state.regionsHung).toEqual([PRIMARY_REGION]);
    expect(await aws.e.runtime.probe.probe()).toMatchObject({ healthy: false, outage: true });
    await admin(`regions/${PRIMARY_REGION}`, { hung: false });
    expect((await admin(`regions/${PRIMARY_REGION}/api`, { fault: 'slow', seconds: 1 })).state.apiFaults).toEqual({
      [PRIMARY_REGION]: { kind: 'slow', ms: 1_000 },
    });
    expect(await aws.e.runtime.probe.probe()).toMatchObject({
      healthy: false,
      detail: expect.stringContaining('timed out after 300 ms'),
    });
    await admin(`regions/${PRIMARY_REGION}/api`, { fault: 'none' });
    expect((await admin(`brokers/${aws.e.primary.id}/endpoints`, { hung: true })).status).toBe(200);
    expect(await aws.e.runtime.probe.probe()).toMatchObject({
      healthy: false,
      detail: 'none of 1 endpoints answered (timed out after 300 ms)',
    });
    expect((await admin(`regions/${PRIMARY_REGION}/api`, { fault: 'slow', seconds: 0 })).status).toBe(400);
    expect((await admin(`regions/${PRIMARY_REGION}/api`, { fault: 'hang', seconds: 'x' })).status).toBe(200);
    expect((await admin(`regions/${PRIMARY_REGION}/api`, { fault: 'sometimes' })).status).toBe(400);
  });
});

describe('probes that say nothing about the primary', () => {
  it('a wrong REMOTE_BROKER_ID on a healthy pair: 0 promotions in 10 minutes, one notification naming the fix', async () => {
    const aws = await start({ env: { REMOTE_BROKER_ID: 'b-00000000-0000-0000-0000-000000000000' } });
    await aws.runUntil(10 * MIN);
    expect(aws.e.world.promoteLog).toEqual([]);
    expect(aws.e.world.published).toHaveLength(1);
    expect(aws.e.world.published[0]?.message).toMatch(/replicates with b-.* in us-east-1; fix REMOTE_BROKER_ID/);
    expect(aws.decisions.map((d) => d.action)).toEqual(['PROBLEM']);
  });

  it('DescribeBroker throttled for 10 minutes: 0 promotions, one notification; the next good probe clears it quietly', async () => {
    // A probe a minute: every throttled call waits out the SDK's retries in real time.
    const aws = await start({ env: { PROBE_INTERVAL_SECONDS: '60' } });
    aws.e.world.injectFault('DescribeBroker', 'throttle', 100_000);
    await aws.runUntil(10 * MIN);
    aws.e.world.clearFaults();
    await aws.runUntil(12 * MIN);
    expect(aws.e.world.promoteLog).toEqual([]);
    expect(aws.e.world.published.map((p) => p.subject)).toEqual([
      '[orders] needs attention: the orchestrator cannot judge the pair',
    ]);
    // The first good probe also records that the endpoints answered from here (PROBE_ENDPOINTS=auto), quietly.
    expect(aws.decisions.map((d) => d.action)).toEqual(['PROBLEM', 'ENDPOINTS_REACHED', 'PROBLEM_CLEARED']);
  });
});

describe('completion seen in seconds', () => {
  it.each([
    [
      'a switchover that drains in 40 s (the invocation that promoted sees it)',
      { backlog: 8_000, drainRate: 200, produceRate: 0 },
    ],
    ['a switchover that drains in 100 s (the sweep sees it)', { backlog: 20_000, drainRate: 200, produceRate: 0 }],
  ])('%s: COMPLETE and clients redirected within 10 s of the new primary taking clients', async (_name, pair) => {
    const aws = await start({ pair });
    await aws.alarmNow();
    await aws.runUntil(5 * MIN);
    const promotedAt = aws.promotedAt() as number;
    expect(promotedAt).toBeDefined();
    expect((aws.first('COMPLETE')?.at ?? Number.POSITIVE_INFINITY) - promotedAt).toBeLessThanOrEqual(10_000);
    expect((aws.first('CLIENTS_REDIRECTED')?.at ?? Number.POSITIVE_INFINITY) - promotedAt).toBeLessThanOrEqual(10_000);
  });

  it('an escalated failover, the same', async () => {
    const aws = await start({ env: { DEADLINE_SECONDS: '120' } });
    // The alarm starts a switchover at 6:00; its deadline escalates at 8:00, and that invocation watches the failover.
    await aws.runUntil(9 * MIN, (t) => {
      if (t === MIN) aws.e.world.setPartitioned(true);
    });
    const promotedAt = aws.promotedAt() as number;
    expect(aws.first('ESCALATE_TO_FAILOVER')).toBeDefined();
    expect((aws.first('COMPLETE')?.at ?? Number.POSITIVE_INFINITY) - promotedAt).toBeLessThanOrEqual(10_000);
    expect((aws.first('CLIENTS_REDIRECTED')?.at ?? Number.POSITIVE_INFINITY) - promotedAt).toBeLessThanOrEqual(10_000);
  });
});
