/**
 * Local stand-ins for what AWS provides around a Lambda function: the invocation context, the
 * EventBridge rule that selects which events reach the key-event queue, and the delivery loop
 * through the queue and its event source mapping (`src/local/event-source-mapping.ts`). Used by the
 * demo (`npm start`), the CLI's embedded mode and tests; never by the deployed handlers.
 */
import type { Context } from 'aws-lambda';
import { CLOUDTRAIL_DETAIL_TYPE, KMS_EVENT_SOURCE, KMS_SOURCE, TRIGGER_EVENT_NAMES } from '../cloudtrail.js';
import type { EmbeddedSqs } from '../emulator/index.js';
import { RetryableError } from '../errors.js';
import type { KeyEventResult } from '../key-event.js';
import { LocalEventSourceMapping, type BatchFunction } from '../local/event-source-mapping.js';

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

/** One message the key-event handler settled during `deliverUntilQuiet`. */
export interface Delivery {
  /** 1-based order of settlement. */
  readonly index: number;
  readonly event: unknown;
  /** What became of the message, or the retryable error that left it for redelivery. */
  readonly result?: KeyEventResult;
  readonly error?: RetryableError;
}

/** The local key-event queue `deliverUntilQuiet` uses (one queue for every Region: no home Region). */
export const LOCAL_KEY_EVENT_QUEUE = { region: 'us-east-1', name: 'kms-replica-reconciler-local-key-events' } as const;

/**
 * Delivers `first`, then every CloudTrail event the source emits that the key-event rule matches,
 * the way the deployed stack does: rule → SQS queue (the embedded SQS) → event source mapping →
 * the real batch handler (`handlerFor`, given the per-message result callback), until the source
 * has nothing left and no message is visible: the loop event → handler → ReplicateKey → event.
 * A message the handler reports failed stays in the queue for its visibility timeout (30 s) and is
 * not waited for: its delivery carries the error.
 *
 * @param options.maxDeliveries - a bound on settled messages (a reconciler that never converged
 *   would otherwise loop for ever); exceeding it throws.
 * @returns every settled message, in order.
 * @throws {Error} when more than `maxDeliveries` messages were settled.
 */
export async function deliverUntilQuiet(options: {
  readonly source: EventSource;
  readonly sqs: EmbeddedSqs;
  readonly handlerFor: (onResult: (messageId: string, outcome: KeyEventResult | RetryableError) => void) => BatchFunction;
  readonly first?: readonly unknown[];
  readonly maxDeliveries?: number;
  readonly onDelivery?: (delivery: Delivery) => void;
  /** Containers (`MaximumConcurrency`). Default 1, so deliveries keep the order of events. */
  readonly containers?: number;
}): Promise<Delivery[]> {
  const max = options.maxDeliveries ?? 1_000;
  const { sqs } = options;
  const { region, name } = LOCAL_KEY_EVENT_QUEUE;
  sqs.createQueue(region, name);
  const events = new Map<string, unknown>();
  const deliveries: Delivery[] = [];
  const onResult = (messageId: string, outcome: KeyEventResult | RetryableError): void => {
    if (deliveries.length >= max) throw new Error(`more than ${max} events delivered: the reconciler is not converging`);
    const event = events.get(messageId);
    const delivery: Delivery = outcome instanceof RetryableError ? { index: deliveries.length + 1, event, error: outcome } : { index: deliveries.length + 1, event, result: outcome };
    deliveries.push(delivery);
    options.onDelivery?.(delivery);
  };
  const handler = options.handlerFor(onResult);
  const mapping = new LocalEventSourceMapping({ sqs, region, queueName: name, containers: Array.from({ length: options.containers ?? 1 }, () => handler), batchSize: 10 });
  const enqueue = (event: unknown): void => {
    events.set(sqs.send(region, name, JSON.stringify(event)), event);
  };
  for (const event of options.first ?? []) enqueue(event);
  for (;;) {
    for (const event of options.source.takeEvents().filter(matchesKeyEventRule)) enqueue(event);
    const invocations = await mapping.drainVisible();
    if (deliveries.length >= max) throw new Error(`more than ${max} events delivered: the reconciler is not converging`);
    if (invocations === 0) break;
  }
  return deliveries;
}
