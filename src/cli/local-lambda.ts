/**
 * Local stand-ins for what AWS provides around a Lambda function: the invocation context and
 * the EventBridge rule that selects which events reach the key-event handler. Used by the
 * demo (`npm start`), the CLI's embedded mode and tests; never by the deployed handlers.
 */
import type { Context } from 'aws-lambda';
import { CLOUDTRAIL_DETAIL_TYPE, KMS_EVENT_SOURCE, KMS_SOURCE, TRIGGER_EVENT_NAMES } from '../cloudtrail.js';

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

/**
 * Whether an event matches the key-event rule of `serverless.yml` in the local stack's account
 * (`LOCAL_ACCOUNT_ID`): `account` the stack's own, `source` `aws.kms`, `detail-type` "AWS API
 * Call via CloudTrail", `eventSource` `kms.amazonaws.com`, `eventName` one of
 * `TRIGGER_EVENT_NAMES`, no `errorCode` (EventBridge content filtering: exact, case-sensitive
 * matching; `exists: false` on a leaf [S10 eb-event-patterns]).
 *
 * @param event - an EventBridge event of any shape.
 */
export function matchesKeyEventRule(event: unknown): boolean {
  if (event === null || typeof event !== 'object') return false;
  const e = event as { account?: unknown; source?: unknown; 'detail-type'?: unknown; detail?: Record<string, unknown> | null };
  const detail = e.detail;
  return (
    e.account === LOCAL_ACCOUNT_ID &&
    e.source === KMS_SOURCE &&
    e['detail-type'] === CLOUDTRAIL_DETAIL_TYPE &&
    detail !== null &&
    typeof detail === 'object' &&
    detail.eventSource === KMS_EVENT_SOURCE &&
    (TRIGGER_EVENT_NAMES as readonly unknown[]).includes(detail.eventName) &&
    !('errorCode' in detail)
  );
}

/** An event source that hands out what it has queued (the embedded KMS's CloudTrail queue). */
export interface EventSource {
  takeEvents(): unknown[];
}

/** One handler invocation made by `deliverUntilQuiet`. */
export interface Delivery<R> {
  /** 1-based order of delivery. */
  readonly index: number;
  readonly event: unknown;
  /** The handler's result, or the error it threw (a retryable failure). */
  readonly result?: R;
  readonly error?: unknown;
}

/**
 * Delivers `first` to `handler`, then every event the source emits that matches the rule, in
 * order, until the source has nothing left: the loop event → handler → ReplicateKey → event.
 *
 * @param options.maxDeliveries - a bound on deliveries (a reconciler that never converged would
 *   otherwise loop for ever); exceeding it throws.
 * @returns every delivery, in order.
 * @throws {Error} when more than `maxDeliveries` events were delivered.
 */
export async function deliverUntilQuiet<R>(options: {
  readonly source: EventSource;
  readonly handler: (event: unknown, context: Context) => Promise<R>;
  readonly first?: readonly unknown[];
  readonly maxDeliveries?: number;
  readonly onDelivery?: (delivery: Delivery<R>) => void;
}): Promise<Delivery<R>[]> {
  const max = options.maxDeliveries ?? 1_000;
  const deliveries: Delivery<R>[] = [];
  let queue: unknown[] = [...(options.first ?? []), ...options.source.takeEvents().filter(matchesKeyEventRule)];
  while (queue.length > 0) {
    for (const event of queue) {
      if (deliveries.length >= max) throw new Error(`more than ${max} events delivered: the reconciler is not converging`);
      const index = deliveries.length + 1;
      let delivery: Delivery<R>;
      try {
        delivery = { index, event, result: await options.handler(event, createLocalLambdaContext()) };
      } catch (error) {
        delivery = { index, event, error };
      }
      deliveries.push(delivery);
      options.onDelivery?.(delivery);
    }
    queue = options.source.takeEvents().filter(matchesKeyEventRule);
  }
  return deliveries;
}
