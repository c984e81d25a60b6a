/**
 * Facts about Amazon MQ CRDR that AWS has not published, kept in one place as named constants so that the
 * adapter and the simulator agree and a correction is a one-line change.
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

/** Replication metrics (namespace AWS/AmazonMQ, dimension Broker); a switchover completes when they reach 0. */
export const REPLICATION_LAG_METRICS = ['TotalReplicationLag', 'ReplicationLag'] as const;

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
