/**
 * Facts about Amazon MQ CRDR the code relies on, in one place as named constants so that the adapters, the
 * template's readers and the simulator agree, and a correction is a one-line change. Each says whether AWS
 * publishes it (and where) or not; docs/aws-facts.md has the same list with the sources, and for every
 * unpublished one, how the tests cover each plausible behaviour.
 */

/** `dataReplicationRole` strings. The console shows primary/replica; the API's exact casing is unpublished. */
export const REPLICATION_ROLE = { PRIMARY: 'PRIMARY', REPLICA: 'REPLICA' } as const;

/** Roles are matched case-insensitively because their exact spelling is unpublished. */
export const normalizeRole = (role: string | undefined): 'PRIMARY' | 'REPLICA' | undefined => {
  const upper = role?.trim().toUpperCase();
  return upper === 'PRIMARY' || upper === 'REPLICA' ? upper : undefined;
};

/*
 * During a promotion the API is assumed to list the role each broker is moving to in
 * `pendingDataReplicationMetadata` (the brokerState enum has no promotion state): see toObservation in
 * adapters/mq.ts and pendingRole in simulator/world.ts.
 */

/**
 * PUBLISHED: the CRDR metrics (Amazon MQ developer guide, "Cross-Region data replication metrics in Amazon
 * CloudWatch", crdr-metrics.html), namespace AWS/AmazonMQ, dimension Broker, one datapoint a minute. With
 * TC = an event created on the replication queue by the primary, TP = processed by the replica, TA =
 * acknowledged by the primary, TCO = now:
 *  - on the primary: TotalReplicationLag, TA - TC of the last unacknowledged event (a time); PrimaryWaitTime,
 *    TCO - TC of the last processed event (a time, "constantly growing" when replication is degraded or
 *    paused); QueueSize, the number of unacknowledged events (a count: messages, acks, transactions);
 *  - on the replica: ReplicationLag, TP - TC (a time); ReplicaWaitTime, TCO - TP (a time).
 * None is a number of messages. What is not yet replicated is QueueSize.
 */
export const CRDR_METRIC = {
  TOTAL_REPLICATION_LAG: 'TotalReplicationLag',
  PRIMARY_WAIT_TIME: 'PrimaryWaitTime',
  QUEUE_SIZE: 'QueueSize',
  REPLICATION_LAG: 'ReplicationLag',
  REPLICA_WAIT_TIME: 'ReplicaWaitTime',
} as const;
export type CrdrMetricName = (typeof CRDR_METRIC)[keyof typeof CRDR_METRIC];
export const CRDR_NAMESPACE = 'AWS/AmazonMQ';

/*
 * PUBLISHED: "When you promote the replica broker, the primary broker is demoted to the replica broker role"
 * (guide, "Switchover and failover"), and a switchover completes only once the replication queue is drained
 * ("When the replication queue is drained and the two brokers achieve identical state"). The core relies on both:
 * a broker seen the primary after the other Region's promotion completed was promoted back (promotedBackUnseen in
 * core/pair-rules.ts), and a switchover that completes while the old primary's QueueSize could not have drained
 * was interrupted by a FAILOVER (interruptedOutside in core/operation.ts). That DescribeBroker does not say which
 * mode a promotion is (only that one is pending) follows from the API reference: no field names it.
 */

/**
 * UNPUBLISHED: how soon after Amazon MQ accepts Promote DescribeBroker lists the promotion in
 * `pendingDataReplicationMetadata`, and that it lists it until the new primary runs. The core gives it this long:
 * a promotion accepted this long ago that shows nothing pending while the local broker is still a replica has
 * ended unseen (endIfVanished in core/operation.ts). The simulator shows it at once or after a delay
 * (`pendingShownAfterMs`), and the tests run a delay within the allowance and one past it.
 */
export const PROMOTION_SHOWN_WITHIN_MS = 120_000;

/**
 * PUBLISHED: "An active/standby broker for high availability has the suffixes -1 and -2 for its redundant
 * pair" (guide, "Available CloudWatch metrics for Amazon MQ for ActiveMQ brokers", dimensions). CRDR requires
 * active/standby, so a broker publishes under whichever instance is active, and that changes when its standby
 * takes over inside its Region: every reader reads both and takes the larger.
 */
export const BROKER_INSTANCES = [1, 2] as const;
export const instanceDimension = (brokerName: string, instance: number): string => `${brokerName}-${instance}`;

/**
 * UNPUBLISHED: the unit CloudWatch reports for the time metrics. The open-source ActiveMQ replica plugin CRDR
 * is built on computes `System.currentTimeMillis() - timestamp` (apache/activemq, activemq-broker
 * .../replica/): milliseconds. The alarms and the RPO divide by this to give seconds; were AWS to report
 * seconds, every threshold would be 1000 times too high (docs/aws-facts.md says how to check an account).
 */
export const TIME_METRIC_MS_PER_UNIT = 1;

/**
 * UNPUBLISHED: what TotalReplicationLag shows while nothing is acknowledged (a partition). The plugin updates it
 * only when a batch is acknowledged, so it would stay frozen at its last value ('freeze'); the guide's
 * definition ("the last unacknowledged event") would make it grow ('grow'). The product does not rely on
 * either: the stall alarm reads PrimaryWaitTime, which the guide documents as growing. The simulator models
 * both and the tests run under each.
 */
export const STALL_LAG_BEHAVIOURS = ['freeze', 'grow'] as const;
export type StallLagBehaviour = (typeof STALL_LAG_BEHAVIOURS)[number];

/**
 * UNPUBLISHED: whether PrimaryWaitTime grows on an idle pair (no events: no heartbeat is documented). The stall
 * alarm counts it only while QueueSize > 0, so an idle pair never looks stalled under either behaviour.
 */

/**
 * PUBLISHED: the Amazon MQ management APIs share one account-wide budget, burst 100 and 15 requests per
 * second (guide, "Quotas in Amazon MQ", API throttling): every DescribeBroker and Promote of every pair, both
 * Regions, the probes, watches and the operator API. docs/aws-facts.md gives a pair's measured rates.
 */
export const MQ_API_BUDGET = { requestsPerSecond: 15, burst: 100 } as const;

/**
 * UNPUBLISHED: whether DescribeBroker lists a replica's instances and endpoints (a replica accepts no client
 * connection either way). Client redirection appends the other Region's endpoints to the primary's when they are
 * listed and writes the primary's alone when not; the simulator models both (`replicaListsEndpoints`).
 */
export const REPLICA_ENDPOINTS_LISTED = [false, true] as const;

/**
 * A datapoint older than this is no evidence of the replication state now: the RPO is "unknown (stale)".
 * Two missed datapoints (one a minute) and the minute CloudWatch may take to show one.
 */
export const MAX_DATAPOINT_AGE_MS = 180_000;

/**
 * URL schemes of the endpoints DescribeBroker lists for each ActiveMQ protocol (`ssl://…:61617` for OpenWire,
 * `stomp+ssl://…:61614`, …); the plain forms are what a local broker standing in for one listens on.
 */
export const PROTOCOL_SCHEMES = {
  openwire: ['ssl', 'tcp'],
  amqp: ['amqp+ssl', 'amqp'],
  stomp: ['stomp+ssl', 'stomp'],
  mqtt: ['mqtt+ssl', 'mqtt'],
  wss: ['wss', 'ws'],
} as const;
export type BrokerProtocol = keyof typeof PROTOCOL_SCHEMES;

/**
 * PUBLISHED: a DynamoDB global table publishes `ReplicationLatency` (namespace AWS/DynamoDB, milliseconds,
 * dimensions TableName and ReceivingRegion) for every source and destination Region pair, each time an item
 * replicates (DynamoDB developer guide, "Monitoring global tables"). The pair view is written every minute by
 * each Region, so each direction has a datapoint a minute while it replicates.
 * UNPUBLISHED: which Region's CloudWatch holds a direction's series (the source's, presumably). Readiness reads
 * both Regions for both directions; the simulator publishes in either (`viewLatencyIn`).
 */
export const VIEW_REPLICATION_METRIC = { namespace: 'AWS/DynamoDB', name: 'ReplicationLatency' } as const;
export const VIEW_LATENCY_REGIONS = ['source', 'receiving'] as const;
