/**
 * Health probe of the primary from the replica's Region: DescribeBroker of the remote broker through an MQ
 * client configured for the remote Region, and a handshake with its instances' endpoints, both bound by the
 * probe's timeout.
 *
 * Honest about what it saw:
 *  - a failed probe: the API did not answer (timeout, refused or reset connection, TLS) or answered 5xx, or the
 *    broker is not RUNNING, or no endpoint completes a handshake;
 *  - no verdict (`refused`): the API answered 4xx (NotFound, Forbidden, throttling). That is a configuration or
 *    permission problem here, not evidence about the primary;
 *  - `outage`: the API and every endpoint known failed, so the primary's Region itself does not answer. The
 *    endpoints are the ones the last DescribeBroker listed in this container: a container that never saw them
 *    (a cold start during the outage) cannot tell, and says so.
 *
 * Whether endpoints that do not answer count is the core's judgement (PROBE_ENDPOINTS): the probe reports what
 * it saw, `endpoints` reached or not and `apiAnswered`, and never guesses the network path.
 *
 * A TLS endpoint (ssl://, stomp+ssl://, …) must complete a TLS handshake: a hung broker accepts the TCP
 * connection and never answers, which a bare connect would take for health. Plain endpoints get a TCP connect.
 */
import { connect as tcp } from 'node:net';
import { connect as tls } from 'node:tls';
import type { DescribeBrokerResponse } from '@aws-sdk/client-mq';
import { normalizeRole } from '../mq-facts.ts';
import type { PrimaryProbe, ProbeResult } from '../ports.ts';
import { type CallFailure, classifyCallError } from './http.ts';
import type { MqBrokerApi } from './mq.ts';

export type { ProbeResult };

/** `ssl://host:61617`, `stomp+ssl://host:61614`, `wss://host:61619`, ... -> host, port and whether it is TLS. */
export const parseEndpoint = (endpoint: string): { host: string; port: number; tls: boolean } | undefined => {
  const match = /^([a-z0-9+.-]+):\/\/\[?([^\]/:]+)\]?:(\d{1,5})/i.exec(endpoint.trim());
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  const port = Number(match[3]);
  const scheme = match[1].toLowerCase();
  const secure = scheme === 'ssl' || scheme === 'wss' || scheme === 'https' || scheme.endsWith('+ssl');
  return port > 0 && port < 65536 ? { host: match[2], port, tls: secure } : undefined;
};

/** Resolves to undefined when the endpoint answered, or to why not. */
export const handshake = (target: { host: string; port: number; tls: boolean }, timeoutMs: number): Promise<string | undefined> =>
  new Promise((resolve) => {
    // Liveness only: nothing is sent after the handshake, so the certificate is not what is being checked.
    const socket = target.tls
      ? tls({ host: target.host, port: target.port, rejectUnauthorized: false })
      : tcp({ host: target.host, port: target.port });
    const done = (why: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`timed out after ${timeoutMs} ms`), timeoutMs);
    socket.once(target.tls ? 'secureConnect' : 'connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    socket.once('close', () => done('connection closed'));
  });

export class RemotePrimaryProbe implements PrimaryProbe {
  /** The endpoints the last DescribeBroker listed, for when the API stops answering. */
  private known: string[] = [];

  constructor(
    private readonly remote: MqBrokerApi,
    private readonly remoteBrokerId: string,
    private readonly timeoutMs: number,
  ) {}

  async probe(): Promise<ProbeResult> {
    const known = this.known;
    // Both at once, so that the probe takes one timeout at most even when the Region hangs.
    const [described, knownCheck] = await Promise.all([this.describe(), this.check(known)]);
    if ('failure' in described) {
      const failure = described.failure;
      if (failure.kind === 'refused') {
        const refused = { code: failure.code, detail: failure.detail };
        return { healthy: false, detail: `DescribeBroker ${this.remoteBrokerId}: ${failure.detail}`, refused };
      }
      const api = `DescribeBroker ${this.remoteBrokerId} in the primary's Region: ${failure.detail}`;
      if (known.length === 0) {
        return { healthy: false, detail: `${api}; its endpoints are unknown to this probe (none seen yet)` };
      }
      return knownCheck.reachable > 0
        ? { healthy: false, detail: `${api}; ${knownCheck.detail}`, endpoints: 'reached' }
        : { healthy: false, outage: true, detail: `${api}; ${knownCheck.detail}`, endpoints: 'unreached' };
    }
    const out = described.out;
    // After a promotion the remote broker is the replica: there is no remote primary to watch.
    if (normalizeRole(out.DataReplicationMetadata?.DataReplicationRole) === 'REPLICA') {
      return { healthy: true, detail: `${this.remoteBrokerId} is the replica; nothing to probe` };
    }
    const endpoints = (out.BrokerInstances ?? []).flatMap((i) => i.Endpoints ?? []);
    if (endpoints.length > 0) this.known = endpoints;
    if (out.BrokerState !== 'RUNNING') return { healthy: false, detail: `${this.remoteBrokerId} is ${out.BrokerState}` };
    if (endpoints.length === 0) return { healthy: false, detail: `${this.remoteBrokerId} lists no endpoint to connect to` };
    const same = endpoints.length === known.length && endpoints.every((e, i) => e === known[i]);
    const check = same ? knownCheck : await this.check(endpoints);
    const reached = check.reachable > 0;
    return { healthy: reached, detail: check.detail, endpoints: reached ? 'reached' : 'unreached', apiAnswered: true };
  }

  private async describe(): Promise<{ out: DescribeBrokerResponse } | { failure: CallFailure }> {
    try {
      return { out: await this.remote.describe(this.remoteBrokerId, AbortSignal.timeout(this.timeoutMs)) };
    } catch (error) {
      return { failure: classifyCallError((error as { cause?: unknown }).cause ?? error, this.timeoutMs) };
    }
  }

  private async check(endpoints: string[]): Promise<{ reachable: number; detail: string }> {
    // ssl:// and stomp+ssl:// of one instance are often one host and port: try each once.
    const targets = [
      ...new Map(
        endpoints
          .map(parseEndpoint)
          .filter((t) => t !== undefined)
          .map((t) => [`${t.host}:${t.port}`, t]),
      ).values(),
    ];
    if (targets.length === 0) return { reachable: 0, detail: 'no endpoint to connect to' };
    const failures = await Promise.all(targets.map((t) => handshake(t, this.timeoutMs)));
    const reachable = failures.filter((f) => f === undefined).length;
    const why = [...new Set(failures.filter((f) => f !== undefined))].join(', ');
    return reachable > 0
      ? { reachable, detail: `${reachable}/${targets.length} endpoints answer` }
      : { reachable, detail: `none of ${targets.length} endpoints answered (${why})` };
  }
}
