/**
 * One consumer process of the end-to-end test: consumes a queue through the dedup SDK and appends each processed
 * message to a sink file (the side effect whose count proves exactly-once). It can be told to die by SIGKILL at
 * one of the SDK's crash points:
 *   before-claim   message received, nothing recorded
 *   after-claim    claim written, side effect not yet done
 *   before-ack     side effect done and recorded processed, ack not yet sent
 * CRASH_AT=<point>:<n> kills it at that point of its n-th message; SIGUSR2 (the Region going down) kills it at
 * the next crash point it reaches. SIGTERM stops it cleanly.
 */
import { appendFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DedupStore, startStompConsumer, stompMessageId } from '../src/index.ts';
import { sleep } from '../src/store.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const region = env('REGION');
const sink = env('SINK');
const [crashPoint, crashAtText] = (process.env.CRASH_AT ?? 'none:0').split(':');
const crashAt = Number(crashAtText);
let seen = 0;
let regionDown = false;
process.on('SIGUSR2', () => {
  regionDown = true;
});

const crashPointReached = (point: string, nth: number) => {
  if (regionDown || (point === crashPoint && nth === crashAt)) process.kill(process.pid, 'SIGKILL');
};

const client = new DynamoDBClient({
  region,
  endpoint: env('DDB_ENDPOINT'),
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const store = new DedupStore({
  client,
  tableName: env('TABLE'),
  group: env('GROUP'),
  region,
  leaseSeconds: Number(env('LEASE_SECONDS')),
});
const nth = new WeakMap<object, number>();

const consumer = await startStompConsumer({
  endpoint: { host: '127.0.0.1', port: Number(env('STOMP_PORT')), tls: false },
  destination: `/queue/${env('QUEUE')}`,
  store,
  // One message at a time: with more, a SIGKILL at one message's crash point can also catch another between its
  // side effect and its completion, the window no store can close (docs/dedup.md), and it runs again after the lease.
  prefetch: 1,
  idOf: (message) => {
    nth.set(message, ++seen);
    crashPointReached('before-claim', seen);
    return stompMessageId(message);
  },
  handler: async (message) => {
    crashPointReached('after-claim', nth.get(message) ?? 0);
    await sleep(Number(process.env.WORK_MS ?? 0)); // the work itself
    appendFileSync(sink, `${stompMessageId(message)} ${region} ${process.pid}\n`);
  },
  onSettled: (message) => crashPointReached('before-ack', nth.get(message) ?? 0),
});
process.send?.('ready');

process.on('SIGTERM', () => {
  consumer.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
