/**
 * EventBridge Scheduler's CreateSchedule and DeleteSchedule (restJson1: POST and DELETE /schedules/{Name}), as
 * the deadline adapter calls them, with the service's validation of what it sends (name and group, the at()
 * expression, the target's ARNs, the retry policy's ranges, the dead-letter queue) and its errors (400
 * ValidationException, 409 ConflictException, 404 ResourceNotFoundException). Schedules are kept, not fired:
 * the embedded default fires deadlines through its local scheduler.
 */
import { z } from 'zod';
import { issuesOf } from '#lib/errors.ts';
import { type CrdrWorld, SimError } from './world.ts';

const NAME = /^[0-9a-zA-Z-_.]{1,64}$/;
const ARN = /^arn:aws(-[a-z]+)*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$/;

const CreateSchedule = z.object({
  GroupName: z.string().regex(NAME).optional(),
  ScheduleExpression: z.string().regex(/^(at|rate|cron)\(.+\)$/, 'at(...), rate(...) or cron(...)'),
  ScheduleExpressionTimezone: z.string().optional(),
  FlexibleTimeWindow: z.object({ Mode: z.enum(['OFF', 'FLEXIBLE']), MaximumWindowInMinutes: z.number().int().optional() }),
  ActionAfterCompletion: z.enum(['NONE', 'DELETE']).optional(),
  Target: z.object({
    Arn: z.string().regex(ARN),
    RoleArn: z.string().regex(ARN),
    Input: z.string().max(8192).optional(),
    RetryPolicy: z
      .object({
        MaximumEventAgeInSeconds: z.number().int().min(60).max(86_400).optional(),
        MaximumRetryAttempts: z.number().int().min(0).max(185).optional(),
      })
      .optional(),
    DeadLetterConfig: z.object({ Arn: z.string().regex(/^arn:aws(-[a-z]+)*:sqs:[a-z0-9-]+:\d{12}:[a-zA-Z0-9_.-]+$/) }).optional(),
  }),
});

export type SimSchedule = z.infer<typeof CreateSchedule> & { Name: string; Region: string; Arn: string };

export const scheduleKey = (region: string, group: string, name: string) => `${region}/${group}/${name}`;

export function scheduler(
  world: CrdrWorld,
  region: string,
  method: string,
  name: string,
  query: URLSearchParams,
  body: unknown,
): { status: number; body: unknown } {
  if (!NAME.test(name))
    throw new SimError('BadRequestException', 400, `schedule name ${JSON.stringify(name)}: 1 to 64 of [0-9a-zA-Z-_.]`);
  if (method === 'POST') {
    const parsed = CreateSchedule.safeParse(body);
    if (!parsed.success) throw new SchedulerError('ValidationException', 400, issuesOf(parsed.error.issues, 'body').join('; '));
    const group = parsed.data.GroupName ?? 'default';
    const key = scheduleKey(region, group, name);
    if (world.schedules.has(key)) throw new SchedulerError('ConflictException', 409, `Schedule ${name} already exists.`);
    const arn = `arn:aws:scheduler:${region}:${world.accountId}:schedule/${group}/${name}`;
    world.schedules.set(key, { ...parsed.data, Name: name, Region: region, Arn: arn });
    return { status: 200, body: { ScheduleArn: arn } };
  }
  if (method === 'DELETE') {
    const key = scheduleKey(region, query.get('groupName') ?? 'default', name);
    if (!world.schedules.delete(key))
      throw new SchedulerError('ResourceNotFoundException', 404, `Schedule ${name} does not exist.`);
    return { status: 200, body: {} };
  }
  throw new SimError('NotFoundException', 404, `the simulator does not implement ${method} /schedules/{Name}`);
}

/** Scheduler's error types are its own (the SDK maps them by x-amzn-errortype). */
export class SchedulerError extends Error {
  constructor(
    readonly type: 'ValidationException' | 'ConflictException' | 'ResourceNotFoundException',
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
