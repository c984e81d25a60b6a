/**
 * docs/configuration.md, generated from the configuration schema itself (lib/config.ts EnvSchema): each
 * variable's name, whether it is required, its default, its bounds or allowed values, and what it does.
 * `npm run docs:config` writes it; test/unit/config-docs.test.ts fails when the page and the schema differ, or
 * when a variable has no description here.
 */
import { EnvSchema } from './config.ts';

/** What each variable does, in a line; the schema gives the rest. */
export const DESCRIPTIONS: Record<string, string> = {
  PAIR_ID: 'The pair this stack orchestrates.',
  AWS_REGION: "This stack's Region (set by Lambda).",
  LOCAL_BROKER_ID: "This Region's broker.",
  REMOTE_BROKER_ID: "The other Region's broker (checked against the local broker's replication counterpart).",
  REMOTE_REGION: "The other broker's Region.",
  TABLE_NAME: "This stack's state table (the pair's record and its audit timeline).",
  PAIR_VIEW_TABLE: "The pair view's global table, where each Region publishes its outcomes. Unset: this stack decides alone.",
  FAILBACK_POLICY: 'manual: automatic triggers never reverse a promotion until an operator re-arms or fails back by hand.',
  DEADLINE_SECONDS: 'A switchover not complete by then escalates to a FAILOVER.',
  COOLDOWN_SECONDS: "Pair-wide: no automatic promotion this long after either Region's newest promotion took hold.",
  PROBE_FAILURE_THRESHOLD: 'Failed health probes in a row that start a switchover.',
  PROBE_INTERVAL_SECONDS:
    'The health check runs once a minute and probes every this many seconds within it (60: one probe a minute).',
  PROBE_WINDOW_SECONDS:
    'Gray failure: max(2, threshold - 1) failed probes a minute of probes (so half the probes at 60 s) within this window, with a healthy one between, count as the threshold in a row. 0: off.',
  PROBE_TIMEOUT_MS: "The probe's DescribeBroker and handshakes each end after this.",
  PROBE_ENDPOINTS:
    "auto: a failed handshake with the primary's endpoints counts only once they have answered from this Region; on: always; off: never.",
  SDK_CONNECT_TIMEOUT_MS: 'Every AWS SDK call: connection timeout.',
  SDK_REQUEST_TIMEOUT_MS: 'Every AWS SDK call: request timeout (each attempt).',
  INVOCATION_BUDGET_MS: "Each invocation's budget, under the Lambda timeout.",
  OUTAGE_ESCALATION_SECONDS:
    "A switchover that cannot complete because the primary's Region answers nothing escalates this long after the outage is confirmed. 0: off.",
  MAX_EVENT_AGE_SECONDS: 'Alarm and probe events older than this are recorded and ignored. 0: no limit.',
  WATCH_SECONDS: 'After an accepted Promote, watch the broker for this long (0: off).',
  WATCH_INTERVAL_SECONDS: 'How often the watch describes the broker.',
  PROMOTE_RETRY_AFTER_SECONDS:
    'Re-send a Promote whose acceptance was never recorded after this long (guarded: docs/decision-rules.md).',
  MAX_PROMOTE_ATTEMPTS: 'Promote attempts before the operation fails.',
  DRY_RUN: 'Record decisions, never call Promote.',
  LOCAL_BROKER_NAME:
    "This Region's broker's name: its CRDR metrics' Broker dimension (both instances). Unset: no prediction, RPO unknown.",
  REMOTE_BROKER_NAME: "The other broker's name, as above.",
  PREDICTIVE_ESCALATION: "Escalate a switchover early when the primary's QueueSize shows it cannot drain by its deadline.",
  PREDICTION_MIN_POINTS: 'Datapoints (one a minute) a prediction needs.',
  PREDICTION_MARGIN_SECONDS: 'A drain expected to end within this past the deadline is waited for.',
  REDIRECT_SSM_PARAMETER: "Client redirection: the SSM parameter that holds the primary's failover URL. Unset: no redirection.",
  REDIRECT_SSM_REGIONS: 'Comma-separated Regions to write it in (default: this Region, then the remote one).',
  REDIRECT_PROTOCOL: 'Whose endpoints the failover URL lists.',
  REDIRECT_RETRY_SECONDS: 'A failed redirection is retried by the sweep after this (doubling).',
  REDIRECT_MAX_ATTEMPTS: 'Redirection attempts before it asks for a hand.',
  ARC_STEP_MODE: 'What the ARC Region switch step starts.',
  LAG_ALARM_NAMES: 'Comma-separated replication alarms routed to onAlarm (the stack creates one).',
  HEALTH_ALARM_NAMES: 'Comma-separated health alarms of your own routed to onAlarm.',
  TOPIC_ARN: 'The SNS topic every decision is published to. Unset: logged only.',
  SCHEDULE_GROUP: 'The EventBridge Scheduler group of deadline schedules.',
  ESCALATE_FUNCTION_ARN: 'The escalate function deadline schedules invoke (with SCHEDULER_ROLE_ARN).',
  SCHEDULER_ROLE_ARN: 'The role EventBridge Scheduler invokes it with.',
  DEAD_LETTER_QUEUE_ARN: "Where a deadline schedule's failed invocation goes.",
  MQ_ENDPOINT: 'Local runs: the Amazon MQ endpoint (the simulator).',
  DYNAMODB_ENDPOINT: 'Local runs: the DynamoDB endpoint (dynalite).',
  SNS_ENDPOINT: 'Local runs: the SNS endpoint.',
  CLOUDWATCH_ENDPOINT: 'Local runs: the CloudWatch endpoint.',
  SSM_ENDPOINT: 'Local runs: the SSM endpoint.',
  SCHEDULER_ENDPOINT:
    'Local runs: the EventBridge Scheduler endpoint (deadlines are then created in the simulator, which fires none).',
};

// valibot schemas are plain objects: their kind, default, options and pipe are read as they are.
interface Node {
  type: string;
  default?: unknown;
  options?: unknown[];
  wrapped?: Node;
  pipe?: Array<{ type: string; requirement?: unknown }>;
}

export const entries = (): Record<string, Node> =>
  ((EnvSchema as unknown as { pipe: Array<{ entries?: Record<string, Node> }> }).pipe[0]?.entries ?? {}) as Record<string, Node>;

function rules(node: Node): string {
  const inner = node.type === 'optional' && node.wrapped ? node.wrapped : node;
  const options = node.options ?? inner.options;
  if (options)
    return options
      .filter((o) => o !== '')
      .map((o) => `\`${String(o)}\``)
      .join(', ');
  const pipe = [...(node.pipe ?? []), ...(inner.pipe ?? [])];
  const min = pipe.find((p) => p.type === 'min_value')?.requirement;
  const max = pipe.find((p) => p.type === 'max_value')?.requirement;
  if (min !== undefined && max !== undefined) return `${String(min)} to ${String(max)}`;
  if (pipe.some((p) => p.type === 'url')) return 'a URL';
  if (pipe.some((p) => p.type === 'starts_with')) return 'an ARN';
  return '';
}

export function configurationMarkdown(): string {
  const rows = Object.entries(entries()).map(([name, node]) => {
    const required = node.type !== 'optional';
    const fallback = node.default === undefined || node.default === '' ? '' : `\`${String(node.default)}\``;
    const description = DESCRIPTIONS[name] ?? '(undescribed)';
    return `| \`${name}\` | ${required ? 'required' : fallback || 'unset'} | ${rules(node)} | ${description} |`;
  });
  return [
    '# Configuration',
    '',
    "Generated from the functions' configuration schema (`lib/config.ts`) by `npm run docs:config`; a test fails when",
    'this page and the schema differ. Every function reads it from its environment once, at start, and refuses to',
    'start with a message that names each variable that is wrong. `serverless.yml` sets it from the pair file.',
    '',
    '| variable | default | allowed | what it does |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
