/**
 * A client of the operator API: SigV4-signed requests (service execute-api), as IAM authorization requires,
 * with the same Idempotency-Key on every retry of a POST so that a lost answer never starts a second
 * operation.
 */
import { randomUUID } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Decision, OperatorRequest, RequestKind } from '../../../lib/core/model.ts';
import type { PairView } from '../../../lib/operator.ts';
import type { Readiness } from '../../../lib/readiness.ts';

export interface TimelinePageAnswer {
  pairId: string;
  decisions: Decision[];
  nextCursor?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface RequestResult {
  pairId: string;
  request: OperatorRequest;
  replayed: boolean;
  decisions: Decision[];
  /** A confirmed failover sent while the orchestrator's table was down (break glass). */
  breakGlass?: { keptIn: string; storeError: string };
}

export interface PairSummary {
  pairId: string;
  primary: { brokerId: string; region: string } | null;
  operation: { id: string; mode: string; status: string } | null;
  escalationHeld: boolean;
  /** QueueSize and TotalReplicationLag of the primary's last fresh datapoint; null when unknown. */
  notReplicated: { events: number | null; lagSeconds: number | null };
}

const PATHS: Record<RequestKind, string> = {
  SWITCHOVER: 'switchover',
  FAILOVER: 'failover',
  HOLD: 'hold',
  RELEASE: 'release',
  REARM: 'rearm',
  ABANDON: 'abandon',
};
const ATTEMPTS = 3;

export class ApiClient {
  private readonly signer: SignatureV4;
  private readonly url: URL;

  constructor(options: {
    endpoint: string;
    region: string;
    credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
    fetch?: typeof fetch;
    /** Tries per request, 3 by default; 1 leaves retrying to the caller. */
    attempts?: number;
  }) {
    this.url = new URL(options.endpoint);
    this.attempts = options.attempts ?? ATTEMPTS;
    this.signer = new SignatureV4({
      credentials: options.credentials,
      region: options.region,
      service: 'execute-api',
      sha256: Sha256,
    });
    this.fetchImpl = options.fetch ?? fetch;
  }

  private readonly fetchImpl: typeof fetch;
  private readonly attempts: number;

  pairs(): Promise<{ pairs: PairSummary[] }> {
    return this.call('GET', '/pairs');
  }

  pair(pairId: string, lagMinutes?: number): Promise<PairView> {
    return this.call(
      'GET',
      `/pairs/${encodeURIComponent(pairId)}`,
      undefined,
      lagMinutes ? { lagMinutes: String(lagMinutes) } : {},
    );
  }

  /** Would a failover work now: each check from the Region this endpoint serves. */
  readiness(pairId: string): Promise<Readiness> {
    return this.call('GET', `/pairs/${encodeURIComponent(pairId)}/readiness`);
  }

  /** One page of the timeline, oldest first; `nextCursor` is there while there is more. */
  timelinePage(pairId: string, page: { limit?: number; cursor?: string } = {}): Promise<TimelinePageAnswer> {
    return this.call('GET', `/pairs/${encodeURIComponent(pairId)}/timeline`, undefined, {
      ...(page.limit !== undefined ? { limit: String(page.limit) } : {}),
      ...(page.cursor !== undefined ? { cursor: page.cursor } : {}),
    });
  }

  /** Every page of the timeline, in order. */
  async *timeline(pairId: string, limit = 500): AsyncGenerator<Decision[]> {
    let cursor: string | undefined;
    do {
      const page = await this.timelinePage(pairId, { limit, ...(cursor !== undefined ? { cursor } : {}) });
      yield page.decisions;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  /** A refusal by the core (409) is a result too: its body says why, in the decision recorded. */
  request(kind: RequestKind, pairId: string, body: Record<string, unknown>, key: string = randomUUID()): Promise<RequestResult> {
    return this.call('POST', `/pairs/${encodeURIComponent(pairId)}/${PATHS[kind]}`, body, {}, key, [409]);
  }

  /**
   * Sends a signed request; retries network errors and 5xx (a POST with its idempotency key unchanged).
   * Throws ApiError with the API's message for any other non-2xx answer.
   */
  async call<T>(
    method: string,
    path: string,
    body?: unknown,
    query: Record<string, string> = {},
    key?: string,
    resultStatuses: number[] = [],
  ): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const basePath = this.url.pathname.replace(/\/$/, '');
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      const signed = await this.signer.sign(
        new HttpRequest({
          method,
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          ...(this.url.port ? { port: Number(this.url.port) } : {}),
          path: `${basePath}${path}`,
          query,
          headers: {
            host: this.url.host,
            accept: 'application/json',
            ...(text !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(key ? { 'idempotency-key': key } : {}),
          },
          ...(text !== undefined ? { body: text } : {}),
        }),
      );
      const qs = new URLSearchParams(query).toString();
      let response: Response;
      try {
        response = await this.fetchImpl(`${this.url.origin}${basePath}${path}${qs ? `?${qs}` : ''}`, {
          method,
          headers: signed.headers,
          ...(text !== undefined ? { body: text } : {}),
        });
      } catch (error) {
        lastError = error;
        continue;
      }
      const raw = await response.text();
      let parsed: unknown = raw;
      try {
        parsed = raw ? JSON.parse(raw) : {};
      } catch {
        // not JSON (a proxy's error page): reported as text below
      }
      if (response.ok || resultStatuses.includes(response.status)) return parsed as T;
      const err = (parsed ?? {}) as { error?: string; message?: string };
      lastError = new ApiError(
        response.status,
        err.error ?? String(response.status),
        err.message ?? (typeof parsed === 'string' ? parsed.slice(0, 200) : response.statusText),
        parsed,
      );
      if (response.status < 500) throw lastError;
    }
    throw lastError instanceof ApiError
      ? lastError
      : new ApiError(
          0,
          'Unreachable',
          `cannot reach ${this.url.origin}: ${String((lastError as Error)?.cause ?? lastError)}`,
          undefined,
        );
  }
}
