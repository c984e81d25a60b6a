/**
 * The ARC Region switch promote step (functions/arcStep.ts) as a plan execution drives it: ARC invokes the
 * custom action Lambda in the activating Region and, while an invocation fails, runs it again after the
 * block's retry interval until the block's timeout. `execute` plays that loop on the embedded default.
 */
import { MqClient, PromoteCommand } from '@aws-sdk/client-mq';
import { afterEach, describe, expect, it } from 'vitest';
import type { RegionSwitchStepResult } from '#functions/arcStep.ts';
import { InvalidEventError, StepInProgressError, StepRefusedError } from '#lib/errors.ts';
import { type Embedded, LOCAL_CREDENTIALS, ManualClock, REPLICA_REGION, startEmbedded } from '#simulator/embedded.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const RETRY_INTERVAL_MS = 60_000; // RetryIntervalMinutes: 1, as in examples/arc-region-switch-plan.json
const TIMEOUT_MS = 20 * 60_000; // TimeoutMinutes: 20

// What a plan execution passes; the step reads none of it (it activates the Region it runs in).
const planExecution = {
  planArn: 'arn:aws:arc-region-switch::123456789012:plan/orders-mq:abc123',
  executionId: 'exec-1',
  action: 'activate',
  targetRegion: REPLICA_REGION,
};

let env: Embedded | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function start(pair: { backlog?: number; drainRate?: number; produceRate?: number }, extra: Record<string, string> = {}) {
  const clock = new ManualClock(T0);
  env = await startEmbedded({ clock, env: { DEADLINE_SECONDS: '600', ...extra }, pair });
  return { e: env, clock };
}

/** ARC's loop over one custom action Lambda step: every failed run is retried after the interval, up to the timeout. */
async function execute(e: Embedded, clock: ManualClock) {
  const started = clock.now();
  const failures: string[] = [];
  for (;;) {
    try {
      const result: RegionSwitchStepResult = await e.invoke.arcStep(planExecution);
      return { result, failures, tookMs: clock.now() - started };
    } catch (error) {
      if (!(error instanceof StepInProgressError)) throw error;
      failures.push(error.message);
      if (clock.now() - started + RETRY_INTERVAL_MS > TIMEOUT_MS) throw new Error(`step timed out: ${failures.at(-1)}`);
      clock.advance(RETRY_INTERVAL_MS);
    }
  }
}

describe('ARC Region switch promote step', () => {
  it('switches over, reports progress while the backlog drains, and succeeds once the promotion is observed', async () => {
    const { e, clock } = await start({ backlog: 30_000, drainRate: 200, produceRate: 0 }); // 150 s to drain
    const { result, failures, tookMs } = await execute(e, clock);
    expect(failures[0]).toMatch(
      /^SWITCHOVER op-\S+ is SWITCHOVER_IN_PROGRESS; escalates to FAILOVER at .*; ARC runs this step again/,
    );
    expect(failures).toHaveLength(3);
    expect(tookMs).toBe(180_000);
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      region: REPLICA_REGION,
      brokerId: e.replica.id,
      operation: {
        mode: 'SWITCHOVER',
        trigger: 'operator:arc-region-switch',
        recoveryMs: 180_000,
        rpo: { events: 0, lagSeconds: 0 },
      },
    });
    expect(result.operation?.redirect).toContain('SSM /mq-crdr/orders/broker-url = failover:(ssl://127.0.0.1:');
    expect(e.world.promoteLog.map((p) => p.mode)).toEqual(['SWITCHOVER']);
    const timeline = await e.runtime.orchestrator.store.timeline(e.pairName);
    expect(timeline[0]).toMatchObject({ action: 'START_SWITCHOVER', operator: 'arc-region-switch' });
    expect(timeline[0]?.reason).toBe('ARC Region switch activates us-west-2; escalates to FAILOVER in 600 s');

    // Run again (ARC's retry of a step whose answer it lost, or a second execution): same answer, no Promote.
    const again = await e.invoke.arcStep(planExecution);
    expect(again).toMatchObject({ status: 'SUCCEEDED', operation: { id: result.operation?.id } });
    expect(again.decisions).toEqual([]);
    expect(e.world.promoteLog).toHaveLength(1);
  });

  it('escalates to a failover at the deadline when the switchover cannot finish, and reports the RPO', async () => {
    const { e, clock } = await start({ backlog: 30_000, drainRate: 200, produceRate: 0 });
    e.world.setPartitioned(true); // nothing drains: only a failover can finish within the step's timeout
    const { result, failures } = await execute(e, clock);
    expect(failures.some((f) => f.startsWith('FAILOVER'))).toBe(true);
    expect(result.operation).toMatchObject({ mode: 'FAILOVER', rpo: { events: 30_000 } });
    expect(e.world.promoteLog.map((p) => p.mode)).toEqual(['SWITCHOVER', 'FAILOVER']);
    expect(e.world.pair(e.pairName).unreplicatedOnOldPrimary).toBe(30_000);
  });

  it('starts a failover at once with ARC_STEP_MODE=FAILOVER', async () => {
    const { e, clock } = await start({ backlog: 1_000, drainRate: 200, produceRate: 0 }, { ARC_STEP_MODE: 'FAILOVER' });
    const { result, failures } = await execute(e, clock);
    expect(failures).toHaveLength(1);
    expect(result.operation).toMatchObject({ mode: 'FAILOVER', trigger: 'operator:arc-region-switch' });
  });

  it('refuses, for a person to decide, when the broker shows a promotion that no operation records', async () => {
    const { e } = await start({ backlog: 30_000, drainRate: 200, produceRate: 0 });
    const mq = new MqClient({ region: REPLICA_REGION, endpoint: e.simulator.endpoint, credentials: LOCAL_CREDENTIALS });
    await mq.send(new PromoteCommand({ BrokerId: e.replica.id, Mode: 'SWITCHOVER' })); // by hand, outside the orchestrator
    mq.destroy();
    const waited = await e.invoke.arcStep(planExecution).catch((error: unknown) => error);
    expect(waited).toBeInstanceOf(StepInProgressError);
    expect(String(waited)).toContain('local broker is REPLICA (REPLICA, promotion pending)');
    expect(e.world.promoteLog).toHaveLength(1);
  });

  it('fails with what to fix when the orchestrator refuses, and rejects an event that is not from ARC', async () => {
    const { e } = await start({ backlog: 0, produceRate: 0 }, { DRY_RUN: 'true' });
    const refused = await e.invoke.arcStep(planExecution).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StepRefusedError);
    expect(String(refused)).toContain('refused: ARC Region switch activates us-west-2; dry run: Promote SWITCHOVER not called');
    await expect(e.invoke.arcStep('activate')).rejects.toThrow(InvalidEventError);
    await expect(e.invoke.arcStep(['activate'])).rejects.toThrow(/an ARC Region switch step expects a JSON object/);
    expect(e.world.promoteLog).toEqual([]);
  });
});
