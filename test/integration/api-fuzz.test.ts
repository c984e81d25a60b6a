/**
 * Fuzz of the operator API's input validation, through the local gateway with valid SigV4 signatures so that
 * every request reaches the handler: whatever the method, path, query, headers and body, the answer is a
 * result or a 4xx JSON error naming what is wrong, never a 5xx and never internals; only a 202 promotes; and
 * the pair still answers a valid request afterwards.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '#cli/client.ts';
import { type Embedded, LOCAL_CREDENTIALS, ManualClock, REPLICA_REGION, startEmbedded } from '#simulator/embedded.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
let e: Embedded;
beforeAll(async () => {
  // A long backlog keeps a started switchover in flight, so that later requests meet an operation too.
  e = await startEmbedded({ clock: new ManualClock(T0), pair: { backlog: 1_000_000, drainRate: 1, produceRate: 0 } });
});
afterAll(async () => {
  await e?.close();
});

const signer = new SignatureV4({
  credentials: LOCAL_CREDENTIALS,
  region: REPLICA_REGION,
  service: 'execute-api',
  sha256: Sha256,
});
const printable = (max: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${max}}$`));

const segment = fc.oneof(
  fc.constantFrom(
    'pairs',
    'orders',
    'payments',
    'switchover',
    'failover',
    'hold',
    'release',
    'timeline',
    '..',
    '%2e%2e',
    'ORDERS',
  ),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);
const path = fc.oneof(
  fc.constantFrom(
    '/pairs',
    '/pairs/orders',
    '/pairs/orders/timeline',
    '/pairs/orders/switchover',
    '/pairs/orders/failover',
    '/pairs/orders/hold',
    '/pairs/orders/release',
  ),
  fc.array(segment, { maxLength: 4 }).map((s) => `/${s.join('/')}`),
);
const body = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        reason: fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.constant(null)),
        dryRun: fc.oneof(fc.boolean(), fc.string({ maxLength: 3 })),
        confirm: fc.oneof(fc.constant('orders'), fc.string({ maxLength: 8 }), fc.boolean()),
        force: fc.boolean(),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 40 }),
  fc.integer({ min: 16_000, max: 40_000 }).map((n) => JSON.stringify({ reason: 'x'.repeat(n) })),
);
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
  path,
  query: fc.dictionary(fc.constantFrom('lagMinutes', 'verbose', 'x'), printable(8), { maxKeys: 2 }),
  contentType: fc.option(fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/xml')),
  key: fc.option(printable(70)),
  body,
});
type Fuzzed = typeof request extends fc.Arbitrary<infer T> ? T : never;

async function send(r: Fuzzed): Promise<{ status: number; text: string }> {
  const url = new URL(e.apiEndpoint);
  // Sign the path as fetch sends it: the URL parser resolves dot segments such as /%2e%2e.
  const sentPath = new URL(`${url.origin}${r.path}`).pathname;
  const withBody = r.method !== 'GET';
  const signed = await signer.sign(
    new HttpRequest({
      method: r.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: sentPath,
      query: r.query,
      headers: {
        host: url.host,
        ...(r.contentType ? { 'content-type': r.contentType } : {}),
        ...(r.key !== null ? { 'idempotency-key': r.key } : {}),
      },
      ...(withBody ? { body: r.body } : {}),
    }),
  );
  const qs = new URLSearchParams(r.query).toString();
  const res = await fetch(`${url.origin}${sentPath}${qs ? `?${qs}` : ''}`, {
    method: r.method,
    headers: signed.headers,
    ...(withBody ? { body: r.body } : {}),
  });
  return { status: res.status, text: await res.text() };
}

describe('operator API: input fuzz', () => {
  it('answers any signed request with a result or a clear 4xx, never a 5xx; only a 202 promotes', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const before = e.world.promoteLog.length;
        const { status, text } = await send(r);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        expect([200, 202, 400, 404, 409, 413, 415, 422], `${status} ${text}`).toContain(status);
        const parsed = JSON.parse(text) as { error?: unknown; message?: unknown };
        if (status >= 400) {
          expect(typeof parsed.error).toBe('string');
          expect(typeof parsed.message).toBe('string');
          expect(String(parsed.message).length).toBeGreaterThan(10);
        }
        expect(text).not.toMatch(/node_modules|\.ts:\d+|\n\s+at |x{200}/);
        if (status !== 202) expect(e.world.promoteLog.length).toBe(before);
      }),
      { numRuns: 300 },
    );
    // Most generated requests are wrong in some way; the valid ones must have got through too.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    expect((statuses.get(200) ?? 0) + (statuses.get(202) ?? 0) + (statuses.get(409) ?? 0)).toBeGreaterThan(0);

    const api = new ApiClient({ endpoint: e.apiEndpoint, region: REPLICA_REGION, credentials: LOCAL_CREDENTIALS });
    const view = await api.pair('orders');
    expect(view.local.role).toBe('REPLICA');
  });

  it('refuses every unsigned or wrongly signed request with 403 before the handler runs', async () => {
    await fc.assert(
      fc.asyncProperty(request, printable(60), async (r, authorization) => {
        const qs = new URLSearchParams(r.query).toString();
        const res = await fetch(`${e.apiEndpoint}${r.path}${qs ? `?${qs}` : ''}`, {
          method: r.method,
          headers: { ...(authorization ? { authorization } : {}), ...(r.contentType ? { 'content-type': r.contentType } : {}) },
          ...(r.method !== 'GET' ? { body: r.body } : {}),
        });
        expect(res.status).toBe(403);
        await res.text();
      }),
      { numRuns: 100 },
    );
    expect(e.world.promoteLog.every((p) => p.mode === 'SWITCHOVER' || p.mode === 'FAILOVER')).toBe(true);
  });
});
