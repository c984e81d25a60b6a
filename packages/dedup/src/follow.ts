/**
 * The client side of client redirection: read the broker URL parameter the orchestrator writes after every
 * promotion (SSM Parameter Store, `failover:(url,...)`) and keep a STOMP consumer on the broker it names,
 * moving the consumer when the parameter changes. The orchestrator writes it only once the new primary is
 * observed running, so a move never lands on a broker still being promoted.
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { parseFailoverUrl } from './broker-urls.ts';
import { DedupInputError } from './errors.ts';
import {
  describeEndpoint,
  parseStompUrl,
  StompConnectionError,
  type StompConsumer,
  type StompConsumerOptions,
  startStompConsumer,
} from './stomp.ts';

export interface BrokerUrls {
  urls: string[];
  /** Changes with every write of the source: a move is due when it differs from the one consumed from. */
  version: number;
}

export interface BrokerUrlSource {
  current(): Promise<BrokerUrls>;
}

/** The parameter client redirection writes, read in the client's own Region. */
export class SsmBrokerUrl implements BrokerUrlSource {
  constructor(
    private readonly client: SSMClient,
    readonly parameterName: string,
  ) {}

  async current(): Promise<BrokerUrls> {
    const out = await this.client.send(new GetParameterCommand({ Name: this.parameterName }));
    const value = out.Parameter?.Value;
    if (!value) throw new DedupInputError(`SSM parameter ${this.parameterName} has no value`);
    return { urls: parseFailoverUrl(value), version: out.Parameter?.Version ?? 0 };
  }
}

export interface FollowingConsumerOptions<T> extends Omit<StompConsumerOptions<T>, 'endpoint'> {
  source: BrokerUrlSource;
  /** How often the source is read. Default 30 s. */
  pollMs?: number;
  /** Broker user for every endpoint the source names (its URLs carry none). */
  login?: string;
  passcode?: string;
  /** Called after the consumer moved to another broker. */
  onMove?: (from: string, to: string) => void;
  /** Called when reading the source or moving failed; the consumer stays where it is and tries again later. */
  onError?: (error: unknown) => void;
}

export interface FollowingConsumer {
  /** The STOMP endpoint consumed from now. */
  readonly endpoint: string;
  /** Messages acknowledged so far, over every broker consumed from. */
  readonly counts: StompConsumer['counts'];
  /** Reads the source now and moves if it changed; true when it moved. */
  check(): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * @example
 * const consumer = await startFollowingConsumer({
 *   source: new SsmBrokerUrl(new SSMClient({}), '/mq-crdr/orders/broker-url'),
 *   destination: '/queue/orders', store, login, passcode, handler: async (m) => ship(JSON.parse(m.body)) });
 */
export async function startFollowingConsumer<T>(options: FollowingConsumerOptions<T>): Promise<FollowingConsumer> {
  const { source, pollMs = 30_000, login, passcode, onMove, onError, ...consumerOptions } = options;
  /** Consumers moved away from; their counts stay live while they settle. */
  const retired: StompConsumer[] = [];

  /** The first of the listed STOMP endpoints that accepts (only an active/standby broker's active one does). */
  const connect = async ({ urls }: BrokerUrls): Promise<{ consumer: StompConsumer; endpoint: string }> => {
    const stomp = urls.filter((u) => /^(stomp|stomp\+ssl):\/\//.test(u));
    if (stomp.length === 0) {
      throw new DedupInputError(
        `the broker URL lists no STOMP endpoint (${urls.join(', ')}): have the orchestrator write them (REDIRECT_PROTOCOL=stomp)`,
      );
    }
    const refusals: string[] = [];
    for (const url of stomp) {
      const endpoint = { ...parseStompUrl(url), ...(login ? { login, passcode: passcode ?? '' } : {}) };
      try {
        return { consumer: await startStompConsumer({ ...consumerOptions, endpoint }), endpoint: describeEndpoint(endpoint) };
      } catch (error) {
        refusals.push(String(error));
      }
    }
    throw new StompConnectionError(`no listed broker accepted the consumer: ${refusals.join('; ')}`);
  };

  let version = -1;
  let current = await source.current().then(async (urls) => {
    version = urls.version;
    return connect(urls);
  });
  let checking: Promise<boolean> | undefined;
  let stopped = false;

  const move = async (): Promise<boolean> => {
    const next = await source.current();
    if (next.version === version || stopped) return false;
    // Connect to the new primary first: if it refuses, the consumer stays where it is and the next check retries.
    const moved = await connect(next);
    const from = current;
    current = moved;
    version = next.version;
    retired.push(from.consumer);
    await from.consumer.stop(); // settles (acks) what it holds
    onMove?.(from.endpoint, moved.endpoint);
    return true;
  };
  const check = (): Promise<boolean> => {
    checking ??= move().finally(() => {
      checking = undefined;
    });
    return checking;
  };
  const timer = setInterval(() => {
    check().catch((error: unknown) => onError?.(error));
  }, pollMs);
  timer.unref();

  return {
    get endpoint() {
      return current.endpoint;
    },
    get counts() {
      const total = { processed: 0, duplicate: 0, 'in-progress': 0, failed: 0 };
      for (const consumer of [...retired, current.consumer]) {
        for (const status of Object.keys(total) as Array<keyof typeof total>) total[status] += consumer.counts[status];
      }
      return total;
    },
    check,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await checking?.catch(() => false);
      await current.consumer.stop();
    },
  };
}
