/**
 * The local delivery loop: what AWS does around the key-event function, standing in for it
 * locally. The EventBridge rule (`key-event-rule.ts`) selects which events reach the key-event
 * queue; the queue (the embedded SQS) and its event source mapping (`event-source-mapping.ts`)
 * deliver them to the real batch handler. Used by the demo (`npm start`), the CLI's embedded mode,
 * tests, bench and chaos; never by the deployed handlers.
 */
import type { EmbeddedSqs } from '../emulator/index.js';
import { RetryableError } from '../reconcile/errors.js';
import type { KeyEventResult } from '../lambda/key-event-handler.js';
import { LocalEventSourceMapping, type BatchFunction } from './event-source-mapping.js';
import { matchesKeyEventRule } from './key-event-rule.js';

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
