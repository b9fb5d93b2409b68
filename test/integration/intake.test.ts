import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalLambdaContext } from '../../src/local/lambda-context.js';
import { loadConfig } from '../../src/lambda/config.js';
import { startEmbeddedKms, type EmbeddedKms, type EmbeddedKmsOptions } from '../../src/emulator/index.js';
import { RetryableError } from '../../src/reconcile/errors.js';
import { buildReconcileRequest } from '../../src/lambda/queue-message.js';
import { createKeyEventHandler, type KeyEventResult } from '../../src/lambda/key-event-handler.js';
import { LocalEventSourceMapping } from '../../src/local/event-source-mapping.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/lambda/runtime.js';
import { createSweepHandler } from '../../src/lambda/sweep-handler.js';
import { FIXTURE_KEY_ID, loadFixture } from '../helpers/fixtures.js';
import { startHarness, type Harness } from '../helpers/harness.js';

const CREDENTIALS = { accessKeyId: 'AKIATESTINTAKE000001', secretAccessKey: 'test' };
const BUS = 'arn:aws:events:us-east-1:111122223333:event-bus/outcomes';
const QUEUE = 'kms-replica-reconciler-test-key-events';
const OTHER_KEY = 'mrk-00000000000000000000000000000b0b';

let kms: EmbeddedKms | undefined;
let harness: Harness | undefined;
afterEach(async () => {
  await kms?.close();
  await harness?.close();
  kms = undefined;
  harness = undefined;
});

async function start(options: { kms?: EmbeddedKmsOptions; env?: Record<string, string>; runtime?: RuntimeOptions }): Promise<{ kms: EmbeddedKms; runtime: Runtime }> {
  kms = await startEmbeddedKms(options.kms);
  const config = loadConfig({
    AWS_ENDPOINT_URL: kms.endpoint,
    AWS_REGION: 'us-east-1',
    LOG_LEVEL: 'SILENT',
    ...options.env,
  });
  return { kms, runtime: createRuntime(config, { credentials: CREDENTIALS, maxAttempts: 1, ...options.runtime }) };
}

function contextWithRemaining(remaining: () => number): Context {
  return { ...createLocalLambdaContext(900_000, 'kms-replica-reconciler-test-sweep'), getRemainingTimeInMillis: remaining };
}

describe('a batch of the key-event queue', () => {
  it('reconciles two events of one key family once and answers both with that reconcile', async () => {
    harness = await startHarness();
    harness.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    const event = JSON.stringify(loadFixture('create-key'));
    const tagged = JSON.stringify(loadFixture('tag-resource'));

    const { results, failures } = await harness.invokeBatch([event, tagged]);

    expect(failures).toEqual([]);
    expect(results.map((r) => (r as KeyEventResult).status)).toEqual(['reconciled', 'reconciled']);
    expect(harness.count('DescribeKey')).toBe(1); // one observation for the family
    expect(harness.count('ReplicateKey')).toBe(1);
    expect(harness.outcomes).toHaveLength(1);
  });

  it('reports only the messages of the family whose reconcile must be retried', async () => {
    harness = await startHarness({ kms: { faults: { rules: [{ operation: 'ReplicateKey', region: 'us-east-1', throttleRate: 1 }] } } });
    harness.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    harness.kms.seedKey({ region: 'eu-west-1', keyId: OTHER_KEY, multiRegion: true, tags: { 'replica-regions': 'eu-west-1' } });
    const failing = JSON.stringify(loadFixture('create-key'));
    const fine = buildReconcileRequest({ reason: 'sweep', keyId: OTHER_KEY, region: 'eu-west-1', eventName: 'Sweep', eventId: 'sweep-1', from: 'eu-west-1' });

    const { results, failures } = await harness.invokeBatch([failing, fine, failing]);

    expect(failures).toEqual(['m1', 'm3']);
    expect(results[0]).toBeInstanceOf(RetryableError);
    expect(results[0]).toMatchObject({ code: 'ThrottlingException' });
    expect(results[1]).toMatchObject({ status: 'reconciled', outcome: { result: 'reconciled', writes: 0 } });
  });

  it('answers a message that is not JSON as rejected (reported, never redelivered) beside the others', async () => {
    harness = await startHarness();

    const { results, failures } = await harness.invokeBatch(['{not json', JSON.stringify(loadFixture('replicate-key-failed'))]);

    expect(failures).toEqual([]);
    expect(results[0]).toMatchObject({ status: 'rejected', error: { code: 'InvalidEvent' } });
    expect(results[1]).toMatchObject({ status: 'skipped' });
  });
});

describe('outcome events are side reports', () => {
  it('reports published: false when no outcome bus is configured (issue 11, item 10)', async () => {
    const { kms: k, runtime } = await start({});
    k.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    let result: KeyEventResult | RetryableError | undefined;
    const handler = createKeyEventHandler(runtime, { onResult: (_id, r) => (result = r) });

    await handler({ Records: [{ messageId: 'a', body: JSON.stringify(loadFixture('create-key')) }] } as never, createLocalLambdaContext());

    expect(result).toMatchObject({ status: 'reconciled', published: false, outcome: { writes: 1 } });
  });

  it('keeps the reconcile verdict when PutEvents is denied during a key event: replicas made, published false, nothing thrown', async () => {
    const { kms: k, runtime } = await start({
      kms: { faults: { rules: [{ operation: 'PutEvents', error: { code: 'AccessDeniedException', message: 'not authorized to perform: events:PutEvents' } }] } },
      env: { OUTCOME_EVENT_BUS: BUS },
    });
    k.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2 eu-west-1' } });
    let result: KeyEventResult | RetryableError | undefined;
    const handler = createKeyEventHandler(runtime, { onResult: (_id, r) => (result = r) });

    const response = await handler({ Records: [{ messageId: 'a', body: JSON.stringify(loadFixture('create-key')) }] } as never, createLocalLambdaContext());

    expect(response).toEqual({ batchItemFailures: [] });
    expect(result).toMatchObject({ status: 'reconciled', published: false, outcome: { writes: 2 } });
    expect(k.calls().filter((c) => c.operation === 'PutEvents').map((c) => c.errorCode)).toEqual(['AccessDeniedException']);
  });

  it('still asks for a retry of a throttled Region when PutEvents is denied too (the reconcile decides, not the publish)', async () => {
    const { kms: k, runtime } = await start({
      kms: { faults: { rules: [{ operation: 'PutEvents', error: { code: 'AccessDeniedException', message: 'not authorized to perform: events:PutEvents' } }, { operation: 'ReplicateKey', throttleRate: 1 }] } },
      env: { OUTCOME_EVENT_BUS: BUS },
    });
    k.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    const handler = createKeyEventHandler(runtime);

    const response = await handler({ Records: [{ messageId: 'a', body: JSON.stringify(loadFixture('create-key')) }] } as never, createLocalLambdaContext());

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'a' }] });
  });

  it('finishes a sweep whose every PutEvents is denied: every repair made, the summary logged, no unhandled rejection', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => void rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    const { kms: k, runtime } = await start({
      kms: { faults: { rules: [{ operation: 'PutEvents', error: { code: 'AccessDeniedException', message: 'not authorized to perform: events:PutEvents' } }] }, quotas: { ReplicateKey: 1000, CreateKey: 2000 } },
      env: { OUTCOME_EVENT_BUS: BUS, KMS_REQUEST_QUOTAS: 'ReplicateKey=1000 CreateKey=2000' },
    });
    for (let i = 0; i < 20; i += 1) {
      k.seedKey({ region: 'us-east-1', keyId: `mrk-${String(i).padStart(32, '0')}`, multiRegion: true, tags: { 'replica-regions': 'us-west-2 eu-west-1' } });
    }
    const handler = createSweepHandler(runtime);

    const result = await handler({}, createLocalLambdaContext(900_000));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onRejection);

    expect(result).toMatchObject({ status: 'swept', complete: true, report: { keys: 20, writes: 40 } });
    expect(k.calls().filter((c) => c.operation === 'ReplicateKey' && !c.errorCode)).toHaveLength(40);
    expect(k.calls().filter((c) => c.operation === 'PutEvents').map((c) => c.errorCode)).toEqual(Array.from({ length: 21 }, () => 'AccessDeniedException'));
    expect(rejections).toEqual([]);
  });
});

describe('a sweep with a short deadline and a repair backlog (writing directly)', () => {
  it('stops cleanly at the first key whose writes cannot finish, hands on that key, and the continuation finishes the rest; writes = calls sent', async () => {
    // 12 primaries each missing 3 Regions, ReplicateKey paced at 2.5/s (the documented 5/s × 0.5).
    const { kms: k, runtime } = await start({ kms: { quotas: true } });
    const keys = Array.from({ length: 12 }, (_, i) => `mrk-${String(i + 1).padStart(32, '0')}`);
    for (const keyId of keys) k.seedKey({ region: 'us-east-1', keyId, multiRegion: true, tags: { 'replica-regions': 'us-west-2 eu-west-1 ap-south-1' } });
    const continuations: Array<{ marker?: string; startAfter?: string; continuation: number }> = [];
    const handler = createSweepHandler(runtime, { concurrency: 2, safetyMarginMs: 1_000, continueSweep: async (_arn, input) => void continuations.push(input) });
    const deadline = Date.now() + 14_000; // 14 s: room for about 24 of the 36 ReplicateKey calls

    const first = await handler({}, contextWithRemaining(() => deadline - Date.now()));
    const sentByFirst = k.calls().filter((c) => c.operation === 'ReplicateKey').length;

    expect(first).toMatchObject({ status: 'swept', complete: false, stoppedBy: 'deadline', continued: true });
    if (first.status !== 'swept') throw new Error('expected a sweep');
    expect(first.report.writes).toBe(sentByFirst); // counted = sent
    expect(sentByFirst % 3).toBe(0); // no family half-written
    expect(deadline - Date.now()).toBeGreaterThan(0); // ended before the timeout
    const done = first.report.keys;
    expect(continuations).toEqual([{ startAfter: keys[done - 1], continuation: 1 }]);

    const second = await handler(continuations[0], contextWithRemaining(() => 800_000));

    expect(second).toMatchObject({ status: 'swept', complete: true, report: { keys: 12 - done } });
    expect(k.calls().filter((c) => c.operation === 'ReplicateKey' && !c.errorCode)).toHaveLength(36);
    for (const keyId of keys) expect(k.describe('ap-south-1', keyId)?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
  });
});

describe("a stack's sweep (KEY_EVENT_QUEUE set)", () => {
  it('writes nothing itself: it queues one repair per drifted family, and the key-event containers make the replicas', async () => {
    const { kms: k } = await start({});
    const env = { KEY_EVENT_QUEUE: QUEUE, KEY_EVENT_MAX_CONCURRENCY: '2' };
    const sweepRuntime = createRuntime(loadConfig({ AWS_ENDPOINT_URL: k.endpoint, AWS_REGION: 'us-east-1', LOG_LEVEL: 'SILENT', ...env }), { credentials: CREDENTIALS, maxAttempts: 1, role: 'sweep' });
    k.sqs.createQueue('us-east-1', QUEUE, { visibilityTimeoutSeconds: 720 });
    const drifted = ['mrk-000000000000000000000000000000d1', 'mrk-000000000000000000000000000000d2'];
    for (const keyId of drifted) k.seedKey({ region: 'us-east-1', keyId, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    k.seedKey({ region: 'us-east-1', keyId: 'mrk-000000000000000000000000000000c1', multiRegion: true });

    const swept = await createSweepHandler(sweepRuntime)({}, createLocalLambdaContext(900_000));

    expect(swept).toMatchObject({ status: 'swept', complete: true, report: { keys: 3, writes: 0, queued: 2 } });
    expect(k.calls().filter((c) => c.operation === 'ReplicateKey')).toEqual([]);
    expect(k.sqs.bodies('us-east-1', QUEUE).map((b) => JSON.parse(b) as { keyId: string; reason: string }).map((m) => [m.keyId.split('/')[1], m.reason])).toEqual(
      drifted.map((keyId) => [keyId, 'sweep']),
    );

    const containers = [0, 1].map(() =>
      createKeyEventHandler(createRuntime(loadConfig({ AWS_ENDPOINT_URL: k.endpoint, AWS_REGION: 'us-east-1', LOG_LEVEL: 'SILENT', ...env }), { credentials: CREDENTIALS, maxAttempts: 1, role: 'key-event' })),
    );
    await new LocalEventSourceMapping({ sqs: k.sqs, region: 'us-east-1', queueName: QUEUE, containers }).drainVisible();

    for (const keyId of drifted) expect(k.describe('us-west-2', keyId)?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
    expect(k.sqs.counts('us-east-1', QUEUE)).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('forwards a replica-side event whose primary lives in another Region to that Region\u2019s queue, and reports the family when no stack is there', async () => {
    const { kms: k } = await start({});
    // The fixture is the replica-Region CreateKey in us-west-2; this container belongs to the us-west-2 stack.
    const env = { KEY_EVENT_QUEUE: QUEUE, AWS_REGION: 'us-west-2' };
    k.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2 eu-west-1' } });
    k.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2');
    const runtime = createRuntime(loadConfig({ AWS_ENDPOINT_URL: k.endpoint, LOG_LEVEL: 'SILENT', ...env }), { credentials: CREDENTIALS, maxAttempts: 1, role: 'key-event' });
    const results: (KeyEventResult | RetryableError)[] = [];
    const handler = createKeyEventHandler(runtime, { onResult: (_id, r) => results.push(r) });
    const body = JSON.stringify(loadFixture('create-key-replica-region'));

    await handler({ Records: [{ messageId: 'a', body }] } as never, createLocalLambdaContext());
    k.sqs.createQueue('us-east-1', QUEUE);
    await handler({ Records: [{ messageId: 'b', body }] } as never, createLocalLambdaContext());

    expect(results).toMatchObject([
      { status: 'forwarded', region: 'us-east-1', delivered: false, outcome: { regions: [{ region: 'eu-west-1', status: 'missing' }, { region: 'us-west-2', status: 'present' }] } },
      { status: 'forwarded', region: 'us-east-1', delivered: true },
    ]);
    expect(k.calls().filter((c) => c.operation === 'ReplicateKey')).toEqual([]);
    expect(k.sqs.bodies('us-east-1', QUEUE).map((b) => (JSON.parse(b) as { reason: string; from: string }))).toMatchObject([{ reason: 'forwarded', from: 'us-west-2' }]);
  });
});
