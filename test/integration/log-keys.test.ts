// Log keys (issue 12 item 7): Powertools Logger's injectLambdaContext on both handlers, and the keys
// of a key family, an event and a message on the lines that concern them and on no other line,
// also while Powertools Batch processes a batch's records at once. Real handlers, real SDK,
// embedded KMS; the log lines are read as JSON from the logger's sink.
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalLambdaContext } from '../../src/local/lambda-context.js';
import { sqsEventOf } from '../../src/local/event-source-mapping.js';
import { loadConfig } from '../../src/lambda/config.js';
import { startEmbeddedKms, type EmbeddedKms } from '../../src/emulator/index.js';
import { buildReconcileRequest } from '../../src/lambda/queue-message.js';
import { createKeyEventHandler } from '../../src/lambda/key-event-handler.js';
import { createRuntime, type Runtime } from '../../src/lambda/runtime.js';
import { createSweepHandler } from '../../src/lambda/sweep-handler.js';
import { SinkLogger } from '../../src/cli/target.js';
import { FIXTURE_KEY_ID, loadFixture } from '../helpers/fixtures.js';

const OTHER_KEY = 'mrk-00000000000000000000000000000b0b';
/** The keys a record, an event or a family adds to a line; the rest are Powertools' own. */
const RECORD_KEYS = ['keyId', 'eventId', 'eventName', 'triggerRegion', 'messageId', 'region', 'sweepId', 'run'] as const;

let kms: EmbeddedKms | undefined;
afterEach(async () => {
  await kms?.close();
  kms = undefined;
});

async function start(): Promise<{ kms: EmbeddedKms; runtime: Runtime; lines: Record<string, unknown>[] }> {
  kms = await startEmbeddedKms();
  const lines: Record<string, unknown>[] = [];
  const config = loadConfig({ AWS_ENDPOINT_URL_KMS: kms.endpoint, AWS_REGION: 'us-east-1', LOG_LEVEL: 'DEBUG' });
  const logger = new SinkLogger({ write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }, 'DEBUG', 'kms-replica-reconciler');
  const runtime = createRuntime(config, { credentials: { accessKeyId: 'AKIATESTLOGKEYS00001', secretAccessKey: 'test' }, maxAttempts: 1, logger });
  return { kms, runtime, lines };
}

/** The record keys of a line (absent ones left out), with its message. */
function keysOf(line: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries([['message', line.message], ...RECORD_KEYS.filter((k) => k in line).map((k) => [k, line[k]])]);
}

describe('log keys of the key-event handler', () => {
  it("puts each family's, event's and message's keys on its own lines only, while the batch's records run at once", async () => {
    const { kms: k, runtime, lines } = await start();
    k.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    k.seedKey({ region: 'eu-west-1', keyId: OTHER_KEY, multiRegion: true, tags: { 'replica-regions': 'eu-west-1' } });
    const handler = createKeyEventHandler(runtime);
    const context = createLocalLambdaContext();
    const bodies = [
      '{not json',
      JSON.stringify(loadFixture('create-key')),
      buildReconcileRequest({ reason: 'sweep', keyId: OTHER_KEY, region: 'eu-west-1', eventName: 'Sweep', eventId: 'sweep-1', from: 'eu-west-1' }),
      JSON.stringify(loadFixture('replicate-key-failed')),
    ];

    const response = await handler(sqsEventOf(bodies), context);

    expect(response.batchItemFailures).toEqual([]);
    const skipped = loadFixture('replicate-key-failed').detail.eventID as string;
    expect(lines.map(keysOf).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
      [
        { message: 'reconcile rejected', messageId: 'm1', eventId: 'sqs:m1' },
        {
          message: 'reconcile finished',
          keyId: FIXTURE_KEY_ID,
          eventId: 'a1c3e5f7-0b2d-4e6f-8a1c-3e5f7091b2d4',
          eventName: 'CreateKey',
          triggerRegion: 'us-east-1',
        },
        { message: 'reconcile finished', keyId: OTHER_KEY, eventId: 'sweep-1', eventName: 'Sweep', triggerRegion: 'eu-west-1' },
        { message: 'event skipped', eventId: skipped, messageId: 'm4' },
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    // injectLambdaContext: every line names the invocation.
    expect(lines.map((l) => [l.function_request_id, l.function_name])).toEqual(Array(4).fill([context.awsRequestId, context.functionName]));
  });

  it("carries nothing of one invocation's keys into the next invocation's lines", async () => {
    const { kms: k, runtime, lines } = await start();
    k.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    const handler = createKeyEventHandler(runtime);
    await handler(sqsEventOf([JSON.stringify(loadFixture('create-key'))]), createLocalLambdaContext());
    lines.length = 0;
    const second = createLocalLambdaContext();

    await handler(sqsEventOf(['{not json']), second);
    runtime.logger.info('after the invocation');

    expect(lines.map((l) => [keysOf(l), l.function_request_id])).toEqual([
      [{ message: 'reconcile rejected', messageId: 'm1', eventId: 'sqs:m1' }, second.awsRequestId],
      [{ message: 'after the invocation' }, second.awsRequestId],
    ]);
  });
});

describe('log keys of the sweep handler', () => {
  it("puts the run's sweepId, Region and run on each of its lines, and removes them when the invocation ends", async () => {
    const { kms: k, runtime, lines } = await start();
    k.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    const handler = createSweepHandler(runtime);
    const context = createLocalLambdaContext(60_000, 'kms-replica-reconciler-local-sweep');
    const sweepId = `sweep-${context.awsRequestId}`;

    await handler({}, context);
    runtime.logger.info('after the sweep');

    expect(lines.map(keysOf)).toEqual([
      { message: 'sweep started', region: 'us-east-1', sweepId, run: 0 },
      { message: 'sweep key reconciled', keyId: FIXTURE_KEY_ID, region: 'us-east-1', sweepId, run: 0 },
      { message: 'sweep finished', region: 'us-east-1', sweepId, run: 0 },
      { message: 'after the sweep' },
    ]);
  });
});
