/**
 * The events that reach the functions, validated with valibot (see lib/config.ts) and turned into core events:
 *  - CloudWatch alarm state changes, through an EventBridge rule or as the alarm's direct Lambda action;
 *  - the escalate function's inputs: a deadline schedule's payload, or the rate(1 minute) sweep.
 */
import * as v from 'valibot';
import { AlarmKind, type CoreEvent } from './core/model.ts';
import { InvalidEventError, issuesOf } from './errors.ts';
import { CRDR_METRIC } from './mq-facts.ts';

const AlarmStateValue = v.picklist(['OK', 'ALARM', 'INSUFFICIENT_DATA']);
/** An ISO time as CloudWatch and EventBridge write it; anything else is left out rather than guessed at. */
const IsoTime = v.pipe(
  v.string(),
  v.transform((t) => Date.parse(t)),
  v.check((t) => Number.isFinite(t), 'not an ISO time'),
);
const AlarmState = v.object({ value: AlarmStateValue, reason: v.optional(v.string()), timestamp: v.optional(IsoTime) });
const AlarmConfiguration = v.optional(
  v.looseObject({
    metrics: v.optional(
      v.array(
        v.looseObject({
          metricStat: v.optional(v.looseObject({ metric: v.looseObject({ name: v.optional(v.string()) }) })),
        }),
      ),
    ),
  }),
);
const AlarmDetail = v.looseObject({
  alarmName: v.pipe(v.string(), v.minLength(1)),
  state: AlarmState,
  previousState: v.optional(AlarmState),
  configuration: AlarmConfiguration,
});

/** EventBridge rule on detail-type "CloudWatch Alarm State Change". */
export const EventBridgeAlarmEvent = v.looseObject({
  source: v.literal('aws.cloudwatch'),
  'detail-type': v.literal('CloudWatch Alarm State Change'),
  detail: AlarmDetail,
});

/** The alarm's direct Lambda action (@types/aws-lambda CloudWatchAlarmEvent). */
export const DirectAlarmEvent = v.looseObject({
  source: v.literal('aws.cloudwatch'),
  alarmArn: v.string(),
  alarmData: AlarmDetail,
});

export interface AlarmNames {
  lagAlarmNames: string[];
  healthAlarmNames: string[];
}

/**
 * Returns the core event, or undefined for an alarm of no concern to this pair (neither listed by name nor on
 * a CRDR replication metric). Throws InvalidEventError when the event is not an alarm state change at all.
 */
export function parseAlarmEvent(raw: unknown, names: AlarmNames): Extract<CoreEvent, { type: 'ALARM' }> | undefined {
  const viaRule = v.safeParse(EventBridgeAlarmEvent, raw);
  const direct = viaRule.success ? undefined : v.safeParse(DirectAlarmEvent, raw);
  const detail = viaRule.success ? viaRule.output.detail : direct?.success ? direct.output.alarmData : undefined;
  const eventTime = timeOf(raw);
  if (!detail) {
    throw new InvalidEventError('not a CloudWatch alarm state change (EventBridge or direct alarm action)', [
      ...(viaRule.issues ? issuesOf(viaRule.issues, 'event') : []),
    ]);
  }
  const metrics = (detail.configuration?.metrics ?? []).map((m) => m.metricStat?.metric.name);
  const kind = names.lagAlarmNames.includes(detail.alarmName)
    ? AlarmKind.REPLICATION_LAG
    : names.healthAlarmNames.includes(detail.alarmName)
      ? AlarmKind.PRIMARY_HEALTH
      : metrics.some((m) => (Object.values(CRDR_METRIC) as Array<string | undefined>).includes(m))
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

const nonEmpty = v.pipe(v.string(), v.minLength(1));
/** The escalate function's own inputs, told apart by `kind`, so that an issue names what is wrong with the one meant. */
export const EscalateInput = v.variant('kind', [
  v.strictObject({ kind: v.literal('deadline'), pairId: nonEmpty, operationId: nonEmpty }),
  v.strictObject({ kind: v.literal('sweep') }),
]);
/** A scheduled EventBridge rule without input: treated as a sweep. */
const ScheduledEvent = v.looseObject({ source: v.literal('aws.events'), 'detail-type': v.literal('Scheduled Event') });

export function parseEscalateEvent(raw: unknown, pairId: string): Extract<CoreEvent, { type: 'DEADLINE' | 'SWEEP' }> {
  if (v.is(ScheduledEvent, raw)) return { type: 'SWEEP' };
  const parsed = v.safeParse(EscalateInput, raw);
  if (!parsed.success) {
    throw new InvalidEventError(
      'escalate expects {"kind":"deadline","pairId","operationId"}, {"kind":"sweep"} or a scheduled event',
      issuesOf(parsed.issues, 'event'),
    );
  }
  const input = parsed.output;
  if (input.kind === 'sweep') return { type: 'SWEEP' };
  if (input.pairId !== pairId) {
    throw new InvalidEventError(`deadline is for pair ${input.pairId}, but this function serves pair ${pairId}`);
  }
  return { type: 'DEADLINE', operationId: input.operationId };
}

/**
 * An EventBridge event's `time`, if it has a valid one: when a scheduled event (the health check's rate(1 minute))
 * fired, or when EventBridge first saw an alarm's state change.
 */
export function timeOf(raw: unknown): number | undefined {
  const time = v.safeParse(IsoTime, (raw as { time?: unknown } | null)?.time);
  return time.success ? time.output : undefined;
}

// Not v.record: valibot's record takes an array for an object (and copies it into one), which a record must not accept.
const JsonObject = v.custom<Record<string, unknown>>(
  (o) => typeof o === 'object' && o !== null && !Array.isArray(o),
  'expected an object',
);

/**
 * ARC Region switch invokes a custom action Lambda step with a JSON object about the plan execution. The step
 * needs none of its fields (it activates the Region it runs in, as regionToRun: activatingRegion places it), so
 * any object is accepted; anything else is not an invocation by ARC.
 */
export function parseRegionSwitchEvent(raw: unknown): void {
  const parsed = v.safeParse(JsonObject, raw);
  if (!parsed.success) {
    throw new InvalidEventError('an ARC Region switch step expects a JSON object', issuesOf(parsed.issues, 'event'));
  }
}
