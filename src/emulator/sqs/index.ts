/**
 * The embedded SQS: standard queues with visibility timeouts, receive counts and redrive to a
 * dead-letter queue, served beside the embedded KMS on the same HTTP endpoint (one more service of
 * the dispatcher: requests whose `X-Amz-Target` starts with `AmazonSQS.`; the SQS calls are in the
 * endpoint's call log), and usable in process by local tooling (the local Lambda event source
 * mapping). It imports nothing from the product.
 */
import type { EmulatedService } from '../dispatcher.js';
import { SqsProtocol } from './protocol.js';
import { QueueStore, type QueueCounts, type QueueSettings, type ReceivedMessage } from './queues.js';
import { createSqsService } from './service.js';

export type { QueueCounts, QueueSettings, ReceivedMessage } from './queues.js';
export { SqsApiError } from './queues.js';

/** What a queue is created with (defaults: visibility 30 s, retention 4 days, no delay, no redrive). */
export interface QueueOptions {
  readonly visibilityTimeoutSeconds?: number;
  readonly messageRetentionSeconds?: number;
  readonly delaySeconds?: number;
  /** Name of the dead-letter queue (same Region; created first) and the receives before redrive. */
  readonly deadLetter?: { readonly queueName: string; readonly maxReceiveCount: number };
}

/** A queue as created: where to reach it. */
export interface QueueRef {
  readonly region: string;
  readonly name: string;
  readonly url: string;
  readonly arn: string;
}

/** The in-process API of the embedded SQS. */
export interface EmbeddedSqs {
  /**
   * Creates a standard queue (or returns the same one again).
   * @throws {SqsApiError} when it exists with other settings, or the dead-letter queue does not exist.
   */
  createQueue(region: string, name: string, options?: QueueOptions): QueueRef;
  /** Sends one message (the EventBridge rule target, local tooling). @throws {SqsApiError} `QueueDoesNotExist`. */
  send(region: string, name: string, body: string): string;
  /** Receives up to `max` (1-10) messages, as `ReceiveMessage` does. @throws {SqsApiError} `QueueDoesNotExist`. */
  receive(region: string, name: string, max: number, visibilityTimeoutSeconds?: number): ReceivedMessage[];
  /** `DeleteMessage`. @throws {SqsApiError} `ReceiptHandleIsInvalid`, `QueueDoesNotExist`. */
  deleteMessage(region: string, name: string, receiptHandle: string): void;
  /** `ChangeMessageVisibility`. @throws {SqsApiError} `MessageNotInflight`. */
  changeVisibility(region: string, name: string, receiptHandle: string, seconds: number): void;
  /** Visible, in-flight and delayed messages, and the age of the oldest. @throws {SqsApiError} `QueueDoesNotExist`. */
  counts(region: string, name: string): QueueCounts;
  /** The bodies of every stored message, oldest first. @throws {SqsApiError} `QueueDoesNotExist`. */
  bodies(region: string, name: string): string[];
  /** Every stored message (id, body, receive count), oldest first; not a receive. @throws {SqsApiError} `QueueDoesNotExist`. */
  peek(region: string, name: string): { messageId: string; body: string; receiveCount: number }[];
  /** The queue's ARN. @throws {SqsApiError} `QueueDoesNotExist`. */
  arnOf(region: string, name: string): string;
  /** Whether the queue exists. */
  exists(region: string, name: string): boolean;
}

/**
 * Creates the embedded SQS of one account.
 * @param endpoint - the HTTP endpoint (read when a queue URL is built; known once the server listens).
 */
export function createEmbeddedSqs(account: string, now: () => number, endpoint: () => string): { sqs: EmbeddedSqs; service: EmulatedService } {
  const store = new QueueStore(account, now);
  const protocol = new SqsProtocol(store, now, endpoint);
  const sqs: EmbeddedSqs = {
    createQueue(region, name, options = {}) {
      let redrive: QueueSettings['redrive'];
      if (options.deadLetter) {
        const dlq = store.get(region, options.deadLetter.queueName);
        redrive = { deadLetterTargetArn: dlq.arn, maxReceiveCount: options.deadLetter.maxReceiveCount };
      }
      const queue = store.create(region, name, {
        visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
        messageRetentionSeconds: options.messageRetentionSeconds ?? 345_600,
        delaySeconds: options.delaySeconds ?? 0,
        ...(redrive ? { redrive } : {}),
      });
      return { region, name, url: protocol.urlOf(queue), arn: queue.arn };
    },
    send: (region, name, body) => store.get(region, name).send(body, now()).messageId,
    receive: (region, name, max, timeout) => store.receive(store.get(region, name), max, timeout),
    deleteMessage: (region, name, handle) => store.get(region, name).delete(handle),
    changeVisibility: (region, name, handle, seconds) => store.get(region, name).changeVisibility(handle, seconds, now()),
    counts: (region, name) => store.get(region, name).counts(now()),
    bodies: (region, name) => store.get(region, name).bodies(),
    peek: (region, name) => store.get(region, name).peek(),
    arnOf: (region, name) => store.get(region, name).arn,
    exists: (region, name) => store.find(region, name) !== undefined,
  };
  return { sqs, service: createSqsService(protocol) };
}
