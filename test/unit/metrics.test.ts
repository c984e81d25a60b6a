import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Decision } from '#lib/core/model.ts';
import { codeMetrics, decisionMetrics, METRICS_NAMESPACE, publishDecisionMetrics } from '#lib/metrics.ts';

const d = (action: Decision['action'], extra: Partial<Decision> = {}): Decision => ({
  at: 0,
  event: 'e',
  action,
  reason: 'r',
  status: 'IDLE',
  ...extra,
});

afterEach(() => vi.restoreAllMocks());

describe('decision metrics', () => {
  it('counts starts, escalations, refusals and failures; dry runs start nothing; recovery in seconds', () => {
    const points = decisionMetrics([
      d('START_SWITCHOVER'),
      d('START_FAILOVER', { dryRun: true }),
      d('ESCALATE_TO_FAILOVER'),
      d('REFUSE'),
      d('FAIL'),
      d('COMPLETE', { recoveryMs: 365_000 }),
    ]);
    expect(points).toEqual([
      { name: 'Decisions', unit: 'Count', value: 6 },
      { name: 'OperationsStarted', unit: 'Count', value: 1 },
      { name: 'Escalations', unit: 'Count', value: 1 },
      { name: 'Refusals', unit: 'Count', value: 1 },
      { name: 'PromoteFailures', unit: 'Count', value: 1 },
      { name: 'TimeToRecovery', unit: 'Seconds', value: 365 },
    ]);
  });

  it('writes one EMF document per invocation with the PairId dimension, and nothing for no decision', () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'mq-crdr-orchestrator' });
    publishDecisionMetrics(metrics, 'orders', []);
    expect(written).toEqual([]);
    publishDecisionMetrics(metrics, 'orders', [d('ESCALATE_TO_FAILOVER')]);
    expect(written).toHaveLength(1);
    const emf = JSON.parse(written[0] as string);
    expect(emf._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'MqCrdrOrchestrator',
      Dimensions: [['service', 'PairId']],
      Metrics: [
        { Name: 'Decisions', Unit: 'Count' },
        { Name: 'Escalations', Unit: 'Count' },
      ],
    });
    expect(emf).toMatchObject({ PairId: 'orders', service: 'mq-crdr-orchestrator', Escalations: 1, Decisions: 1 });
    // A sweep that decided nothing still beats: the stack's alarm fires when the beats stop.
    publishDecisionMetrics(metrics, 'orders', [], true);
    expect(written).toHaveLength(2);
    expect(JSON.parse(written[1] as string)).toMatchObject({ PairId: 'orders', SweepHeartbeat: 1 });
    // Readiness publishes its count at every run, 0 included: the alarm treats a missing run as breaching.
    publishDecisionMetrics(metrics, 'orders', [], false, [{ name: 'ReadinessChecksFailing', value: 0 }]);
    expect(written).toHaveLength(3);
    expect(JSON.parse(written[2] as string)).toMatchObject({ PairId: 'orders', ReadinessChecksFailing: 0 });
    // Refusals and waits also by code, one document per code.
    publishDecisionMetrics(metrics, 'orders', [d('REFUSE', { code: 'COOLDOWN' }), d('WAIT', { code: 'NEWER_CHOICE' })]);
    const byCode = written.slice(4).map((w) => JSON.parse(w));
    expect(byCode).toHaveLength(2);
    expect(byCode[0]._aws.CloudWatchMetrics[0].Dimensions[0]).toEqual(expect.arrayContaining(['PairId', 'Code']));
    expect(byCode).toMatchObject([
      { PairId: 'orders', Code: 'COOLDOWN', Refusals: 1 },
      { PairId: 'orders', Code: 'NEWER_CHOICE', Waits: 1 },
    ]);
  });

  it('counts refusals and waits by code', () => {
    expect(
      codeMetrics([
        d('REFUSE', { code: 'COOLDOWN' }),
        d('REFUSE', { code: 'COOLDOWN' }),
        d('WAIT', { code: 'COOLDOWN' }),
        d('IGNORE'),
      ]),
    ).toEqual([
      { name: 'Refusals', code: 'COOLDOWN', value: 2 },
      { name: 'Waits', code: 'COOLDOWN', value: 1 },
    ]);
  });
});
