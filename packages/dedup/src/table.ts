import { CreateTableCommand, type DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { Consistency } from './store.ts';

/**
 * Create the dedup table as serverless.yml declares it (for local runs and tests; in AWS the stack owns it).
 * MRSC tables have no TTL, so it is only switched on for MREC.
 */
export async function createDedupTable(
  client: DynamoDBClient,
  tableName: string,
  consistency: Consistency = Consistency.MREC,
): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  if (consistency === Consistency.MREC) {
    try {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        }),
      );
    } catch (error) {
      // dynalite has no TTL; there, as on MRSC, DedupStore.purgeExpired removes expired records.
      if (!(error instanceof Error && error.name === 'UnknownOperationException')) throw error;
    }
  }
}
