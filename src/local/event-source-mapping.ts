/**
 * A local stand-in for Lambda's SQS event source mapping, over the embedded SQS: it receives
 * batches of up to `batchSize` messages, invokes the function with the SQS event Lambda builds
 * (`Records[]` with `messageId`, `receiptHandle`, `body`, `attributes.ApproximateReceiveCount`,
 * `eventSourceARN`, ...), at most `maximumConcurrency` invocations at a time, and reads the
 * partial batch response (`ReportBatchItemFailures`): the messages not named in
 * `batchItemFailures` are deleted; the named ones, or the whole batch when the function throws or
 * answers an item that was not in the batch, stay and come back after the queue's visibility
 * timeout, until the queue's redrive policy moves them to its dead-letter queue
 * (Lambda Developer Guide, "Using Lambda with Amazon SQS", services-sqs-configure and
 * services-sqs-errorhandling [S28]). Used by `npm start`, tests, bench and chaos; never deployed.
 */
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { EmbeddedSqs, ReceivedMessage } from '../emulator/index.js';
import { createLocalLambdaContext } from './lambda-context.js';

/** The function behind a mapping: one handler per container (its own runtime, as a real container has). */
export type BatchFunction = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** Settings of {@link LocalEventSourceMapping}. */
export interface EventSourceMappingOptions {
  readonly sqs: EmbeddedSqs;
  /** The queue's Region and name. */
  readonly region: string;
  readonly queueName: string;
  /** One handler per container; their number is `MaximumConcurrency`. */
  readonly containers: readonly BatchFunction[];
  /** `BatchSize`, 1-10. Default 10. */
  readonly batchSize?: number;
  /** The function's timeout (the context counts down from it). Default 120 000 ms. */
  readonly functionTimeoutMs?: number;
  /** Told of every invocation. */
  readonly onInvocation?: (invocation: MappingInvocation) => void;
}

/** What one invocation received and answered. */
export interface MappingInvocation {
  readonly container: number;
  readonly messageIds: readonly string[];
  /** Messages deleted (processed). */
  readonly deleted: number;
  /** Messages left for redelivery. */
  readonly failed: number;
  /** What the function threw (the whole batch is then left). */
  readonly error?: unknown;
  readonly durationMs: number;
}

/** An SQS event source mapping of one queue, run on demand. */
export class LocalEventSourceMapping {
  private readonly batchSize: number;
  private readonly queueArn: string;

  constructor(private readonly options: EventSourceMappingOptions) {
    if (options.containers.length < 1) throw new RangeError('an event source mapping needs at least one container');
    this.batchSize = options.batchSize ?? 10;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 10) throw new RangeError(`batchSize must be 1-10, got ${this.batchSize}`);
    this.queueArn = options.sqs.exists(options.region, options.queueName)
      ? options.sqs.arnOf(options.region, options.queueName)
      : options.sqs.createQueue(options.region, options.queueName).arn;
  }

  /**
   * Polls until no message is visible: every container receives a batch, invokes, settles, and
   * receives again, so at most `containers.length` invocations run at once.
   * @returns how many invocations ran.
   */
  async drainVisible(): Promise<number> {
    let invocations = 0;
    await Promise.all(
      this.options.containers.map(async (handler, container) => {
        for (;;) {
          const messages = this.options.sqs.receive(this.options.region, this.options.queueName, this.batchSize);
          if (messages.length === 0) return;
          invocations += 1;
          await this.invoke(handler, container, messages);
        }
      }),
    );
    return invocations;
  }

  private async invoke(handler: BatchFunction, container: number, messages: readonly ReceivedMessage[]): Promise<void> {
    const { sqs, region, queueName } = this.options;
    const started = performance.now();
    const event: SQSEvent = { Records: messages.map((m) => this.recordOf(m)) };
    let response: SQSBatchResponse | undefined;
    let error: unknown;
    try {
      response = await handler(event, createLocalLambdaContext(this.options.functionTimeoutMs ?? 120_000, `${queueName}-consumer`));
    } catch (caught) {
      error = caught;
    }
    const ids = new Set(messages.map((m) => m.messageId));
    const failures = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    // Lambda treats a response naming an item that was not in the batch as a failure of the whole batch.
    const wholeBatchFailed = error !== undefined || [...failures].some((id) => !ids.has(id));
    let deleted = 0;
    if (!wholeBatchFailed) {
      for (const message of messages) {
        if (failures.has(message.messageId)) continue;
        sqs.deleteMessage(region, queueName, message.receiptHandle);
        deleted += 1;
      }
    }
    this.options.onInvocation?.({
      container,
      messageIds: [...ids],
      deleted,
      failed: messages.length - deleted,
      ...(error !== undefined ? { error } : {}),
      durationMs: Math.round(performance.now() - started),
    });
  }

  private recordOf(message: ReceivedMessage): SQSRecord {
    return {
      messageId: message.messageId,
      receiptHandle: message.receiptHandle,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: 'AIDAEMBEDDEDSENDER',
        ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
      },
      messageAttributes: {},
      md5OfBody: message.md5OfBody,
      eventSource: 'aws:sqs',
      eventSourceARN: this.queueArn,
      awsRegion: this.options.region,
    };
  }
}

/**
 * An SQS event of one batch, as the event source mapping builds it, for invoking the batch
 * handler directly with given message bodies (tests, bench). Message ids are `m1`, `m2`, ...
 */
export function sqsEventOf(bodies: readonly string[], region = 'us-east-1'): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `m${i + 1}`,
      receiptHandle: `m${i + 1}#1`,
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'AIDAEMBEDDEDSENDER', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${region}:111122223333:kms-replica-reconciler-local-key-events`,
      awsRegion: region,
    })),
  };
}
