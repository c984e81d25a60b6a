/**
 * Health probe of the primary from the replica's Region: DescribeBroker of the remote broker through an MQ
 * client configured for the remote Region, then a TCP connect with timeout to its instances' endpoints.
 */
import { connect } from 'node:net';
import { normalizeRole } from '../mq-facts.ts';
import type { PrimaryProbe } from '../ports.ts';
import type { MqBrokerApi } from './mq.ts';

export interface ProbeResult {
  healthy: boolean;
  detail: string;
}

/** `ssl://host:61617`, `stomp+ssl://host:61614`, `wss://host:61619`, ... -> host and port. */
export const parseEndpoint = (endpoint: string): { host: string; port: number } | undefined => {
  const match = /^[a-z0-9+.-]+:\/\/\[?([^\]/:]+)\]?:(\d{1,5})/i.exec(endpoint.trim());
  if (!match?.[1] || !match[2]) return undefined;
  const port = Number(match[2]);
  return port > 0 && port < 65536 ? { host: match[1], port } : undefined;
};

export const tcpConnect = (host: string, port: number, timeoutMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });

export class RemotePrimaryProbe implements PrimaryProbe {
  constructor(
    private readonly remote: MqBrokerApi,
    private readonly remoteBrokerId: string,
    private readonly timeoutMs: number,
  ) {}

  async probe(): Promise<ProbeResult> {
    let described: Awaited<ReturnType<MqBrokerApi['describe']>>;
    try {
      described = await this.remote.describe(this.remoteBrokerId);
    } catch (error) {
      return { healthy: false, detail: error instanceof Error ? error.message : String(error) };
    }
    // After a promotion the remote broker is the replica: there is no remote primary to watch.
    if (normalizeRole(described.DataReplicationMetadata?.DataReplicationRole) === 'REPLICA') {
      return { healthy: true, detail: `${this.remoteBrokerId} is the replica; nothing to probe` };
    }
    if (described.BrokerState !== 'RUNNING') {
      return { healthy: false, detail: `${this.remoteBrokerId} is ${described.BrokerState}` };
    }
    const endpoints = (described.BrokerInstances ?? []).flatMap((i) => i.Endpoints ?? []);
    const targets = endpoints.map(parseEndpoint).filter((t) => t !== undefined);
    if (targets.length === 0) return { healthy: false, detail: `${this.remoteBrokerId} lists no endpoint to connect to` };
    const results = await Promise.all(targets.map((t) => tcpConnect(t.host, t.port, this.timeoutMs)));
    const reachable = results.filter(Boolean).length;
    return reachable > 0
      ? { healthy: true, detail: `${reachable}/${targets.length} endpoints accept TCP connections` }
      : { healthy: false, detail: `none of ${targets.length} endpoints accepted a TCP connection within ${this.timeoutMs} ms` };
  }
}
