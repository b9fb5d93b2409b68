/**
 * How failures are reported (design §4), and the middleware that maps what a handler throws.
 *
 * The retry decision itself is the reconcile's verdict (`src/reconcile/verdict.ts`): the handlers
 * switch on it and report it here ({@link reportRetry}, {@link reportRejection}). Only what is
 * thrown (a queue refusing a forward, a bad sweep input, a programming error) is mapped here
 * ({@link reportFailure}): a classified error keeps its kind, anything else is classified once by
 * `classifyAwsError` (an unknown error is terminal). A terminal failure is reported (log, outcome
 * event, metric) and returned as the result; a retryable one is returned for the caller to throw
 * (the key-event queue's redelivery; for the sweep, Lambda's retry and the next schedule).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { classifyAwsError } from '../aws/classify.js';
import { describeTrigger } from '../reconcile/trigger.js';
import { RetryableError, TerminalError, type ReconcilerError } from '../reconcile/errors.js';
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
 * Reports a retry: logged at warn (`reconcile will be retried`, with the error's code and message)
 * and counted (`RetryableFailures`). The logger carries the trigger's keys (a child logger of the
 * family, or keys appended for the invocation).
 *
 * @param attributes - more for the log line (e.g. the Regions to retry).
 */
export function reportRetry(error: RetryableError, options: Pick<ReconcilerErrorsOptions, 'logger' | 'metrics'>, attributes: Record<string, unknown> = {}): void {
  options.logger.warn('reconcile will be retried', { errorCode: error.code, errorMessage: error.message, ...attributes });
  options.metrics.addMetric('RetryableFailures', MetricUnit.Count, 1);
}

/**
 * Reports a rejection: logged at error (`reconcile rejected`), counted (`EventsRejected`) and
 * published as a `KMS Replica Reconcile Rejected` outcome event naming `trigger` (a side report:
 * its own failure is logged and counted, never thrown). The logger carries the trigger's keys.
 *
 * @returns the {@link RejectedResult}.
 */
export async function reportRejection(error: TerminalError, trigger: OutcomeTrigger, options: ReconcilerErrorsOptions): Promise<RejectedResult> {
  const { logger, metrics, publisher } = options;
  logger.error('reconcile rejected', { errorCode: error.code, errorMessage: error.message });
  metrics.addMetric('EventsRejected', MetricUnit.Count, 1);
  const rejected = { code: error.code, message: error.message };
  await publishSideReport(() => publisher.publish(buildRejectedEvent(rejected, trigger)), { logger, metrics }, { detailType: 'rejected' });
  return { status: 'rejected', error: rejected };
}

/**
 * Maps a thrown value and reports it: a terminal error through {@link reportRejection} (returned
 * as the {@link RejectedResult}), a retryable one through {@link reportRetry} (returned for the
 * caller to throw). A value that is not classified (a programming error, an SDK error that
 * escaped an adapter) is classified here by `classifyAwsError` (an unknown error is terminal).
 */
export async function reportFailure(caught: unknown, trigger: OutcomeTrigger, options: ReconcilerErrorsOptions): Promise<RejectedResult | RetryableError> {
  const error: ReconcilerError = classifyAwsError(caught);
  if (error instanceof TerminalError) return reportRejection(error, trigger, options);
  reportRetry(error, options);
  return error;
}

/**
 * Creates the error middleware (the sweep's): appends the trigger's keys to the logger (reset
 * after the invocation by `injectLambdaContext({ resetKeys: true })`), {@link reportFailure}, then
 * a terminal error becomes the invocation's result and a retryable one is rethrown.
 *
 * @param options - logger, metrics and outcome publisher.
 * @returns a middy middleware with an `onError`.
 */
export function reconcilerErrors(options: ReconcilerErrorsOptions): MiddlewareObj<unknown, unknown> {
  return {
    name: 'reconciler-errors',
    onError: async function decideRetry(request) {
      const trigger = describeTrigger(request.event);
      options.logger.appendKeys({ ...trigger });
      const verdict = await reportFailure(request.error, trigger, options);
      if (verdict instanceof RetryableError) {
        request.error = verdict;
        return;
      }
      request.response = verdict;
    },
  };
}
