/**
 * Reconcile after a failover, invoked by an operator (`aws lambda invoke … --payload '{"queues":[…]}'`): drains
 * the old primary's queues into the current primary, dropping what was processed. Safe to invoke again.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { reconcileFromEnv } from '#lib/dedup/jobs.ts';
import { logger } from './shared.ts';

export const handler = middy(async (event: unknown) => {
  const reports = await reconcileFromEnv(event, process.env);
  logger.info('reconciled', { reports });
  return { reports };
}).use(injectLambdaContext(logger));
