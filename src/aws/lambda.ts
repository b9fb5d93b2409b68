/**
 * The sweep's continuation through Lambda itself: a sweep that stopped before its timeout invokes
 * its own function asynchronously with `{ marker }`, so the next run picks up the rest.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { SweepContinuation } from '../sweep/ports.js';
import { requestHandlerOptions, type StaticCredentials } from './clients.js';
import { classifyAwsError } from './classify.js';

/**
 * Creates a continuation that calls Lambda `Invoke` with `InvocationType: 'Event'`
 * (asynchronous: Lambda queues the event and answers 202 at once [Lambda API_Invoke]). The role
 * needs `lambda:InvokeFunction` on the function itself. The client's Region is the ARN's.
 *
 * @param options.endpoint - a Lambda-compatible endpoint (tests); unset = AWS.
 * @throws {RetryableError | TerminalError} from the returned function, as `classifyAwsError` decides.
 */
export function createLambdaSweepContinuation(options: { endpoint?: string; credentials?: StaticCredentials } = {}): SweepContinuation {
  const clients = new Map<string, LambdaClient>();
  return async function continueSweep(functionArn, input) {
    const region = functionArn.split(':')[3] ?? '';
    let client = clients.get(region);
    if (!client) {
      client = new LambdaClient({
        region,
        requestHandler: requestHandlerOptions(),
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
      clients.set(region, client);
    }
    try {
      await client.send(
        new InvokeCommand({ FunctionName: functionArn, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(input)) }),
      );
    } catch (error) {
      throw classifyAwsError(error);
    }
  };
}
