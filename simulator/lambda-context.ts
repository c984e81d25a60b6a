/** The Lambda context the local stand-ins pass to handlers: a 90 s timeout, as serverless.yml gives the orchestrating functions. */
import type { Context } from 'aws-lambda';

export const lambdaContext = (functionName: string, timeoutMs = 90_000): Context => {
  const started = performance.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-west-2:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, Math.round(timeoutMs - (performance.now() - started))),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};
