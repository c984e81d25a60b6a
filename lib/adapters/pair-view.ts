/**
 * The pair view in DynamoDB: one item per Region under the pair's key, each written only by its own Region's
 * orchestrator.
 *
 *   pk = PAIR#<pairId>, sk = REGION#<region>   that Region's PublishedItem, as `outcome`
 *
 * On AWS the table is a global table with a replica in both Regions (multi-Region eventual consistency): a
 * Region's write reaches the other Region's replica after the replication delay, and since no item has two
 * writers, last-writer-wins never has to merge anything. Reads are strongly consistent within the local
 * replica, so a Region always reads its own latest write.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { StoreError } from '../errors.ts';
import type { PairViewStore, PublishedItem } from '../ports.ts';

const pk = (pairId: string): string => `PAIR#${pairId}`;
const REGION_PREFIX = 'REGION#';

export class DynamoPairView implements PairViewStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly region: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async read(pairId: string): Promise<{ own?: PublishedItem; peer?: PublishedItem }> {
    const out = await this.call('read the pair view', () =>
      this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)',
          ExpressionAttributeValues: { ':pk': pk(pairId), ':r': REGION_PREFIX },
          ConsistentRead: true,
        }),
      ),
    );
    const items = (out.Items ?? []).map((i) => i.outcome as PublishedItem);
    const own = items.find((i) => i.region === this.region);
    const peer = items.find((i) => i.region !== this.region);
    return { ...(own ? { own } : {}), ...(peer ? { peer } : {}) };
  }

  async publish(pairId: string, item: PublishedItem): Promise<void> {
    if (item.region !== this.region) throw new Error(`a Region publishes only its own item (${this.region}, not ${item.region})`);
    await this.call('write to the pair view', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: pk(pairId), sk: `${REGION_PREFIX}${item.region}`, outcome: item },
        }),
      ),
    );
  }

  private async call<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw new StoreError(`cannot ${what} in table ${this.tableName}: ${String(error)}`, { cause: error });
    }
  }
}
