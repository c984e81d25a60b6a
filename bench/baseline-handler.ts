/**
 * The baseline of `npm run bench:cold`: a minimal Lambda handler with Powertools' logger and one DynamoDB
 * client, what any small function on this stack loads. Bundled exactly as the orchestrator's functions are.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

const logger = new Logger({ serviceName: 'baseline' });
const client = new DynamoDBClient({});

export const handler = async (event: { key?: string }) => {
  const out = await client.send(new GetItemCommand({ TableName: 'baseline', Key: { pk: { S: event.key ?? 'x' } } }));
  logger.info('read', { found: out.Item !== undefined });
  return { found: out.Item !== undefined };
};
