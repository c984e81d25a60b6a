/**
 * EMF metrics of the orchestrator's decisions (namespace MqCrdrOrchestrator, dimension PairId): what the
 * dashboard and an alarm on `Escalations` or `PromoteFailures` read. The mapping is pure; Powertools Metrics
 * serializes it to EMF on stdout, where the Lambda runtime turns it into CloudWatch metrics.
 */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Action, type Code, type Decision } from './core/model.ts';

export const METRICS_NAMESPACE = 'MqCrdrOrchestrator';

export interface MetricPoint {
  name:
    | 'Decisions'
    | 'OperationsStarted'
    | 'Escalations'
    | 'Refusals'
    | 'PromoteFailures'
    | 'TimeToRecovery'
    | 'SweepHeartbeat'
    | 'ReadinessChecksFailing';
  unit: 'Count' | 'Seconds';
  value: number;
}

/** Dry-run decisions count as decisions only: nothing was started or escalated. */
export function decisionMetrics(decisions: Decision[]): MetricPoint[] {
  const count = (name: MetricPoint['name'], keep: (d: Decision) => boolean): MetricPoint[] => {
    const n = decisions.filter(keep).length;
    return n > 0 ? [{ name, unit: 'Count', value: n }] : [];
  };
  const real = (d: Decision) => d.dryRun !== true;
  return [
    ...count('Decisions', () => true),
    ...count('OperationsStarted', (d) => real(d) && (d.action === Action.START_SWITCHOVER || d.action === Action.START_FAILOVER)),
    ...count('Escalations', (d) => real(d) && d.action === Action.ESCALATE_TO_FAILOVER),
    ...count('Refusals', (d) => d.action === Action.REFUSE),
    ...count('PromoteFailures', (d) => d.action === Action.FAIL),
    ...decisions.flatMap((d): MetricPoint[] =>
      d.action === Action.COMPLETE && d.recoveryMs !== undefined
        ? [{ name: 'TimeToRecovery', unit: 'Seconds', value: d.recoveryMs / 1000 }]
        : [],
    ),
  ];
}

/** Refusals and waits by their code: which guard holds the pair (REFUSE and WAIT decisions always carry one). */
export function codeMetrics(decisions: Decision[]): Array<{ name: 'Refusals' | 'Waits'; code: Code; value: number }> {
  const counts = new Map<string, { name: 'Refusals' | 'Waits'; code: Code; value: number }>();
  for (const d of decisions) {
    if ((d.action !== Action.REFUSE && d.action !== Action.WAIT) || d.code === undefined) continue;
    const name = d.action === Action.REFUSE ? 'Refusals' : 'Waits';
    const key = `${name}:${d.code}`;
    const entry = counts.get(key) ?? { name, code: d.code, value: 0 };
    entry.value += 1;
    counts.set(key, entry);
  }
  return [...counts.values()];
}

/**
 * Adds the decisions' metrics (and the sweep's heartbeat) and flushes them as one EMF document; nothing is
 * written for no decision and no heartbeat.
 */
export function publishDecisionMetrics(
  metrics: Metrics,
  pairId: string,
  decisions: Decision[],
  heartbeat = false,
  gauges: Array<{ name: MetricPoint['name']; value: number }> = [],
): void {
  const points = decisionMetrics(decisions);
  if (heartbeat) points.push({ name: 'SweepHeartbeat', unit: 'Count', value: 1 });
  for (const g of gauges) points.push({ name: g.name, unit: 'Count', value: g.value });
  if (points.length === 0) return;
  metrics.addDimension('PairId', pairId);
  for (const p of points) metrics.addMetric(p.name, MetricUnit[p.unit], p.value);
  metrics.publishStoredMetrics();
  // By code as well, in documents of their own (dimensions PairId and Code), so one alarm can watch one guard.
  for (const c of codeMetrics(decisions)) {
    const single = metrics.singleMetric();
    single.addDimension('PairId', pairId);
    single.addDimension('Code', c.code);
    single.addMetric(c.name, MetricUnit.Count, c.value);
  }
}
