/**
 * The pair's replication lag from CloudWatch (GetMetricData of AWS/AmazonMQ TotalReplicationLag). The primary
 * publishes it in its own Region under its active instance (`<broker name>-1`); which broker is the primary
 * changes with every promotion, so both brokers are queried, each in its Region, and merged.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { errorMessage } from '../orchestrator.ts';
import type { LagMetrics, LagPoint, LagSeries } from '../ports.ts';

export class CloudWatchLagMetrics implements LagMetrics {
  /** Clients made (and their package loaded) on first use: see lazyClient in lib/runtime.ts. */
  constructor(private readonly clientFor: (region: string) => Promise<CloudWatchClient>) {}

  async series(
    brokers: Array<{ region: string; brokerName: string }>,
    from: number,
    to: number,
    periodSeconds: number,
    abortSignal?: AbortSignal,
  ): Promise<LagSeries> {
    const merged = new Map<number, number>();
    const errors: string[] = [];
    const byBroker: LagSeries['byBroker'] = [];
    await Promise.all(
      brokers.map(async ({ region, brokerName }) => {
        try {
          const points = await this.read(region, `${brokerName}-1`, from, to, periodSeconds, abortSignal);
          byBroker.push({ region, brokerName, points });
          for (const p of points) merged.set(p.at, Math.max(merged.get(p.at) ?? 0, p.value));
        } catch (error) {
          errors.push(`${region}: ${errorMessage(error)}`);
        }
      }),
    );
    const points = [...merged.entries()].sort(([a], [b]) => a - b).map(([at, value]) => ({ at, value }));
    return { points, errors, byBroker };
  }

  private async read(
    region: string,
    broker: string,
    from: number,
    to: number,
    period: number,
    abortSignal: AbortSignal | undefined,
  ): Promise<LagPoint[]> {
    const { GetMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
    const client = await this.clientFor(region);
    const points: LagPoint[] = [];
    let NextToken: string | undefined;
    do {
      const out = await client.send(
        new GetMetricDataCommand({
          StartTime: new Date(from),
          EndTime: new Date(to),
          ScanBy: 'TimestampAscending',
          NextToken,
          MetricDataQueries: [
            {
              Id: 'lag',
              MetricStat: {
                Metric: {
                  Namespace: 'AWS/AmazonMQ',
                  MetricName: 'TotalReplicationLag',
                  Dimensions: [{ Name: 'Broker', Value: broker }],
                },
                Period: period,
                Stat: 'Maximum',
              },
            },
          ],
        }),
        abortSignal ? { abortSignal } : {},
      );
      for (const r of out.MetricDataResults ?? []) {
        const values = r.Values ?? [];
        for (const [i, t] of (r.Timestamps ?? []).entries()) points.push({ at: t.getTime(), value: values[i] ?? 0 });
      }
      NextToken = out.NextToken;
    } while (NextToken);
    return points;
  }
}
