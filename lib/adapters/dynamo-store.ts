/**
 * The pair's record and audit timeline in one DynamoDB table (partition key `pk`, sort key `sk`).
 *
 *   pk = PAIR#<pairId>, sk = STATE                  the state, its version, and `pending`: the decisions of
 *                                                   that version not yet copied to the timeline
 *   pk = PAIR#<pairId>, sk = TL#<version>#<index>   one timeline entry
 *
 * Writing version v+1 first copies v's pending decisions to their timeline items (idempotent puts at fixed
 * keys), then replaces the state only if it is still at v. A crash at any point loses no decision: until the
 * copy is made, the decisions live on the state item, and the timeline read merges them in. No transaction is
 * needed, which keeps every write a single-item operation.
 */
import { ConditionalCheckFailedException, type DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { type Decision, initialState, type PairState } from '../core/model.ts';
import { StoreError, VersionConflictError } from '../errors.ts';
import type { PairStore, StoredPair, TimelinePage, TimelinePageRequest } from '../ports.ts';

const STATE_SK = 'STATE';
const TIMELINE_PREFIX = 'TL#';
const BATCH_WRITE_MAX = 25;
const MAX_UNPROCESSED_ROUNDS = 8;

const pk = (pairId: string): string => `PAIR#${pairId}`;
const timelineSk = (version: number, index: number): string =>
  `${TIMELINE_PREFIX}${String(version).padStart(12, '0')}#${String(index).padStart(3, '0')}`;

interface StateItem {
  pk: string;
  sk: string;
  version: number;
  state: PairState;
  pending: Decision[];
}

export class DynamoPairStore implements PairStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async load(pairId: string): Promise<StoredPair> {
    const out = await this.call('read the pair record', () =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: pk(pairId), sk: STATE_SK }, ConsistentRead: true })),
    );
    const item = out.Item as StateItem | undefined;
    return item ? { state: item.state, pending: item.pending ?? [] } : { state: initialState(pairId), pending: [] };
  }

  async save(previous: StoredPair, next: PairState, decisions: Decision[]): Promise<void> {
    const { pairId, version } = previous.state;
    await this.flush(pairId, version, previous.pending);
    const item: StateItem = { pk: pk(pairId), sk: STATE_SK, version: next.version, state: next, pending: decisions };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(version === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': version } }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new VersionConflictError(pairId, version);
      throw this.mapError('write the pair record', error);
    }
  }

  async timeline(pairId: string): Promise<Decision[]> {
    const entries = new Map<string, Decision>();
    await this.call('read the timeline', async () => {
      const pages = paginateQuery(
        { client: this.doc },
        {
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tl)',
          ExpressionAttributeValues: { ':pk': pk(pairId), ':tl': TIMELINE_PREFIX },
          ConsistentRead: true,
        },
      );
      for await (const page of pages) {
        for (const { pk: _pk, sk, ...decision } of page.Items ?? []) entries.set(sk as string, decision as Decision);
      }
    });
    const { state, pending } = await this.load(pairId);
    for (const [i, d] of pending.entries()) entries.set(timelineSk(state.version, i), d);
    return [...entries.keys()].sort().map((k) => entries.get(k) as Decision);
  }

  /**
   * One page of the timeline, read with a bounded Query: oldest first after `cursor`, or newest first before
   * it. The record's pending decisions (the newest) are merged in where they fall; pass the record when it is
   * already loaded, so that it is not read twice. The cursor is the last entry's sort key, opaque to callers.
   */
  async timelinePage(pairId: string, request: TimelinePageRequest, stored?: StoredPair): Promise<TimelinePage> {
    const { limit, cursor, newestFirst = false } = request;
    const record = stored ?? (await this.load(pairId));
    const after = (sk: string) => cursor === undefined || (newestFirst ? sk < cursor : sk > cursor);
    const pending = record.pending
      .map((decision, i) => ({ sk: timelineSk(record.state.version, i), decision }))
      .filter((e) => after(e.sk));
    const out = await this.call('read the timeline', () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tl)',
          ExpressionAttributeValues: { ':pk': pk(pairId), ':tl': TIMELINE_PREFIX },
          ScanIndexForward: !newestFirst,
          Limit: limit,
          ConsistentRead: true,
          ...(cursor !== undefined ? { ExclusiveStartKey: { pk: pk(pairId), sk: cursor } } : {}),
        }),
      ),
    );
    const entries = new Map<string, Decision>();
    for (const { pk: _pk, sk, ...decision } of out.Items ?? []) entries.set(sk as string, decision as Decision);
    // Pending decisions are newer than any flushed entry: they come first newest-first, last oldest-first (only
    // once the Query has nothing more before them).
    if (newestFirst || out.LastEvaluatedKey === undefined) for (const e of pending) entries.set(e.sk, e.decision);
    const sorted = [...entries.keys()].sort();
    if (newestFirst) sorted.reverse();
    const page = sorted.slice(0, limit);
    const more = sorted.length > limit || out.LastEvaluatedKey !== undefined;
    const last = page.at(-1);
    return {
      decisions: page.map((sk) => entries.get(sk) as Decision),
      ...(more && last !== undefined ? { nextCursor: last } : {}),
    };
  }

  private async flush(pairId: string, version: number, pending: Decision[]): Promise<void> {
    for (let start = 0; start < pending.length; start += BATCH_WRITE_MAX) {
      let requests = pending.slice(start, start + BATCH_WRITE_MAX).map((d, i) => ({
        PutRequest: { Item: { ...d, pk: pk(pairId), sk: timelineSk(version, start + i) } },
      }));
      for (let round = 0; requests.length > 0; round++) {
        if (round === MAX_UNPROCESSED_ROUNDS) {
          throw new StoreError(`table ${this.tableName} kept throttling the timeline write; raise its write capacity`);
        }
        if (round > 0) await sleep(25 * 2 ** round);
        const out = await this.call('write the timeline', () =>
          this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } })),
        );
        requests = (out.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      }
    }
  }

  private async call<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw this.mapError(what, error);
    }
  }

  private mapError(what: string, error: unknown): StoreError {
    if (error instanceof ResourceNotFoundException) {
      return new StoreError(`cannot ${what}: table ${this.tableName} does not exist; deploy the stack or fix TABLE_NAME`, {
        cause: error,
      });
    }
    return new StoreError(`cannot ${what} in table ${this.tableName}: ${String(error)}`, { cause: error });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
