/**
 * The pair's CRDR metrics from CloudWatch (GetMetricData of AWS/AmazonMQ QueueSize and TotalReplicationLag).
 * A broker publishes them in its own Region while it is the primary, under its active instance (`<name>-1` or
 * `<name>-2`, lib/mq-facts.ts): both brokers are queried, each in its Region, both instances each, and a
 * minute's value is the larger of the two instances'. Times are converted to seconds here, once.
 */
import type { CloudWatchClient, MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { BROKER_INSTANCES, CRDR_METRIC, CRDR_NAMESPACE, instanceDimension, TIME_METRIC_MS_PER_UNIT } from '../mq-facts.ts';
import { errorMessage } from '../orchestrator.ts';
import type { ReplicationMetrics, ReplicationPoint, ReplicationSeries } from '../ports.ts';

const MEASURES = [
  { id: 'events', metric: CRDR_METRIC.QUEUE_SIZE, scale: 1 },
  { id: 'lag', metric: CRDR_METRIC.TOTAL_REPLICATION_LAG, scale: TIME_METRIC_MS_PER_UNIT / 1000 },
] as const;

export class CloudWatchReplicationMetrics implements ReplicationMetrics {
  /** Clients made (and their package loaded) on first use: see lazyClient in lib/runtime.ts. */
  constructor(private readonly clientFor: (region: string) => Promise<CloudWatchClient>) {}

  async series(
    brokers: Array<{ region: string; brokerName: string; local: boolean }>,
    from: number,
    to: number,
    periodSeconds: number,
    abortSignal?: AbortSignal,
  ): Promise<ReplicationSeries> {
    const errors: string[] = [];
    const byBroker: ReplicationSeries['byBroker'] = [];
    await Promise.all(
      brokers.map(async ({ region, brokerName, local }) => {
        try {
          const points = await this.read(region, brokerName, local, from, to, periodSeconds, abortSignal);
          byBroker.push({ region, brokerName, points });
        } catch (error) {
          errors.push(`${region}: ${errorMessage(error)}`);
        }
      }),
    );
    const points = byBroker.flatMap((b) => b.points).sort((a, b) => a.at - b.at);
    return { points, errors, byBroker };
  }

  private async read(
    region: string,
    brokerName: string,
    local: boolean,
    from: number,
    to: number,
    period: number,
    abortSignal: AbortSignal | undefined,
  ): Promise<ReplicationPoint[]> {
    const { GetMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
    const client = await this.clientFor(region);
    const queries: MetricDataQuery[] = MEASURES.flatMap((m) =>
      BROKER_INSTANCES.map((instance) => ({
        Id: `${m.id}${instance}`,
        MetricStat: {
          Metric: {
            Namespace: CRDR_NAMESPACE,
            MetricName: m.metric,
            Dimensions: [{ Name: 'Broker', Value: instanceDimension(brokerName, instance) }],
          },
          Period: period,
          Stat: 'Maximum',
        },
      })),
    );
    const byTime = new Map<number, ReplicationPoint>();
    let NextToken: string | undefined;
    do {
      const out = await client.send(
        new GetMetricDataCommand({
          StartTime: new Date(from),
          EndTime: new Date(to),
          ScanBy: 'TimestampAscending',
          NextToken,
          MetricDataQueries: queries,
        }),
        abortSignal ? { abortSignal } : {},
      );
      for (const r of out.MetricDataResults ?? []) {
        const measure = MEASURES.find((m) => r.Id?.startsWith(m.id));
        if (!measure) continue;
        const values = r.Values ?? [];
        for (const [i, t] of (r.Timestamps ?? []).entries()) {
          const value = values[i];
          if (value === undefined) continue;
          const at = t.getTime();
          const point = byTime.get(at) ?? { at, local };
          const key = measure.id === 'events' ? 'events' : 'lagSeconds';
          // The larger of the two instances: the standby publishes nothing, or less, than the active one.
          point[key] = Math.max(point[key] ?? Number.NEGATIVE_INFINITY, value * measure.scale);
          byTime.set(at, point);
        }
      }
      NextToken = out.NextToken;
    } while (NextToken);
    return [...byTime.values()].sort((a, b) => a.at - b.at);
  }
}
