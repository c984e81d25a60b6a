/** Input validation at the boundaries, and the error paths of the adapters (aws-sdk-client-mock). */
import { ConditionalCheckFailedException, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { DescribeBrokerCommand, MqClient, PromoteCommand } from '@aws-sdk/client-mq';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { DynamoPairStore } from '#lib/adapters/dynamo-store.ts';
import { MqBrokerApi } from '#lib/adapters/mq.ts';
import { parseEndpoint } from '#lib/adapters/primary-probe.ts';
import { atExpression, scheduleName } from '#lib/adapters/scheduler.ts';
import { loadConfig } from '#lib/config.ts';
import { initialState } from '#lib/core/model.ts';
import { ConfigurationError, StoreError, VersionConflictError } from '#lib/errors.ts';
import { parseAlarmEvent, parseEscalateEvent } from '#lib/events.ts';

const validEnv = {
  PAIR_ID: 'orders',
  AWS_REGION: 'us-west-2',
  LOCAL_BROKER_ID: 'b-local',
  REMOTE_BROKER_ID: 'b-remote',
  REMOTE_REGION: 'us-east-1',
  TABLE_NAME: 'crdr',
};

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig(validEnv)).toMatchObject({
      deadlineMs: 600_000,
      cooldownMs: 900_000,
      probeFailureThreshold: 3,
      dryRun: false,
      arcStepMode: 'SWITCHOVER',
    });
    expect(loadConfig(validEnv).redirect).toBeUndefined();
    expect(loadConfig({ ...validEnv, REDIRECT_SSM_PARAMETER: '/mq/orders' }).redirect).toEqual({
      parameterName: '/mq/orders',
      regions: ['us-west-2', 'us-east-1'],
      protocol: 'openwire',
      retryAfterMs: 60_000,
      maxAttempts: 10,
    });
  });

  it.each([
    [{ PAIR_ID: undefined }, /PAIR_ID: required, missing/],
    [{ DEADLINE_SECONDS: '5' }, /DEADLINE_SECONDS: Invalid value: Expected >=30$/],
    [{ COOLDOWN_SECONDS: 'soon' }, /COOLDOWN_SECONDS: Invalid type: Expected number$/],
    [{ REMOTE_BROKER_ID: 'b-local' }, /must differ/],
    [{ AWS_REGION: 'mars' }, /Region code/],
    [{ DRY_RUN: 'yes' }, /DRY_RUN/],
    [{ ESCALATE_FUNCTION_ARN: 'arn:aws:lambda:us-west-2:1:function:x' }, /set both/],
    [
      { FAILBACK_POLICY: 'automatic', COOLDOWN_SECONDS: '60' },
      /FAILBACK_POLICY=automatic keeps a pair-wide cooldown: set COOLDOWN_SECONDS to at least 300/,
    ],
    [{ FAILBACK_POLICY: 'sometimes' }, /FAILBACK_POLICY: Invalid type: Expected \("manual" \| "automatic"\)$/],
    [{ REDIRECT_SSM_PARAMETER: 'broker-url' }, /REDIRECT_SSM_PARAMETER: an SSM parameter path: \/ then/],
    [{ REDIRECT_SSM_PARAMETER: '/p', REDIRECT_SSM_REGIONS: 'us-west-2,moon' }, /REDIRECT_SSM_REGIONS\.1: expected a Region code/],
    [{ REDIRECT_PROTOCOL: 'http' }, /REDIRECT_PROTOCOL/],
    [{ ARC_STEP_MODE: 'failover' }, /ARC_STEP_MODE/],
  ])('refuses %o with a message naming the problem', (patch, message) => {
    const call = () => loadConfig({ ...validEnv, ...patch });
    expect(call).toThrow(ConfigurationError);
    expect(call).toThrow(message);
  });

  it('names what is wrong without quoting the value it was given', () => {
    expect(() => loadConfig({ ...validEnv, TOPIC_ARN: 'VALUE-MARKER', MQ_ENDPOINT: 'VALUE-MARKER' })).toThrow(
      /TOPIC_ARN: Invalid start: Expected "arn:"; MQ_ENDPOINT: Invalid URL$/,
    );
  });
});

describe('parseAlarmEvent', () => {
  const names = { lagAlarmNames: ['orders-lag'], healthAlarmNames: [] };
  it('classifies an alarm on TotalReplicationLag by its metric even when not listed by name', () => {
    const event = {
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      detail: {
        alarmName: 'other',
        state: { value: 'ALARM' },
        configuration: { metrics: [{ metricStat: { metric: { name: 'TotalReplicationLag' } } }] },
      },
    };
    expect(parseAlarmEvent(event, names)).toMatchObject({ kind: 'REPLICATION_LAG', state: 'ALARM' });
  });

  it('rejects a malformed state value with the path of the problem', () => {
    const event = {
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      detail: { alarmName: 'orders-lag', state: { value: 'RED' } },
    };
    expect(() => parseAlarmEvent(event, names)).toThrow(/detail\.state\.value/);
  });
});

describe('parseEscalateEvent', () => {
  it.each([
    [null, /event: Invalid type: Expected Object$/],
    ['sweep', /event: Invalid type: Expected Object$/],
    [{}, /kind: required, missing: expected \("deadline" \| "sweep"\)$/],
    [{ kind: 'deadline', pairId: 'orders' }, /operationId: required, missing$/],
    [{ kind: 'sweep', extra: 1 }, /extra: unrecognized key$/],
  ])('rejects %o, naming what is wrong with the input meant', (input, issue) => {
    expect(() => parseEscalateEvent(input, 'orders')).toThrow(/escalate expects/);
    expect(() => parseEscalateEvent(input, 'orders')).toThrow(issue);
  });

  it('takes a deadline, a sweep, and a scheduled event as a sweep', () => {
    expect(parseEscalateEvent({ kind: 'deadline', pairId: 'orders', operationId: 'op-1' }, 'orders')).toEqual({
      type: 'DEADLINE',
      operationId: 'op-1',
    });
    expect(parseEscalateEvent({ kind: 'sweep' }, 'orders')).toEqual({ type: 'SWEEP' });
    expect(parseEscalateEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event', id: 'x' }, 'orders')).toEqual({
      type: 'SWEEP',
    });
    expect(() => parseEscalateEvent({ kind: 'deadline', pairId: 'payments', operationId: 'op-1' }, 'orders')).toThrow(
      /deadline is for pair payments/,
    );
  });
});

describe('scheduler naming', () => {
  it('keeps schedule names within 64 allowed characters and at() in UTC without milliseconds', () => {
    expect(scheduleName('orders', `op-${'x'.repeat(80)}`)).toMatch(/^[0-9A-Za-z_.-]{1,64}$/);
    expect(atExpression(Date.parse('2026-11-23T09:10:00.123Z'))).toBe('at(2026-11-23T09:10:00)');
  });

  it.each([
    ['ssl://b-1.mq.us-east-1.amazonaws.com:61617', { host: 'b-1.mq.us-east-1.amazonaws.com', port: 61617, tls: true }],
    ['stomp+ssl://127.0.0.1:61614', { host: '127.0.0.1', port: 61614, tls: true }],
    ['stomp://127.0.0.1:61613', { host: '127.0.0.1', port: 61613, tls: false }],
    ['wss://b-1.mq.us-east-1.amazonaws.com:61619', { host: 'b-1.mq.us-east-1.amazonaws.com', port: 61619, tls: true }],
    ['not an endpoint', undefined],
  ])('parses endpoint %s', (endpoint, expected) => {
    expect(parseEndpoint(endpoint)).toEqual(expected);
  });
});

describe('adapter error paths', () => {
  it('maps a conditional-check failure to VersionConflictError and a missing table to an actionable StoreError', async () => {
    const ddb = mockClient(DynamoDBDocumentClient);
    const store = new DynamoPairStore(new DynamoDBClient({ region: 'us-west-2' }), 'crdr');
    ddb.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));
    const prev = { state: { ...initialState('orders'), version: 3 }, pending: [] };
    await expect(store.save(prev, { ...prev.state, version: 4 }, [])).rejects.toBeInstanceOf(VersionConflictError);
    ddb.on(GetCommand).rejects(new ResourceNotFoundException({ message: 'no table', $metadata: {} }));
    await expect(store.load('orders')).rejects.toThrow(StoreError);
    await expect(store.load('orders')).rejects.toThrow(/table crdr does not exist; deploy the stack or fix TABLE_NAME/);
    ddb.restore();
  });

  it('marks throttling as retryable and an unreadable broker as UNKNOWN rather than throwing', async () => {
    const mq = mockClient(MqClient);
    const api = new MqBrokerApi(new MqClient({ region: 'us-west-2', maxAttempts: 1 }));
    mq.on(PromoteCommand).rejects(
      Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } }),
    );
    await expect(api.promote('b-1', 'FAILOVER')).rejects.toMatchObject({ retryable: true, brokerId: 'b-1' });
    mq.on(DescribeBrokerCommand).rejects(
      Object.assign(new Error('denied'), { name: 'ForbiddenException', $metadata: { httpStatusCode: 403 } }),
    );
    await expect(api.observe('b-1')).resolves.toMatchObject({ role: 'UNKNOWN', error: expect.stringContaining('IAM policy') });
    mq.restore();
  });
});
