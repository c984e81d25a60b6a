import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, lambdaContext, startDynalite } from '../../../simulator/embedded.ts';
import {
  createDedupTable,
  DedupInputError,
  DedupStore,
  DedupTableNotFoundError,
  forEachMessage,
  MessagesNotProcessedError,
  type MqEvent,
  type MqMessage,
  mqDedup,
  processBatch,
  processOnce,
} from '../src/index.ts';

let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let client: DynamoDBClient;
const TABLE = 'dedup';
let groupSeq = 0;

/** A store on a fresh group, so tests never see each other's records. */
const storeFor = (options: { region?: string; leaseSeconds?: number; now?: () => number; retentionSeconds?: number } = {}) =>
  new DedupStore({ client, tableName: TABLE, group: `g${++groupSeq}`, region: options.region ?? 'us-east-1', ...options });

beforeAll(async () => {
  dynamo = await startDynalite();
  client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS });
  await createDedupTable(client, TABLE);
});
afterAll(async () => {
  client.destroy();
  await dynamo.close();
});

describe('DedupStore', () => {
  it('claims a new message once; a second claim sees it in progress, then a duplicate once completed', async () => {
    const store = storeFor();
    const first = await store.claim('ID:1');
    expect(first.outcome).toBe('claimed');
    const second = await store.claim('ID:1');
    expect(second).toMatchObject({ outcome: 'in-progress', region: 'us-east-1' });
    if (first.outcome !== 'claimed') throw new Error('unreachable');
    await store.complete([{ messageId: 'ID:1', token: first.token }]);
    expect(await store.claim('ID:1')).toMatchObject({ outcome: 'duplicate', region: 'us-east-1' });
    expect(await store.lookup('ID:1')).toMatchObject({ status: 'COMPLETED', region: 'us-east-1' });
  });

  it('lets a claim be taken over once its lease has expired (a crashed consumer)', async () => {
    let now = 1_000_000;
    const store = storeFor({ leaseSeconds: 30, now: () => now });
    expect((await store.claim('ID:crash')).outcome).toBe('claimed');
    now += 29_000;
    expect((await store.claim('ID:crash')).outcome).toBe('in-progress');
    now += 2_000;
    expect((await store.claim('ID:crash')).outcome).toBe('claimed');
  });

  it('releases only its own claim', async () => {
    const store = storeFor();
    const claim = await store.claim('ID:r');
    if (claim.outcome !== 'claimed') throw new Error('expected a claim');
    await store.release({ messageId: 'ID:r', token: 'someone-else' });
    expect((await store.claim('ID:r')).outcome).toBe('in-progress');
    await store.release({ messageId: 'ID:r', token: claim.token });
    expect((await store.claim('ID:r')).outcome).toBe('claimed');
  });

  it('finds the processed IDs among 250 (three BatchGetItem requests) and ignores other groups', async () => {
    const store = storeFor();
    const other = storeFor();
    const ids = Array.from({ length: 250 }, (_, i) => `ID:${i}`);
    const done = ids.filter((_, i) => i % 5 === 0);
    for (const id of done) {
      const c = await store.claim(id);
      if (c.outcome === 'claimed') await store.complete([{ messageId: id, token: c.token }]);
    }
    const inProgress = await store.claim('ID:1');
    expect(inProgress.outcome).toBe('claimed');
    expect([...(await store.processed([...ids, ...ids]))].sort()).toEqual([...done].sort());
    expect((await other.processed(ids)).size).toBe(0);
  });

  it('records the Region and a TTL of the configured retention', async () => {
    const now = Date.UTC(2026, 10, 23);
    const store = storeFor({ region: 'us-west-2', retentionSeconds: 3600, now: () => now });
    await processOnce(store, 'ID:ttl', async () => undefined);
    expect(await store.lookup('ID:ttl')).toMatchObject({ region: 'us-west-2', processedAt: now, expiresAt: now / 1000 + 3600 });
  });

  it('purges expired records (the MRSC retention job) and keeps live ones', async () => {
    let now = Date.UTC(2026, 0, 1);
    const store = storeFor({ retentionSeconds: 60, now: () => now });
    for (const id of ['old-1', 'old-2']) await processOnce(store, id, async () => undefined);
    now += 120_000;
    await processOnce(store, 'new', async () => undefined);
    expect(await store.purgeExpired()).toBe(2);
    expect(await store.lookup('old-1')).toBeUndefined();
    expect(await store.lookup('new')).toBeDefined();
  });

  it.each([
    ['an empty ID', '', /empty/],
    ['an ID over 1024 bytes', 'é'.repeat(600), /1200 bytes, over the 1024-byte limit/],
  ])('rejects %s before writing anything', async (_, id, message) => {
    const store = storeFor();
    await expect(store.claim(id)).rejects.toThrow(message);
    await expect(store.claim(id)).rejects.toBeInstanceOf(DedupInputError);
  });

  it('rejects a consumer group that would make keys ambiguous', () => {
    expect(() => new DedupStore({ client, tableName: TABLE, group: 'a#b', region: 'us-east-1' })).toThrow(/consumer group "a#b"/);
  });

  it('says which table is missing and where', async () => {
    const store = new DedupStore({ client, tableName: 'nope', group: 'g', region: 'us-east-1' });
    await expect(store.claim('x')).rejects.toBeInstanceOf(DedupTableNotFoundError);
    await expect(store.processed(['x'])).rejects.toThrow(/dedup table nope was not found in us-east-1/);
  });
});

describe('processOnce', () => {
  it('runs the handler once; a failure releases the claim and the next delivery runs it again', async () => {
    const store = storeFor();
    let runs = 0;
    await expect(
      processOnce(store, 'ID:f', async () => {
        runs++;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await processOnce(store, 'ID:f', async () => ++runs)).toEqual({ status: 'processed', result: 2 });
    expect(await processOnce(store, 'ID:f', async () => ++runs)).toEqual({ status: 'duplicate', region: 'us-east-1' });
    expect(runs).toBe(2);
  });
});

describe('processBatch', () => {
  it('processes each new message once, skips processed ones, and isolates a failure', async () => {
    const store = storeFor();
    const messages = Array.from({ length: 60 }, (_, i) => ({ id: `m-${i}` }));
    await processBatch(store, messages.slice(0, 12), async () => undefined, { idOf: (m) => m.id });
    const seen: string[] = [];
    const results = await processBatch(
      store,
      [...messages, messages[30] as { id: string }, { id: '' }],
      async (m) => {
        seen.push(m.id);
        if (m.id === 'm-40') throw new Error('bad order');
      },
      { idOf: (m) => m.id, concurrency: 4 },
    );
    const byStatus = (s: string) => results.filter((r) => r.outcome.status === s).map((r) => r.messageId);
    // 12 processed earlier, plus the second copy of m-30 within the batch
    expect(byStatus('duplicate')).toHaveLength(13);
    expect(byStatus('failed')).toEqual(['m-40', '']);
    expect(byStatus('processed')).toHaveLength(47);
    expect(seen.sort()).toEqual(
      messages
        .slice(12)
        .map((m) => m.id)
        .sort(),
    );
    // the failed message was released: the redelivery processes it
    const retry = await processBatch(store, [{ id: 'm-40' }, { id: 'm-41' }], async () => 'ok', { idOf: (m) => m.id });
    expect(retry.map((r) => r.outcome.status)).toEqual(['processed', 'duplicate']);
  });
});

describe('mqDedup middleware', () => {
  const message = (n: number, properties?: Record<string, string>): MqMessage => ({
    messageID: `ID:b-1.mq.us-east-1.amazonaws.com-1:1:1:1:${n}`,
    messageType: 'jms/text-message',
    data: Buffer.from(`order ${n}`).toString('base64'),
    redelivered: false,
    destination: { physicalName: 'orders' },
    timestamp: 1_763_856_000_000,
    ...(properties ? { properties } : {}),
  });
  const event = (messages: MqMessage[]): MqEvent => ({
    eventSource: 'aws:mq',
    eventSourceArn: 'arn:aws:mq:us-east-1:123456789012:broker:orders:b-1',
    messages,
  });

  it('skips processed messages, marks the rest, and on a partial failure fails the invocation for that one only', async () => {
    const store = storeFor();
    const handled: string[] = [];
    const handler = middy(async (e: MqEvent) =>
      forEachMessage(e.messages, async (m) => {
        handled.push(m.messageID);
        if (m.messageID.endsWith(':3') && handled.filter((h) => h === m.messageID).length === 1)
          throw new Error('downstream timeout');
      }),
    ).use(mqDedup({ store }));
    const batch = event([1, 2, 3, 4].map((n) => message(n)));

    await expect(handler(batch, lambdaContext('consumer'))).rejects.toBeInstanceOf(MessagesNotProcessedError);
    expect(handled).toHaveLength(4);
    // Lambda redelivers the whole batch: only the failed message runs again
    await expect(handler(batch, lambdaContext('consumer'))).resolves.toEqual({ batchItemFailures: [] });
    expect(handled.filter((h) => h.endsWith(':3'))).toHaveLength(2);
    expect(handled).toHaveLength(5);
    // and a third delivery runs nothing
    await handler(batch, lambdaContext('consumer'));
    expect(handled).toHaveLength(5);
  });

  it('uses the dedupId property so a re-published copy with a new broker ID is recognised', async () => {
    const store = storeFor();
    let runs = 0;
    const handler = middy(async (e: MqEvent) => forEachMessage(e.messages, async () => void runs++)).use(mqDedup({ store }));
    await handler(event([message(1, { dedupId: 'order-1' })]), lambdaContext('consumer'));
    await handler(event([message(99, { dedupId: 'order-1' })]), lambdaContext('consumer'));
    expect(runs).toBe(1);
  });

  it('releases every claim when the handler throws, so nothing is lost', async () => {
    const store = storeFor();
    const handler = middy(async () => {
      throw new Error('crash');
    }).use(mqDedup({ store }));
    const batch = event([message(1), message(2)]);
    await expect(handler(batch, lambdaContext('consumer'))).rejects.toThrow('crash');
    expect((await store.claim(batch.messages[0]?.messageID as string)).outcome).toBe('claimed');
  });

  it('rejects an event that is not from Amazon MQ with the field at fault', async () => {
    const handler = middy(async () => ({ batchItemFailures: [] })).use(mqDedup({ store: storeFor() }));
    await expect(handler({ eventSource: 'aws:sqs', Records: [] } as never, lambdaContext('consumer'))).rejects.toThrow(
      /not an Amazon MQ event: eventSource/,
    );
  });
});
