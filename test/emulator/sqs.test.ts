import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, startEmbeddedKms, type EmbeddedKms } from '../../src/emulator/index.js';

let kms: EmbeddedKms;
let clock: ManualClock;
let sqs: SQSClient;

beforeEach(async () => {
  clock = new ManualClock();
  kms = await startEmbeddedKms({ now: clock.now });
  sqs = new SQSClient({ endpoint: kms.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 });
});

afterEach(async () => {
  sqs.destroy();
  await kms.close();
});

async function createQueueWithDlq(maxReceiveCount: number): Promise<{ url: string; dlqUrl: string }> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: 'events-dlq' }));
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: 'events',
      Attributes: { VisibilityTimeout: '60', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }) },
    }),
  );
  return { url: queue.QueueUrl as string, dlqUrl: dlq.QueueUrl as string };
}

describe('the embedded SQS (AWS JSON 1.0 over HTTP, the unmodified SDK)', () => {
  it('hands a sent message to one receiver, hides it for the visibility timeout, then hands it out again with a higher receive count', async () => {
    const { url } = await createQueueWithDlq(5);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"n":1}' }));

    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }));
    const hidden = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    clock.advance(60_000);
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ['All'] }));

    expect(first.Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([['{"n":1}', '1']]);
    expect(hidden.Messages ?? []).toEqual([]);
    expect(again.Messages?.map((m) => [m.MessageId, m.Attributes?.ApproximateReceiveCount])).toEqual([[first.Messages?.[0]?.MessageId, '2']]);
  });

  it('moves a message received maxReceiveCount times to the dead-letter queue instead of handing it out again', async () => {
    const { url, dlqUrl } = await createQueueWithDlq(2);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));

    for (let i = 0; i < 2; i += 1) {
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
      clock.advance(60_000);
    }
    const third = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl }));

    expect(third.Messages ?? []).toEqual([]);
    expect(dead.Messages?.map((m) => m.Body)).toEqual(['poison']);
    expect(kms.sqs.counts('us-east-1', 'events')).toEqual({ visible: 0, inFlight: 0, delayed: 0, oldestAgeSeconds: 0 });
  });

  it('deletes by receipt handle in batches and makes a message visible again at once with ChangeMessageVisibility 0', async () => {
    const { url } = await createQueueWithDlq(5);
    const sent = await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: 'A' }, { Id: 'b', MessageBody: 'B' }, { Id: 'c', MessageBody: 'C' }] }),
    );
    const received = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }))).Messages ?? [];
    const byBody = new Map(received.map((m) => [m.Body, m.ReceiptHandle as string]));

    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: '1', ReceiptHandle: byBody.get('A') }, { Id: '2', ReceiptHandle: byBody.get('C') }] }),
    );
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: byBody.get('B'), VisibilityTimeout: 0 }));
    const left = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));

    expect(sent.Successful?.map((e) => e.Id)).toEqual(['a', 'b', 'c']);
    expect(deleted.Successful?.map((e) => e.Id)).toEqual(['1', '2']);
    expect(left.Messages?.map((m) => m.Body)).toEqual(['B']);
  });

  it('answers QueueDoesNotExist for an unknown queue name and refuses a batch of eleven entries', async () => {
    const { url } = await createQueueWithDlq(5);

    const missing = await sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' })).catch((error: Error) => error);
    const tooMany = await sqs
      .send(new SendMessageBatchCommand({ QueueUrl: url, Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: 'x' })) }))
      .catch((error: Error) => error);
    const found = await sqs.send(new GetQueueUrlCommand({ QueueName: 'events' }));

    expect((missing as Error).name).toBe('QueueDoesNotExist');
    expect((tooMany as Error).name).toBe('TooManyEntriesInBatchRequest');
    expect(found.QueueUrl).toBe(url);
  });

  it('keeps queues per Region: the same name in another Region is another queue', async () => {
    kms.sqs.createQueue('eu-west-1', 'events');
    kms.sqs.send('eu-west-1', 'events', 'in eu-west-1');

    const missing = await sqs.send(new GetQueueUrlCommand({ QueueName: 'events' })).catch((error: Error) => error);

    expect((missing as Error).name).toBe('QueueDoesNotExist');
    expect(kms.sqs.bodies('eu-west-1', 'events')).toEqual(['in eu-west-1']);
  });
});
