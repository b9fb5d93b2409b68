/**
 * `QueueSender` implemented with `@aws-sdk/client-sqs`: the sweep's repair requests and a
 * container's forwarded requests go to a stack's key-event queue, found by name in its Region
 * (`GetQueueUrl`, cached per Region), in `SendMessageBatch` calls of at most 10 entries
 * (SQS quotas: 10 messages per batch, 256 KiB per request).
 */
import { GetQueueUrlCommand, SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { TerminalError } from '../reconcile/errors.js';
import type { QueueSender, QueueSendResult } from '../lambda/queue-message.js';
import { classifyAwsError } from './classify.js';
import { requestHandlerOptions, type ClientOptions } from './clients.js';

/** Entries per `SendMessageBatch` call (the SQS maximum). */
const BATCH = 10;

/**
 * Creates a sender with one SQS client per Region.
 *
 * @param options - endpoint, credentials and retry attempts shared by every Region's client.
 * @returns the sender. `send` rejects with `TerminalError` `QueueDoesNotExist` when the Region has
 *   no such queue (no stack there), otherwise as `classifyAwsError` decides; entries SQS refused
 *   one by one are returned, not thrown.
 */
export function createSqsQueueSender(options: ClientOptions = {}): QueueSender {
  const clients = new Map<string, SQSClient>();
  const urls = new Map<string, Promise<string>>();
  const clientFor = (region: string): SQSClient => {
    let client = clients.get(region);
    if (!client) {
      client = new SQSClient({
        region,
        maxAttempts: options.maxAttempts ?? 3,
        requestHandler: requestHandlerOptions(),
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
      clients.set(region, client);
    }
    return client;
  };
  const urlOf = (region: string, queueName: string, signal?: AbortSignal): Promise<string> => {
    const id = `${region}/${queueName}`;
    let url = urls.get(id);
    if (!url) {
      url = clientFor(region)
        .send(new GetQueueUrlCommand({ QueueName: queueName }), { abortSignal: signal })
        .then((out) => {
          if (!out.QueueUrl) throw new TerminalError(`GetQueueUrl of ${queueName} in ${region} returned no URL`, 'QueueDoesNotExist');
          return out.QueueUrl;
        });
      urls.set(id, url);
      url.catch(() => urls.delete(id)); // a failed look-up is not cached
    }
    return url;
  };

  return {
    async send(region, queueName, bodies, signal): Promise<QueueSendResult> {
      const failed: { index: number; code: string; message: string }[] = [];
      try {
        const url = await urlOf(region, queueName, signal);
        for (let start = 0; start < bodies.length; start += BATCH) {
          const chunk = bodies.slice(start, start + BATCH);
          const out = await clientFor(region).send(
            new SendMessageBatchCommand({ QueueUrl: url, Entries: chunk.map((body, i) => ({ Id: String(start + i), MessageBody: body })) }),
            { abortSignal: signal },
          );
          for (const entry of out.Failed ?? []) {
            failed.push({ index: Number(entry.Id), code: entry.Code ?? 'SendFailed', message: entry.Message ?? 'SQS refused the entry' });
          }
        }
      } catch (error) {
        const classified = classifyAwsError(error);
        if (classified.code === 'QueueDoesNotExist' || classified.code === 'AWS.SimpleQueueService.NonExistentQueue') {
          throw new TerminalError(`there is no queue ${queueName} in ${region} (no stack deployed there)`, 'QueueDoesNotExist', { cause: error });
        }
        throw classified;
      }
      return { sent: bodies.length - failed.length, failed };
    },
  };
}
