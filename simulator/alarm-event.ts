/** A CloudWatch alarm state change as EventBridge delivers it to a rule's target. */

/** An EventBridge "CloudWatch Alarm State Change" event, as the rule delivers it. */
export function alarmStateChangeEvent(
  alarmName: string,
  state: string,
  previous: string,
  at: number,
  reason = 'Threshold Crossed',
  /** The Region the event is from (the alarm's); the embedded default's replica Region unless told. */
  region = 'us-west-2',
) {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: '123456789012',
    time: new Date(at).toISOString(),
    region,
    resources: [`arn:aws:cloudwatch:${region}:123456789012:alarm:${alarmName}`],
    detail: {
      alarmName,
      state: { value: state, reason, timestamp: new Date(at).toISOString() },
      previousState: { value: previous, reason: 'previous', timestamp: new Date(at - 60_000).toISOString() },
      configuration: {
        metrics: [
          {
            id: 'lag',
            metricStat: {
              metric: { namespace: 'AWS/AmazonMQ', name: 'TotalReplicationLag', dimensions: { Broker: 'orders-primary-1' } },
              period: 60,
              stat: 'Maximum',
            },
            returnData: true,
          },
        ],
      },
    },
  };
}
