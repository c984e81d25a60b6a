/**
 * Builds the orchestrator from configuration: one real AWS SDK v3 client per service, created once per
 * container. Endpoint overrides (MQ_ENDPOINT, DYNAMODB_ENDPOINT, SNS_ENDPOINT, CLOUDWATCH_ENDPOINT, SSM_ENDPOINT)
 * point them at the simulator and dynalite.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MqClient } from '@aws-sdk/client-mq';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { DynamoPairStore } from './adapters/dynamo-store.ts';
import { BoundedHttpHandler } from './adapters/http.ts';
import { MqBrokerApi } from './adapters/mq.ts';
import { DynamoPairView } from './adapters/pair-view.ts';
import { RemotePrimaryProbe } from './adapters/primary-probe.ts';
import { CloudWatchReplicationMetrics } from './adapters/replication-metrics.ts';
import { EventBridgeDeadlineScheduler } from './adapters/scheduler.ts';
import { LogNotifier, SnsNotifier } from './adapters/sns.ts';
import { SsmClientRedirector } from './adapters/ssm-redirect.ts';
import { CloudWatchViewReplication, type ViewReplication } from './adapters/view-replication.ts';
import { type AppConfig, loadConfig } from './config.ts';
import type { LogSink, Orchestrator } from './orchestrator.ts';
import {
  type BrokerApi,
  type Clock,
  type DeadlineScheduler,
  type PrimaryProbe,
  type ReplicationMetrics,
  systemClock,
} from './ports.ts';

export interface Runtime {
  config: AppConfig;
  orchestrator: Orchestrator;
  probe: PrimaryProbe;
  /** The primary's Region's Amazon MQ API, for the operator's view of the remote broker. */
  remoteBroker: BrokerApi;
  lagMetrics: ReplicationMetrics;
  /** The pair view's replication latency each way (readiness). */
  viewReplication: ViewReplication;
  /** Closes the SDK clients' connections (a container never needs it; a process hosting many runtimes does). */
  close(): void;
}

export interface RuntimeOverrides {
  clock?: Clock;
  /** The embedded default passes its local scheduler; on AWS it is built from the configuration. */
  scheduler?: DeadlineScheduler;
  credentials?: AwsCredentialIdentity;
  newOperationId?: () => string;
}

/** Without a schedule target the rate(1 minute) sweep alone escalates; said once per operation. */
class SweepOnlyScheduler implements DeadlineScheduler {
  readonly sweepOnly = true;
  constructor(private readonly log: LogSink) {}
  async schedule(pairId: string, operationId: string): Promise<void> {
    this.log.warn('no deadline schedule configured; the sweep escalates', { pairId, operationId });
  }
  async cancel(): Promise<void> {}
}

export function createRuntime(config: AppConfig, log: LogSink, overrides: RuntimeOverrides = {}): Runtime {
  const options = (region: string, endpoint: string | undefined) => ({
    region,
    // Connection and request timeouts on every call, each call also bound by the invocation's budget.
    requestHandler: new BoundedHttpHandler(config.timeouts),
    ...(overrides.credentials ? { credentials: overrides.credentials } : {}),
    ...(endpoint ? { endpoint } : {}),
  });
  const clients: Array<{ destroy(): void }> = [];
  const made = <T extends { destroy(): void }>(client: T): T => {
    clients.push(client);
    return client;
  };
  const mq = (region: string) => made(new MqClient(options(region, config.mqEndpoint)));
  const dynamo = made(new DynamoDBClient(options(config.region, config.dynamodbEndpoint)));
  /**
   * A client made on first use, its package imported then: a cold start pays only for the clients an
   * invocation calls (the SSM, Scheduler, SNS and CloudWatch clients are on paths most invocations never take).
   */
  const lazyClient = <T extends { destroy(): void }>(make: () => Promise<T>) => {
    let client: Promise<T> | undefined;
    return (): Promise<T> => {
      client ??= make().then(made);
      return client;
    };
  };
  /** One lazy client per Region. */
  const perRegion = <T extends { destroy(): void }>(make: (region: string) => Promise<T>) => {
    const byRegion = new Map<string, () => Promise<T>>();
    return (region: string): Promise<T> => {
      const client = byRegion.get(region) ?? lazyClient(() => make(region));
      byRegion.set(region, client);
      return client();
    };
  };
  const cloudwatchIn = perRegion(async (region) => {
    const { CloudWatchClient } = await import('@aws-sdk/client-cloudwatch');
    return new CloudWatchClient(options(region, config.cloudwatchEndpoint));
  });
  const remoteBroker = new MqBrokerApi(mq(config.remoteRegion));
  const scheduler =
    overrides.scheduler ??
    (config.scheduler
      ? new EventBridgeDeadlineScheduler(
          lazyClient(
            async () =>
              new (await import('@aws-sdk/client-scheduler')).SchedulerClient(options(config.region, config.schedulerEndpoint)),
          ),
          config.scheduler,
        )
      : new SweepOnlyScheduler(log));
  const notifier = config.topicArn
    ? new SnsNotifier(
        lazyClient(async () => new (await import('@aws-sdk/client-sns')).SNSClient(options(config.region, config.snsEndpoint))),
        config.topicArn,
      )
    : new LogNotifier(log);
  const lagMetrics = new CloudWatchReplicationMetrics(cloudwatchIn);
  const localBroker = new MqBrokerApi(mq(config.region));
  const redirector = config.redirect
    ? new SsmClientRedirector(
        localBroker,
        perRegion(async (region) => new (await import('@aws-sdk/client-ssm')).SSMClient(options(region, config.ssmEndpoint))),
        config.redirect,
        { broker: remoteBroker, brokerId: config.remoteBrokerId, timeoutMs: config.probeTimeoutMs },
      )
    : undefined;
  return {
    config,
    orchestrator: {
      lag: { metrics: lagMetrics, brokers: config.lagBrokers, timeoutMs: config.probeTimeoutMs },
      config,
      store: new DynamoPairStore(dynamo, config.tableName),
      ...(config.pairViewTable ? { view: new DynamoPairView(dynamo, config.pairViewTable, config.region) } : {}),
      broker: localBroker,
      ...(redirector ? { redirector } : {}),
      scheduler,
      notifier,
      clock: overrides.clock ?? systemClock,
      log,
      ...(overrides.newOperationId ? { newOperationId: overrides.newOperationId } : {}),
    },
    // One attempt per probe: a retry's backoff would outlast the probe's timeout and turn a throttled (4xx)
    // answer, which is no verdict, into a timeout, which is a failed probe.
    probe: new RemotePrimaryProbe(
      new MqBrokerApi(made(new MqClient({ ...options(config.remoteRegion, config.mqEndpoint), maxAttempts: 1 }))),
      config.remoteBrokerId,
      config.probeTimeoutMs,
    ),
    remoteBroker,
    lagMetrics,
    viewReplication: new CloudWatchViewReplication(cloudwatchIn),
    close: () => {
      for (const client of clients) client.destroy();
    },
  };
}

/** The runtime of a deployed function: configuration from its environment, read on first use. */
export function runtimeFromEnv(log: LogSink): () => Runtime {
  let runtime: Runtime | undefined;
  return () => {
    runtime ??= createRuntime(loadConfig(process.env), log);
    return runtime;
  };
}
