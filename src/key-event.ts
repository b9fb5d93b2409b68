/**
 * The key-event handler's logic: one EventBridge event in, one reconcile (or a skip) out.
 * `handlers/key-event.ts` wraps it for Lambda.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import type { Context } from 'aws-lambda';
import { parseTrigger } from './cloudtrail.js';
import { RetryableError, TerminalError } from './errors.js';
import { recordReconcileMetrics } from './metrics.js';
import { reconcilerErrors, type RejectedResult } from './middleware/reconciler-errors.js';
import { buildOutcomeEvent, isWorthReporting } from './outcome.js';
import { reconcileKey } from './reconcile.js';
import type { Runtime } from './runtime.js';
import type { ReconcileOutcome } from './types.js';

/** What one invocation returns (the Lambda result; EventBridge ignores it, tests read it). */
export type KeyEventResult =
  | { readonly status: 'skipped'; readonly reason: string; readonly eventId?: string }
  | { readonly status: 'reconciled'; readonly eventId: string; readonly outcome: ReconcileOutcome; readonly published: boolean }
  | RejectedResult;

/**
 * How long before the Lambda timeout the handler aborts in-flight KMS calls and gives up with a
 * retryable `TimeoutError`, leaving time to log and flush metrics (milliseconds).
 */
export const TIMEOUT_MARGIN_MS = 3_000;

/**
 * Creates the middy-wrapped handler for KMS CloudTrail events.
 *
 * Flow: `parseTrigger` → skip (logged at debug, `EventsSkipped`) | invalid (a `TerminalError`
 * named `InvalidEvent`) | `reconcileKey` → metrics, one structured log line, an outcome event
 * when it wrote something or found a problem. A per-Region retryable failure throws after
 * reporting, so Lambda retries the whole event (reconciling again is safe: it is
 * level-triggered). Terminal errors are returned as `{ status: 'rejected' }` by the error
 * middleware.
 *
 * @param runtime - from `createRuntime`.
 * @returns `handler(event, context)`, resolving to a `KeyEventResult`.
 * @throws {RetryableError} for throttling, 5xx, transitional states, timeouts (Lambda retries).
 */
export function createKeyEventHandler(runtime: Runtime): MiddyfiedHandler<unknown, KeyEventResult, Error, Context> {
  const { logger, metrics, publisher } = runtime;
  return middy<unknown, KeyEventResult, Error, Context>({ timeoutEarlyInMillis: TIMEOUT_MARGIN_MS })
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(reconcilerErrors({ logger, metrics, publisher }))
    .handler(async function handleKeyEvent(event, _context, { signal }): Promise<KeyEventResult> {
      metrics.addMetric('EventsReceived', MetricUnit.Count, 1);
      const trigger = parseTrigger(event, {
        ...(runtime.config.reconcilerPrincipalArn ? { reconcilerPrincipalArn: runtime.config.reconcilerPrincipalArn } : {}),
        ...(runtime.config.accountId ? { accountId: runtime.config.accountId } : {}),
      });
      if (trigger.kind === 'invalid') throw new TerminalError(trigger.problem, 'InvalidEvent');
      if (trigger.kind === 'skip') {
        metrics.addMetric('EventsSkipped', MetricUnit.Count, 1);
        logger.debug('event skipped', { reason: trigger.reason, eventId: trigger.eventId });
        return { status: 'skipped', reason: trigger.reason, ...(trigger.eventId ? { eventId: trigger.eventId } : {}) };
      }

      const { request } = trigger;
      const started = runtime.now().getTime();
      const outcome = await reconcileKey(request, runtime, signal);
      recordReconcileMetrics(metrics, outcome, runtime.now().getTime() - started);
      logger.info('reconcile finished', {
        keyId: outcome.keyId,
        eventId: request.eventId,
        eventName: request.eventName,
        triggerRegion: request.region,
        primaryRegion: outcome.primaryRegion,
        result: outcome.result,
        dryRun: outcome.dryRun,
        writes: outcome.writes,
        regions: Object.fromEntries(outcome.regions.map((r) => [r.region, r.status])),
      });
      const published = isWorthReporting(outcome);
      if (published) await publisher.publish(buildOutcomeEvent(outcome, request));

      const retryable = outcome.regions.find((r) => r.status === 'failed' && r.error?.retryable);
      if (retryable?.error) {
        throw new RetryableError(
          `${retryable.region}: ${retryable.error.name}: ${retryable.error.message}`,
          retryable.error.name,
        );
      }
      return { status: 'reconciled', eventId: request.eventId, outcome, published };
    });
}
