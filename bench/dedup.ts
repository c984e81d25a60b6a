/**
 * npm run bench:dedup — the same workload through our dedup SDK and through Powertools idempotency (the baseline),
 * side by side on one in-process dynalite, alternating rounds so both see the same machine state.
 *
 * Workload: batches of 100 Amazon MQ messages, 20 % of each batch processed before (seeded, not timed), several
 * consumers taking batches concurrently, a handler that does no work (so the figures are the dedup cost alone).
 * Requests are counted on the wire, at dynalite, by X-Amz-Target.
 */
import type { AddressInfo } from 'node:net';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createDedupTable, DedupStore, type MqMessage, processBatch } from '#dedup/index.ts';
import { mapLimit } from '#dedup/process.ts';
import { LOCAL_CREDENTIALS, lambdaContext } from '#simulator/embedded.ts';

const BATCH = 100;
const ALREADY_PROCESSED = 0.2;
const CONSUMERS = Number(process.env.BENCH_CONSUMERS ?? 4);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 30);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = 16; // messages of a batch in flight, for both
const credentials = LOCAL_CREDENTIALS;

const server = dynalite({ createTableMs: 0 });
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const requests = new Map<string, number>();
server.on('request', (req: { headers: Record<string, string | undefined> }) => {
  const op = (req.headers['x-amz-target'] ?? '?').split('.').pop() as string;
  requests.set(op, (requests.get(op) ?? 0) + 1);
});

const client = new DynamoDBClient({ region: 'us-east-1', endpoint, credentials });
await createDedupTable(client, 'dedup');
await client.send(
  new CreateTableCommand({
    TableName: 'powertools',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }),
);

interface System {
  name: string;
  /** Process one batch; returns after every message is settled. */
  batch(messages: MqMessage[], handler: (m: MqMessage) => Promise<void>): Promise<void>;
}

const ours: System = {
  name: 'dedup SDK (ours)',
  async batch(messages, handler) {
    const store = new DedupStore({ client, tableName: 'dedup', group: 'bench', region: 'us-east-1' });
    await processBatch(store, messages, handler, { idOf: (m) => m.messageID, concurrency: CONCURRENCY });
  },
};

const powertools: System = {
  name: 'Powertools idempotency',
  async batch(messages, handler) {
    const config = new IdempotencyConfig({ eventKeyJmesPath: 'messageID' });
    config.registerLambdaContext(lambdaContext('bench')); // as in a Lambda handler; unregistered, it warns per call
    const process = makeIdempotent(handler, {
      persistenceStore: new DynamoDBPersistenceLayer({ tableName: 'powertools', awsSdkV3Client: client }),
      config,
    });
    await mapLimit(messages, CONCURRENCY, async (m) => {
      await process(m);
    });
  },
};

const message = (id: string): MqMessage => ({
  messageID: id,
  messageType: 'jms/text-message',
  data: Buffer.from(JSON.stringify({ order: id })).toString('base64'),
  destination: { physicalName: 'orders' },
});

interface Figures {
  messagesPerSecond: number;
  requestsPerMessage: number;
  readsPer100Messages: number;
  readsPerProcessedBefore: number;
  handlerRuns: number;
  expectedRuns: number;
}

async function round(system: System, tag: string): Promise<Figures> {
  const batches = Array.from({ length: BATCHES }, (_, b) => Array.from({ length: BATCH }, (_, i) => message(`${tag}-${b}-${i}`)));
  const processedBefore = batches.flatMap((batch) => batch.filter((_, i) => i % (1 / ALREADY_PROCESSED) === 0));
  await system.batch(processedBefore, async () => undefined); // the seed: not timed, not counted

  requests.clear();
  let runs = 0;
  const handler = async () => {
    runs++;
  };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONSUMERS }, async () => {
      while (next < batches.length) await system.batch(batches[next++] as MqMessage[], handler);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const total = BATCHES * BATCH;
  const all = [...requests.values()].reduce((a, b) => a + b, 0);
  const reads = (requests.get('BatchGetItem') ?? 0) + (requests.get('GetItem') ?? 0);
  return {
    messagesPerSecond: total / seconds,
    requestsPerMessage: all / total,
    readsPer100Messages: (reads / total) * 100,
    readsPerProcessedBefore: reads / processedBefore.length,
    handlerRuns: runs,
    expectedRuns: total - processedBefore.length,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const results = new Map<System, Figures[]>([
  [powertools, []],
  [ours, []],
]);
// Warm-up (JIT, connections), then alternate: P, O, P, O …
await round(powertools, 'warm-p');
await round(ours, 'warm-o');
for (let r = 0; r < ROUNDS; r++) {
  for (const system of [powertools, ours]) results.get(system)?.push(await round(system, `r${r}-${system === ours ? 'o' : 'p'}`));
}

const summary = (system: System) => {
  const runs = results.get(system) as Figures[];
  const pick = (k: keyof Figures) => median(runs.map((f) => f[k]));
  return {
    system: system.name,
    'msgs/s (median)': Math.round(pick('messagesPerSecond')),
    'requests/msg': +pick('requestsPerMessage').toFixed(3),
    'reads/100 msgs': +pick('readsPer100Messages').toFixed(2),
    'reads/processed-before msg': +pick('readsPerProcessedBefore').toFixed(3),
    'handler runs': `${pick('handlerRuns')} of ${pick('expectedRuns')} expected`,
  };
};
const [base, mine] = [summary(powertools), summary(ours)];
console.log(
  `\nbench:dedup: ${BATCHES} batches × ${BATCH} messages, ${ALREADY_PROCESSED * 100} % processed before, ${CONSUMERS} concurrent consumers, ` +
    `${CONCURRENCY} messages in flight each, ${ROUNDS} alternating rounds on dynalite (requests counted at the server)\n`,
);
console.table([base, mine]);
const speedup = mine['msgs/s (median)'] / base['msgs/s (median)'];
const fewer = base['requests/msg'] / mine['requests/msg'];
console.log(`throughput ratio (ours / Powertools): ${speedup.toFixed(2)}x   target >= 2x: ${speedup >= 2 ? 'met' : 'NOT MET'}`);
console.log(`DynamoDB requests per message: ${fewer.toFixed(2)}x fewer`);
console.log(
  `reads: ${mine['reads/100 msgs']} per 100 messages looked up (one BatchGetItem per batch)   target <= 1: ${mine['reads/100 msgs'] <= 1 ? 'met' : 'NOT MET'}`,
);
for (const s of [base, mine]) {
  const [ran, expected] = s['handler runs'].split(' of ').map((x) => Number.parseInt(x, 10));
  if (ran !== expected) console.log(`WRONG: ${s.system} ran the handler ${ran} times, expected ${expected}`);
}
console.log(
  'note: dynalite does not return the item with a refused conditional write, so each duplicate costs Powertools a ' +
    'PutItem plus a GetItem here; on DynamoDB it is the PutItem alone.',
);
client.destroy();
server.close();
