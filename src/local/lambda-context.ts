/**
 * The Lambda invocation context of local runs (`npm start`, tests, bench, chaos; never the deployed
 * handlers), and the account of the local stand-in stack.
 */
import type { Context } from 'aws-lambda';

/**
 * A Lambda `Context` for local invocations.
 *
 * @param timeoutMs - the function timeout the context counts down from (ms). Default 60 000,
 *   the deployed timeout.
 */
export function createLocalLambdaContext(timeoutMs = 60_000, functionName = 'kms-replica-reconciler-local-keyEvent'): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:111122223333:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * The account of the local stand-in stack: the embedded KMS's default account (every key and
 * event of `startEmbeddedKms()` without `account`), as in `createLocalLambdaContext`'s ARN.
 */
export const LOCAL_ACCOUNT_ID = '111122223333';
