/**
 * Processed-message records in one DynamoDB table (a global table in production), keyed by consumer group and
 * message ID: `pk = <group>#<messageId>`.
 *
 *   claim ──► IN_PROGRESS (lease: owner token + leaseExpiresAt) ──► complete ──► COMPLETED
 *                  │                                  └── lease expired: the next claim takes it over
 *                  └── release (handler failed) ──► no record: the redelivery processes it again
 *
 * Claims are single-item conditional writes: two consumers never both hold a live lease in one Region. Global
 * table facts (see docs/dedup.md "Dedup on global tables"):
 * - MREC (eventual): conditions are checked against the local replica only. Two Regions can both claim one
 *   message within the replication delay (typically under a second); exactly-once holds within a Region.
 * - MRSC (strong): conditions and consistent reads see every Region's writes; a concurrent write of the same
 *   item from another Region is refused with ReplicatedWriteConflictException, which is retried here. MRSC has
 *   no TTL, so expired records are removed by {@link DedupStore.purgeExpired} (the purgeDedup function).
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { DedupInputError, DedupStoreError, DedupTableNotFoundError, DedupThrottledError, errorMessage } from './errors.ts';

export const Consistency = { MREC: 'MREC', MRSC: 'MRSC' } as const;
export type Consistency = (typeof Consistency)[keyof typeof Consistency];

export const RecordStatus = { IN_PROGRESS: 'IN_PROGRESS', COMPLETED: 'COMPLETED' } as const;
export type RecordStatus = (typeof RecordStatus)[keyof typeof RecordStatus];

/** DynamoDB allows 2048 bytes of partition key; this leaves room for the group. */
export const MAX_MESSAGE_ID_BYTES = 1024;
const GROUP_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;

/** Errors DynamoDB asks us to retry. ReplicatedWriteConflictException is MRSC's concurrent cross-Region write. */
const RETRYABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ReplicatedWriteConflictException',
  'InternalServerError',
  'ServiceUnavailable',
]);

export interface DedupRecord {
  pk: string;
  status: RecordStatus;
  /** Token of the claim that wrote the record. */
  owner: string;
  /** Epoch ms after which an IN_PROGRESS claim may be taken over. */
  leaseExpiresAt: number;
  /** Region of the consumer that claimed or processed the message. */
  region: string;
  claimedAt: number;
  processedAt?: number;
  /** Epoch seconds: the table's TTL attribute (MREC), or the purge job's cut-off (MRSC). */
  expiresAt: number;
}

export type ClaimResult =
  | { outcome: 'claimed'; token: string }
  | { outcome: 'duplicate'; region: string; processedAt?: number }
  | { outcome: 'in-progress'; leaseExpiresAt: number; region: string };

export interface Completion {
  messageId: string;
  token: string;
}

export interface DedupStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Consumer group: records of different groups never collide. Letters, digits, `_ . : -`. */
  group: string;
  /** The Region this consumer runs in; recorded on every record. */
  region: string;
  /** How long a record is kept. Default 7 days; keep it longer than a message can live on a broker. */
  retentionSeconds?: number;
  /** How long a claim protects a message being processed. Default 60 s; keep it above your longest handler. */
  leaseSeconds?: number;
  /** The table's multi-Region consistency mode. Default MREC. */
  consistency?: Consistency;
  /** Attempts for throttled or conflicting requests before {@link DedupThrottledError}. Default 6. */
  maxAttempts?: number;
  /** First backoff delay in ms; doubles each attempt, with full jitter. Default 25. */
  baseDelayMs?: number;
  now?: () => number;
}

/**
 * @example
 * const store = new DedupStore({ client: new DynamoDBClient({}), tableName: 'dedup', group: 'billing', region: 'us-east-1' });
 * const seen = await store.processed(['ID:1', 'ID:2']);   // one BatchGetItem per 100 IDs
 * const claim = await store.claim('ID:3');
 * if (claim.outcome === 'claimed') { await work(); await store.complete([{ messageId: 'ID:3', token: claim.token }]); }
 */
export class DedupStore {
  readonly tableName: string;
  readonly group: string;
  readonly region: string;
  readonly consistency: Consistency;
  readonly leaseMs: number;
  private readonly doc: DynamoDBDocumentClient;
  private readonly retentionSeconds: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly now: () => number;

  constructor(options: DedupStoreOptions) {
    if (!GROUP_PATTERN.test(options.group)) {
      throw new DedupInputError(`consumer group "${options.group}" must be 1-128 letters, digits or _ . : -`);
    }
    if (!options.tableName) throw new DedupInputError('tableName is required: the name of the dedup table');
    this.tableName = options.tableName;
    this.group = options.group;
    this.region = options.region;
    this.consistency = options.consistency ?? Consistency.MREC;
    this.leaseMs = positive('leaseSeconds', options.leaseSeconds ?? 60) * 1000;
    this.retentionSeconds = positive('retentionSeconds', options.retentionSeconds ?? 7 * 86_400);
    this.maxAttempts = positive('maxAttempts', options.maxAttempts ?? 6);
    this.baseDelayMs = options.baseDelayMs ?? 25;
    this.now = options.now ?? Date.now;
    this.doc = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
  }

  /** The table key of a message; throws {@link DedupInputError} for an unusable ID. */
  key(messageId: string): string {
    if (typeof messageId !== 'string' || messageId.length === 0) {
      throw new DedupInputError('message ID is empty: the message has no ID to deduplicate on (set a dedupId header)');
    }
    const bytes = Buffer.byteLength(messageId, 'utf8');
    if (bytes > MAX_MESSAGE_ID_BYTES) {
      throw new DedupInputError(
        `message ID is ${bytes} bytes, over the ${MAX_MESSAGE_ID_BYTES}-byte limit: use a shorter ID or a hash`,
      );
    }
    return `${this.group}#${messageId}`;
  }

  /** The IDs among `messageIds` already processed by this group: one consistent BatchGetItem per 100 IDs. */
  async processed(messageIds: readonly string[]): Promise<Set<string>> {
    const byKey = new Map<string, string>();
    for (const id of messageIds) byKey.set(this.key(id), id);
    const done = new Set<string>();
    await Promise.all(
      chunksOf([...byKey.keys()], BATCH_GET_MAX).map(async (chunk) => {
        let pending: Record<string, unknown>[] = chunk.map((pk) => ({ pk }));
        for (let round = 1; pending.length > 0; round++) {
          if (round > 1) await this.backoffOrGiveUp('BatchGetItem', round, 'UnprocessedKeys');
          const out = await this.send('BatchGetItem', () =>
            this.doc.send(
              new BatchGetCommand({
                RequestItems: {
                  [this.tableName]: {
                    Keys: pending,
                    ConsistentRead: true,
                    ProjectionExpression: 'pk, #s',
                    ExpressionAttributeNames: { '#s': 'status' },
                  },
                },
              }),
            ),
          );
          for (const item of out.Responses?.[this.tableName] ?? []) {
            if (item.status === RecordStatus.COMPLETED) done.add(byKey.get(item.pk as string) as string);
          }
          pending = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        }
      }),
    );
    return done;
  }

  /**
   * Take the message for processing: succeeds when no record exists or the previous claim's lease has expired.
   * Otherwise says whether it was processed already or is being processed (and until when).
   */
  async claim(messageId: string): Promise<ClaimResult> {
    const pk = this.key(messageId);
    for (;;) {
      const now = this.now();
      const token = crypto.randomUUID();
      const record: DedupRecord = {
        pk,
        status: RecordStatus.IN_PROGRESS,
        owner: token,
        leaseExpiresAt: now + this.leaseMs,
        region: this.region,
        claimedAt: now,
        expiresAt: Math.ceil(now / 1000) + this.retentionSeconds,
      };
      const refused = await this.send('PutItem (claim)', async () => {
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.tableName,
              Item: record,
              ConditionExpression: 'attribute_not_exists(pk) OR (#s = :inProgress AND leaseExpiresAt < :now)',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':inProgress': RecordStatus.IN_PROGRESS, ':now': now },
              // Real DynamoDB returns the blocking item with the refusal, saving the read below.
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
          return undefined;
        } catch (error) {
          if (error instanceof ConditionalCheckFailedException) return error;
          throw error;
        }
      });
      if (!refused) return { outcome: 'claimed', token };
      const existing = refused.Item ? fromAttributes(refused.Item) : await this.get(pk);
      if (!existing) continue; // released between our write and our read: try again
      if (existing.status === RecordStatus.COMPLETED) {
        return {
          outcome: 'duplicate',
          region: existing.region,
          ...(existing.processedAt ? { processedAt: existing.processedAt } : {}),
        };
      }
      if (existing.leaseExpiresAt < this.now()) continue; // expired after our condition was evaluated
      return { outcome: 'in-progress', leaseExpiresAt: existing.leaseExpiresAt, region: existing.region };
    }
  }

  /**
   * Mark claimed messages processed: BatchWriteItem, 25 per request, unprocessed items retried. Unconditional on
   * purpose: a handler that finished has processed the message even if its lease ran out meanwhile.
   */
  async complete(completions: readonly Completion[]): Promise<void> {
    const now = this.now();
    const requests = completions.map(({ messageId, token }) => ({
      PutRequest: {
        Item: {
          pk: this.key(messageId),
          status: RecordStatus.COMPLETED,
          owner: token,
          leaseExpiresAt: now,
          region: this.region,
          claimedAt: now,
          processedAt: now,
          expiresAt: Math.ceil(now / 1000) + this.retentionSeconds,
        } satisfies DedupRecord,
      },
    }));
    await Promise.all(chunksOf(requests, BATCH_WRITE_MAX).map((chunk) => this.batchWrite(chunk)));
  }

  /** Give a claim back after the handler failed, so the redelivered message is processed again at once. */
  async release({ messageId, token }: Completion): Promise<void> {
    await this.send('DeleteItem (release)', async () => {
      try {
        await this.doc.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: { pk: this.key(messageId) },
            ConditionExpression: '#o = :token AND #s = :inProgress',
            ExpressionAttributeNames: { '#o': 'owner', '#s': 'status' },
            ExpressionAttributeValues: { ':token': token, ':inProgress': RecordStatus.IN_PROGRESS },
          }),
        );
      } catch (error) {
        // Someone else holds or completed it now: their record stands.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    });
  }

  /** The record of one message, read consistently. */
  async lookup(messageId: string): Promise<DedupRecord | undefined> {
    return this.get(this.key(messageId));
  }

  /**
   * Delete this group's records whose retention has passed. Needed on MRSC tables, which have no TTL; harmless
   * on MREC ones. Each delete is conditional on the record still being expired, so a record re-written
   * meanwhile survives. Returns how many were deleted.
   */
  async purgeExpired(): Promise<number> {
    const nowSeconds = Math.floor(this.now() / 1000);
    let deleted = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.send('Scan (purge)', () =>
        this.doc.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: 'begins_with(pk, :group) AND expiresAt < :now',
            ExpressionAttributeValues: { ':group': `${this.group}#`, ':now': nowSeconds },
            ProjectionExpression: 'pk',
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const { pk } of page.Items ?? []) {
        await this.send('DeleteItem (purge)', async () => {
          try {
            await this.doc.send(
              new DeleteCommand({
                TableName: this.tableName,
                Key: { pk },
                ConditionExpression: 'expiresAt < :now',
                ExpressionAttributeValues: { ':now': nowSeconds },
              }),
            );
            deleted++;
          } catch (error) {
            if (!(error instanceof ConditionalCheckFailedException)) throw error;
          }
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return deleted;
  }

  private async get(pk: string): Promise<DedupRecord | undefined> {
    const out = await this.send('GetItem', () =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true })),
    );
    return out.Item as DedupRecord | undefined;
  }

  private async batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    let pending = requests;
    for (let round = 1; pending.length > 0; round++) {
      if (round > 1) await this.backoffOrGiveUp('BatchWriteItem', round, 'UnprocessedItems');
      const out = await this.send('BatchWriteItem', () =>
        this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } })),
      );
      pending = (out.UnprocessedItems?.[this.tableName] ?? []) as Record<string, unknown>[];
    }
  }

  private async backoffOrGiveUp(operation: string, attempt: number, code: string): Promise<void> {
    if (attempt > this.maxAttempts) throw new DedupThrottledError(operation, attempt - 1, code);
    await sleep(this.backoffMs(attempt - 1));
  }

  private backoffMs(attempt: number): number {
    return Math.random() * this.baseDelayMs * 2 ** (attempt - 1);
  }

  /** One request with retries of what DynamoDB says is retryable, and errors mapped to what to do. */
  private async send<T>(operation: string, request: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        const code = errorName(error);
        if (code === 'ResourceNotFoundException')
          throw new DedupTableNotFoundError(this.tableName, this.region, { cause: error });
        if (!RETRYABLE.has(code)) {
          if (error instanceof DedupStoreError || error instanceof DedupInputError) throw error;
          throw new DedupStoreError(`${operation} on dedup table ${this.tableName} failed: ${code}: ${errorMessage(error)}`, {
            cause: error,
          });
        }
        if (attempt >= this.maxAttempts) throw new DedupThrottledError(operation, attempt, code, { cause: error });
        await sleep(this.backoffMs(attempt));
      }
    }
  }
}

/** The record in a ConditionalCheckFailedException's raw attribute map. */
function fromAttributes(item: NonNullable<ConditionalCheckFailedException['Item']>): DedupRecord {
  return {
    pk: item.pk?.S ?? '',
    status: (item.status?.S ?? RecordStatus.IN_PROGRESS) as RecordStatus,
    owner: item.owner?.S ?? '',
    leaseExpiresAt: Number(item.leaseExpiresAt?.N ?? 0),
    region: item.region?.S ?? '',
    claimedAt: Number(item.claimedAt?.N ?? 0),
    ...(item.processedAt?.N ? { processedAt: Number(item.processedAt.N) } : {}),
    expiresAt: Number(item.expiresAt?.N ?? 0),
  };
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new DedupInputError(`${name} must be a positive number, got ${value}`);
  return value;
}

const errorName = (error: unknown): string => (error instanceof Error ? error.name : typeof error);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wait until a claim seen `in-progress` has lapsed (plus a margin for clock skew), before claiming again. */
export const untilLeaseExpires = (leaseExpiresAt: number) => sleep(Math.max(50, leaseExpiresAt - Date.now() + 50));

const chunksOf = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
