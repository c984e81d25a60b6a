/**
 * Reads that do not grow with history: the operator API's view of a pair and its timeline pages read the same
 * bytes from DynamoDB at 100 and at 10 000 timeline entries. DynamoDB is dynalite behind a proxy that counts
 * the bytes of every answer the orchestrator's client reads.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '#cli/client.ts';
import { type Decision, initialState } from '#lib/core/model.ts';
import {
  createTable,
  type Embedded,
  LOCAL_CREDENTIALS,
  ManualClock,
  REPLICA_REGION,
  startDynalite,
  startEmbedded,
} from '#simulator/embedded.ts';
import { type DynamoFaultProxy, startDynamoFaultProxy } from '../support/dynamo-faults.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const TABLE = 'crdr-orchestrator';
let db: Awaited<ReturnType<typeof startDynalite>>;
let proxy: DynamoFaultProxy;
let e: Embedded;
let doc: DynamoDBDocumentClient;
let api: ApiClient;
let written = 0;

const decision = (i: number): Decision => ({
  at: T0 + i * 1_000,
  event: 'probe unhealthy: DescribeBroker b-9876z5y4 in the primary\u2019s Region: timed out after 3000 ms',
  action: 'COUNT_PROBE',
  reason: `primary unhealthy (${(i % 3) + 1}/3): none of 2 endpoints answered (timed out after 3000 ms)`,
  status: 'IDLE',
});

/** Grows the pair's history to `total` entries (one per version), written straight to the table. */
async function grow(total: number): Promise<void> {
  for (let start = written; start < total; start += 25) {
    const items = Array.from({ length: Math.min(25, total - start) }, (_, k) => {
      const v = start + k + 1;
      return { PutRequest: { Item: { pk: 'PAIR#orders', sk: `TL#${String(v).padStart(12, '0')}#000`, ...decision(v) } } };
    });
    await doc.send(new BatchWriteCommand({ RequestItems: { [TABLE]: items } }));
  }
  written = total;
  // The record at the newest version, with that version's decision still pending (as after any write).
  const state = { ...initialState('orders'), version: total + 1 };
  await doc.send(
    new PutCommand({
      TableName: TABLE,
      Item: { pk: 'PAIR#orders', sk: 'STATE', version: total + 1, state, pending: [decision(total + 1)] },
    }),
  );
}

async function bytesOf(call: () => Promise<unknown>): Promise<number> {
  return (await measured(call)).bytes;
}

/** What `call` answered, and how many bytes it read from DynamoDB. */
async function measured<T>(call: () => Promise<T>): Promise<{ bytes: number; value: T }> {
  const before = proxy.bytesRead;
  const value = await call();
  return { bytes: proxy.bytesRead - before, value };
}

beforeAll(async () => {
  db = await startDynalite();
  await createTable(db.endpoint, TABLE, REPLICA_REGION);
  proxy = await startDynamoFaultProxy(db.endpoint);
  e = await startEmbedded({ clock: new ManualClock(T0), env: { DYNAMODB_ENDPOINT: proxy.endpoint } });
  doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: REPLICA_REGION, endpoint: db.endpoint, credentials: LOCAL_CREDENTIALS }),
  );
  api = new ApiClient({ endpoint: e.apiEndpoint, region: REPLICA_REGION, credentials: LOCAL_CREDENTIALS, attempts: 1 });
}, 60_000);

afterAll(async () => {
  await e?.close();
  await proxy?.close();
  await db?.close();
});

describe('bounded reads', () => {
  it('GET /pairs/{id} reads at most 10 KB from DynamoDB, as much at 10 000 timeline entries as at 100', async () => {
    await grow(100);
    const small = await bytesOf(() => api.pair('orders'));
    await grow(10_000);
    const large = await bytesOf(() => api.pair('orders'));
    const view = await api.pair('orders');
    expect(view.timeline).toHaveLength(20);
    expect(view.timeline.at(-1)).toMatchObject({ at: T0 + 10_001_000 }); // the newest, pending on the record
    expect(view.timeline.map((d) => d.at)).toEqual([...view.timeline.map((d) => d.at)].sort((a, b) => a - b));
    // What reading the whole timeline (as the view once did) costs at this size, for comparison.
    const whole = await bytesOf(() => e.runtime.orchestrator.store.timeline('orders'));
    console.log(`GET /pairs/orders read ${small} bytes at 100 entries, ${large} at 10 000 (the whole timeline: ${whole})`);
    expect(large).toBeLessThanOrEqual(10 * 1024);
    expect(large).toBeLessThanOrEqual(small * 1.01); // flat: a few bytes of longer version numbers
    expect(whole).toBeGreaterThan(100 * large);
  }, 120_000);

  it('GET /timeline pages through all 10 001 entries in order, each page a bounded read; mqdr timeline follows', async () => {
    const seen: number[] = [];
    const pageBytes: number[] = [];
    let cursor: string | undefined;
    do {
      const { bytes, value: answer } = await measured(() =>
        api.timelinePage('orders', { limit: 1_000, ...(cursor ? { cursor } : {}) }),
      );
      pageBytes.push(bytes);
      seen.push(...answer.decisions.map((d) => d.at));
      cursor = answer.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(10_001);
    expect(seen).toEqual(Array.from({ length: 10_001 }, (_, i) => T0 + (i + 1) * 1_000));
    // Each page reads its 1 000 entries and the record, nothing more.
    expect(Math.max(...pageBytes)).toBeLessThan(1.1 * Math.min(...pageBytes.slice(0, -1)));
    let all = 0;
    for await (const page of api.timeline('orders', 777)) all += page.length;
    expect(all).toBe(10_001);
  }, 120_000);

  it('refuses a cursor it did not give out, and a limit out of range', async () => {
    await expect(api.timelinePage('orders', { cursor: 'bm90LWEtY3Vyc29y' })).rejects.toThrow(/not a cursor this API gave out/);
    await expect(api.timelinePage('orders', { limit: 5_000 })).rejects.toThrow(/limit/);
  });
});
