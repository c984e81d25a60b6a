/** Daily retention of the dedup table where TTL is not available (MRSC global tables). */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { purgeFromEnv } from '#dedup/jobs.ts';
import { logger } from './shared.ts';

export const handler = middy(async () => {
  const deleted = await purgeFromEnv(process.env);
  logger.info('purged expired dedup records', { deleted });
  return { deleted };
}).use(injectLambdaContext(logger));
