/**
 * The HTTP handler of every AWS SDK client the runtime builds: the SDK's own NodeHttpHandler, with a connection
 * timeout, a request timeout that throws (the SDK only warns by default), and each request also bound by the
 * invocation's budget (lib/budget.ts) and by any abort signal the caller passed (the probe's own timeout).
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpRequest } from '@smithy/protocol-http';
import type { HttpHandlerOptions } from '@smithy/types';
import { currentBudget } from '../budget.ts';

export interface CallTimeouts {
  connectMs: number;
  requestMs: number;
}

export class BoundedHttpHandler extends NodeHttpHandler {
  constructor(private readonly timeouts: CallTimeouts) {
    super({ connectionTimeout: timeouts.connectMs, requestTimeout: timeouts.requestMs, throwOnRequestTimeout: true });
  }

  override handle(request: HttpRequest, options: HttpHandlerOptions = {}) {
    const budget = currentBudget();
    if (!budget) return super.handle(request, options);
    const signals = [budget.signal, ...(options.abortSignal ? [options.abortSignal as AbortSignal] : [])];
    return super.handle(request, {
      ...options,
      abortSignal: signals.length === 1 ? budget.signal : AbortSignal.any(signals),
      // Never wait past the budget: a hung call then fails as a timeout, not as the invocation's death.
      requestTimeout: Math.max(1, Math.min(options.requestTimeout ?? this.timeouts.requestMs, Math.floor(budget.remaining()))),
    });
  }
}

/** Why a call failed, as a probe and a person need to know it: did the other side answer at all? */
export type CallFailure =
  /** No answer: a timeout, a refused or reset connection, DNS, TLS; or the service answered 5xx. */
  | { kind: 'unreachable'; detail: string }
  /** The service answered and refused the request (4xx): a configuration, permission or throttling problem. */
  | { kind: 'refused'; status: number; code: string; detail: string };

/** What the adapters read of an AWS SDK error (the SDK's exceptions and its network errors). */
export interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/**
 * An error's message, with the SDK's timeout wording ("@smithy/node-http-handler - [ERROR] a request has exceeded
 * the configured 5000 ms requestTimeout.") said plainly: "timed out after 5000 ms".
 */
export function callErrorMessage(error: unknown): string {
  const e = (error ?? {}) as SdkErrorShape;
  const message = e.message ?? String(error);
  if (e.name !== 'TimeoutError' && e.name !== 'AbortError') return message;
  const ms = /(\d+) ?ms/.exec(message)?.[1];
  return ms ? `timed out after ${ms} ms` : `timed out (${message})`;
}

/** Classifies an SDK error; `timeoutMs` names the timeout that applied, for the "timed out after N ms" reason. */
export function classifyCallError(error: unknown, timeoutMs: number): CallFailure {
  const e = (error ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'ETIMEDOUT') {
    return { kind: 'unreachable', detail: `timed out after ${timeoutMs} ms` };
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return { kind: 'refused', status, code: e.name ?? 'Error', detail: `${e.name ?? 'Error'} (${status}): ${e.message ?? ''}` };
  }
  const what = status === undefined ? (e.code ?? e.name ?? 'network error') : `${e.name ?? 'Error'} (${status})`;
  return { kind: 'unreachable', detail: `${what}: ${callErrorMessage(error)}` };
}
