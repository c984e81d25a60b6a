/**
 * Configuration of one deployment (one pair, one Region), read and validated once from the environment.
 *
 * Validated with valibot, as every boundary of the orchestrator is: its schemas are plain objects, built in
 * microseconds, where zod's classes took 4 ms of each cold start to build this schema alone (docs/architecture.md,
 * "Validation"). `issuesOf` (errors.ts) words its issues.
 */
import * as v from 'valibot';
import type { CallTimeouts } from './adapters/http.ts';
import type { SsmRedirectConfig } from './adapters/ssm-redirect.ts';
import { ConfigurationError, issuesOf } from './errors.ts';
import { PROTOCOL_SCHEMES } from './mq-facts.ts';
import type { OrchestratorConfig } from './orchestrator.ts';

const csv = v.pipe(
  v.optional(v.string(), ''),
  v.transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  ),
);
const flag = v.pipe(
  v.optional(v.picklist(['true', 'false', '1', '0', '']), 'false'),
  v.transform((s) => s === 'true' || s === '1'),
);
/**
 * A whole number within bounds, given as text, with a default: every numeric setting (seconds, milliseconds,
 * counts), and the API's numeric query parameters.
 */
export const int = (min: number, max: number, fallback: number) =>
  v.optional(v.pipe(v.unknown(), v.transform(Number), v.number(), v.integer(), v.minValue(min), v.maxValue(max)), fallback);
const arn = v.optional(v.pipe(v.string(), v.startsWith('arn:')));
const url = v.optional(v.pipe(v.string(), v.url()));
const nonEmpty = v.pipe(v.string(), v.minLength(1));
const tableName = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{3,255}$/));
/** The rules a pair's values follow, wherever they are given: here, and in a pair file (scripts/deploy.ts). */
export const RegionCode = v.pipe(v.string(), v.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected a Region code such as us-east-1'));
export const PairIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, - and _, at most 40'));
export const SsmParameterPath = v.pipe(
  v.string(),
  v.maxLength(2048),
  // A leading / keeps the parameter's ARN `…:parameter/<name>`, as serverless.yml's IAM statement writes it.
  v.regex(/^\/[A-Za-z0-9_.\-/]+$/, 'an SSM parameter path: / then letters, digits and . - _ /'),
);
export const RedirectProtocol = v.picklist(Object.keys(PROTOCOL_SCHEMES) as [keyof typeof PROTOCOL_SCHEMES]);

/** The shortest pair-wide cooldown automatic fail-back may run with. */
export const MIN_AUTOMATIC_FAILBACK_COOLDOWN_SECONDS = 300;

export const EnvSchema = v.pipe(
  v.object({
    PAIR_ID: PairIdSchema,
    AWS_REGION: RegionCode,
    LOCAL_BROKER_ID: nonEmpty,
    REMOTE_BROKER_ID: nonEmpty,
    REMOTE_REGION: RegionCode,
    TABLE_NAME: tableName,
    /**
     * The pair view: a DynamoDB global table with a replica in both Regions, where each Region's orchestrator
     * publishes its own outcomes and reads the other's before any automatic decision. Unset: this stack
     * decides alone (one Region only, as the single-stack embedded default does).
     */
    PAIR_VIEW_TABLE: v.optional(tableName),
    /** manual: automatic triggers never reverse a promotion until an operator re-arms or fails back (see docs/decision-rules.md). */
    FAILBACK_POLICY: v.optional(v.picklist(['manual', 'automatic']), 'manual'),
    DEADLINE_SECONDS: int(30, 86_400, 600),
    COOLDOWN_SECONDS: int(0, 86_400, 900),
    PROBE_FAILURE_THRESHOLD: int(1, 100, 3),
    /**
     * The health check runs once a minute (EventBridge Scheduler's finest rate) and probes every this many seconds
     * within the invocation: 15 s finds an outage in 30 s. 60: one probe an invocation.
     */
    PROBE_INTERVAL_SECONDS: int(5, 60, 15),
    // Gray failure (docs/decision-rules.md): PROBE_FAILURE_THRESHOLD - 1 failed probes (at least 2) within this
    // many seconds start a switchover as PROBE_FAILURE_THRESHOLD in a row do. 0: off.
    PROBE_WINDOW_SECONDS: int(0, 3_600, 240),
    PROBE_TIMEOUT_MS: int(100, 30_000, 3_000),
    PROBE_ENDPOINTS: v.optional(v.picklist(['auto', 'on', 'off']), 'auto'),
    /**
     * Every AWS SDK client: how long a connection and a whole request may take (each attempt). A call that hangs
     * fails as a timeout instead of outliving the invocation.
     */
    SDK_CONNECT_TIMEOUT_MS: int(50, 30_000, 3_000),
    SDK_REQUEST_TIMEOUT_MS: int(100, 60_000, 5_000),
    /** The invocation's overall budget, well under the Lambda timeout (and cut to what Lambda says remains). */
    INVOCATION_BUDGET_MS: int(1_000, 900_000, 80_000),
    /**
     * A switchover waiting while the primary's Region is unreachable (its API and its endpoints failing for
     * PROBE_FAILURE_THRESHOLD consecutive probes) cannot complete: it escalates this long after the outage is
     * confirmed (or after it started, if later) instead of at its deadline. 0 turns it off.
     */
    OUTAGE_ESCALATION_SECONDS: int(0, 86_400, 30),
    /**
     * Alarm and probe events older than this by their own timestamp are recorded and ignored: EventBridge
     * retries a delivery for up to 24 hours by default, and a state change that old says nothing about now.
     * 0: no limit.
     */
    MAX_EVENT_AGE_SECONDS: int(0, 86_400, 300),
    /**
     * After a Promote is accepted, watch DescribeBroker every WATCH_INTERVAL_SECONDS for up to WATCH_SECONDS: as
     * long as the sweep's period, so that the sweeps' watches follow on without a gap.
     */
    WATCH_SECONDS: int(0, 900, 60),
    WATCH_INTERVAL_SECONDS: int(1, 60, 5),
    PROMOTE_RETRY_AFTER_SECONDS: int(10, 3_600, 120),
    MAX_PROMOTE_ATTEMPTS: int(1, 20, 3),
    DRY_RUN: flag,
    /**
     * The brokers' names, for their CRDR metrics (dimension `Broker`, both instances `-1`/`-2`): with them the
     * escalate and api functions read QueueSize and TotalReplicationLag, to escalate early and for the RPO.
     */
    LOCAL_BROKER_NAME: v.optional(nonEmpty),
    REMOTE_BROKER_NAME: v.optional(nonEmpty),
    PREDICTIVE_ESCALATION: v.pipe(
      v.optional(v.picklist(['true', 'false', '1', '0']), 'true'),
      v.transform((s) => s === 'true' || s === '1'),
    ),
    PREDICTION_MIN_POINTS: int(2, 60, 3),
    PREDICTION_MARGIN_SECONDS: int(0, 86_400, 60),
    /**
     * Client redirection: after every completed promotion, this SSM parameter (in REDIRECT_SSM_REGIONS, by
     * default this Region then the remote one) is set to the failover URL of the new primary's
     * REDIRECT_PROTOCOL endpoints. Unset: no redirection.
     */
    REDIRECT_SSM_PARAMETER: v.optional(SsmParameterPath),
    REDIRECT_SSM_REGIONS: v.pipe(csv, v.array(RegionCode)),
    REDIRECT_PROTOCOL: v.optional(RedirectProtocol, 'openwire'),
    REDIRECT_RETRY_SECONDS: int(10, 3_600, 60),
    REDIRECT_MAX_ATTEMPTS: int(1, 20, 10),
    /** What the ARC Region switch step (arcStep) starts when its Region's broker is a replica. */
    ARC_STEP_MODE: v.optional(v.picklist(['SWITCHOVER', 'FAILOVER']), 'SWITCHOVER'),
    LAG_ALARM_NAMES: csv,
    HEALTH_ALARM_NAMES: csv,
    TOPIC_ARN: arn,
    SCHEDULE_GROUP: v.optional(nonEmpty, 'default'),
    ESCALATE_FUNCTION_ARN: arn,
    SCHEDULER_ROLE_ARN: arn,
    DEAD_LETTER_QUEUE_ARN: arn,
    /** Endpoint overrides for the embedded default (simulator, dynalite); unset on AWS. */
    MQ_ENDPOINT: url,
    DYNAMODB_ENDPOINT: url,
    SNS_ENDPOINT: url,
    CLOUDWATCH_ENDPOINT: url,
    SSM_ENDPOINT: url,
    SCHEDULER_ENDPOINT: url,
  }),
  v.check((e) => e.LOCAL_BROKER_ID !== e.REMOTE_BROKER_ID, 'LOCAL_BROKER_ID and REMOTE_BROKER_ID must differ'),
  v.check(
    (e) => Boolean(e.ESCALATE_FUNCTION_ARN) === Boolean(e.SCHEDULER_ROLE_ARN),
    'set both ESCALATE_FUNCTION_ARN and SCHEDULER_ROLE_ARN (or neither)',
  ),
  // Automatic fail-back without a cooldown would let a slow link bounce the primary between the Regions.
  v.check(
    (e) => e.FAILBACK_POLICY !== 'automatic' || e.COOLDOWN_SECONDS >= MIN_AUTOMATIC_FAILBACK_COOLDOWN_SECONDS,
    `FAILBACK_POLICY=automatic keeps a pair-wide cooldown: set COOLDOWN_SECONDS to at least ${MIN_AUTOMATIC_FAILBACK_COOLDOWN_SECONDS}, or FAILBACK_POLICY=manual`,
  ),
);

export type Env = v.InferOutput<typeof EnvSchema>;

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
  schedulerEndpoint?: string;
  /** Where client redirection writes the new primary's URLs; absent: clients are not redirected. */
  redirect?: SsmRedirectConfig & NonNullable<OrchestratorConfig['redirect']>;
  /** The pair's brokers whose lag metric the orchestrator reads (none: no prediction, RPO unknown). */
  lagBrokers: Array<{ region: string; brokerName: string; local: boolean }>;
}

export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const parsed = v.safeParse(EnvSchema, env);
  if (!parsed.success) {
    const issues = issuesOf(parsed.issues, 'environment');
    throw new ConfigurationError(`invalid orchestrator configuration; fix the function's environment: ${issues.join('; ')}`);
  }
  const e = parsed.output;
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
    probeIntervalMs: e.PROBE_INTERVAL_SECONDS * 1000,
    ...(e.PROBE_WINDOW_SECONDS > 0 ? { probeWindowMs: e.PROBE_WINDOW_SECONDS * 1000 } : {}),
    probeTimeoutMs: e.PROBE_TIMEOUT_MS,
    probeEndpoints: e.PROBE_ENDPOINTS,
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
      ...(e.LOCAL_BROKER_NAME ? [{ region: e.AWS_REGION, brokerName: e.LOCAL_BROKER_NAME, local: true }] : []),
      ...(e.REMOTE_BROKER_NAME ? [{ region: e.REMOTE_REGION, brokerName: e.REMOTE_BROKER_NAME, local: false }] : []),
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
    ...(e.SCHEDULER_ENDPOINT ? { schedulerEndpoint: e.SCHEDULER_ENDPOINT } : {}),
  };
}
