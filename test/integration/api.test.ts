/**
 * The operator API over HTTP: the ApiClient signs with SigV4, the local gateway verifies the signature as IAM
 * authorization does and invokes the real `api` handler, which runs the core against the simulator and
 * dynalite. Notifications go through the real SNS client to the simulator.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '#cli/client.ts';
import { errorResponse } from '#functions/api.ts';
import { StoreError } from '#lib/errors.ts';
import { type Embedded, LOCAL_CREDENTIALS, ManualClock, REPLICA_REGION, startEmbedded } from '#simulator/embedded.ts';

const T0 = Date.parse('2026-11-23T09:00:00Z');
let env: Embedded | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function start(pair: { produceRate?: number; drainRate?: number; backlog?: number } = {}) {
  const clock = new ManualClock(T0);
  env = await startEmbedded({ clock, env: { DEADLINE_SECONDS: '300' }, pair });
  const api = new ApiClient({ endpoint: env.apiEndpoint, region: REPLICA_REGION, credentials: LOCAL_CREDENTIALS });
  return { e: env, clock, api };
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the API to reject the request');
    },
    (error: unknown) => {
      if (!(error instanceof ApiError)) throw error;
      return { status: error.status, code: error.code, message: error.message };
    },
  );

describe('operator API: authentication (IAM, SigV4)', () => {
  it('rejects unsigned requests, unknown access keys and wrong signatures with 403, as API Gateway does', async () => {
    const { e } = await start();
    const unsigned = await fetch(`${e.apiEndpoint}/pairs`);
    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toEqual({ message: 'Forbidden' });

    const unknown = new ApiClient({
      endpoint: e.apiEndpoint,
      region: REPLICA_REGION,
      credentials: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' },
    });
    expect(await rejection(unknown.pairs())).toMatchObject({ status: 403, message: expect.stringContaining('token') });

    const wrongSecret = new ApiClient({
      endpoint: e.apiEndpoint,
      region: REPLICA_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'not-the-secret' },
    });
    expect(await rejection(wrongSecret.pairs())).toMatchObject({ status: 403, message: expect.stringContaining('signature') });
    expect(e.world.promoteLog).toEqual([]);
  });
});

describe('operator API: the pair at a glance', () => {
  it('shows roles, broker states, the CRDR series from CloudWatch in their units, and no operation', async () => {
    const { e, clock, api } = await start({ produceRate: 100, drainRate: 200 });
    e.world.setPartitioned(true); // the queue builds up at 100 events/s
    for (let i = 0; i < 30; i++) {
      clock.advance(10_000);
      e.world.sync();
    }
    const view = await api.pair('orders', 10);
    expect(view.local).toMatchObject({ brokerId: e.replica.id, region: REPLICA_REGION, role: 'REPLICA', brokerState: 'REPLICA' });
    expect(view.remote).toMatchObject({ brokerId: e.primary.id, role: 'PRIMARY', brokerState: 'RUNNING' });
    expect(view.replication.errors).toEqual([]);
    // What a failover now would leave: the primary's last datapoint (a minute's Maximum), with its age.
    expect(view.replication.failoverNow).toMatchObject({ events: 30_000 });
    expect(view.replication.failoverNow.ageMs).toBeLessThanOrEqual(60_000);
    expect(view.replication.points.length).toBeGreaterThanOrEqual(5);
    expect(view.replication.points.every((p) => !p.local)).toBe(true); // only the primary publishes
    const values = view.replication.points.map((p) => p.events ?? 0);
    expect(values).toEqual([...values].sort((a, b) => a - b)); // rising while partitioned
    expect(view.operation).toBeNull();

    const { pairs } = await api.pairs();
    expect(pairs).toEqual([
      {
        pairId: 'orders',
        primary: { brokerId: e.primary.id, region: 'us-east-1' },
        operation: null,
        escalationHeld: false,
        notReplicated: { events: 30_000, lagSeconds: expect.any(Number) },
      },
    ]);
  });

  it("says which Region's metrics could not be read during an outage", async () => {
    const { e, api } = await start();
    e.world.setRegionUp('us-east-1', false);
    const view = await api.pair('orders');
    expect(view.remote).toMatchObject({ role: 'UNKNOWN', brokerState: 'UNREACHABLE' });
    expect(view.replication.errors.join()).toContain('could not be described');
    expect(view.replication.failoverNow).toMatchObject({ events: null, unknown: 'NO_DATAPOINT' });
  });
});

describe('operator API: requests', () => {
  it.each([
    ['another kind', { kind: 'HOLD', body: { reason: 'on it now' } }],
    ['another reason', { kind: 'SWITCHOVER', body: { reason: 'a different drill' } }],
  ] as const)(
    'of two concurrent requests with one idempotency key and bodies that differ (%s), one is served and the other gets 422',
    async (_name, second) => {
      for (let round = 0; round < 5; round++) {
        const { e, api } = await start({ backlog: 50_000, drainRate: 10, produceRate: 0 });
        const key = `race-key-${round}`;
        const answers = await Promise.allSettled([
          api.request('SWITCHOVER', 'orders', { reason: 'planned drill' }, key),
          api.request(second.kind, 'orders', second.body, key),
        ]);
        const served = answers.filter((a) => a.status === 'fulfilled');
        const refused = answers.filter((a) => a.status === 'rejected').map((a) => (a as PromiseRejectedResult).reason);
        expect(served).toHaveLength(1);
        expect(refused).toMatchObject([
          { status: 422, message: expect.stringContaining(`idempotency key ${key} was used for another request`) },
        ]);
        // The answer served describes its own request.
        const answer = (served[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof api.request>>>).value;
        const won = answers[0]?.status === 'fulfilled' ? 'SWITCHOVER' : second.kind;
        expect(answer.request.kind).toBe(won);
        expect(e.world.promoteLog.length).toBe(won === 'SWITCHOVER' ? 1 : 0);
        await env?.close();
        env = undefined;
      }
    },
  );

  it('starts a switchover once for a retried request with the same idempotency key, with the deadline in the view', async () => {
    const { e, clock, api } = await start({ backlog: 50_000, drainRate: 10, produceRate: 0 });
    const first = await api.request('SWITCHOVER', 'orders', { reason: 'planned drill' }, 'key-00000001');
    expect(first).toMatchObject({ replayed: false, request: { action: 'START_SWITCHOVER', kind: 'SWITCHOVER' } });
    expect(first.decisions.map((d) => d.action)).toEqual(['START_SWITCHOVER', 'PROMOTE_ACCEPTED']);
    expect(first.decisions[0]?.operator).toBe('arn:aws:iam::123456789012:user/local-operator');

    clock.advance(5_000);
    const retry = await api.request('SWITCHOVER', 'orders', { reason: 'planned drill' }, 'key-00000001');
    expect(retry).toMatchObject({ replayed: true, decisions: [], request: first.request });
    expect(e.world.promoteLog).toHaveLength(1);

    // The same key for a different request is refused rather than guessed at.
    expect(
      await rejection(api.request('FAILOVER', 'orders', { reason: 'x'.repeat(5), confirm: 'orders' }, 'key-00000001')),
    ).toMatchObject({
      status: 422,
      message: expect.stringContaining('was used for another request (a SWITCHOVER with another body)'),
    });
    // A new key is a new request: refused with 409, since the switchover is in flight.
    expect(await rejection(api.call('POST', '/pairs/orders/switchover', { reason: 'again please' }))).toMatchObject({
      status: 409,
    });

    const view = await api.pair('orders');
    expect(view.operation).toMatchObject({
      mode: 'SWITCHOVER',
      status: 'SWITCHOVER_IN_PROGRESS',
      inFlight: true,
      deadlineInMs: 295_000,
    });
    expect(view.timeline.map((d) => d.action)).toEqual(['START_SWITCHOVER', 'PROMOTE_ACCEPTED', 'REFUSE']);
  });

  it('fails over only when confirmed with the pair id; the failover interrupts the switchover', async () => {
    const { e, api } = await start({ backlog: 50_000, drainRate: 10, produceRate: 0 });
    await api.request('SWITCHOVER', 'orders', { reason: 'planned drill' });
    expect(await rejection(api.request('FAILOVER', 'orders', { reason: 'primary is gone' }))).toMatchObject({
      status: 400,
      message: expect.stringContaining('confirm'),
    });
    expect(await rejection(api.request('FAILOVER', 'orders', { reason: 'primary is gone', confirm: 'payments' }))).toMatchObject({
      status: 422,
      message: expect.stringContaining('"orders"'),
    });
    const done = await api.request('FAILOVER', 'orders', { reason: 'primary is gone', confirm: 'orders' });
    expect(done.request.action).toBe('ESCALATE_TO_FAILOVER');
    expect(e.world.promoteLog.map((p) => p.mode)).toEqual(['SWITCHOVER', 'FAILOVER']);
  });

  it('a dry-run request records the decision and promotes nothing', async () => {
    const { e, api } = await start();
    const dry = await api.request('FAILOVER', 'orders', { reason: 'what would happen', confirm: 'orders', dryRun: true });
    expect(dry.decisions).toMatchObject([{ action: 'START_FAILOVER', dryRun: true }]);
    expect(e.world.promoteLog).toEqual([]);
    expect((await api.pair('orders')).operation).toBeNull();
  });

  it('an operator hold stops the deadline from failing over; releasing it after the deadline escalates', async () => {
    const { e, clock, api } = await start({ backlog: 50_000, drainRate: 10, produceRate: 0 });
    await api.request('SWITCHOVER', 'orders', { reason: 'planned drill' });
    const held = await api.request('HOLD', 'orders', { reason: 'ops draining by hand' });
    expect(held.request.action).toBe('HOLD_ESCALATION');

    clock.advance(301_000);
    await e.scheduler.runDue(); // the deadline fires the real escalate handler
    await e.invoke.escalate({ kind: 'sweep' });
    expect(e.world.promoteLog.map((p) => p.mode)).toEqual(['SWITCHOVER']);
    const view = await api.pair('orders');
    expect(view.escalationHold).toMatchObject({ operator: 'arn:aws:iam::123456789012:user/local-operator' });
    expect(view.timeline.map((d) => d.action)).toEqual(['START_SWITCHOVER', 'PROMOTE_ACCEPTED', 'HOLD_ESCALATION', 'REFUSE']);

    const released = await api.request('RELEASE', 'orders', { reason: 'cannot drain, fail over' });
    expect(released.decisions.map((d) => d.action)).toEqual(['RELEASE_ESCALATION', 'ESCALATE_TO_FAILOVER', 'PROMOTE_ACCEPTED']);
    expect(e.world.promoteLog.map((p) => p.mode)).toEqual(['SWITCHOVER', 'FAILOVER']);

    // Every transition and refusal reached the SNS topic, with a readable summary and filterable attributes.
    const actions = e.world.published.map((m) => m.attributes.action);
    expect(actions).toEqual([
      'START_SWITCHOVER',
      'PROMOTE_ACCEPTED',
      'HOLD_ESCALATION',
      'REFUSE',
      'RELEASE_ESCALATION',
      'ESCALATE_TO_FAILOVER',
      'PROMOTE_ACCEPTED',
    ]);
    const refusal = e.world.published[3];
    expect(refusal?.subject).toBe('[orders] escalation held');
    expect(refusal?.message).toContain('Pair:       orders');
    expect(refusal?.attributes).toMatchObject({ pairId: 'orders', status: 'SWITCHOVER_IN_PROGRESS' });
  });
});

describe('operator API: bad requests get a 4xx that says what is wrong, and nothing internal', () => {
  const raw = async (e: Embedded, method: string, path: string, body: string, headers: Record<string, string>) => {
    const url = new URL(e.apiEndpoint + path);
    const signer = new SignatureV4({
      credentials: LOCAL_CREDENTIALS,
      region: REPLICA_REGION,
      service: 'execute-api',
      sha256: Sha256,
    });
    const signed = await signer.sign(
      new HttpRequest({
        method,
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: { host: url.host, ...headers },
        body,
      }),
    );
    const res = await fetch(url, { method, headers: signed.headers, ...(body ? { body } : {}) });
    return { status: res.status, body: (await res.json()) as { error: string; message: string } };
  };
  const json = { 'content-type': 'application/json' };

  it.each([
    ['malformed JSON', 'POST', '/pairs/orders/switchover', '{"reason":', json, 400, 'not valid JSON'],
    ['a JSON array', 'POST', '/pairs/orders/switchover', '[]', json, 400, 'JSON object'],
    ['no content type', 'POST', '/pairs/orders/switchover', '{"reason":"abc"}', {}, 415, 'application/json'],
    ['an unknown field', 'POST', '/pairs/orders/switchover', '{"reason":"abc","force":true}', json, 400, 'force'],
    ['a missing reason', 'POST', '/pairs/orders/hold', '{}', json, 400, 'reason'],
    ['a too-short reason', 'POST', '/pairs/orders/hold', '{"reason":"x"}', json, 400, 'at least 3'],
    ['dryRun not a boolean', 'POST', '/pairs/orders/switchover', '{"reason":"abc","dryRun":"yes"}', json, 400, 'dryRun'],
    ['an oversized body', 'POST', '/pairs/orders/switchover', JSON.stringify({ reason: 'x'.repeat(20_000) }), json, 413, 'bytes'],
    ['an unknown pair', 'POST', '/pairs/payments/switchover', '{"reason":"abc"}', json, 404, 'serves pair "orders"'],
    ['an unknown route', 'DELETE', '/pairs/orders', '', {}, 404, 'no route DELETE /pairs/orders'],
    [
      'a bad idempotency key',
      'POST',
      '/pairs/orders/hold',
      '{"reason":"abc"}',
      { ...json, 'idempotency-key': 'x' },
      400,
      'Idempotency-Key',
    ],
    ['a bad lag window', 'GET', '/pairs/orders?lagMinutes=abc', '', {}, 400, 'lagMinutes'],
    ['an unknown query parameter', 'GET', '/pairs/orders?verbose=1', '', {}, 400, 'verbose'],
  ])('%s', async (_name, method, path, body, headers, status, says) => {
    const { e } = await start();
    const res = await raw(e, method, path, body, headers);
    expect(res.status).toBe(status);
    expect(res.body.message).toContain(says);
    expect(JSON.stringify(res.body)).not.toMatch(/node_modules|\.ts:\d+|\n\s+at /);
    expect(e.world.promoteLog).toEqual([]);
  });

  it('answers an internal failure with 500 and a request id, never the error text', () => {
    const res = errorResponse(
      new StoreError('cannot read the pair record in table secret-table: AccessDenied for role x'),
      'req-1',
    );
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('secret-table');
    expect(JSON.parse(res.body as string)).toMatchObject({ error: 'InternalError', requestId: 'req-1' });
  });
});
