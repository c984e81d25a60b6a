/**
 * Reconcile after a failover, invoked by an operator (`aws lambda invoke … --payload '{"queues":[…]}'`): drains
 * the old primary's queues into the current primary, dropping what was processed. Safe to invoke again.
 * The broker user's credentials are read from Secrets Manager at run time (BROKER_SECRET_ARN), so a rotation
 * reaches the next run and the password is never in the function's configuration.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { reconcileFromEnv } from '#dedup/jobs.ts';
import { readBrokerSecret } from '#lib/adapters/broker-secret.ts';
import { logger } from './shared.ts';

export const handler = middy(async (event: unknown) => {
  const arn = process.env.BROKER_SECRET_ARN;
  const endpoint = process.env.SECRETS_MANAGER_ENDPOINT;
  const reports = await reconcileFromEnv(
    event,
    process.env,
    arn ? () => readBrokerSecret(arn, endpoint ? { endpoint } : {}) : undefined,
  );
  logger.info('reconciled', { reports });
  return { reports };
}).use(injectLambdaContext(logger));
