/**
 * The embedded SQS's operations on the JSON request shapes of the SQS API (`X-Amz-Target:
 * AmazonSQS.<Operation>`, served by `service.ts` through the endpoint's dispatcher).
 *
 * Operations: CreateQueue, GetQueueUrl, GetQueueAttributes, SendMessage, SendMessageBatch,
 * ReceiveMessage (no long polling: it answers at once), DeleteMessage, DeleteMessageBatch,
 * ChangeMessageVisibility. Queue URLs are `<endpoint>/queue/<region>/<account>/<name>`.
 */
import { MAX_BATCH, MAX_MESSAGE_BYTES, SqsApiError, type Queue, type QueueSettings, type QueueStore } from './queues.js';

/** `X-Amz-Target` prefix of SQS requests. */
export const SQS_TARGET_PREFIX = 'AmazonSQS.';

type Input = Record<string, unknown>;

/** Serves SQS requests against a {@link QueueStore}. */
export class SqsProtocol {
  constructor(
    private readonly store: QueueStore,
    private readonly now: () => number,
    private readonly endpoint: () => string,
  ) {}

  /** The URL of a queue. */
  urlOf(queue: Queue): string {
    return `${this.endpoint()}/queue/${queue.region}/${queue.account}/${queue.name}`;
  }

  /** The operations served. */
  static readonly OPERATIONS: ReadonlySet<string> = new Set([
    'CreateQueue',
    'GetQueueUrl',
    'GetQueueAttributes',
    'SendMessage',
    'SendMessageBatch',
    'ReceiveMessage',
    'DeleteMessage',
    'DeleteMessageBatch',
    'ChangeMessageVisibility',
  ]);

  /**
   * Runs one operation for a caller in `region`.
   * @throws {SqsApiError} the SQS error to answer with.
   */
  call(operation: string, input: Input, region: string): { output: unknown; queue?: string } {
    let queueName: string | undefined;
    const queueOf = (): Queue => {
      const queue = this.queueOfUrl(input['QueueUrl'], region);
      queueName = queue.name;
      return queue;
    };
    const { output } = this.run(operation, input, region, queueOf);
    return { output, ...(queueName ? { queue: queueName } : {}) };
  }

  private run(operation: string, input: Input, region: string, queueOf: () => Queue): { output: unknown; count?: number } {
    switch (operation) {
      case 'CreateQueue': {
        const name = requireString(input, 'QueueName');
        if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) throw invalidParameter(`Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length`);
        const queue = this.store.create(region, name, settingsOf((input['Attributes'] ?? {}) as Record<string, unknown>));
        return { output: { QueueUrl: this.urlOf(queue) } };
      }
      case 'GetQueueUrl': {
        const name = requireString(input, 'QueueName');
        return { output: { QueueUrl: this.urlOf(this.store.get(region, name)) } };
      }
      case 'GetQueueAttributes': {
        const queue = queueOf();
        const counts = queue.counts(this.now());
        const attributes: Record<string, string> = {
          QueueArn: queue.arn,
          VisibilityTimeout: String(queue.settings.visibilityTimeoutSeconds),
          MessageRetentionPeriod: String(queue.settings.messageRetentionSeconds),
          DelaySeconds: String(queue.settings.delaySeconds),
          ApproximateNumberOfMessages: String(counts.visible),
          ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
          ApproximateNumberOfMessagesDelayed: String(counts.delayed),
          ...(queue.settings.redrive ? { RedrivePolicy: JSON.stringify(queue.settings.redrive) } : {}),
        };
        const names = Array.isArray(input['AttributeNames']) ? (input['AttributeNames'] as string[]) : ['All'];
        const picked = names.includes('All') ? attributes : Object.fromEntries(Object.entries(attributes).filter(([k]) => names.includes(k)));
        return { output: { Attributes: picked } };
      }
      case 'SendMessage': {
        const queue = queueOf();
        const body = messageBody(input['MessageBody']);
        const sent = queue.send(body, this.now(), delayOf(input['DelaySeconds']));
        return { output: { MessageId: sent.messageId, MD5OfMessageBody: sent.md5 }, count: 1 };
      }
      case 'SendMessageBatch': {
        const queue = queueOf();
        const entries = batchEntries(input['Entries']);
        const total = entries.reduce((n, e) => n + Buffer.byteLength(String(e['MessageBody'] ?? ''), 'utf8'), 0);
        if (total > MAX_MESSAGE_BYTES) {
          throw new SqsApiError('BatchRequestTooLong', `Batch requests cannot be longer than ${MAX_MESSAGE_BYTES} bytes.`, 'AWS.SimpleQueueService.BatchRequestTooLong');
        }
        const successful: unknown[] = [];
        const failed: unknown[] = [];
        for (const entry of entries) {
          try {
            const sent = queue.send(messageBody(entry['MessageBody']), this.now(), delayOf(entry['DelaySeconds']));
            successful.push({ Id: entry['Id'], MessageId: sent.messageId, MD5OfMessageBody: sent.md5 });
          } catch (error) {
            const e = error as SqsApiError;
            failed.push({ Id: entry['Id'], SenderFault: true, Code: e.code, Message: e.message });
          }
        }
        return { output: { Successful: successful, Failed: failed }, count: successful.length };
      }
      case 'ReceiveMessage': {
        const queue = queueOf();
        const max = integerIn(input['MaxNumberOfMessages'], 'MaxNumberOfMessages', 1, MAX_BATCH, 1);
        const timeout = input['VisibilityTimeout'] === undefined ? undefined : integerIn(input['VisibilityTimeout'], 'VisibilityTimeout', 0, 43_200, 30);
        const messages = this.store.receive(queue, max, timeout);
        return {
          output: {
            Messages: messages.map((m) => ({
              MessageId: m.messageId,
              ReceiptHandle: m.receiptHandle,
              MD5OfBody: m.md5OfBody,
              Body: m.body,
              Attributes: {
                ApproximateReceiveCount: String(m.receiveCount),
                SentTimestamp: String(m.sentAt),
                ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt),
              },
            })),
          },
          count: messages.length,
        };
      }
      case 'DeleteMessage': {
        queueOf().delete(requireString(input, 'ReceiptHandle'));
        return { output: {}, count: 1 };
      }
      case 'DeleteMessageBatch': {
        const queue = queueOf();
        const successful: unknown[] = [];
        const failed: unknown[] = [];
        for (const entry of batchEntries(input['Entries'])) {
          try {
            queue.delete(requireString(entry, 'ReceiptHandle'));
            successful.push({ Id: entry['Id'] });
          } catch (error) {
            const e = error as SqsApiError;
            failed.push({ Id: entry['Id'], SenderFault: true, Code: e.code, Message: e.message });
          }
        }
        return { output: { Successful: successful, Failed: failed }, count: successful.length };
      }
      case 'ChangeMessageVisibility': {
        const queue = queueOf();
        const seconds = integerIn(input['VisibilityTimeout'], 'VisibilityTimeout', 0, 43_200, 30);
        queue.changeVisibility(requireString(input, 'ReceiptHandle'), seconds, this.now());
        return { output: {} };
      }
      default:
        throw new SqsApiError('UnknownOperationException', `Unknown operation ${operation}`, 'UnknownOperationException');
    }
  }

  private queueOfUrl(url: unknown, region: string): Queue {
    if (typeof url !== 'string' || url === '') throw invalidParameter('Value for parameter QueueUrl is invalid. Reason: empty');
    const match = /\/queue\/([a-z0-9-]+)\/(\d{12})\/([A-Za-z0-9_-]+)$/.exec(url) ?? /\/(\d{12})\/([A-Za-z0-9_-]+)$/.exec(url);
    if (!match) throw new SqsApiError('QueueDoesNotExist', 'The specified queue does not exist.', 'AWS.SimpleQueueService.NonExistentQueue');
    const [queueRegion, account, name] = match.length === 4 ? [match[1], match[2], match[3]] : [region, match[1], match[2]];
    if (account !== this.store.account) {
      throw new SqsApiError('QueueDoesNotExist', 'The specified queue does not exist.', 'AWS.SimpleQueueService.NonExistentQueue');
    }
    return this.store.get(queueRegion as string, name as string);
  }
}

function invalidParameter(message: string): SqsApiError {
  return new SqsApiError('InvalidParameterValue', message, 'InvalidParameterValue');
}

function requireString(input: Input, name: string): string {
  const value = input[name];
  if (typeof value !== 'string' || value === '') throw new SqsApiError('MissingParameter', `The request must contain the parameter ${name}.`, 'MissingParameter');
  return value;
}

function messageBody(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new SqsApiError('MissingParameter', 'The request must contain the parameter MessageBody.', 'MissingParameter');
  if (Buffer.byteLength(value, 'utf8') > MAX_MESSAGE_BYTES) {
    throw invalidParameter(`One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`);
  }
  return value;
}

function delayOf(value: unknown): number | undefined {
  return value === undefined ? undefined : integerIn(value, 'DelaySeconds', 0, 900, 0);
}

function integerIn(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalidParameter(`Value ${String(value)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}.`);
  }
  return n;
}

function batchEntries(value: unknown): Input[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new SqsApiError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.', 'AWS.SimpleQueueService.EmptyBatchRequest');
  }
  if (value.length > MAX_BATCH) {
    throw new SqsApiError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are ${MAX_BATCH}. You have sent ${value.length}.`, 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest');
  }
  const ids = value.map((e) => (e as Input)['Id']);
  if (new Set(ids).size !== ids.length) {
    throw new SqsApiError('BatchEntryIdsNotDistinct', 'Id entries in the request are not distinct.', 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct');
  }
  return value as Input[];
}

/** Queue attributes (strings, as the API carries them) → settings. @throws {SqsApiError} `InvalidAttributeValue`. */
export function settingsOf(attributes: Record<string, unknown>): QueueSettings {
  const number = (name: string, min: number, max: number, fallback: number): number => {
    const raw = attributes[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new SqsApiError('InvalidAttributeValue', `Invalid value for the parameter ${name}.`, 'InvalidAttributeValue');
    }
    return n;
  };
  let redrive: QueueSettings['redrive'];
  if (typeof attributes['RedrivePolicy'] === 'string' && attributes['RedrivePolicy'] !== '') {
    let parsed: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
    try {
      parsed = JSON.parse(attributes['RedrivePolicy']) as typeof parsed;
    } catch {
      throw new SqsApiError('InvalidAttributeValue', 'Invalid value for the parameter RedrivePolicy.', 'InvalidAttributeValue');
    }
    const count = Number(parsed.maxReceiveCount);
    if (typeof parsed.deadLetterTargetArn !== 'string' || !Number.isInteger(count) || count < 1 || count > 1000) {
      throw new SqsApiError('InvalidAttributeValue', 'Invalid value for the parameter RedrivePolicy.', 'InvalidAttributeValue');
    }
    redrive = { deadLetterTargetArn: parsed.deadLetterTargetArn, maxReceiveCount: count };
  }
  return {
    visibilityTimeoutSeconds: number('VisibilityTimeout', 0, 43_200, 30),
    messageRetentionSeconds: number('MessageRetentionPeriod', 60, 1_209_600, 345_600),
    delaySeconds: number('DelaySeconds', 0, 900, 0),
    ...(redrive ? { redrive } : {}),
  };
}
