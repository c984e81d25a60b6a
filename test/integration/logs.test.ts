/**
 * No secrets and no message bodies in the logs: everything the handlers, the API and the dedup SDK write to
 * stdout and stderr while they are fed a caller's secret key, request bodies and message bodies carrying
 * markers, including on the paths that fail and log the most.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '#cli/client.ts';
import { createDedupTable, DedupStore, forEachMessage, type MqEvent, mqDedup } from '#dedup/index.ts';
import {
  alarmStateChangeEvent,
  LOCAL_CREDENTIALS,
  lambdaContext,
  ManualClock,
  REPLICA_REGION,
  startEmbedded,
} from '#simulator/embedded.ts';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzSECRETzKEY';
const BODY_MARKER = 'BODY-MARKER-7f3a';
const MESSAGE_MARKER = 'MESSAGE-BODY-91c2';

let written: string[] = [];
beforeEach(() => {
  written = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return write(chunk);
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
});

const leaks = (text: string) =>
  [SECRET, 'Signature=', BODY_MARKER, MESSAGE_MARKER, Buffer.from(MESSAGE_MARKER).toString('base64')].filter((s) =>
    text.includes(s),
  );

describe('logs', () => {
  it('carry no credentials, signatures or request bodies from the API and the handlers', async () => {
    const e = await startEmbedded({
      clock: new ManualClock(Date.parse('2026-11-23T09:00:00Z')),
      users: { AKIDOPERATOR: { secretAccessKey: SECRET, userArn: 'arn:aws:iam::123456789012:user/oncall' } },
      pair: { backlog: 50_000, drainRate: 10 },
    });
    try {
      const api = new ApiClient({
        endpoint: e.apiEndpoint,
        region: REPLICA_REGION,
        credentials: { accessKeyId: 'AKIDOPERATOR', secretAccessKey: SECRET },
        attempts: 1,
      });
      await api.request('SWITCHOVER', 'orders', { reason: `planned test ${BODY_MARKER}`.slice(0, 12) });
      // Rejected bodies are the ones that get logged: malformed JSON, bad values, a bad confirmation. (A
      // rejection names an unknown field, so that the caller can fix it; it never quotes a value.)
      await expect(api.call('POST', '/pairs/orders/hold', undefined)).rejects.toThrow();
      const rejected = [
        { reason: 'abc', force: BODY_MARKER },
        { reason: 'abc', confirm: BODY_MARKER },
        { reason: 'abc', confirm: 'orders', dryRun: BODY_MARKER },
        { reason: BODY_MARKER.repeat(40), confirm: 'orders' },
      ];
      for (const body of rejected) {
        await expect(api.request('FAILOVER', 'orders', body)).rejects.toThrow();
      }
      const malformed = await fetchSigned(e.apiEndpoint, `{"reason": "${BODY_MARKER}`);
      expect(malformed.status).toBe(400);
      expect(malformed.text).not.toContain(BODY_MARKER);
      await e.invoke.onAlarm(alarmStateChangeEvent('orders-replication-lag', 'ALARM', 'OK', Date.now()));
      await expect(e.invoke.onAlarm({ detail: { secret: BODY_MARKER } })).rejects.toThrow();
    } finally {
      await e.close();
    }
    const text = written.join('');
    expect(text).toContain('request rejected'); // the rejections above were logged: the check has teeth
    expect(leaks(text)).toEqual([]);
  });

  it('carry no message bodies from the dedup SDK, also when the handler fails', async () => {
    const { startDynalite } = await import('#simulator/embedded.ts');
    const db = await startDynalite();
    const client = new DynamoDBClient({ region: 'us-east-1', endpoint: db.endpoint, credentials: LOCAL_CREDENTIALS });
    try {
      await createDedupTable(client, 'dedup');
      const store = new DedupStore({ client, tableName: 'dedup', group: 'logs', region: 'us-east-1' });
      const handler = middy(async (event: MqEvent) =>
        forEachMessage(event.messages, async () => {
          throw new Error('downstream timeout');
        }),
      ).use(mqDedup({ store }));
      const event: MqEvent = {
        eventSource: 'aws:mq',
        eventSourceArn: 'arn:aws:mq:us-east-1:123456789012:broker:orders:b-1',
        messages: [
          {
            messageID: 'ID:b-1-1:1:1:1:1',
            messageType: 'jms/text-message',
            data: Buffer.from(MESSAGE_MARKER).toString('base64'),
            redelivered: false,
            destination: { physicalName: 'orders' },
            timestamp: 1_763_856_000_000,
          },
        ],
      };
      const failure = await handler(event, lambdaContext('consumer')).catch((error: Error) => error);
      expect(String(failure)).toContain('not processed');
      expect(leaks(String(failure))).toEqual([]);
    } finally {
      client.destroy();
      await db.close();
    }
    expect(leaks(written.join(''))).toEqual([]);
  });
});

async function fetchSigned(endpoint: string, body: string): Promise<{ status: number; text: string }> {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { HttpRequest } = await import('@smithy/protocol-http');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const url = new URL(`${endpoint}/pairs/orders/switchover`);
  const signer = new SignatureV4({
    credentials: { accessKeyId: 'AKIDOPERATOR', secretAccessKey: SECRET },
    region: REPLICA_REGION,
    service: 'execute-api',
    sha256: Sha256,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      headers: { host: url.host, 'content-type': 'application/json' },
      body,
    }),
  );
  const res = await fetch(url, { method: 'POST', headers: signed.headers, body });
  return { status: res.status, text: await res.text() };
}
