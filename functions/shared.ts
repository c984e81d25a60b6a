/** What every handler shares: the Powertools logger and metrics, and the middy chain around a handler body. */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { invocationBudgetMs, withBudget } from '#lib/budget.ts';
import type { Decision } from '#lib/core/model.ts';
import { InvalidEventError } from '#lib/errors.ts';
import { METRICS_NAMESPACE, type MetricPoint, publishDecisionMetrics } from '#lib/metrics.ts';
import type { Runtime } from '#lib/runtime.ts';

export const logger = new Logger({ serviceName: 'mq-crdr-orchestrator' });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'mq-crdr-orchestrator' });

export interface HandlerResult {
  pairId: string;
  decisions: Decision[];
  ignored?: string;
  /** The sweep ran: its heartbeat metric tells the stack's alarm that escalation is being enforced. */
  heartbeat?: boolean;
  /** Counts published at every run whatever was decided (readiness: the checks failing). */
  gauges?: Array<{ name: MetricPoint['name']; value: number }>;
}

export type HandlerBody<R extends HandlerResult = HandlerResult> = (event: unknown, runtime: Runtime) => Promise<R>;

/**
 * Wraps a handler body: the runtime is resolved per invocation (built once per container), the body runs inside
 * the invocation's time budget (lib/budget.ts), decisions become
 * EMF metrics when `emf` is given (the deployed handlers; the embedded default keeps stdout for the drill),
 * and an invalid event is logged with what is wrong before it fails the invocation, so Lambda's retry and
 * failure destination keep it instead of it vanishing.
 */
export const makeHandler = <R extends HandlerResult>(body: HandlerBody<R>, getRuntime: () => Runtime, emf?: Metrics) =>
  middy(async (event: unknown, context: Context): Promise<R> => {
    try {
      const runtime = getRuntime();
      const budgetMs = invocationBudgetMs(runtime.config.budgetMs, context.getRemainingTimeInMillis?.());
      const result = await withBudget(budgetMs, () => body(event, runtime));
      if (emf) publishDecisionMetrics(emf, result.pairId, result.decisions, result.heartbeat === true, result.gauges);
      return result;
    } catch (error) {
      if (error instanceof InvalidEventError) logger.error('rejected an invalid event', { error: error.message });
      throw error;
    }
  }).use(injectLambdaContext(logger));
