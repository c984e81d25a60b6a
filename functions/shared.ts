/** What every handler shares: the Powertools logger and the middy chain around the handler body. */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Decision } from '#lib/core/model.ts';
import { InvalidEventError } from '#lib/errors.ts';
import type { Runtime } from '#lib/runtime.ts';

export const logger = new Logger({ serviceName: 'mq-crdr-orchestrator' });

export interface HandlerResult {
  pairId: string;
  decisions: Decision[];
  ignored?: string;
}

export type HandlerBody = (event: unknown, runtime: Runtime) => Promise<HandlerResult>;

/**
 * Wraps a handler body: the runtime is resolved per invocation (built once per container), and an invalid
 * event is logged with what is wrong before it fails the invocation, so Lambda's retry and failure
 * destination keep it instead of it vanishing.
 */
export const makeHandler = (body: HandlerBody, getRuntime: () => Runtime) =>
  middy(async (event: unknown, _context: Context): Promise<HandlerResult> => {
    try {
      return await body(event, getRuntime());
    } catch (error) {
      if (error instanceof InvalidEventError) logger.error('rejected an invalid event', { error: error.message });
      throw error;
    }
  }).use(injectLambdaContext(logger));
