import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  ReplicatedWriteConflictException,
} from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DedupStore, DedupThrottledError } from '../src/index.ts';

// Error paths dynalite cannot produce: throttling, MRSC write conflicts, unprocessed batch items.
const doc = mockClient(DynamoDBDocumentClient);
const store = () =>
  new DedupStore({
    client: new DynamoDBClient({ region: 'us-east-1' }),
    tableName: 'dedup',
    group: 'g',
    region: 'us-east-1',
    maxAttempts: 3,
    baseDelayMs: 1,
  });
const meta = { $metadata: {} };

afterEach(() => doc.reset());

describe('DedupStore retries', () => {
  it('retries an MRSC ReplicatedWriteConflictException and then sees the other Region claim', async () => {
    doc
      .on(PutCommand)
      .rejectsOnce(new ReplicatedWriteConflictException({ message: 'conflict', ...meta }))
      .rejects(
        new ConditionalCheckFailedException({
          message: 'taken',
          ...meta,
          Item: { pk: { S: 'g#m' }, status: { S: 'COMPLETED' }, region: { S: 'us-west-2' }, leaseExpiresAt: { N: '0' } },
        }),
      );
    await expect(store().claim('m')).resolves.toEqual({ outcome: 'duplicate', region: 'us-west-2' });
    expect(doc.commandCalls(PutCommand)).toHaveLength(2);
  });

  it('gives up on persistent throttling with an error that says what to do and that nothing was marked', async () => {
    doc.on(PutCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', ...meta }));
    const claim = store().claim('m');
    await expect(claim).rejects.toBeInstanceOf(DedupThrottledError);
    await expect(store().claim('m')).rejects.toThrow(
      /refused PutItem \(claim\) 3 times.*on-demand capacity.*will be redelivered/,
    );
  });

  it('retries unprocessed keys of a BatchGetItem', async () => {
    doc
      .on(BatchGetCommand)
      .resolvesOnce({
        Responses: { dedup: [{ pk: 'g#a', status: 'COMPLETED' }] },
        UnprocessedKeys: { dedup: { Keys: [{ pk: 'g#b' }] } },
      })
      .resolves({ Responses: { dedup: [{ pk: 'g#b', status: 'COMPLETED' }] } });
    expect([...(await store().processed(['a', 'b', 'c']))].sort()).toEqual(['a', 'b']);
    expect(doc.commandCalls(BatchGetCommand)[1]?.args[0].input.RequestItems?.dedup?.Keys).toEqual([{ pk: 'g#b' }]);
  });

  it('fails completions that stay unprocessed instead of dropping them silently', async () => {
    doc.on(BatchWriteCommand).callsFake((input) => ({ UnprocessedItems: input.RequestItems }));
    await expect(store().complete([{ messageId: 'a', token: 't' }])).rejects.toThrow(
      /BatchWriteItem 3 times \(UnprocessedItems\)/,
    );
  });
});
