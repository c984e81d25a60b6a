'use strict';
/**
 * A local Serverless Framework plugin: the orchestrator watching itself, added to the packaged template for
 * every function and every EventBridge rule there is, so that a new one cannot be left out.
 *
 *  - every function: an Errors and a Throttles alarm, notifying the pair's topic;
 *  - every function invoked asynchronously (by an EventBridge rule or a schedule): bounded retries and an
 *    on-failure destination, the stack's dead-letter queue (its role may send there and nowhere else);
 *  - every EventBridge rule target (the alarm rule, the schedules, the cross-Region forwarding rule): a bounded
 *    retry policy and the dead-letter queue, which those rules alone may send to.
 *
 * EventBridge retries a failed delivery for 24 hours by default; an alarm state change or a minute's schedule
 * that old is stale (a later one has superseded it), so events are kept 5 minutes (schedules 1 minute), then
 * go to the queue, whose alarm pages.
 */
const ALARM_EVENT_AGE_SECONDS = 300;
const SCHEDULE_EVENT_AGE_SECONDS = 60;

class SelfMonitoring {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:aws:package:finalize:saveServiceState': () => this.add() };
  }

  add() {
    const sls = this.serverless;
    const resources = sls.service.provider.compiledCloudFormationTemplate.Resources;
    const naming = sls.getProvider('aws').naming;
    const queue = { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] };
    const topic = { Ref: 'NotificationTopic' };
    if (!resources.DeadLetterQueue || !resources.NotificationTopic) {
      throw new Error('self-monitoring needs the DeadLetterQueue and NotificationTopic resources');
    }

    for (const name of sls.service.getAllFunctions()) {
      const fn = sls.service.getFunction(name);
      const logicalId = naming.getLambdaLogicalId(name);
      const base = logicalId.replace(/LambdaFunction$/, '');
      for (const metric of ['Errors', 'Throttles']) {
        resources[`${base}${metric}Alarm`] = {
          Type: 'AWS::CloudWatch::Alarm',
          Properties: {
            AlarmName: `${fn.name}-${metric.toLowerCase()}`,
            AlarmDescription: `${fn.name}: ${metric === 'Errors' ? 'invocations failed' : 'invocations were throttled'}; the orchestrator may not be acting on the pair`,
            Namespace: 'AWS/Lambda',
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId } }],
            Statistic: 'Sum',
            Period: 60,
            EvaluationPeriods: 1,
            Threshold: 1,
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
            TreatMissingData: 'notBreaching',
            AlarmActions: [topic],
            OKActions: [topic],
          },
        };
      }
      const async = (fn.events || []).some((e) => e.schedule || e.eventBridge);
      if (!async) continue;
      resources[`${base}AsyncInvokeConfig`] = {
        Type: 'AWS::Lambda::EventInvokeConfig',
        Properties: {
          FunctionName: { Ref: logicalId },
          Qualifier: '$LATEST',
          MaximumRetryAttempts: 2,
          MaximumEventAgeInSeconds: ALARM_EVENT_AGE_SECONDS,
          DestinationConfig: { OnFailure: { Destination: queue } },
        },
      };
      const role = resources[fn.role];
      const statements = role?.Properties.Policies?.[0].PolicyDocument.Statement;
      if (!statements) throw new Error(`self-monitoring: function ${name} has no role of its own in the template`);
      statements.push({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: queue });
    }

    const rules = [];
    for (const [id, resource] of Object.entries(resources)) {
      if (resource.Type !== 'AWS::Events::Rule') continue;
      rules.push({ 'Fn::GetAtt': [id, 'Arn'] });
      const age = resource.Properties.ScheduleExpression ? SCHEDULE_EVENT_AGE_SECONDS : ALARM_EVENT_AGE_SECONDS;
      for (const target of resource.Properties.Targets || []) {
        target.RetryPolicy = { MaximumEventAgeInSeconds: age, MaximumRetryAttempts: 10 };
        target.DeadLetterConfig = { Arn: queue };
      }
    }
    resources.DeadLetterQueuePolicy = {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [{ Ref: 'DeadLetterQueue' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: queue,
              Condition: { ArnEquals: { 'aws:SourceArn': rules } },
            },
          ],
        },
      },
    };
  }
}

module.exports = SelfMonitoring;
