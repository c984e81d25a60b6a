/**
 * The events that reach the functions, validated with zod and turned into core events:
 *  - CloudWatch alarm state changes, through an EventBridge rule or as the alarm's direct Lambda action;
 *  - the escalate function's inputs: a deadline schedule's payload, or the rate(1 minute) sweep.
 */
import * as z from 'zod/mini';
import './validation.ts';
import { AlarmKind, type CoreEvent } from './core/model.ts';
import { InvalidEventError, issuesOf } from './errors.ts';
import { REPLICATION_LAG_METRICS } from './mq-facts.ts';

const AlarmStateValue = z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']);
/** An ISO time as CloudWatch and EventBridge write it; anything else is left out rather than guessed at. */
const IsoTime = z
  .pipe(
    z.string(),
    z.transform((t) => Date.parse(t)),
  )
  .check(z.refine((t) => Number.isFinite(t), 'not an ISO time'));
const AlarmState = z.object({ value: AlarmStateValue, reason: z.optional(z.string()), timestamp: z.optional(IsoTime) });
const AlarmConfiguration = z.optional(
  z.looseObject({
    metrics: z.optional(
      z.array(
        z.looseObject({
          metricStat: z.optional(z.looseObject({ metric: z.looseObject({ name: z.optional(z.string()) }) })),
        }),
      ),
    ),
  }),
);
const AlarmDetail = z.looseObject({
  alarmName: z.string().check(z.minLength(1)),
  state: AlarmState,
  previousState: z.optional(AlarmState),
  configuration: AlarmConfiguration,
});

/** EventBridge rule on detail-type "CloudWatch Alarm State Change". */
export const EventBridgeAlarmEvent = z.looseObject({
  source: z.literal('aws.cloudwatch'),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  detail: AlarmDetail,
});

/** The alarm's direct Lambda action (@types/aws-lambda CloudWatchAlarmEvent). */
export const DirectAlarmEvent = z.looseObject({
  source: z.literal('aws.cloudwatch'),
  alarmArn: z.string(),
  alarmData: AlarmDetail,
});

export interface AlarmNames {
  lagAlarmNames: string[];
  healthAlarmNames: string[];
}

/**
 * Returns the core event, or undefined for an alarm of no concern to this pair (neither listed by name nor on
 * a replication-lag metric). Throws InvalidEventError when the event is not an alarm state change at all.
 */
export function parseAlarmEvent(raw: unknown, names: AlarmNames): Extract<CoreEvent, { type: 'ALARM' }> | undefined {
  const viaRule = EventBridgeAlarmEvent.safeParse(raw);
  const direct = viaRule.success ? undefined : DirectAlarmEvent.safeParse(raw);
  const detail = viaRule.success ? viaRule.data.detail : direct?.success ? direct.data.alarmData : undefined;
  const eventTime = timeOf(raw);
  if (!detail) {
    throw new InvalidEventError('not a CloudWatch alarm state change (EventBridge or direct alarm action)', [
      ...(viaRule.error ? issuesOf(viaRule.error, 'event') : []),
    ]);
  }
  const metrics = (detail.configuration?.metrics ?? []).map((m) => m.metricStat?.metric.name);
  const kind = names.lagAlarmNames.includes(detail.alarmName)
    ? AlarmKind.REPLICATION_LAG
    : names.healthAlarmNames.includes(detail.alarmName)
      ? AlarmKind.PRIMARY_HEALTH
      : metrics.some((m) => (REPLICATION_LAG_METRICS as readonly (string | undefined)[]).includes(m))
        ? AlarmKind.REPLICATION_LAG
        : undefined;
  if (!kind) return undefined;
  return {
    type: 'ALARM',
    alarmName: detail.alarmName,
    kind,
    state: detail.state.value,
    ...(detail.previousState ? { previousState: detail.previousState.value } : {}),
    ...(detail.state.reason ? { reason: detail.state.reason } : {}),
    // The state change's own time; else when EventBridge first saw the event.
    ...(detail.state.timestamp !== undefined
      ? { sentAt: detail.state.timestamp }
      : eventTime !== undefined
        ? { sentAt: eventTime }
        : {}),
  };
}

const nonEmpty = z.string().check(z.minLength(1));
const DeadlineInput = z.strictObject({ kind: z.literal('deadline'), pairId: nonEmpty, operationId: nonEmpty });
export const EscalateInput = z.union([
  DeadlineInput,
  z.strictObject({ kind: z.literal('sweep') }),
  // A scheduled EventBridge rule without input: treated as a sweep.
  z.looseObject({ source: z.literal('aws.events'), 'detail-type': z.literal('Scheduled Event') }),
]);

export function parseEscalateEvent(raw: unknown, pairId: string): Extract<CoreEvent, { type: 'DEADLINE' | 'SWEEP' }> {
  const parsed = EscalateInput.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidEventError(
      'escalate expects {"kind":"deadline","pairId","operationId"}, {"kind":"sweep"} or a scheduled event',
      issuesOf(parsed.error, 'event'),
    );
  }
  const deadline = DeadlineInput.safeParse(parsed.data);
  if (!deadline.success) return { type: 'SWEEP' };
  if (deadline.data.pairId !== pairId) {
    throw new InvalidEventError(`deadline is for pair ${deadline.data.pairId}, but this function serves pair ${pairId}`);
  }
  return { type: 'DEADLINE', operationId: deadline.data.operationId };
}

/**
 * An EventBridge event's `time`, if it has a valid one: when a scheduled event (the health check's rate(1 minute))
 * fired, or when EventBridge first saw an alarm's state change.
 */
export function timeOf(raw: unknown): number | undefined {
  const time = IsoTime.safeParse((raw as { time?: unknown } | null)?.time);
  return time.success ? time.data : undefined;
}

/**
 * ARC Region switch invokes a custom action Lambda step with a JSON object about the plan execution. The step
 * needs none of its fields (it activates the Region it runs in, as regionToRun: activatingRegion places it), so
 * any object is accepted; anything else is not an invocation by ARC.
 */
export function parseRegionSwitchEvent(raw: unknown): void {
  const parsed = z.record(z.string(), z.unknown()).safeParse(raw);
  if (!parsed.success) {
    throw new InvalidEventError('an ARC Region switch step expects a JSON object', issuesOf(parsed.error, 'event'));
  }
}
