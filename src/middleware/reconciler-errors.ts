/**
 * The one place that decides retry semantics (design §4): a terminal error is logged and
 * returned as the invocation's result; a retryable one is rethrown so Lambda's asynchronous
 * invocation retries it (then the on-failure destination keeps it).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';
import { classifyAwsError } from '../aws/classify.js';
import { RetryableError } from '../errors.js';

/** The result returned for an event that failed terminally. */
export interface RejectedResult {
  readonly status: 'rejected';
  readonly error: { readonly code: string; readonly message: string };
}

/**
 * Creates the error middleware.
 *
 * @param logger - where terminal and retryable failures are logged.
 * @returns a middy middleware with an `onError` that sets a `RejectedResult` response for
 *   terminal errors and leaves retryable ones to be thrown.
 */
export function reconcilerErrors(logger: Logger): MiddlewareObj<unknown, unknown> {
  return {
    name: 'reconciler-errors',
    onError: function decideRetry(request) {
      const error = classifyAwsError(request.error);
      if (error instanceof RetryableError) {
        logger.warn('reconcile will be retried', { errorCode: error.code, errorMessage: error.message });
        request.error = error;
        return;
      }
      logger.error('reconcile rejected', { errorCode: error.code, errorMessage: error.message });
      const response: RejectedResult = { status: 'rejected', error: { code: error.code, message: error.message } };
      request.response = response;
    },
  };
}
