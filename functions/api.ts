/**
 * The operator HTTP API (API Gateway HTTP API, payload 2.0, IAM authorization):
 *
 *   GET  /pairs                         the pairs this deployment orchestrates, one line each
 *   GET  /pairs/{pairId}[?lagMinutes=60] roles, broker states, lag series, operation, deadline, timeline
 *   GET  /pairs/{pairId}/timeline[?limit=100&cursor=…]   the audit timeline, oldest first, a page at a time
 *   POST /pairs/{pairId}/switchover     {"reason", "dryRun"?}
 *   POST /pairs/{pairId}/failover       {"reason", "confirm": "<pairId>", "dryRun"?}
 *   POST /pairs/{pairId}/hold           {"reason"}   hold automatic escalation
 *   POST /pairs/{pairId}/release        {"reason"}   release it
 *   POST /pairs/{pairId}/rearm          {"reason"}   re-arm automatic promotion after an automatic one disarmed it
 *   POST /pairs/{pairId}/abandon        {"reason"}   end the operation in flight
 *
 * A confirmed failover goes through even when the orchestrator's table cannot be read or written (break
 * glass): 202 with `breakGlass`, recorded in the timeline once the table answers.
 *
 * POSTs take an `Idempotency-Key` header. The operator is the caller's IAM ARN, as API Gateway verified it.
 * Every error is JSON `{"error", "message", "requestId"}`; 5xx bodies carry no internal detail.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import httpRouterHandler, { type Method } from '@middy/http-router';
import { createError, HttpError } from '@middy/util';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import * as v from 'valibot';
import { invocationBudgetMs, withBudget } from '#lib/budget.ts';
import { Action, type RequestKind } from '#lib/core/model.ts';
import { BrokerApiError, InvalidEventError, issuesOf } from '#lib/errors.ts';
import { publishDecisionMetrics } from '#lib/metrics.ts';
import {
  encodeCursor,
  IdempotencyKey,
  operatorRequest,
  pairView,
  RequestRejectedError,
  TimelineQuery,
  ViewQuery,
} from '#lib/operator.ts';
import { evaluateReadiness } from '#lib/readiness.ts';
import { type Runtime, runtimeFromEnv } from '#lib/runtime.ts';
import { logger, metrics } from './shared.ts';

type Event = APIGatewayProxyEventV2WithIAMAuthorizer;
type Result = Exclude<APIGatewayProxyResultV2, string>;

export const MAX_BODY_BYTES = 16 * 1024;

const json = (statusCode: number, body: unknown): Result => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

function requirePair(rt: Runtime, event: Event): void {
  const pairId = event.pathParameters?.pairId;
  if (pairId !== rt.config.pairId) {
    throw createError(404, `unknown pair ${JSON.stringify(pairId)}; this API serves pair "${rt.config.pairId}"`);
  }
}

/** A JSON object body within the size limit, or a 4xx saying what is wrong with it. */
function bodyOf(event: Event): unknown {
  if (!event.body) return {};
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw createError(413, `request body over ${MAX_BODY_BYTES} bytes`);
  const type = event.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw createError(415, 'send the body as Content-Type: application/json');
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed;
  } catch (error) {
    // JSON.parse quotes the body in its message; say where it broke without echoing it (it lands in the logs).
    const at = /position (\d+)/.exec((error as Error).message)?.[1];
    throw createError(400, `body is not valid JSON${at ? ` (at character ${at})` : ''}`);
  }
  throw createError(400, 'body must be a JSON object');
}

/** The verified caller; API Gateway sets it only when the route uses IAM authorization. */
function operatorOf(event: Event): string {
  const iam = event.requestContext.authorizer?.iam;
  const who = iam?.userArn || iam?.callerId;
  if (!who) throw createError(403, 'no IAM caller on the request: the route must use AWS_IAM authorization');
  return who;
}

/** 202 when an operation started or escalated, 409 when the core refused, 200 otherwise (dry run, hold). */
const statusFor = (action: Action, dryRun: boolean): number =>
  action === Action.REFUSE
    ? 409
    : !dryRun &&
        (action === Action.START_SWITCHOVER || action === Action.START_FAILOVER || action === Action.ESCALATE_TO_FAILOVER)
      ? 202
      : 200;

function requestRoute(kind: RequestKind, rt: () => Runtime, emf: Metrics | undefined) {
  return async (event: Event): Promise<Result> => {
    const runtime = rt();
    requirePair(runtime, event);
    const header = event.headers['idempotency-key'];
    const key = header === undefined ? undefined : v.safeParse(IdempotencyKey, header);
    if (key && !key.success) throw createError(400, issuesOf(key.issues, 'Idempotency-Key').join('; '));
    const outcome = await operatorRequest(runtime, kind, bodyOf(event), operatorOf(event), key?.output);
    if (emf) publishDecisionMetrics(emf, runtime.config.pairId, outcome.decisions);
    return json(statusFor(outcome.request.action, outcome.request.dryRun), { pairId: runtime.config.pairId, ...outcome });
  };
}

/** The API over a runtime; `emf` publishes decision metrics (the deployed handler; not the embedded default). */
export function createApi(rt: () => Runtime, emf?: Metrics) {
  const routes: Array<{ method: Method; path: string; handler: (event: Event) => Promise<Result> }> = [
    {
      method: 'GET',
      path: '/pairs',
      handler: async () => {
        const view = await pairView(rt(), 5, { withTimeline: false });
        const { pairId, local, remote, operation, escalationHold, replication } = view;
        const primary = [local, remote].find((b) => b.role === 'PRIMARY');
        return json(200, {
          pairs: [
            {
              pairId,
              primary: primary ? { brokerId: primary.brokerId, region: primary.region } : null,
              operation: operation ? { id: operation.id, mode: operation.mode, status: operation.status } : null,
              escalationHeld: escalationHold !== null,
              // What a failover now would leave behind (events, seconds; null when unknown).
              notReplicated: { events: replication.failoverNow.events, lagSeconds: replication.failoverNow.lagSeconds },
            },
          ],
        });
      },
    },
    {
      method: 'GET',
      path: '/pairs/{pairId}',
      handler: async (event) => {
        const runtime = rt();
        requirePair(runtime, event);
        const query = v.safeParse(ViewQuery, event.queryStringParameters ?? {});
        if (!query.success) {
          throw createError(400, issuesOf(query.issues, 'query').join('; '));
        }
        return json(200, await pairView(runtime, query.output.lagMinutes));
      },
    },
    {
      method: 'GET',
      path: '/pairs/{pairId}/timeline',
      handler: async (event) => {
        const runtime = rt();
        requirePair(runtime, event);
        const query = v.safeParse(TimelineQuery, event.queryStringParameters ?? {});
        if (!query.success) throw createError(400, issuesOf(query.issues, 'query').join('; '));
        const { limit, cursor } = query.output;
        const page = await runtime.orchestrator.store.timelinePage(runtime.config.pairId, {
          limit,
          ...(cursor !== undefined ? { cursor } : {}),
        });
        return json(200, {
          pairId: runtime.config.pairId,
          decisions: page.decisions,
          ...(page.nextCursor !== undefined ? { nextCursor: encodeCursor(page.nextCursor) } : {}),
        });
      },
    },
    {
      method: 'GET',
      path: '/pairs/{pairId}/readiness',
      handler: async (event) => {
        const runtime = rt();
        requirePair(runtime, event);
        return json(200, await evaluateReadiness(runtime));
      },
    },
    { method: 'POST', path: '/pairs/{pairId}/switchover', handler: requestRoute('SWITCHOVER', rt, emf) },
    { method: 'POST', path: '/pairs/{pairId}/failover', handler: requestRoute('FAILOVER', rt, emf) },
    { method: 'POST', path: '/pairs/{pairId}/hold', handler: requestRoute('HOLD', rt, emf) },
    { method: 'POST', path: '/pairs/{pairId}/release', handler: requestRoute('RELEASE', rt, emf) },
    { method: 'POST', path: '/pairs/{pairId}/rearm', handler: requestRoute('REARM', rt, emf) },
    { method: 'POST', path: '/pairs/{pairId}/abandon', handler: requestRoute('ABANDON', rt, emf) },
  ];
  const router = httpRouterHandler({
    routes,
    notFoundResponse: ({ method, path }) => {
      throw createError(404, `no route ${method} ${path}; routes: ${routes.map((r) => `${r.method} ${r.path}`).join(', ')}`);
    },
  });

  const route = router as unknown as (e: Event, c: Context) => Promise<Result>;
  // The budget stays under API Gateway's 29 s integration limit through the function's timeout.
  const bounded = (e: Event, c: Context) =>
    withBudget(invocationBudgetMs(rt().config.budgetMs, c.getRemainingTimeInMillis?.()), () => route(e, c));
  return middy<Event, Result, Error, Context>(bounded)
    .use(injectLambdaContext(logger))
    .use({
      onError: async (request) => {
        const requestId = request.context.awsRequestId;
        const error = request.error;
        request.response = errorResponse(error, requestId);
        if (request.response.statusCode >= 500) logger.error('request failed', { error: error as Error });
        else logger.warn('request rejected', { status: request.response.statusCode, reason: (error as Error)?.message });
      },
    });
}

export function errorResponse(error: unknown, requestId: string): Result {
  if (error instanceof HttpError && error.expose) {
    return json(error.statusCode, { error: error.name, message: error.message, requestId });
  }
  if (error instanceof RequestRejectedError) {
    return json(422, { error: 'RequestRejected', message: error.message, requestId });
  }
  if (error instanceof InvalidEventError) {
    return json(400, { error: 'BadRequest', message: error.message, requestId });
  }
  if (error instanceof BrokerApiError) {
    // Amazon MQ's own answer (a break-glass Promote it refused): the operator needs it to act.
    return json(502, { error: 'BrokerApiError', message: error.message, requestId });
  }
  return json(500, {
    error: 'InternalError',
    message: `the request failed inside the orchestrator; its logs have the detail under request id ${requestId}`,
    requestId,
  });
}

export const handler = createApi(runtimeFromEnv(logger), metrics);
