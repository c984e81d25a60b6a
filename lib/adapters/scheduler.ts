/**
 * Deadline of a switchover as a one-shot EventBridge Scheduler schedule that invokes the `escalate` function
 * and deletes itself after it fired. Creating twice or deleting a schedule that is gone are both no-ops, so
 * retries are safe.
 */
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { DeadlineScheduler } from '../ports.ts';

export interface SchedulerTarget {
  /** ARN of the escalate function. */
  functionArn: string;
  /** Role EventBridge Scheduler assumes to invoke it. */
  roleArn: string;
  groupName: string;
  /** Where a schedule that cannot invoke escalate sends its event (the stack's dead-letter queue). */
  deadLetterArn?: string;
}

/**
 * A deadline that could not be delivered within 5 minutes is no use (the rate(1 minute) sweep escalates by then):
 * Scheduler's default of 24 hours of retries becomes 5 minutes, then the dead-letter queue.
 */
const RETRY = { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 10 };

/** The payload the escalate function receives from a deadline schedule. */
export interface DeadlinePayload {
  kind: 'deadline';
  pairId: string;
  operationId: string;
}

/** Schedule names are limited to 64 characters of [0-9a-zA-Z-_.]. */
export const scheduleName = (pairId: string, operationId: string): string =>
  `crdr-${pairId}-${operationId}`.replace(/[^0-9A-Za-z_.-]/g, '_').slice(0, 64);

/** `at()` takes local date-time without zone or milliseconds; the zone is set to UTC on the schedule. */
export const atExpression = (at: number): string => `at(${new Date(at).toISOString().slice(0, 19)})`;

export class EventBridgeDeadlineScheduler implements DeadlineScheduler {
  constructor(
    /** Made (and its package loaded) on first use: see lazyClient in lib/runtime.ts. */
    private readonly client: () => Promise<SchedulerClient>,
    private readonly target: SchedulerTarget,
  ) {}

  async schedule(pairId: string, operationId: string, at: number): Promise<void> {
    const payload: DeadlinePayload = { kind: 'deadline', pairId, operationId };
    const { ConflictException, CreateScheduleCommand } = await import('@aws-sdk/client-scheduler');
    const client = await this.client();
    try {
      await client.send(
        new CreateScheduleCommand({
          Name: scheduleName(pairId, operationId),
          GroupName: this.target.groupName,
          ScheduleExpression: atExpression(at),
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          Target: {
            Arn: this.target.functionArn,
            RoleArn: this.target.roleArn,
            Input: JSON.stringify(payload),
            RetryPolicy: RETRY,
            ...(this.target.deadLetterArn ? { DeadLetterConfig: { Arn: this.target.deadLetterArn } } : {}),
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConflictException)) throw error;
    }
  }

  async cancel(pairId: string, operationId: string): Promise<void> {
    const { DeleteScheduleCommand, ResourceNotFoundException } = await import('@aws-sdk/client-scheduler');
    const client = await this.client();
    try {
      await client.send(new DeleteScheduleCommand({ Name: scheduleName(pairId, operationId), GroupName: this.target.groupName }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }
}
