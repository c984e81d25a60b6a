/** The Lambda context the local stand-ins pass to handlers: a 60 s timeout, as serverless.yml's default. */
import type { Context } from 'aws-lambda';

export const lambdaContext = (functionName: string, timeoutMs = 60_000): Context => {
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
