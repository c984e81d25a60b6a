/**
 * EventBridge Scheduler's CreateSchedule and DeleteSchedule (restJson1: POST and DELETE /schedules/{Name}), as
 * the deadline adapter calls them, with the service's validation of what it sends (name and group, the at()
 * expression, the target's ARNs, the retry policy's ranges, the dead-letter queue) and its errors (400
 * ValidationException, 409 ConflictException, 404 ResourceNotFoundException). Schedules are kept, not fired:
 * the embedded default fires deadlines through its local scheduler.
 */
import * as v from 'valibot';
import { issuesOf } from '#lib/errors.ts';
import { type CrdrWorld, SimError } from './world.ts';

const NAME = /^[0-9a-zA-Z-_.]{1,64}$/;
const ARN = /^arn:aws(-[a-z]+)*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$/;

const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
const CreateSchedule = v.object({
  GroupName: v.optional(v.pipe(v.string(), v.regex(NAME))),
  ScheduleExpression: v.pipe(v.string(), v.regex(/^(at|rate|cron)\(.+\)$/, 'at(...), rate(...) or cron(...)')),
  ScheduleExpressionTimezone: v.optional(v.string()),
  FlexibleTimeWindow: v.object({
    Mode: v.picklist(['OFF', 'FLEXIBLE']),
    MaximumWindowInMinutes: v.optional(v.pipe(v.number(), v.integer())),
  }),
  ActionAfterCompletion: v.optional(v.picklist(['NONE', 'DELETE'])),
  Target: v.object({
    Arn: v.pipe(v.string(), v.regex(ARN)),
    RoleArn: v.pipe(v.string(), v.regex(ARN)),
    Input: v.optional(v.pipe(v.string(), v.maxLength(8192))),
    RetryPolicy: v.optional(
      v.object({
        MaximumEventAgeInSeconds: v.optional(int(60, 86_400)),
        MaximumRetryAttempts: v.optional(int(0, 185)),
      }),
    ),
    DeadLetterConfig: v.optional(
      v.object({ Arn: v.pipe(v.string(), v.regex(/^arn:aws(-[a-z]+)*:sqs:[a-z0-9-]+:\d{12}:[a-zA-Z0-9_.-]+$/)) }),
    ),
  }),
});

export type SimSchedule = v.InferOutput<typeof CreateSchedule> & { Name: string; Region: string; Arn: string };

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
    const parsed = v.safeParse(CreateSchedule, body);
    if (!parsed.success) throw new SchedulerError('ValidationException', 400, issuesOf(parsed.issues, 'body').join('; '));
    const group = parsed.output.GroupName ?? 'default';
    if (!world.hasScheduleGroup(region, group))
      throw new SchedulerError('ResourceNotFoundException', 404, `Schedule group ${group} does not exist.`);
    const key = scheduleKey(region, group, name);
    if (world.schedules.has(key)) throw new SchedulerError('ConflictException', 409, `Schedule ${name} already exists.`);
    const arn = `arn:aws:scheduler:${region}:${world.accountId}:schedule/${group}/${name}`;
    world.schedules.set(key, { ...parsed.output, Name: name, Region: region, Arn: arn });
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
