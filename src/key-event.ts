/**
 * The key-event handler's logic: one EventBridge event in, one reconcile (or a skip) out.
 * `handlers/key-event.ts` wraps it for Lambda.
 */
import middy, { type MiddyfiedHandler } from '@middy/core';
import type { Context } from 'aws-lambda';
import { parseTrigger } from './cloudtrail.js';
import { RetryableError, TerminalError } from './errors.js';
import { reconcilerErrors, type RejectedResult } from './middleware/reconciler-errors.js';
import { reconcileKey } from './reconcile.js';
import type { Runtime } from './runtime.js';
import type { ReconcileOutcome } from './types.js';

/** What one invocation returns (the Lambda result; EventBridge ignores it, tests read it). */
export type KeyEventResult =
  | { readonly status: 'skipped'; readonly reason: string; readonly eventId?: string }
  | { readonly status: 'reconciled'; readonly eventId: string; readonly outcome: ReconcileOutcome }
  | RejectedResult;

/**
 * Creates the middy-wrapped handler for KMS CloudTrail events.
 *
 * Flow: `parseTrigger` → skip (logged at debug) | invalid (a `TerminalError` named
 * `InvalidEvent`, returned, not retried) | `reconcileKey`. A reconcile whose only problems are
 * terminal returns its outcome; one with a retryable per-Region failure throws after logging,
 * so Lambda retries the whole event (reconciling again is safe: it is level-triggered).
 *
 * @param runtime - from `createRuntime`.
 * @returns `handler(event, context)`, resolving to a `KeyEventResult`.
 * @throws {RetryableError} for throttling, 5xx, transitional states (Lambda retries).
 */
export function createKeyEventHandler(runtime: Runtime): MiddyfiedHandler<unknown, KeyEventResult, Error, Context> {
  const { logger } = runtime;
  return middy<unknown, KeyEventResult, Error, Context>()
    .use(reconcilerErrors(logger))
    .handler(async function handleKeyEvent(event, _context, { signal }): Promise<KeyEventResult> {
      const trigger = parseTrigger(event, {
        ...(runtime.config.reconcilerPrincipalArn ? { reconcilerPrincipalArn: runtime.config.reconcilerPrincipalArn } : {}),
      });
      if (trigger.kind === 'invalid') throw new TerminalError(trigger.problem, 'InvalidEvent');
      if (trigger.kind === 'skip') {
        logger.debug('event skipped', { reason: trigger.reason, eventId: trigger.eventId });
        return { status: 'skipped', reason: trigger.reason, ...(trigger.eventId ? { eventId: trigger.eventId } : {}) };
      }
      const { request } = trigger;
      const outcome = await reconcileKey(request, runtime, signal);
      logger.info('reconcile finished', {
        keyId: outcome.keyId,
        eventId: request.eventId,
        eventName: request.eventName,
        primaryRegion: outcome.primaryRegion,
        result: outcome.result,
        writes: outcome.writes,
        regions: Object.fromEntries(outcome.regions.map((r) => [r.region, r.status])),
      });
      const retryable = outcome.regions.find((r) => r.status === 'failed' && r.error?.retryable);
      if (retryable?.error) {
        throw new RetryableError(
          `ReplicateKey to ${retryable.region} failed with ${retryable.error.name}: ${retryable.error.message}`,
          retryable.error.name,
        );
      }
      return { status: 'reconciled', eventId: request.eventId, outcome };
    });
}
