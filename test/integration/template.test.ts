/**
 * Both Regions' stacks of the example pair, packaged offline as `npm run deploy -- pairs/example.yml
 * --package-only` does, then checked: against CloudFormation's rules and the published resource specification
 * (test/support/cfn-lint.ts), and against what the orchestrator needs. The us-west-2 stack (local broker the
 * replica) is the one most checks read; both are linted and monitored alike.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { ApiClient } from '#cli/client.ts';
import { systemClock } from '#lib/ports.ts';
import { startLocalGateway } from '#simulator/api-gateway.ts';
import { alarmStateChangeEvent, LOCAL_CREDENTIALS, LOCAL_USERS, pairEnv, startEmbedded } from '#simulator/embedded.ts';
import { lintTemplate, loadSpec } from '../support/cfn-lint.ts';
import { duplicates, takenNames } from '../support/unique-names.ts';

const spec = loadSpec();

interface Resource {
  Type: string;
  Condition?: string;
  Properties: Record<string, unknown> & {
    Policies?: Array<{ PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } }>;
  };
}
let resources: Record<string, Resource>;
const templates: Record<string, Record<string, unknown>> = {};
const REGIONS = ['us-east-1', 'us-west-2'];
const OUT = 'dist/template-test';
let packaged = '';

/** A second pair of the same account and stage, with private brokers (test/support/second-pair.yml). */
const second: Record<string, Record<string, unknown>> = {};

beforeAll(async () => {
  const packageOnly = (file: string, out: string) =>
    promisify(execFile)('npx', ['tsx', 'scripts/deploy.ts', file, '--package-only', '--out', out], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'dummy', AWS_SECRET_ACCESS_KEY: 'dummy', SLS_TELEMETRY_DISABLED: '1' },
      timeout: 240_000,
    });
  // One after the other: the framework builds in the project's own .serverless and .esbuild folders.
  packaged = (await packageOnly('pairs/example.yml', OUT)).stdout;
  await packageOnly('test/support/second-pair.yml', `${OUT}/second`);
  const template = (dir: string, region: string) =>
    readFile(`${dir}/prod/${region}/cloudformation-template-update-stack.json`, 'utf8').then(JSON.parse);
  for (const region of REGIONS) {
    templates[region] = await template(OUT, region);
    second[region] = await template(`${OUT}/second`, region);
  }
  resources = templates['us-west-2']?.Resources as Record<string, Resource>;
}, 260_000);

describe('both Regions of a pair, from one file and one command', () => {
  it('packages the stack of each Region, each with its own broker as the local one', () => {
    expect(packaged).toContain('packaging orders (stage prod) in us-east-1');
    expect(packaged).toContain('packaging orders (stage prod) in us-west-2');
    for (const region of REGIONS) {
      const env = (templates[region]?.Resources as Record<string, Resource>).EscalateLambdaFunction?.Properties.Environment as {
        Variables: Record<string, string>;
      };
      expect(env.Variables.REMOTE_REGION).toBe(REGIONS.find((r) => r !== region));
    }
  });

  it.each(REGIONS)('the %s template passes CloudFormation rules and the published resource specification: 0 errors', (region) => {
    expect(lintTemplate(templates[region] as Record<string, unknown>, spec)).toEqual([]);
  });

  it('two pairs of one stage, in both Regions: no name AWS would refuse as a duplicate, in an account or a Region', async () => {
    const names = [];
    for (const [dir, pair] of [
      [OUT, templates],
      [`${OUT}/second`, second],
    ] as const) {
      for (const region of REGIONS) {
        const state = JSON.parse(await readFile(`${dir}/prod/${region}/serverless-state.json`, 'utf8'));
        names.push(...takenNames(pair[region] as Record<string, unknown>, region, state.service.provider.stackName));
      }
    }
    expect(new Set(names.map((n) => n.stack))).toEqual(
      new Set(['mq-crdr-orders-prod', 'mq-crdr-payments-prod'].flatMap((s) => [s, s])),
    );
    expect(names.filter((n) => n.kind === 'AWS::CloudWatch::Dashboard').map((n) => n.name)).toEqual([
      'mq-crdr-orders-prod',
      'mq-crdr-payments-prod',
    ]);
    expect(duplicates(names)).toEqual([]);
    // The check has teeth: one pair's stacks deployed twice (under two stack names) collide everywhere.
    const twice = [
      ...takenNames(templates['us-east-1'] as Record<string, unknown>, 'us-east-1', 'a'),
      ...takenNames(templates['us-east-1'] as Record<string, unknown>, 'us-east-1', 'b'),
    ];
    expect(duplicates(twice).join('\n')).toMatch(/AWS::Lambda::Function mq-crdr-orders-prod-onAlarm/);
    expect(duplicates(twice).join('\n')).toMatch(/AWS::CloudWatch::Dashboard mq-crdr-orders-prod in account:/);
  });

  it.each(REGIONS)(
    'attaches the functions that reach brokers to the VPC of a private pair in %s, with network permissions',
    (region) => {
      const all = second[region]?.Resources as Record<string, Resource>;
      const attached = Object.entries(all)
        .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.VpcConfig)
        .map(([name]) => name)
        .sort();
      expect(attached).toEqual(['HealthCheckLambdaFunction', 'ReconcileLambdaFunction']);
      const local = region === 'us-east-1';
      expect(all.HealthCheckLambdaFunction?.Properties.VpcConfig).toEqual(
        local
          ? { SecurityGroupIds: ['sg-0123456789abcdef0'], SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'] }
          : expect.anything(),
      );
      for (const role of ['HealthCheckRole', 'ReconcileRole']) {
        const granted = all[role]?.Properties.Policies?.flatMap((p) => p.PolicyDocument.Statement) ?? [];
        expect(JSON.stringify(granted)).toContain('ec2:CreateNetworkInterface');
      }
      expect(JSON.stringify(all.OnAlarmRole?.Properties.Policies)).not.toContain('ec2:');
      // A public pair: no VPC anywhere.
      const publicPair = templates[region]?.Resources as Record<string, Resource>;
      expect(Object.values(publicPair).filter((r) => r.Properties?.VpcConfig)).toEqual([]);
      expect(lintTemplate(second[region] as Record<string, unknown>, spec)).toEqual([]);
    },
  );

  it('the linter has teeth: it finds the faults this template once had', () => {
    // biome-ignore lint/suspicious/noExplicitAny: a template is untyped JSON; the test breaks it where it likes
    const broken = structuredClone(templates['us-west-2']) as Record<string, any>;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub placeholders
    broken.Outputs.HttpApiUrl.Value['Fn::Sub'] = 'https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}';
    broken.Conditions.Always = { 'Fn::Equals': ['true', 'true'] };
    broken.Resources.PairTable.Properties.NoSuchProperty = 1;
    broken.Resources.Dashboard.Type = 'AWS::CloudWatch::Dashbord';
    broken.Resources.DeadLetterAlarm.Properties.AlarmActions = [{ Ref: 'NoSuchTopic' }];
    const errors = lintTemplate(broken, spec).join('\n');
    expect(errors).toContain('Outputs.HttpApiUrl.Value: one intrinsic function per value');
    expect(errors).toContain('Conditions.Always: always true');
    expect(errors).toContain('Resources.PairTable.Properties.NoSuchProperty: unknown property');
    expect(errors).toContain('unknown resource type AWS::CloudWatch::Dashbord');
    expect(errors).toContain('Ref to "NoSuchTopic"');
  });

  it('every function has an Errors and a Throttles alarm, every async path a dead-letter queue, all paging the topic', () => {
    for (const region of REGIONS) {
      const all = templates[region]?.Resources as Record<string, Resource>;
      const functions = Object.keys(all).filter((k) => all[k]?.Type === 'AWS::Lambda::Function');
      expect(functions.length).toBe(8);
      for (const fn of functions) {
        const base = fn.replace(/LambdaFunction$/, '');
        for (const metric of ['Errors', 'Throttles']) {
          expect(all[`${base}${metric}Alarm`]?.Properties).toMatchObject({
            Namespace: 'AWS/Lambda',
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
            AlarmActions: [{ Ref: 'NotificationTopic' }],
          });
        }
      }
      const dlq = { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] };
      // Async invocations: on-failure destination and bounded retries.
      const asyncConfigs = Object.values(all).filter((r) => r.Type === 'AWS::Lambda::EventInvokeConfig');
      expect(asyncConfigs.map((r) => (r.Properties.FunctionName as { Ref: string }).Ref).sort()).toEqual([
        'EscalateLambdaFunction',
        'HealthCheckLambdaFunction',
        'OnAlarmLambdaFunction',
        'PurgeDedupLambdaFunction',
        'ReadinessLambdaFunction',
      ]);
      for (const c of asyncConfigs) expect(c.Properties.DestinationConfig).toEqual({ OnFailure: { Destination: dlq } });
      // Every EventBridge rule target (schedules, the alarm rule, the cross-Region forwarding): retry bounds + DLQ.
      const rules = Object.values(all).filter((r) => r.Type === 'AWS::Events::Rule');
      expect(rules.length).toBe(6);
      for (const rule of rules) {
        for (const t of rule.Properties.Targets as Array<Record<string, unknown>>) {
          expect(t.DeadLetterConfig).toEqual({ Arn: dlq });
          expect((t.RetryPolicy as { MaximumEventAgeInSeconds: number }).MaximumEventAgeInSeconds).toBeLessThanOrEqual(300);
        }
      }
      // Deadline schedules (created at run time) get the queue too, and their role may send to it.
      const env = all.EscalateLambdaFunction?.Properties.Environment as { Variables: Record<string, unknown> };
      expect(env.Variables.DEAD_LETTER_QUEUE_ARN).toEqual(dlq);
      expect(JSON.stringify(all.SchedulerInvokeRole?.Properties.Policies)).toContain('sqs:SendMessage');
      expect(all.DeadLetterAlarm?.Properties).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 });
      expect(all.SweepHeartbeatAlarm?.Properties).toMatchObject({
        MetricName: 'SweepHeartbeat',
        TreatMissingData: 'breaching',
        ComparisonOperator: 'LessThanThreshold',
      });
      // Readiness: a failing check in 2 of 3 ten-minute runs, or the runs stopping, pages the topic.
      expect(all.ReadinessAlarm?.Properties).toMatchObject({
        MetricName: 'ReadinessChecksFailing',
        Statistic: 'Maximum',
        Period: 600,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        Threshold: 1,
        TreatMissingData: 'breaching',
        AlarmActions: [{ Ref: 'NotificationTopic' }],
      });
    }
  });

  it('packages every function in a zip of at most 400 KB (minified, no source map on the runtime path)', async () => {
    for (const region of REGIONS) {
      const zips = (await readdir(`${OUT}/prod/${region}`)).filter((f) => f.endsWith('.zip'));
      expect(zips).toHaveLength(8);
      for (const zip of zips) expect((await stat(`${OUT}/prod/${region}/${zip}`)).size, zip).toBeLessThanOrEqual(400 * 1024);
    }
    const env = resources.EscalateLambdaFunction?.Properties.Environment as { Variables: Record<string, unknown> };
    expect(env.Variables.NODE_OPTIONS).toBeUndefined();
  });

  it('the zips run as deployed: in plain Node, onAlarm starts a switchover and api answers a status, against the embedded default', async () => {
    const e = await startEmbedded({ clock: systemClock, pair: { backlog: 5_000, drainRate: 100, produceRate: 0 } });
    const env = {
      ...pairEnv({
        pairName: e.pairName,
        primary: e.primary,
        replica: e.replica,
        tableName: e.runtime.config.tableName,
        simulatorEndpoint: e.simulator.endpoint,
        dynamodbEndpoint: e.dynamodbEndpoint,
        topicArn: e.runtime.config.topicArn ?? '',
      }),
      WATCH_SECONDS: '0',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    };
    const gateway = await startLocalGateway({
      handler: async (event) => (await invokeZipped('api', event, env)) as { statusCode: number; body: string },
      users: LOCAL_USERS,
    });
    try {
      const alarm = alarmStateChangeEvent('orders-replication-lag', 'ALARM', 'OK', Date.now());
      const result = (await invokeZipped('onAlarm', alarm, env)) as { decisions: Array<{ action: string }> };
      expect(result.decisions.map((d) => d.action)).toEqual(['START_SWITCHOVER', 'PROMOTE_ACCEPTED']);
      expect(e.world.promoteLog).toMatchObject([{ region: e.replica.region, brokerId: e.replica.id, mode: 'SWITCHOVER' }]);
      const api = new ApiClient({
        endpoint: gateway.endpoint,
        region: e.replica.region,
        credentials: LOCAL_CREDENTIALS,
        attempts: 1,
      });
      const view = await api.pair(e.pairName);
      expect(view.operation).toMatchObject({ mode: 'SWITCHOVER', status: 'SWITCHOVER_IN_PROGRESS' });
    } finally {
      await gateway.close();
      await e.close();
    }
  }, 60_000);

  it('creates the dedup global table in exactly one Region, decided by a template parameter', () => {
    expect(
      REGIONS.map((r) => (templates[r]?.Parameters as Record<string, { Default: string }>).DedupTableOwner?.Default),
    ).toEqual(['true', 'false']);
  });

  it('declares the pair view: one global table with a replica in both Regions, created by the first Region, read and written by name', () => {
    expect(
      REGIONS.map((r) => (templates[r]?.Parameters as Record<string, { Default: string }>).PairViewTableOwner?.Default),
    ).toEqual(['true', 'false']);
    const east = (templates['us-east-1']?.Resources as Record<string, Resource>).PairViewTable;
    expect(east?.Type).toBe('AWS::DynamoDB::GlobalTable');
    expect(east?.Condition).toBe('IsPairViewTableOwner');
    expect(east?.Properties).toMatchObject({
      TableName: 'mq-crdr-orders-prod-view',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    expect((east?.Properties.Replicas as Array<{ Region: unknown }>).map((r) => r.Region)).toEqual([
      { Ref: 'AWS::Region' },
      'us-west-2',
    ]);
    for (const region of REGIONS) {
      const all = templates[region]?.Resources as Record<string, Resource>;
      const env = all.EscalateLambdaFunction?.Properties.Environment as { Variables: Record<string, unknown> };
      expect(env.Variables).toMatchObject({
        PAIR_VIEW_TABLE: 'mq-crdr-orders-prod-view',
        FAILBACK_POLICY: 'manual',
      });
    }
    const view = statements('EscalateRole').find((st) => JSON.stringify(st.Resource).includes('-view'));
    expect(view?.Action).toEqual(['dynamodb:Query', 'dynamodb:PutItem']);
  });

  it('refuses to package without a pair: the missing params are named', async () => {
    const failed = await promisify(execFile)('npx', ['osls', 'package', '--package', `${OUT}/bare`], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'dummy', AWS_SECRET_ACCESS_KEY: 'dummy', SLS_TELEMETRY_DISABLED: '1' },
      timeout: 120_000,
    }).then(
      () => '',
      (error: { stdout?: string; stderr?: string }) => `${error.stdout}${error.stderr}`,
    );
    expect(failed).toMatch(/Cannot resolve variable at "provider\.environment\.LOCAL_BROKER_ID"/);
  });
});

const statements = (role: string) => resources[role]?.Properties.Policies?.flatMap((p) => p.PolicyDocument.Statement) ?? [];
const actions = (role: string) =>
  statements(role)
    .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
    .sort();

describe('generated CloudFormation template', () => {
  it.each(['OnAlarm', 'HealthCheck', 'Escalate', 'Api', 'Reconcile', 'PurgeDedup'])(
    'deploys %s on nodejs22.x as an ESM bundle with its own role',
    (name) => {
      const fn = resources[`${name}LambdaFunction`];
      expect(fn?.Properties).toMatchObject({ Runtime: 'nodejs22.x', Role: { 'Fn::GetAtt': [`${name}Role`, 'Arn'] } });
      expect(fn?.Properties.Handler).toMatch(/^functions\/\w+\.handler$/);
    },
  );

  it('routes the lag alarm forwarded from the primary’s Region to onAlarm (the probes are the health trigger)', () => {
    const patterns = Object.entries(resources)
      .filter(([name, r]) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern && name.includes('onAlarm'))
      .map(([, r]) => r.Properties.EventPattern);
    const alarmChange = { source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'] };
    expect(patterns).toEqual([{ ...alarmChange, region: ['us-east-1'], detail: { alarmName: ['orders-replication-lag'] } }]);
  });

  it('declares the replication alarm on both instances of the local broker, in seconds, slow or stalled, and forwards only its own state changes', () => {
    const stat = (metric: string, instance: number, Stat = 'Maximum') => ({
      Metric: {
        Namespace: 'AWS/AmazonMQ',
        MetricName: metric,
        Dimensions: [{ Name: 'Broker', Value: `orders-replica-${instance}` }],
      },
      Period: 60,
      Stat,
    });
    expect(resources.ReplicationLagAlarm?.Properties).toMatchObject({
      AlarmName: 'orders-replication-lag',
      Metrics: [
        { Id: 'lag1', ReturnData: false, MetricStat: stat('TotalReplicationLag', 1) },
        { Id: 'lag2', ReturnData: false, MetricStat: stat('TotalReplicationLag', 2) },
        { Id: 'wait1', ReturnData: false, MetricStat: stat('PrimaryWaitTime', 1) },
        { Id: 'wait2', ReturnData: false, MetricStat: stat('PrimaryWaitTime', 2) },
        { Id: 'queue1', ReturnData: false, MetricStat: stat('QueueSize', 1, 'Minimum') },
        { Id: 'queue2', ReturnData: false, MetricStat: stat('QueueSize', 2, 'Minimum') },
        {
          Id: 'behindSeconds',
          Expression: 'MAX([lag1, lag2, IF(queue1 > 0, wait1, 0), IF(queue2 > 0, wait2, 0)]) / 1000',
          ReturnData: true,
        },
      ],
      Threshold: '120',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
    });
    // An alarm on metric math names no single metric.
    expect(resources.ReplicationLagAlarm?.Properties.MetricName).toBeUndefined();
    expect(resources.LagAlarmForwardRule?.Properties.EventPattern).toMatchObject({
      region: [{ Ref: 'AWS::Region' }],
      detail: { alarmName: ['orders-replication-lag'] },
    });
    expect(JSON.stringify(resources.LagAlarmForwardRule?.Properties.Targets)).toContain(':events:us-east-1:');
  });

  it('serves the operator API on an HTTP API with IAM authorization on every route', () => {
    const routes = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual([
      'GET /pairs',
      'GET /pairs/{pairId}',
      'GET /pairs/{pairId}/readiness',
      'GET /pairs/{pairId}/timeline',
      'POST /pairs/{pairId}/abandon',
      'POST /pairs/{pairId}/failover',
      'POST /pairs/{pairId}/hold',
      'POST /pairs/{pairId}/rearm',
      'POST /pairs/{pairId}/release',
      'POST /pairs/{pairId}/switchover',
    ]);
    for (const r of routes) expect(r.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('has one dashboard per pair (in the first Region: dashboards are global), of both instances, in units', () => {
    const east = templates['us-east-1']?.Resources as Record<string, Resource>;
    expect(resources.Dashboard?.Condition).toBe('IsPairViewTableOwner');
    expect(east.Dashboard?.Condition).toBe('IsPairViewTableOwner');
    const body = JSON.stringify(resources.Dashboard?.Properties.DashboardBody);
    // Both instances of both brokers (Fn::Sub fills in the names).
    for (const instance of ['LocalBroker}-1', 'LocalBroker}-2', 'RemoteBroker}-1', 'RemoteBroker}-2']) {
      expect(body).toContain(instance);
    }
    expect(body).toContain('MAX([l1, l2]) / 1000');
    expect(body).toContain('(QueueSize, events)');
    for (const metric of [
      'TotalReplicationLag',
      'QueueSize',
      'OperationsStarted',
      'Escalations',
      'Refusals',
      'PromoteFailures',
      'TimeToRecovery',
    ]) {
      expect(body).toContain(metric);
    }
    for (const alarm of ['EscalationAlarm', 'PromoteFailureAlarm']) {
      expect(resources[alarm]?.Properties).toMatchObject({
        Namespace: 'MqCrdrOrchestrator',
        Dimensions: [
          { Name: 'service', Value: 'mq-crdr-orchestrator' },
          { Name: 'PairId', Value: 'orders' },
        ],
        AlarmActions: [{ Ref: 'NotificationTopic' }],
      });
    }
  });

  it('runs the health check and the escalation sweep every minute (the sweep with its input), readiness every 10 minutes', () => {
    const schedules = Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties.ScheduleExpression);
    expect(schedules.map((r) => r.Properties.ScheduleExpression)).toEqual([
      'rate(1 minute)',
      'rate(1 minute)',
      'rate(10 minutes)',
      'rate(1 day)',
    ]);
    const inputs = schedules
      .flatMap((r) => (r.Properties.Targets as Array<{ Input?: string }>).map((t) => t.Input))
      .filter(Boolean);
    expect(inputs.map((i) => JSON.parse(i as string))).toEqual([{ kind: 'sweep' }]);
  });

  it('declares the state table with the key schema the store uses', () => {
    expect(resources.PairTable?.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
  });

  it('declares the dedup global table in both Regions, with TTL unless MRSC', () => {
    const table = resources.DedupTable;
    expect(table?.Type).toBe('AWS::DynamoDB::GlobalTable');
    expect(table?.Condition).toBe('IsDedupTableOwner');
    expect(table?.Properties).toMatchObject({
      TableName: 'mq-crdr-orders-dedup',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: {
        'Fn::If': ['IsDedupStrong', { Ref: 'AWS::NoValue' }, { AttributeName: 'expiresAt', Enabled: true }],
      },
    });
    expect((table?.Properties.Replicas as Array<{ Region: unknown }>).map((r) => r.Region)).toEqual([
      { Ref: 'AWS::Region' },
      'us-east-1',
    ]);
  });

  it("gives reconcile its Region's secret by ARN, read at run time: no template holds a resolved secret", async () => {
    const { Variables } = resources.ReconcileLambdaFunction?.Properties.Environment as { Variables: Record<string, string> };
    const arn = 'arn:aws:secretsmanager:us-west-2:123456789012:secret:mq-crdr/orders-broker-user-AbCdEf';
    expect(Variables.BROKER_SECRET_ARN).toBe(arn);
    expect(Object.keys(Variables).filter((k) => /PASSWORD|USERNAME/.test(k))).toEqual([]);
    expect(statements('ReconcileRole')).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: arn,
    });
    for (const dir of [`${OUT}/prod`, `${OUT}/second/prod`]) {
      for (const region of REGIONS) {
        for (const file of ['cloudformation-template-update-stack.json', 'serverless-state.json']) {
          expect(await readFile(`${dir}/${region}/${file}`, 'utf8')).not.toMatch(/resolve:secretsmanager|resolve:ssm-secure/);
        }
      }
    }
  });

  it('keeps the tables when a stack is deleted or replaced, and protects every replica from deletion', () => {
    const east = templates['us-east-1']?.Resources as Record<
      string,
      Resource & { DeletionPolicy?: string; UpdateReplacePolicy?: string }
    >;
    for (const name of ['PairTable', 'PairViewTable', 'DedupTable']) {
      expect(east[name], name).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
    expect(east.PairTable?.Properties.DeletionProtectionEnabled).toBe(true);
    for (const name of ['PairViewTable', 'DedupTable']) {
      const replicas = east[name]?.Properties.Replicas as Array<{ DeletionProtectionEnabled?: boolean }>;
      expect(replicas.map((r) => r.DeletionProtectionEnabled)).toEqual([true, true]);
    }
  });

  it('reserves concurrency for the functions that act in an incident', () => {
    const reserved = Object.fromEntries(
      Object.entries(resources)
        .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.ReservedConcurrentExecutions !== undefined)
        .map(([name, r]) => [name, r.Properties.ReservedConcurrentExecutions]),
    );
    expect(reserved).toEqual({ OnAlarmLambdaFunction: 2, HealthCheckLambdaFunction: 2, EscalateLambdaFunction: 3 });
  });

  it('grants each function only the actions it calls', () => {
    const common = [
      'dynamodb:BatchWriteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      // The pair view: the same two actions on the global table, by name.
      'dynamodb:PutItem',
      'dynamodb:Query',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'mq:DescribeBroker',
      'mq:Promote',
      'sns:Publish',
      'ssm:GetParameter',
      'ssm:PutParameter',
    ];
    const scheduling = ['iam:PassRole', 'scheduler:CreateSchedule', 'scheduler:DeleteSchedule'];
    // Functions invoked asynchronously may send their failed events to the dead-letter queue.
    const dlq = 'sqs:SendMessage';
    expect(actions('OnAlarmRole')).toEqual([...common, ...scheduling, dlq].sort());
    expect(actions('HealthCheckRole')).toEqual([...common, 'mq:DescribeBroker', ...scheduling, dlq].sort());
    expect(actions('EscalateRole')).toEqual([...common, 'scheduler:DeleteSchedule', 'cloudwatch:GetMetricData', dlq].sort());
    expect(actions('ApiRole')).toEqual([...common, 'mq:DescribeBroker', ...scheduling, 'cloudwatch:GetMetricData'].sort());
    // Readiness never promotes: the API's role less mq:Promote.
    const readiness = [
      ...common.filter((a) => a !== 'mq:Promote'),
      'mq:DescribeBroker',
      ...scheduling,
      'cloudwatch:GetMetricData',
    ];
    expect(actions('ReadinessRole')).toEqual([...readiness, dlq].sort());
    const logs = ['logs:CreateLogStream', 'logs:PutLogEvents'];
    expect(actions('ReconcileRole')).toEqual(
      [...logs, 'dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'secretsmanager:GetSecretValue'].sort(),
    );
    expect(actions('PurgeDedupRole')).toEqual([...logs, 'dynamodb:DeleteItem', 'dynamodb:Scan', dlq].sort());
  });

  it("lets every orchestrating function write only the pair's redirect parameter, in both Regions", () => {
    for (const role of ['OnAlarmRole', 'HealthCheckRole', 'EscalateRole', 'ApiRole', 'ReadinessRole']) {
      const redirect = statements(role).filter((s) => JSON.stringify(s.Action).includes('ssm:'));
      expect(redirect).toHaveLength(1);
      expect(JSON.stringify(redirect[0]?.Resource)).toBe(
        JSON.stringify([
          // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub placeholders
          { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/mq-crdr/orders/broker-url' },
          // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub placeholders
          { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:us-east-1:${AWS::AccountId}:parameter/mq-crdr/orders/broker-url' },
        ]),
      );
    }
    const env = resources.EscalateLambdaFunction?.Properties.Environment as { Variables: Record<string, string> };
    expect(env.Variables).toMatchObject({ REDIRECT_SSM_PARAMETER: '/mq-crdr/orders/broker-url', REDIRECT_PROTOCOL: 'openwire' });
  });

  it('uses no wildcard action or resource that a comment in iam/statements.yml does not justify', async () => {
    const justified = await justifiedWildcards();
    const roles = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
    expect(roles.length).toBeGreaterThanOrEqual(8);
    for (const [role] of roles) {
      for (const s of statements(role)) {
        const list = (Array.isArray(s.Action) ? s.Action : [s.Action]).sort().join(',');
        const wildcard = list.includes('*') || JSON.stringify(s.Resource).includes('*');
        if (wildcard) expect(justified, `${role}: ${list} on ${JSON.stringify(s.Resource)}`).toContain(list);
        if (list.includes('mq:')) expect(JSON.stringify(s.Resource)).toMatch(/:broker:orders-(replica|primary):b-/);
        if (list.includes('dynamodb:Scan')) expect(JSON.stringify(s.Resource)).toMatch(/table\/mq-crdr-orders-dedup"/);
      }
    }
  });

  it('finds an unjustified wildcard in the IAM source (the check above has teeth)', async () => {
    const source = '# why\nread: {Action: [a:B], Resource: "*"}\nwild:\n  Action: [c:D]\n  Resource: "*"\n';
    expect(await justifiedWildcards(source)).toEqual(['a:B']);
  });
  it('the example ARC Region switch plan runs this arcStep in the activating Region, for longer than a deadline', async () => {
    const plan = JSON.parse(await readFile('examples/arc-region-switch-plan.json', 'utf8'));
    const prefix = plan.Parameters.OrchestratorPrefix.Default as string;
    expect(resources.ArcStepLambdaFunction?.Properties.FunctionName).toBe(`${prefix}-arcStep`);
    const { Workflows, RecoveryApproach } = plan.Resources.Plan.Properties;
    expect(RecoveryApproach).toBe('activePassive');
    expect(Workflows.map((w: { WorkflowTargetAction: string }) => w.WorkflowTargetAction)).toEqual(['activate', 'activate']);
    const deadlineSeconds = Number(
      (resources.EscalateLambdaFunction?.Properties.Environment as { Variables: Record<string, string> }).Variables
        .DEADLINE_SECONDS,
    );
    const [grant] = plan.Resources.PlanExecutionRole.Properties.Policies[0].PolicyDocument.Statement;
    for (const workflow of Workflows) {
      const [step] = workflow.Steps;
      expect(step.ExecutionBlockType).toBe('CustomActionLambda');
      const lambda = step.ExecutionBlockConfiguration.CustomActionLambdaConfig;
      expect(lambda).toMatchObject({ RegionToRun: 'activatingRegion', Ungraceful: { Behavior: 'skip' } });
      // A switchover may run to its deadline, then fail over; ARC must not time the step out before.
      expect(lambda.TimeoutMinutes * 60).toBeGreaterThanOrEqual(deadlineSeconds + 5 * 60);
      const arns = lambda.Lambdas.map((l: { Arn: { 'Fn::Sub': string } }) => l.Arn['Fn::Sub']);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub placeholders
      const arn = 'arn:${AWS::Partition}:lambda:${REGION}:${AWS::AccountId}:function:${OrchestratorPrefix}-arcStep';
      expect(arns).toEqual(['PrimaryRegion', 'StandbyRegion'].map((r) => arn.replace('REGION', r)));
      expect(grant.Action).toEqual(['lambda:GetFunction', 'lambda:InvokeFunction']);
      expect(grant.Resource).toEqual(lambda.Lambdas.map((l: { Arn: unknown }) => l.Arn));
    }
  });
});

/**
 * The action lists of iam/statements.yml entries with a `*` in their Action or Resource that are justified: a
 * comment right above the entry, or above the entry whose anchor it merges (`<<: *logs`).
 */
async function justifiedWildcards(source?: string): Promise<string[]> {
  const text = source ?? (await readFile('iam/statements.yml', 'utf8'));
  const entries: Array<{ comment: string[]; body: string[]; anchor?: string; merges?: string }> = [];
  let comment: string[] = [];
  for (const line of text.split('\n')) {
    const top = /^([\w-]+):\s*(?:&(\w+))?/.exec(line);
    if (line.startsWith('#')) comment.push(line);
    else if (line.trim() === '') comment = [];
    else if (top) {
      entries.push({ comment, body: [line], ...(top[2] ? { anchor: top[2] } : {}) });
      comment = [];
    } else {
      const entry = entries.at(-1);
      entry?.body.push(line);
      const merge = /^\s+<<: \*(\w+)/.exec(line);
      if (entry && merge) entry.merges = merge[1];
    }
  }
  const anchored = new Map(entries.filter((e) => e.anchor).map((e) => [e.anchor, e]));
  const actionsOf = (e: (typeof entries)[number]): string | undefined => {
    const inline = /Action:\s*\[([^\]]*)\]/.exec(e.body.join('\n'))?.[1];
    if (inline)
      return inline
        .split(',')
        .map((a) => a.trim())
        .sort()
        .join(',');
    const base = e.merges ? anchored.get(e.merges) : undefined;
    return base ? actionsOf(base) : undefined;
  };
  const wild = (e: (typeof entries)[number]): boolean =>
    e.body.some((l) => /^\s*(Action|Resource):.*\*/.test(l) || /\b(Action|Resource):.*\*/.test(l)) ||
    (e.merges !== undefined && anchored.get(e.merges) !== undefined && wild(anchored.get(e.merges) as (typeof entries)[number]));
  const hasWhy = (e: (typeof entries)[number]): boolean =>
    e.comment.length > 0 ||
    (e.merges !== undefined &&
      anchored.get(e.merges)?.comment.length !== undefined &&
      hasWhy(anchored.get(e.merges) as (typeof entries)[number]));
  return [
    ...new Set(
      entries
        .filter((e) => wild(e) && hasWhy(e))
        .map(actionsOf)
        .filter((a) => a !== undefined),
    ),
  ];
}

/** Unzips a function's deployment zip (as packaged for us-west-2) once; returns the directory. */
const unzipped = new Map<string, Promise<string>>();
function unzip(fn: string): Promise<string> {
  const extract = async () => {
    const dir = `${OUT}/unzipped/${fn}`;
    await rm(dir, { recursive: true, force: true });
    const zip = await yauzl.openPromise(`${OUT}/prod/us-west-2/${fn}.zip`);
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/')) continue;
      const target = join(dir, entry.fileName);
      await mkdir(dirname(target), { recursive: true });
      await pipeline(await zip.openReadStreamPromise(entry), createWriteStream(target));
    }
    zip.close();
    return dir;
  };
  const dir = unzipped.get(fn) ?? extract();
  unzipped.set(fn, dir);
  return dir;
}

/**
 * Invokes a function from its deployment zip as the Lambda runtime would: a fresh Node process imports the
 * handler file named in serverless.yml (functions/<fn>.mjs) with only the function's environment, and calls it.
 */
async function invokeZipped(fn: string, event: unknown, env: Record<string, string>): Promise<unknown> {
  const file = pathToFileURL(join(await unzip(fn), 'functions', `${fn}.mjs`)).href;
  const script = `
    const { handler } = await import(process.argv[1]);
    const context = { functionName: process.argv[3], functionVersion: '$LATEST', awsRequestId: 'zip-test', memoryLimitInMB: '256',
      invokedFunctionArn: 'arn:aws:lambda:us-west-2:123456789012:function:' + process.argv[3], getRemainingTimeInMillis: () => 30000 };
    const result = await handler(JSON.parse(process.argv[2]), context);
    process.stdout.write('\\nRESULT ' + JSON.stringify(result) + '\\n');`;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', script, file, JSON.stringify(event), fn],
    {
      env: { ...env, NODE_NO_WARNINGS: '1', POWERTOOLS_LOG_LEVEL: 'WARN' },
      timeout: 30_000,
    },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`${fn} printed no result:\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length));
}
