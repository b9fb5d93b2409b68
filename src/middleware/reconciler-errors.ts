/**
 * The one place that decides retry semantics (design §4): a terminal error is reported (log,
 * outcome event, metric) and returned as the invocation's result; a retryable one is rethrown
 * so Lambda's asynchronous invocation retries it (and then keeps it in the on-failure
 * destination).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { classifyAwsError } from '../aws/classify.js';
import { describeTrigger } from '../cloudtrail.js';
import { RetryableError } from '../errors.js';
import type { MetricsSink } from '../metrics.js';
import { buildRejectedEvent, type OutcomePublisher } from '../outcome.js';

/** The result returned for an event that failed terminally. */
export interface RejectedResult {
  readonly status: 'rejected';
  readonly error: { readonly code: string; readonly message: string };
}

/** Where failures are reported. */
export interface ReconcilerErrorsOptions {
  readonly logger: Logger;
  readonly metrics: MetricsSink;
  readonly publisher: OutcomePublisher;
}

/**
 * Creates the error middleware.
 *
 * Terminal: logged at error, a `KMS Replica Reconcile Rejected` outcome event published (its
 * own failure only logged), `EventsRejected` counted, and `{ status: 'rejected', error }`
 * returned. Retryable: logged at warn, `RetryableFailures` counted, rethrown.
 *
 * @param options - logger, metrics and outcome publisher.
 * @returns a middy middleware with an `onError`.
 */
export function reconcilerErrors(options: ReconcilerErrorsOptions): MiddlewareObj<unknown, unknown> {
  const { logger, metrics, publisher } = options;
  return {
    name: 'reconciler-errors',
    onError: async function decideRetry(request) {
      const error = classifyAwsError(request.error);
      const trigger = describeTrigger(request.event);
      if (error instanceof RetryableError) {
        logger.warn('reconcile will be retried', { errorCode: error.code, errorMessage: error.message, ...trigger });
        metrics.addMetric('RetryableFailures', MetricUnit.Count, 1);
        request.error = error;
        return;
      }
      logger.error('reconcile rejected', { errorCode: error.code, errorMessage: error.message, ...trigger });
      metrics.addMetric('EventsRejected', MetricUnit.Count, 1);
      const rejected = { code: error.code, message: error.message };
      try {
        await publisher.publish(buildRejectedEvent(rejected, trigger));
      } catch (publishError) {
        logger.error('rejected outcome event not published', { errorMessage: (publishError as Error).message, ...trigger });
      }
      const response: RejectedResult = { status: 'rejected', error: rejected };
      request.response = response;
    },
  };
}
