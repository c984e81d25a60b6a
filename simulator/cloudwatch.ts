/**
 * CloudWatch GetMetricData as `@aws-sdk/client-cloudwatch` speaks it (awsJson1_0: POST /, header
 * `x-amz-target: GraniteServiceVersion20100801.GetMetricData`, timestamps in epoch seconds), over the
 * world's CRDR metric datapoints (per Region, metric and Broker dimension) and the global tables'
 * ReplicationLatency (AWS/DynamoDB, per TableName and ReceivingRegion). Only MetricStat queries are served; math
 * expressions get a validation error rather than a wrong answer.
 */
import * as v from 'valibot';
import { issuesOf } from '#lib/errors.ts';
import { CRDR_METRIC, CRDR_NAMESPACE, VIEW_REPLICATION_METRIC } from '#lib/mq-facts.ts';
import { AwsJsonError } from './aws-json.ts';
import type { CrdrWorld } from './world.ts';

export const CLOUDWATCH_TARGET_PREFIX = 'GraniteServiceVersion20100801.';

const Stat = v.picklist(['Maximum', 'Minimum', 'Average', 'Sum', 'SampleCount']);
const Query = v.object({
  Id: v.pipe(v.string(), v.regex(/^[a-z][A-Za-z0-9_]{0,254}$/, 'Id starts with a lowercase letter')),
  MetricStat: v.object({
    Metric: v.object({
      Namespace: v.string(),
      MetricName: v.string(),
      Dimensions: v.optional(v.array(v.object({ Name: v.string(), Value: v.string() })), []),
    }),
    Period: v.pipe(v.number(), v.integer(), v.minValue(1)),
    Stat,
  }),
  Label: v.optional(v.string()),
  ReturnData: v.optional(v.boolean()),
});
const Request = v.object({
  MetricDataQueries: v.pipe(v.array(Query), v.minLength(1), v.maxLength(500)),
  StartTime: v.number(),
  EndTime: v.number(),
  ScanBy: v.optional(v.picklist(['TimestampDescending', 'TimestampAscending']), 'TimestampDescending'),
});

const aggregate = (values: number[], stat: v.InferOutput<typeof Stat>): number => {
  switch (stat) {
    case 'Maximum':
      return Math.max(...values);
    case 'Minimum':
      return Math.min(...values);
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'SampleCount':
      return values.length;
  }
};

export function cloudWatch(world: CrdrWorld, region: string, operation: string, body: unknown): unknown {
  if (operation !== 'GetMetricData') {
    throw new AwsJsonError('InvalidAction', 400, `the simulator implements GetMetricData only, not ${operation}`);
  }
  if (!world.isServiceUp('cloudwatch', region)) {
    throw new AwsJsonError('InternalServiceFault', 500, `CloudWatch in ${region} is unavailable (simulated outage)`);
  }
  const parsed = v.safeParse(Request, body);
  if (!parsed.success) {
    const issues = issuesOf(parsed.issues, 'request').join('; ');
    throw new AwsJsonError('InvalidParameterValueException', 400, `invalid GetMetricData request: ${issues}`);
  }
  const { MetricDataQueries, StartTime, EndTime, ScanBy } = parsed.output;
  world.sync();
  const start = StartTime * 1000;
  const end = EndTime * 1000;
  const results = MetricDataQueries.filter((q) => q.ReturnData !== false).map((q) => {
    const { Metric, Period, Stat: stat } = q.MetricStat;
    const dimension = (name: string) => Metric.Dimensions.find((d) => d.Name === name)?.Value;
    // Datapoints bucketed by period, aligned to the epoch as CloudWatch aligns them.
    const buckets = new Map<number, number[]>();
    const add = (at: number, value: number) => {
      if (at < start || at >= end) return;
      const bucket = Math.floor(at / 1000 / Period) * Period;
      buckets.set(bucket, [...(buckets.get(bucket) ?? []), value]);
    };
    if (Metric.Namespace === CRDR_NAMESPACE && (Object.values(CRDR_METRIC) as string[]).includes(Metric.MetricName)) {
      const broker = dimension('Broker');
      for (const m of world.metrics) {
        if (m.region === region && m.metric === Metric.MetricName && m.broker === broker) add(m.at, m.value);
      }
    } else if (Metric.Namespace === VIEW_REPLICATION_METRIC.namespace && Metric.MetricName === VIEW_REPLICATION_METRIC.name) {
      const table = dimension('TableName') ?? '';
      const receiving = dimension('ReceivingRegion');
      for (const m of world.tableLatency) {
        if (m.region === region && m.tableNames.includes(table) && m.receivingRegion === receiving) add(m.at, m.ms);
      }
    }
    const times = [...buckets.keys()].sort((a, b) => (ScanBy === 'TimestampAscending' ? a - b : b - a));
    return {
      Id: q.Id,
      Label: q.Label ?? Metric.MetricName,
      Timestamps: times,
      Values: times.map((t) => aggregate(buckets.get(t) as number[], stat)),
      StatusCode: 'Complete',
    };
  });
  return { MetricDataResults: results, Messages: [] };
}
