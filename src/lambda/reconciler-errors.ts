/**
 * The one place that decides retry semantics (design §4): a terminal error is reported (log,
 * outcome event, metric) and returned as the result; a retryable one is rethrown so the caller's
 * retry mechanism runs (the key-event queue's redelivery; for the sweep, the next schedule).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { classifyAwsError } from '../aws/classify.js';
import { describeTrigger } from '../reconcile/trigger.js';
import { RetryableError, type ReconcilerError } from '../reconcile/errors.js';
import { publishSideReport, type MetricsSink } from './metrics.js';
import { buildRejectedEvent, type OutcomePublisher, type OutcomeTrigger } from './outcome.js';

/** The result returned for a trigger that failed terminally. */
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
 * Reports a failure and says what it is: a terminal error is logged at error, counted
 * (`EventsRejected`), published as a `KMS Replica Reconcile Rejected` outcome event (a side
 * report: its own failure is logged and counted, never thrown) and returned as a
 * {@link RejectedResult}; a retryable one is logged at warn, counted (`RetryableFailures`) and
 * returned as the classified `RetryableError` for the caller to throw.
 */
export async function reportFailure(
  caught: unknown,
  trigger: OutcomeTrigger,
  options: ReconcilerErrorsOptions,
): Promise<RejectedResult | RetryableError> {
  const { logger, metrics, publisher } = options;
  const error: ReconcilerError = classifyAwsError(caught);
  if (error instanceof RetryableError) {
    logger.warn('reconcile will be retried', { errorCode: error.code, errorMessage: error.message, ...trigger });
    metrics.addMetric('RetryableFailures', MetricUnit.Count, 1);
    return error;
  }
  logger.error('reconcile rejected', { errorCode: error.code, errorMessage: error.message, ...trigger });
  metrics.addMetric('EventsRejected', MetricUnit.Count, 1);
  const rejected = { code: error.code, message: error.message };
  await publishSideReport(() => publisher.publish(buildRejectedEvent(rejected, trigger)), { logger, metrics }, { ...trigger, detailType: 'rejected' });
  return { status: 'rejected', error: rejected };
}

/**
 * Creates the error middleware (the sweep's): {@link reportFailure}, then a terminal error
 * becomes the invocation's result and a retryable one is rethrown.
 *
 * @param options - logger, metrics and outcome publisher.
 * @returns a middy middleware with an `onError`.
 */
export function reconcilerErrors(options: ReconcilerErrorsOptions): MiddlewareObj<unknown, unknown> {
  return {
    name: 'reconciler-errors',
    onError: async function decideRetry(request) {
      const verdict = await reportFailure(request.error, describeTrigger(request.event), options);
      if (verdict instanceof RetryableError) {
        request.error = verdict;
        return;
      }
      request.response = verdict;
    },
  };
}
