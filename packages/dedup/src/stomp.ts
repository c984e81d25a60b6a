/**
 * STOMP over TCP/TLS for ActiveMQ (Amazon MQ brokers listen on stomp+ssl://…:61614), and a consumer that
 * acknowledges a message only after it was processed or found processed before.
 */
import { connect as tlsConnect } from 'node:tls';
import { Client, type IMessage, type IPublishParams, type StompHeaders } from '@stomp/stompjs';
import { TCPWrapper } from '@stomp/tcp-wrapper';
import { DedupError, DedupInputError } from './errors.ts';
import { DEDUP_ID_PROPERTY } from './mq-middleware.ts';
import { type Outcome, processOnce } from './process.ts';
import { type DedupStore, untilLeaseExpires } from './store.ts';

export interface StompEndpoint {
  host: string;
  port: number;
  tls: boolean;
  login?: string;
  passcode?: string;
}

/** `stomp://host:port` or `stomp+ssl://host:port` (Amazon MQ's form), with optional `user:password@`. */
export function parseStompUrl(url: string): StompEndpoint {
  const match = /^(stomp|stomp\+ssl|ssl):\/\/(?:([^:@/]*):([^@/]*)@)?([^:/]+):(\d{1,5})\/?$/.exec(url.trim());
  if (!match)
    throw new DedupInputError(`"${url}" is not a STOMP endpoint: expected stomp+ssl://host:61614 or stomp://host:61613`);
  const [, scheme, login, passcode, host, port] = match as unknown as string[];
  return {
    host: host as string,
    port: Number(port),
    tls: scheme !== 'stomp',
    ...(login ? { login: decodeURIComponent(login), passcode: decodeURIComponent(passcode ?? '') } : {}),
  };
}

export const describeEndpoint = (e: StompEndpoint): string => `${e.tls ? 'stomp+ssl' : 'stomp'}://${e.host}:${e.port}`;

/** The broker refused or dropped the connection, or never answered. */
export class StompConnectionError extends DedupError {
  override name: string = 'StompConnectionError';
}

class TlsWrapper extends TCPWrapper {
  protected override getSocket(port: number, host: string) {
    return tlsConnect({ port, host, servername: host });
  }
}

/** Connect and wait for the broker's CONNECTED frame. No automatic reconnect: callers decide what a drop means. */
export async function connectStomp(endpoint: StompEndpoint, timeoutMs = 10_000): Promise<Client> {
  const client = new Client({
    webSocketFactory: () =>
      endpoint.tls ? new TlsWrapper(endpoint.host, endpoint.port) : new TCPWrapper(endpoint.host, endpoint.port),
    connectHeaders: {
      ...(endpoint.login ? { login: endpoint.login, passcode: endpoint.passcode ?? '' } : {}),
      host: endpoint.host,
    },
    reconnectDelay: 0,
    connectionTimeout: timeoutMs,
    heartbeatIncoming: 10_000,
    heartbeatOutgoing: 10_000,
    debug: () => undefined,
  });
  await new Promise<void>((resolve, reject) => {
    const fail = (why: string) => reject(new StompConnectionError(`cannot connect to ${describeEndpoint(endpoint)}: ${why}`));
    client.onConnect = () => resolve();
    client.onStompError = (frame) => fail(frame.headers.message ?? frame.body);
    client.onWebSocketError = (event: { message?: unknown }) => fail(String(event?.message ?? 'socket error'));
    client.onWebSocketClose = () => fail('connection closed before CONNECTED');
    client.activate();
  });
  client.onStompError = () => undefined;
  client.onWebSocketError = () => undefined;
  client.onWebSocketClose = () => undefined;
  return client;
}

/** Send and wait for the broker's RECEIPT: the message is stored (persistent) when this resolves. */
export async function publishConfirmed(client: Client, params: IPublishParams, timeoutMs = 10_000): Promise<void> {
  const receipt = crypto.randomUUID();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new StompConnectionError(`no receipt for a message to ${params.destination} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.watchForReceipt(receipt, () => {
      clearTimeout(timer);
      resolve();
    });
    client.publish({ ...params, headers: { persistent: 'true', ...params.headers, receipt } });
  });
}

/** The dedup ID of a STOMP message: its `dedupId` header if set, else the broker's `message-id`. */
export const stompMessageId = (message: IMessage): string =>
  message.headers[DEDUP_ID_PROPERTY] ?? message.headers['message-id'] ?? '';

export interface StompConsumerOptions<T> {
  endpoint: StompEndpoint;
  /** e.g. `/queue/orders` */
  destination: string;
  store: DedupStore;
  handler: (message: IMessage) => Promise<T>;
  idOf?: (message: IMessage) => string;
  /** Unacknowledged messages the broker may send ahead (ActiveMQ prefetch). Default 10. */
  prefetch?: number;
  /** Called with the outcome after it is recorded and before the ack (or nack): metrics, logs. */
  onSettled?: (message: IMessage, outcome: Outcome<T>) => void | Promise<void>;
}

export interface StompConsumer {
  /** Stop taking messages, let in-flight ones settle, disconnect. */
  stop(): Promise<void>;
  /** Messages acknowledged so far, by outcome. */
  readonly counts: Record<Outcome<unknown>['status'], number>;
}

/**
 * Consume with client-individual acknowledgement. Each message is acked once processed or found processed
 * before; nacked if the handler fails (ActiveMQ redelivers it, then moves it to its DLQ after the broker's
 * redelivery limit). A message another consumer holds a live claim on (a crashed consumer's redelivery) is kept
 * unacknowledged until that claim's lease runs out, then claimed again.
 *
 * @example
 * const consumer = await startStompConsumer({ endpoint: parseStompUrl(url), destination: '/queue/orders', store,
 *   handler: async (m) => ship(JSON.parse(m.body)) });
 */
export async function startStompConsumer<T>(options: StompConsumerOptions<T>): Promise<StompConsumer> {
  const { store, handler, idOf = stompMessageId, onSettled } = options;
  const client = await connectStomp(options.endpoint);
  const inFlight = new Set<Promise<void>>();
  const counts = { processed: 0, duplicate: 0, 'in-progress': 0, failed: 0 };
  let stopping = false;

  const settle = async (message: IMessage): Promise<void> => {
    let outcome: Outcome<T>;
    try {
      const id = idOf(message);
      outcome = await processOnce(store, id, () => handler(message));
      while (outcome.status === 'in-progress') {
        if (stopping) return; // unacknowledged: the broker redelivers it after we disconnect
        await untilLeaseExpires(outcome.leaseExpiresAt);
        outcome = await processOnce(store, id, () => handler(message));
      }
    } catch (error) {
      outcome = { status: 'failed', error };
    }
    await onSettled?.(message, outcome);
    counts[outcome.status]++;
    if (outcome.status === 'failed') message.nack();
    else message.ack();
  };

  const subscription = client.subscribe(
    options.destination,
    (message) => {
      if (stopping) return; // left unacknowledged: redelivered once we disconnect
      const task = settle(message).finally(() => inFlight.delete(task));
      inFlight.add(task);
    },
    { ack: 'client-individual', 'activemq.prefetchSize': String(options.prefetch ?? 10) } satisfies StompHeaders,
  );

  return {
    counts,
    async stop() {
      stopping = true;
      // Settle (ack) in-flight messages before unsubscribing: ActiveMQ redelivers what is unacked at UNSUBSCRIBE.
      await Promise.allSettled([...inFlight]);
      subscription.unsubscribe();
      await client.deactivate();
    },
  };
}
