/**
 * Configuration of the dedup side's jobs (the reconcile and purge functions, and the reconcile command), parsed
 * once from the environment and the request with valibot so a mistake is reported by field, before any work starts.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import * as v from 'valibot';
import { DedupInputError } from './errors.ts';
import { issuesOf } from './issues.ts';
import { type QueueReport, type QueueToReconcile, reconcile } from './reconcile.ts';
import { parseStompUrl } from './stomp.ts';
import { Consistency, DedupStore } from './store.ts';

const nonEmpty = v.pipe(v.string(), v.minLength(1));
const positiveInt = (fallback: number) =>
  v.optional(v.pipe(v.unknown(), v.transform(Number), v.number(), v.integer(), v.minValue(1)), fallback);

const StoreEnv = v.object({
  AWS_REGION: nonEmpty,
  DEDUP_TABLE: nonEmpty,
  DEDUP_CONSISTENCY: v.optional(v.picklist([Consistency.MREC, Consistency.MRSC]), Consistency.MREC),
  DEDUP_RETENTION_SECONDS: positiveInt(7 * 86_400),
  /** Local runs: dynalite. */
  DYNAMODB_ENDPOINT: v.optional(v.pipe(v.string(), v.url())),
});

const ReconcileEnv = v.object({
  ...StoreEnv.entries,
  RECONCILE_SOURCE_URL: nonEmpty,
  RECONCILE_TARGET_URL: nonEmpty,
  BROKER_USERNAME: v.optional(v.string()),
  BROKER_PASSWORD: v.optional(v.string()),
  RECONCILE_IDLE_MS: positiveInt(2000),
});

export const ReconcileRequest = v.strictObject({
  queues: v.pipe(v.array(v.strictObject({ queue: nonEmpty, group: nonEmpty })), v.minLength(1)),
  auditQueue: v.optional(nonEmpty),
});

function parse<T extends v.GenericSchema>(schema: T, input: unknown, what: string): v.InferOutput<T> {
  const parsed = v.safeParse(schema, input);
  if (!parsed.success) throw new DedupInputError(`${what}: ${issuesOf(parsed.issues, '(root)').join('; ')}`);
  return parsed.output;
}

/** A store factory on one client, for the groups a job touches. */
function storesFor(config: v.InferOutput<typeof StoreEnv>): (group: string) => DedupStore {
  const client = new DynamoDBClient({
    region: config.AWS_REGION,
    // A hung call fails as a timeout (the SDK's default would wait for ever, or only warn).
    requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true }),
    ...(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {}),
  });
  const stores = new Map<string, DedupStore>();
  return (group) => {
    let store = stores.get(group);
    if (!store) {
      store = new DedupStore({
        client,
        tableName: config.DEDUP_TABLE,
        group,
        region: config.AWS_REGION,
        consistency: config.DEDUP_CONSISTENCY,
        retentionSeconds: config.DEDUP_RETENTION_SECONDS,
      });
      stores.set(group, store);
    }
    return store;
  };
}

/**
 * Run a reconcile described by `request` with brokers and table from `env`. The broker user's credentials are
 * `credentials` when given (the function reads them from Secrets Manager), else BROKER_USERNAME/PASSWORD.
 */
export async function reconcileFromEnv(
  request: unknown,
  env: NodeJS.ProcessEnv,
  credentialsOf?: () => Promise<{ login: string; passcode: string }>,
): Promise<QueueReport[]> {
  const input = parse(ReconcileRequest, request, 'invalid reconcile request');
  const config = parse(ReconcileEnv, env, 'invalid reconcile configuration');
  const credentials = credentialsOf
    ? await credentialsOf()
    : config.BROKER_USERNAME
      ? { login: config.BROKER_USERNAME, passcode: config.BROKER_PASSWORD ?? '' }
      : {};
  return reconcile({
    source: { ...parseStompUrl(config.RECONCILE_SOURCE_URL), ...credentials },
    target: { ...parseStompUrl(config.RECONCILE_TARGET_URL), ...credentials },
    queues: input.queues as QueueToReconcile[],
    storeFor: storesFor(config),
    idleMs: config.RECONCILE_IDLE_MS,
    ...(input.auditQueue ? { auditQueue: input.auditQueue } : {}),
  });
}

/** Delete expired records of the groups in DEDUP_GROUPS (comma-separated): the retention of MRSC tables. */
export async function purgeFromEnv(env: NodeJS.ProcessEnv): Promise<Record<string, number>> {
  const groups = parse(v.object({ DEDUP_GROUPS: nonEmpty }), env, 'invalid purge configuration')
    .DEDUP_GROUPS.split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  const storeFor = storesFor(parse(StoreEnv, env, 'invalid dedup configuration'));
  const deleted: Record<string, number> = {};
  for (const group of groups) deleted[group] = await storeFor(group).purgeExpired();
  return deleted;
}
