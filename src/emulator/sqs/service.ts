/**
 * The embedded SQS as one {@link EmulatedService} of the endpoint's dispatcher: `X-Amz-Target:
 * AmazonSQS.<Operation>`, SigV4 service `sqs`, the AWS JSON protocol the SDK v3 SQS client speaks
 * (`AwsJson1_0Protocol`, `serviceTarget: "AmazonSQS"` [aws-sdk-js-v3 clients/client-sqs]). The
 * dispatcher's pipeline (credential scope, body limits, fault rules, quotas, call log, latency)
 * applies to it as to KMS. Errors carry the modelled name in `__type` (e.g. `QueueDoesNotExist`).
 */
import type { EmulatedService } from '../dispatcher.js';
import { KmsApiError } from '../errors.js';
import { SQS_TARGET_PREFIX, SqsProtocol } from './protocol.js';
import { SqsApiError } from './queues.js';

/** Creates the service around a protocol (its queues). */
export function createSqsService(protocol: SqsProtocol): EmulatedService {
  return {
    targetPrefix: SQS_TARGET_PREFIX,
    signingName: 'sqs',
    hasOperation: (operation) => SqsProtocol.OPERATIONS.has(operation),
    // SQS answers throttling with RequestThrottled (API reference, common errors).
    throttlingError: () => new KmsApiError('RequestThrottled', 'Request is throttled.'),
    injectedInternalError: () => new KmsApiError('InternalError', 'We encountered an internal error. Please try again.', 500),
    run(call) {
      try {
        return { output: protocol.call(call.operation, call.input, call.caller.region).output };
      } catch (error) {
        if (error instanceof SqsApiError) return { error: new KmsApiError(error.code, error.message, error.statusCode) };
        throw error;
      }
    },
  };
}
