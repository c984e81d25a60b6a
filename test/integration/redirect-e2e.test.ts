/**
 * Client redirection end to end: two real ActiveMQ brokers stand for the pair's brokers (the simulator reports
 * their STOMP ports as the brokers' endpoints), a consumer of the dedup SDK follows the SSM parameter, and the
 * real handlers fail the pair over. The consumer must end up on the new primary with no message lost or
 * processed twice, moving only once the orchestrator has seen the promotion complete.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  connectStomp,
  createDedupTable,
  DedupStore,
  describeEndpoint,
  publishConfirmed,
  SsmBrokerUrl,
  sleep,
  startFollowingConsumer,
} from '#lib/dedup/index.ts';
import {
  alarmStateChangeEvent,
  type Embedded,
  LOCAL_CREDENTIALS,
  ManualClock,
  PRIMARY_REGION,
  REPLICA_REGION,
  startEmbedded,
} from '#simulator/embedded.ts';
import { type LocalBroker, startActiveMq } from '../support/activemq.ts';

const PARAMETER = '/mq-crdr/orders/broker-url';
let east: LocalBroker;
let west: LocalBroker;
let e: Embedded;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  [east, west] = await Promise.all([startActiveMq('redirect-east'), startActiveMq('redirect-west')]);
  e = await startEmbedded({
    clock: new ManualClock(Date.parse('2026-11-23T09:00:00Z')),
    env: { REDIRECT_PROTOCOL: 'stomp' },
    pair: { backlog: 0, produceRate: 0 },
  });
  e.world.setExternalEndpoints(e.primary.id, [`stomp://127.0.0.1:${east.stomp.port}`]);
  e.world.setExternalEndpoints(e.replica.id, [`stomp://127.0.0.1:${west.stomp.port}`]);
  dynamo = new DynamoDBClient({ region: REPLICA_REGION, endpoint: e.dynamodbEndpoint, credentials: LOCAL_CREDENTIALS });
  await createDedupTable(dynamo, 'dedup');
}, 120_000);

afterAll(async () => {
  dynamo?.destroy();
  await Promise.allSettled([east?.stop(), west?.stop(), e?.close()]);
});

async function publish(broker: LocalBroker, ids: string[]): Promise<void> {
  const client = await connectStomp(broker.stomp);
  for (const id of ids) await publishConfirmed(client, { destination: '/queue/orders', body: id, headers: { dedupId: id } });
  await client.deactivate();
}

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

it('a consumer following the SSM parameter moves to the new primary after a failover, losing and repeating nothing', async () => {
  const ssm = new SSMClient({ region: REPLICA_REGION, endpoint: e.simulator.endpoint, credentials: LOCAL_CREDENTIALS });
  // Set up once by the operator: the parameter names the current primary.
  await ssm.send(
    new PutParameterCommand({ Name: PARAMETER, Value: `failover:(stomp://127.0.0.1:${east.stomp.port})`, Type: 'String' }),
  );
  const processed: string[] = [];
  const moves: string[] = [];
  const consumer = await startFollowingConsumer({
    source: new SsmBrokerUrl(ssm, PARAMETER),
    pollMs: 100,
    destination: '/queue/orders',
    store: new DedupStore({ client: dynamo, tableName: 'dedup', group: 'fulfilment', region: REPLICA_REGION }),
    handler: async (message) => {
      processed.push(message.body);
    },
    onMove: (from, to) => moves.push(`${from} -> ${to}`),
  });
  try {
    expect(consumer.endpoint).toBe(describeEndpoint(east.stomp));
    const before = Array.from({ length: 20 }, (_, i) => `before-${i}`);
    await publish(east, before);
    await until(() => processed.length === 20, '20 messages from the old primary');

    // The replication-lag alarm starts a switchover; with no backlog it completes at once and clients are redirected.
    const alarm = alarmStateChangeEvent('orders-replication-lag', 'ALARM', 'OK', e.runtime.orchestrator.clock.now());
    const handled = await e.invoke.onAlarm(alarm);
    expect(handled.decisions.map((d) => d.action)).toEqual([
      'START_SWITCHOVER',
      'COMPLETE',
      'REDIRECT_CLIENTS',
      'IGNORE', // Promote's acceptance, recorded after the completion it led to
      'CLIENTS_REDIRECTED',
    ]);
    expect(handled.decisions.at(-1)?.reason).toContain(`failover:(stomp://127.0.0.1:${west.stomp.port}) (stomp)`);
    expect(e.world.roles(e.pairName).primary.id).toBe(e.replica.id);

    const after = Array.from({ length: 20 }, (_, i) => `after-${i}`);
    await publish(west, after);
    await until(() => processed.length === 40, '20 messages from the new primary');
    expect(moves).toEqual([`${describeEndpoint(east.stomp)} -> ${describeEndpoint(west.stomp)}`]);
    expect(consumer.endpoint).toBe(describeEndpoint(west.stomp));
    expect(processed.sort()).toEqual([...before, ...after].sort());
    expect(consumer.counts).toMatchObject({ processed: 40, duplicate: 0, failed: 0 });
    expect(e.world.getParameter(PRIMARY_REGION, PARAMETER)?.value).toBe(`failover:(stomp://127.0.0.1:${west.stomp.port})`);
  } finally {
    await consumer.stop();
    ssm.destroy();
  }
}, 60_000);
