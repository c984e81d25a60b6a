/**
 * How fast the pair view (a DynamoDB global table) replicates each way, from CloudWatch: ReplicationLatency
 * of the table, per receiving Region (lib/mq-facts.ts VIEW_REPLICATION_METRIC). Which Region's CloudWatch holds
 * a direction is unpublished, so both Regions are read for both directions and their datapoints merged.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { VIEW_REPLICATION_METRIC } from '../mq-facts.ts';
import { errorMessage } from '../orchestrator.ts';

export interface ViewDirection {
  from: string;
  to: string;
  /** The latency of each replicated write, per minute's Maximum, in ms, oldest first. */
  points: Array<{ at: number; ms: number }>;
}

export interface ViewReplication {
  latency(
    tableName: string,
    regions: [string, string],
    from: number,
    to: number,
  ): Promise<{ directions: ViewDirection[]; errors: string[] }>;
}

export class CloudWatchViewReplication implements ViewReplication {
  /** Clients made (and their package loaded) on first use: see lazyClient in lib/runtime.ts. */
  constructor(private readonly clientFor: (region: string) => Promise<CloudWatchClient>) {}

  async latency(tableName: string, regions: [string, string], from: number, to: number) {
    const directions: ViewDirection[] = [
      { from: regions[0], to: regions[1], points: [] },
      { from: regions[1], to: regions[0], points: [] },
    ];
    const errors: string[] = [];
    const { GetMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
    await Promise.all(
      regions.map(async (region) => {
        try {
          const client = await this.clientFor(region);
          const out = await client.send(
            new GetMetricDataCommand({
              StartTime: new Date(from),
              EndTime: new Date(to),
              ScanBy: 'TimestampAscending',
              MetricDataQueries: directions.map((d, i) => ({
                Id: `to${i}`,
                MetricStat: {
                  Metric: {
                    Namespace: VIEW_REPLICATION_METRIC.namespace,
                    MetricName: VIEW_REPLICATION_METRIC.name,
                    Dimensions: [
                      { Name: 'TableName', Value: tableName },
                      { Name: 'ReceivingRegion', Value: d.to },
                    ],
                  },
                  Period: 60,
                  Stat: 'Maximum',
                },
              })),
            }),
          );
          for (const r of out.MetricDataResults ?? []) {
            const direction = directions[Number(r.Id?.slice(2))];
            for (const [i, t] of (r.Timestamps ?? []).entries()) {
              const ms = r.Values?.[i];
              if (direction && ms !== undefined) direction.points.push({ at: t.getTime(), ms });
            }
          }
        } catch (error) {
          errors.push(`${region}: ${errorMessage(error)}`);
        }
      }),
    );
    for (const d of directions) d.points.sort((a, b) => a.at - b.at);
    return { directions, errors };
  }
}
