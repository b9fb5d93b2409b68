/**
 * The embedded SQS's state and semantics: standard queues per (Region, account, name), messages
 * with a visibility timeout, a receive count, delays, retention, and redrive to a dead-letter
 * queue. Pure state over an injected clock: no timers, no I/O. The JSON 1.0 protocol on top of it
 * is `protocol.ts`; local tooling (the local event source mapping) uses this API directly.
 *
 * Semantics modelled on the SQS Developer Guide ("Amazon SQS visibility timeout", "Using
 * dead-letter queues", "Amazon SQS message quotas"):
 * - a received message stays invisible for the visibility timeout, then is received again, its
 *   `ApproximateReceiveCount` one higher; `DeleteMessage` with its receipt handle removes it;
 * - a message whose receive count has reached the redrive policy's `maxReceiveCount` is moved to
 *   the dead-letter queue instead of being received once more;
 * - messages older than the retention period are dropped;
 * - at most 10 messages per receive and per batch call, 256 KiB per message.
 */
import { createHash, randomUUID } from 'node:crypto';

/** The attributes of a queue the emulator honours (seconds, as SQS states them). */
export interface QueueSettings {
  /** Default 30 s; 0-43 200. */
  readonly visibilityTimeoutSeconds: number;
  /** Default 345 600 s (4 days); 60-1 209 600. */
  readonly messageRetentionSeconds: number;
  /** Default 0; 0-900. */
  readonly delaySeconds: number;
  /** `RedrivePolicy`: the dead-letter queue's ARN and the receives before a message moves there. */
  readonly redrive?: { readonly deadLetterTargetArn: string; readonly maxReceiveCount: number };
}

/** One message as a receive hands it out. */
export interface ReceivedMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly md5OfBody: string;
  /** 1 on the first receive. */
  readonly receiveCount: number;
  /** Epoch ms of the send. */
  readonly sentAt: number;
  /** Epoch ms of the first receive. */
  readonly firstReceivedAt: number;
}

/** Counts of a queue, as `GetQueueAttributes` reports them. */
export interface QueueCounts {
  /** Visible now (`ApproximateNumberOfMessages`). */
  readonly visible: number;
  /** Received and not yet visible again (`ApproximateNumberOfMessagesNotVisible`). */
  readonly inFlight: number;
  /** Sent with a delay not yet over (`ApproximateNumberOfMessagesDelayed`). */
  readonly delayed: number;
  /** Age of the oldest message in seconds (`ApproximateAgeOfOldestMessage`, a CloudWatch metric). */
  readonly oldestAgeSeconds: number;
}

/** A failure the SQS API answers with: `code` is the modelled error's name. */
export class SqsApiError extends Error {
  override readonly name = 'SqsApiError';
  /**
   * @param code - e.g. `QueueDoesNotExist`, `ReceiptHandleIsInvalid`.
   * @param queryCode - the AWS query error code (`x-amzn-query-error`), e.g. `AWS.SimpleQueueService.NonExistentQueue`.
   */
  constructor(
    readonly code: string,
    message: string,
    readonly queryCode: string = code,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

/** Largest message body (bytes) [SQS message quotas]. */
export const MAX_MESSAGE_BYTES = 262_144;
/** Most messages per receive and entries per batch call. */
export const MAX_BATCH = 10;

interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5: string;
  readonly sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The current receipt handle (a new one per receive). */
  receipt?: string;
  /** Whether the message was ever received and is now invisible because of that. */
  inFlight: boolean;
}

/** One queue. */
export class Queue {
  readonly arn: string;
  private messages: StoredMessage[] = [];

  constructor(
    readonly region: string,
    readonly account: string,
    readonly name: string,
    public settings: QueueSettings,
  ) {
    this.arn = `arn:${region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws'}:sqs:${region}:${account}:${name}`;
  }

  /** Adds a message; returns its id and MD5. */
  send(body: string, now: number, delaySeconds?: number): { messageId: string; md5: string } {
    const messageId = randomUUID();
    const md5 = md5Hex(body);
    const delay = (delaySeconds ?? this.settings.delaySeconds) * 1000;
    this.messages.push({ messageId, body, md5, sentAt: now, visibleAt: now + delay, receiveCount: 0, inFlight: false });
    return { messageId, md5 };
  }

  /** Re-adds a message moved from another queue (redrive), keeping its id, body and send time. */
  adopt(message: { messageId: string; body: string; md5: string; sentAt: number }, now: number): void {
    this.messages.push({ ...message, visibleAt: now, receiveCount: 0, inFlight: false });
  }

  /**
   * Receives up to `max` visible messages, oldest first, making each invisible for
   * `visibilityTimeoutSeconds` (the queue's by default). A message already received
   * `maxReceiveCount` times is handed to `redrive` instead.
   */
  receive(
    now: number,
    max: number,
    visibilityTimeoutSeconds: number | undefined,
    redrive: (message: StoredMessage) => void,
  ): ReceivedMessage[] {
    this.expire(now);
    const out: ReceivedMessage[] = [];
    const timeout = (visibilityTimeoutSeconds ?? this.settings.visibilityTimeoutSeconds) * 1000;
    for (const message of [...this.messages]) {
      if (out.length >= max) break;
      if (message.visibleAt > now) continue;
      const limit = this.settings.redrive?.maxReceiveCount;
      if (limit !== undefined && message.receiveCount >= limit) {
        this.remove(message);
        redrive(message);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + timeout;
      message.inFlight = true;
      message.receipt = `${message.messageId}#${message.receiveCount}#${randomUUID()}`;
      out.push({
        messageId: message.messageId,
        receiptHandle: message.receipt,
        body: message.body,
        md5OfBody: message.md5,
        receiveCount: message.receiveCount,
        sentAt: message.sentAt,
        firstReceivedAt: message.firstReceivedAt,
      });
    }
    return out;
  }

  /**
   * Deletes the message a receipt handle names. As in SQS, a handle of a message already deleted
   * succeeds; a handle this queue never issued is invalid.
   * @throws {SqsApiError} `ReceiptHandleIsInvalid`.
   */
  delete(receiptHandle: string): void {
    const messageId = messageIdOf(receiptHandle);
    const message = this.messages.find((m) => m.messageId === messageId);
    if (!message) return;
    if (message.receipt !== receiptHandle && !receiptHandle.startsWith(`${message.messageId}#`)) {
      throw new SqsApiError('ReceiptHandleIsInvalid', `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`);
    }
    this.remove(message);
  }

  /**
   * Sets how long the message of `receiptHandle` stays invisible, from now.
   * @throws {SqsApiError} `MessageNotInflight` when the message is not in flight (or gone).
   */
  changeVisibility(receiptHandle: string, seconds: number, now: number): void {
    const message = this.messages.find((m) => m.receipt === receiptHandle);
    if (!message || !message.inFlight || message.visibleAt <= now) {
      throw new SqsApiError('MessageNotInflight', 'Message does not exist or is not available for visibility timeout change.', 'AWS.SimpleQueueService.MessageNotInflight');
    }
    message.visibleAt = now + seconds * 1000;
  }

  /** The counts `GetQueueAttributes` and CloudWatch report. */
  counts(now: number): QueueCounts {
    this.expire(now);
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    let oldest = now;
    for (const m of this.messages) {
      oldest = Math.min(oldest, m.sentAt);
      if (m.visibleAt <= now) visible += 1;
      else if (m.inFlight) inFlight += 1;
      else delayed += 1;
    }
    return { visible, inFlight, delayed, oldestAgeSeconds: Math.floor((now - oldest) / 1000) };
  }

  /** Every message body still stored (tests, reports): oldest first. */
  bodies(): string[] {
    return this.messages.map((m) => m.body);
  }

  /** Every message still stored: id, body and receive count, oldest first. */
  peek(): { messageId: string; body: string; receiveCount: number }[] {
    return this.messages.map((m) => ({ messageId: m.messageId, body: m.body, receiveCount: m.receiveCount }));
  }

  private expire(now: number): void {
    const limit = now - this.settings.messageRetentionSeconds * 1000;
    if (this.messages.some((m) => m.sentAt <= limit)) this.messages = this.messages.filter((m) => m.sentAt > limit);
  }

  private remove(message: StoredMessage): void {
    const index = this.messages.indexOf(message);
    if (index >= 0) this.messages.splice(index, 1);
  }
}

/** Every queue of the emulator, by Region and name (one account). */
export class QueueStore {
  private readonly queues = new Map<string, Queue>();

  constructor(
    readonly account: string,
    private readonly now: () => number,
  ) {}

  /**
   * Creates a queue, or returns the existing one when its settings are the same.
   * @throws {SqsApiError} `QueueAlreadyExists` (`QueueNameExists`) when it exists with other settings.
   */
  create(region: string, name: string, settings: QueueSettings): Queue {
    const id = `${region}/${name}`;
    const existing = this.queues.get(id);
    if (existing) {
      if (JSON.stringify(existing.settings) !== JSON.stringify(settings)) {
        throw new SqsApiError('QueueNameExists', `A queue already exists with the same name and a different value for attribute(s)`, 'QueueAlreadyExists');
      }
      return existing;
    }
    const queue = new Queue(region, this.account, name, settings);
    this.queues.set(id, queue);
    return queue;
  }

  /** The queue, or undefined. */
  find(region: string, name: string): Queue | undefined {
    return this.queues.get(`${region}/${name}`);
  }

  /**
   * The queue, or the error SQS answers for a queue that does not exist.
   * @throws {SqsApiError} `QueueDoesNotExist`.
   */
  get(region: string, name: string): Queue {
    const queue = this.find(region, name);
    if (!queue) {
      throw new SqsApiError('QueueDoesNotExist', 'The specified queue does not exist.', 'AWS.SimpleQueueService.NonExistentQueue');
    }
    return queue;
  }

  /** The queue an ARN names, or undefined. */
  byArn(arn: string): Queue | undefined {
    for (const queue of this.queues.values()) if (queue.arn === arn) return queue;
    return undefined;
  }

  /** Receives from a queue, moving messages past `maxReceiveCount` to its dead-letter queue. */
  receive(queue: Queue, max: number, visibilityTimeoutSeconds?: number): ReceivedMessage[] {
    const now = this.now();
    return queue.receive(now, max, visibilityTimeoutSeconds, (message) => {
      const target = queue.settings.redrive ? this.byArn(queue.settings.redrive.deadLetterTargetArn) : undefined;
      // SQS keeps the message in the source queue when the DLQ is gone; here it is dropped with nothing to keep it.
      target?.adopt(message, now);
    });
  }

  /** Every queue. */
  all(): Queue[] {
    return [...this.queues.values()];
  }
}

/** Hex MD5 of a UTF-8 string: `MD5OfMessageBody`, which the SDK checks [middleware-sdk-sqs]. */
export function md5Hex(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}

function messageIdOf(receiptHandle: string): string {
  const id = receiptHandle.split('#')[0];
  if (!id || !receiptHandle.includes('#')) {
    throw new SqsApiError('ReceiptHandleIsInvalid', `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`);
  }
  return id;
}
