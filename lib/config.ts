/** Configuration of one deployment (one pair, one Region), read and validated once from the environment. */
import { z } from 'zod';
import type { CallTimeouts } from './adapters/http.ts';
import type { SsmRedirectConfig } from './adapters/ssm-redirect.ts';
import { ConfigurationError, issuesOf } from './errors.ts';
import { PROTOCOL_SCHEMES } from './mq-facts.ts';
import type { OrchestratorConfig } from './orchestrator.ts';

const csv = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((s) => s === 'true' || s === '1');
const seconds = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);
/** The rules a pair's values follow, wherever they are given: here, and in a pair file (scripts/deploy.ts). */
export const RegionCode = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected a Region code such as us-east-1');
export const PairIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, - and _, at most 40');
export const SsmParameterPath = z
  .string()
  .max(2048)
  // A leading / keeps the parameter's ARN `…:parameter/<name>`, as serverless.yml's IAM statement writes it.
  .regex(/^\/[A-Za-z0-9_.\-/]+$/, 'an SSM parameter path: / then letters, digits and . - _ /');
export const RedirectProtocol = z.enum(Object.keys(PROTOCOL_SCHEMES) as [keyof typeof PROTOCOL_SCHEMES]);

export const EnvSchema = z
  .object({
    PAIR_ID: PairIdSchema,
    AWS_REGION: RegionCode,
    LOCAL_BROKER_ID: z.string().min(1),
    REMOTE_BROKER_ID: z.string().min(1),
    REMOTE_REGION: RegionCode,
    TABLE_NAME: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/),
    /**
     * The pair view: a DynamoDB global table with a replica in both Regions, where each Region's orchestrator
     * publishes its own outcomes and reads the other's before any automatic decision. Unset: this stack
     * decides alone (one Region only, as the single-stack embedded default does).
     */
    PAIR_VIEW_TABLE: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{3,255}$/)
      .optional(),
    /** manual: automatic triggers never reverse an automatic promotion until an operator re-arms (see README). */
    FAILBACK_POLICY: z.enum(['manual', 'automatic']).default('manual'),
    DEADLINE_SECONDS: seconds(30, 86_400, 600),
    COOLDOWN_SECONDS: seconds(0, 86_400, 900),
    PROBE_FAILURE_THRESHOLD: z.coerce.number().int().min(1).max(100).default(3),
    PROBE_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(3_000),
    /**
     * Every AWS SDK client: how long a connection and a whole request may take (each attempt). A call that hangs
     * fails as a timeout instead of outliving the invocation.
     */
    SDK_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(3_000),
    SDK_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    /** The invocation's overall budget, well under the Lambda timeout (and cut to what Lambda says remains). */
    INVOCATION_BUDGET_MS: z.coerce.number().int().min(1_000).max(900_000).default(80_000),
    /**
     * A switchover waiting while the primary's Region is unreachable (its API and its endpoints failing for
     * PROBE_FAILURE_THRESHOLD consecutive probes) cannot complete: it escalates this long after the outage is
     * confirmed (or after it started, if later) instead of at its deadline. 0 turns it off.
     */
    OUTAGE_ESCALATION_SECONDS: seconds(0, 86_400, 60),
    /**
     * Alarm and probe events older than this by their own timestamp are recorded and ignored: EventBridge
     * retries a delivery for up to 24 hours by default, and a state change that old says nothing about now.
     * 0: no limit.
     */
    MAX_EVENT_AGE_SECONDS: seconds(0, 86_400, 300),
    /**
     * After a Promote is accepted, watch DescribeBroker every WATCH_INTERVAL_SECONDS for up to WATCH_SECONDS: as
     * long as the sweep's period, so that the sweeps' watches follow on without a gap.
     */
    WATCH_SECONDS: seconds(0, 900, 60),
    WATCH_INTERVAL_SECONDS: seconds(1, 60, 5),
    PROMOTE_RETRY_AFTER_SECONDS: seconds(10, 3_600, 120),
    MAX_PROMOTE_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
    DRY_RUN: flag,
    /**
     * The brokers' names, for their TotalReplicationLag metric (dimension `Broker`): with them the escalate and
     * api functions read the lag series, to escalate early and to estimate each failover's RPO.
     */
    LOCAL_BROKER_NAME: z.string().min(1).optional(),
    REMOTE_BROKER_NAME: z.string().min(1).optional(),
    PREDICTIVE_ESCALATION: z
      .enum(['true', 'false', '1', '0'])
      .default('true')
      .transform((s) => s === 'true' || s === '1'),
    PREDICTION_MIN_POINTS: z.coerce.number().int().min(2).max(60).default(3),
    PREDICTION_MARGIN_SECONDS: seconds(0, 86_400, 60),
    /**
     * Client redirection: after every completed promotion, this SSM parameter (in REDIRECT_SSM_REGIONS, by
     * default this Region then the remote one) is set to the failover URL of the new primary's
     * REDIRECT_PROTOCOL endpoints. Unset: no redirection.
     */
    REDIRECT_SSM_PARAMETER: SsmParameterPath.optional(),
    REDIRECT_SSM_REGIONS: csv.pipe(z.array(RegionCode)),
    REDIRECT_PROTOCOL: RedirectProtocol.default('openwire'),
    REDIRECT_RETRY_SECONDS: seconds(10, 3_600, 60),
    REDIRECT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(10),
    /** What the ARC Region switch step (arcStep) starts when its Region's broker is a replica. */
    ARC_STEP_MODE: z.enum(['SWITCHOVER', 'FAILOVER']).default('SWITCHOVER'),
    LAG_ALARM_NAMES: csv,
    HEALTH_ALARM_NAMES: csv,
    TOPIC_ARN: z.string().startsWith('arn:').optional(),
    SCHEDULE_GROUP: z.string().min(1).default('default'),
    ESCALATE_FUNCTION_ARN: z.string().startsWith('arn:').optional(),
    SCHEDULER_ROLE_ARN: z.string().startsWith('arn:').optional(),
    DEAD_LETTER_QUEUE_ARN: z.string().startsWith('arn:').optional(),
    /** Endpoint overrides for the embedded default (simulator, dynalite); unset on AWS. */
    MQ_ENDPOINT: z.url().optional(),
    DYNAMODB_ENDPOINT: z.url().optional(),
    SNS_ENDPOINT: z.url().optional(),
    CLOUDWATCH_ENDPOINT: z.url().optional(),
    SSM_ENDPOINT: z.url().optional(),
  })
  .refine((e) => e.LOCAL_BROKER_ID !== e.REMOTE_BROKER_ID, { message: 'LOCAL_BROKER_ID and REMOTE_BROKER_ID must differ' })
  .refine((e) => Boolean(e.ESCALATE_FUNCTION_ARN) === Boolean(e.SCHEDULER_ROLE_ARN), {
    message: 'set both ESCALATE_FUNCTION_ARN and SCHEDULER_ROLE_ARN (or neither)',
  });

export type Env = z.infer<typeof EnvSchema>;

export interface AppConfig extends OrchestratorConfig {
  region: string;
  remoteRegion: string;
  remoteBrokerId: string;
  tableName: string;
  pairViewTable?: string;
  probeTimeoutMs: number;
  timeouts: CallTimeouts;
  budgetMs: number;
  lagAlarmNames: string[];
  healthAlarmNames: string[];
  arcStepMode: 'SWITCHOVER' | 'FAILOVER';
  topicArn?: string;
  scheduler?: { functionArn: string; roleArn: string; groupName: string; deadLetterArn?: string };
  mqEndpoint?: string;
  dynamodbEndpoint?: string;
  snsEndpoint?: string;
  cloudwatchEndpoint?: string;
  ssmEndpoint?: string;
  /** Where client redirection writes the new primary's URLs; absent: clients are not redirected. */
  redirect?: SsmRedirectConfig & NonNullable<OrchestratorConfig['redirect']>;
  /** The pair's brokers whose lag metric the orchestrator reads (none: no prediction, RPO unknown). */
  lagBrokers: Array<{ region: string; brokerName: string }>;
}

export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = issuesOf(parsed.error, 'environment');
    throw new ConfigurationError(`invalid orchestrator configuration; fix the function's environment: ${issues.join('; ')}`);
  }
  const e = parsed.data;
  return {
    pairId: e.PAIR_ID,
    region: e.AWS_REGION,
    localBrokerId: e.LOCAL_BROKER_ID,
    remoteBrokerId: e.REMOTE_BROKER_ID,
    remoteRegion: e.REMOTE_REGION,
    tableName: e.TABLE_NAME,
    ...(e.PAIR_VIEW_TABLE ? { pairViewTable: e.PAIR_VIEW_TABLE } : {}),
    failbackPolicy: e.FAILBACK_POLICY,
    deadlineMs: e.DEADLINE_SECONDS * 1000,
    cooldownMs: e.COOLDOWN_SECONDS * 1000,
    probeFailureThreshold: e.PROBE_FAILURE_THRESHOLD,
    probeTimeoutMs: e.PROBE_TIMEOUT_MS,
    timeouts: { connectMs: e.SDK_CONNECT_TIMEOUT_MS, requestMs: e.SDK_REQUEST_TIMEOUT_MS },
    budgetMs: e.INVOCATION_BUDGET_MS,
    remote: { brokerId: e.REMOTE_BROKER_ID, region: e.REMOTE_REGION },
    ...(e.OUTAGE_ESCALATION_SECONDS > 0 ? { outageEscalationMs: e.OUTAGE_ESCALATION_SECONDS * 1000 } : {}),
    ...(e.MAX_EVENT_AGE_SECONDS > 0 ? { maxEventAgeMs: e.MAX_EVENT_AGE_SECONDS * 1000 } : {}),
    watch: {
      windowMs: e.WATCH_SECONDS * 1000,
      intervalMs: e.WATCH_INTERVAL_SECONDS * 1000,
      // Left at the end of the budget for the last decision's write and its commands (three calls' worth).
      reserveMs: 3 * e.SDK_REQUEST_TIMEOUT_MS,
    },
    promoteRetryAfterMs: e.PROMOTE_RETRY_AFTER_SECONDS * 1000,
    maxPromoteAttempts: e.MAX_PROMOTE_ATTEMPTS,
    dryRun: e.DRY_RUN,
    ...(e.PREDICTIVE_ESCALATION
      ? { prediction: { minPoints: e.PREDICTION_MIN_POINTS, marginMs: e.PREDICTION_MARGIN_SECONDS * 1000 } }
      : {}),
    lagBrokers: [
      ...(e.LOCAL_BROKER_NAME ? [{ region: e.AWS_REGION, brokerName: e.LOCAL_BROKER_NAME }] : []),
      ...(e.REMOTE_BROKER_NAME ? [{ region: e.REMOTE_REGION, brokerName: e.REMOTE_BROKER_NAME }] : []),
    ],
    ...(e.REDIRECT_SSM_PARAMETER
      ? {
          redirect: {
            parameterName: e.REDIRECT_SSM_PARAMETER,
            regions: e.REDIRECT_SSM_REGIONS.length > 0 ? e.REDIRECT_SSM_REGIONS : [e.AWS_REGION, e.REMOTE_REGION],
            protocol: e.REDIRECT_PROTOCOL,
            retryAfterMs: e.REDIRECT_RETRY_SECONDS * 1000,
            maxAttempts: e.REDIRECT_MAX_ATTEMPTS,
          },
        }
      : {}),
    arcStepMode: e.ARC_STEP_MODE,
    lagAlarmNames: e.LAG_ALARM_NAMES,
    healthAlarmNames: e.HEALTH_ALARM_NAMES,
    ...(e.TOPIC_ARN ? { topicArn: e.TOPIC_ARN } : {}),
    ...(e.ESCALATE_FUNCTION_ARN && e.SCHEDULER_ROLE_ARN
      ? {
          scheduler: {
            functionArn: e.ESCALATE_FUNCTION_ARN,
            roleArn: e.SCHEDULER_ROLE_ARN,
            groupName: e.SCHEDULE_GROUP,
            ...(e.DEAD_LETTER_QUEUE_ARN ? { deadLetterArn: e.DEAD_LETTER_QUEUE_ARN } : {}),
          },
        }
      : {}),
    ...(e.MQ_ENDPOINT ? { mqEndpoint: e.MQ_ENDPOINT } : {}),
    ...(e.DYNAMODB_ENDPOINT ? { dynamodbEndpoint: e.DYNAMODB_ENDPOINT } : {}),
    ...(e.SNS_ENDPOINT ? { snsEndpoint: e.SNS_ENDPOINT } : {}),
    ...(e.CLOUDWATCH_ENDPOINT ? { cloudwatchEndpoint: e.CLOUDWATCH_ENDPOINT } : {}),
    ...(e.SSM_ENDPOINT ? { ssmEndpoint: e.SSM_ENDPOINT } : {}),
  };
}
