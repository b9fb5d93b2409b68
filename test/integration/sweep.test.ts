import type { Context } from 'aws-lambda';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { createKmsRateLimiter } from '../../src/pacing/paced-gateway.js';
import { DEMO_REGION, seedDemoKeys } from '../../src/cli/demo-keys.js';
import { createLocalLambdaContext } from '../../src/local/lambda-context.js';
import { loadConfig } from '../../src/lambda/config.js';
import { startEmbeddedKms, type EmbeddedKms, type EmbeddedKmsOptions } from '../../src/emulator/index.js';
import { TerminalError } from '../../src/reconcile/errors.js';
import type { SweepKeyResult } from '../../src/sweep/guardrail.js';
import type { KmsGateway } from '../../src/reconcile/kms-gateway.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/lambda/runtime.js';
import { createSweepHandler } from '../../src/lambda/sweep-handler.js';
import { sweepRegion } from '../../src/sweep/sweep-region.js';
import { outcomeSchemaErrors } from '../helpers/outcome-schema.js';

const CREDENTIALS = { accessKeyId: 'AKIATESTSWEEP0000001', secretAccessKey: 'test' };
/** An account whose write quotas were raised, so thousands of keys converge in seconds. */
const RAISED_QUOTAS = { ReplicateKey: 400, CreateKey: 800 };
const RAISED_QUOTAS_ENV = 'ReplicateKey=400 CreateKey=800';

let kms: EmbeddedKms | undefined;
afterEach(async () => {
  await kms?.close();
  kms = undefined;
});

async function start(options: {
  kms?: EmbeddedKmsOptions;
  env?: Record<string, string>;
  runtime?: RuntimeOptions;
  wrapGateway?: (gateway: KmsGateway) => KmsGateway;
}): Promise<{ kms: EmbeddedKms; runtime: Runtime }> {
  kms = await startEmbeddedKms(options.kms);
  const config = loadConfig({ AWS_ENDPOINT_URL_KMS: kms.endpoint, AWS_REGION: DEMO_REGION, LOG_LEVEL: 'SILENT', ...options.env });
  const built = createRuntime(config, { credentials: CREDENTIALS, maxAttempts: 1, ...options.runtime });
  const runtime = options.wrapGateway ? { ...built, kms: options.wrapGateway(built.kms) } : built;
  return { kms, runtime };
}

function count(k: EmbeddedKms, operation: string): number {
  return k.calls().filter((c) => c.operation === operation).length;
}

/** The demo mix (see `seedDemoKeys`) at 2,000 keys: 100 keys of each of its 20 slots. */
const SLOT = 100;

describe('the sweep on the embedded KMS', () => {
  it('converges 2,000 keys of mixed states and tags in one run, then writes nothing on the next', { timeout: 40_000 }, async () => {
    const { kms: k, runtime } = await start({
      kms: { quotas: RAISED_QUOTAS },
      env: { KMS_REQUEST_QUOTAS: RAISED_QUOTAS_ENV },
    });
    seedDemoKeys(k, 20 * SLOT);

    const first = await sweepRegion({ region: DEMO_REGION, pageSize: 500 }, runtime);

    expect(first).toMatchObject({ region: DEMO_REGION, complete: true, pages: 4 });
    expect(first.resume).toBeUndefined();
    const report = first.report;
    expect(report.keys).toBe(20 * SLOT);
    expect(report.results).toEqual({
      reconciled: 11 * SLOT, // 6 converged + 3 missing + pending-deletion + bad token slots
      unmanaged: 6 * SLOT, // 3 untagged multi-Region + 3 single-Region slots
      'not-multi-region': SLOT,
      'primary-not-enabled': SLOT,
      'key-not-found': 0,
      replica: SLOT,
      error: 0,
    });
    expect(report.statuses).toEqual({
      present: 12 * SLOT + 2 * SLOT + SLOT + SLOT, // converged ×2, missing-one's us-west-2, pending's eu-west-1, bad token's us-west-2
      creating: 0,
      'pending-import': 0,
      'material-pending': 0,
      'replica-disabled': 0,
      'blocked-pending-deletion': SLOT,
      missing: SLOT, // the Disabled primaries' us-west-2: not written
      created: 3 * SLOT,
      'already-exists': 0,
      restored: 0,
      'restore-planned': 0,
      'invalid-region': SLOT,
      'region-not-allowed': 0,
      failed: 0,
      extra: 0,
    });
    expect(report.writes).toBe(3 * SLOT);
    expect(report.untaggedMultiRegionPrimaries.count).toBe(3 * SLOT);
    expect(report.taggedSingleRegionKeys.count).toBe(SLOT);
    expect(report.untaggedMultiRegionPrimaries.keys).toHaveLength(100);
    expect(report.byReplicaRegion['ap-southeast-2']).toEqual({ created: SLOT });
    expect(report.byReplicaRegion['narnia-1']).toEqual({ 'invalid-region': SLOT });
    expect(count(k, 'ReplicateKey')).toBe(3 * SLOT);
    expect(count(k, 'ListKeys')).toBe(4);

    k.resetCalls();
    const second = await sweepRegion({ region: DEMO_REGION, pageSize: 500 }, runtime);

    expect(second.report.writes).toBe(0);
    expect(second.report.statuses.created).toBe(0);
    expect(second.report.statuses.present).toBe(19 * SLOT);
    expect(count(k, 'ReplicateKey')).toBe(0);
    // Reads of a converged sweep: DescribeKey of each listed key and of each replica of a tagged
    // multi-Region primary; ListResourceTags of each listed key that is not a replica.
    expect(count(k, 'ListResourceTags')).toBe(19 * SLOT);
    expect(count(k, 'DescribeKey')).toBe(20 * SLOT + (12 + 3 + 2 + 2 + 1) * SLOT);
  });

  it('stays under the documented KMS quotas: no ThrottlingException at QUOTA_SHARE 0.5, where an unpaced burst is throttled', async () => {
    const paced = await start({ kms: { quotas: true } });
    seedDemoKeys(paced.kms, 40);

    const result = await sweepRegion({ region: DEMO_REGION }, paced.runtime);

    expect(result.report.statuses.created).toBe(6);
    expect(paced.kms.throttledCount()).toBe(0);
    await paced.kms.close();

    const unpaced = await start({
      kms: { quotas: true },
      runtime: { maxAttempts: 10, rateLimiter: createKmsRateLimiter({ quotaShare: 1, quotas: { ReplicateKey: 1e6, CreateKey: 1e6 } }) },
    });
    seedDemoKeys(unpaced.kms, 40);
    await sweepRegion({ region: DEMO_REGION }, unpaced.runtime);
    expect(unpaced.kms.throttledCount()).toBeGreaterThan(0);
  });

  it('converges through injected throttling with no key failing: the SDK retries absorb it', async () => {
    const { kms: k, runtime } = await start({
      kms: { quotas: RAISED_QUOTAS, faults: { seed: 7, rules: [{ throttleRate: 0.02 }] } },
      env: { KMS_REQUEST_QUOTAS: RAISED_QUOTAS_ENV },
      runtime: { maxAttempts: 5 },
    });
    seedDemoKeys(k, 400);

    const result = await sweepRegion({ region: DEMO_REGION }, runtime);

    expect(k.faultStats().throttle).toBeGreaterThan(0);
    expect(result.report.results.error).toBe(0);
    expect(result.report.statuses.failed).toBe(0);
    expect(result.report.statuses.created).toBe(60); // 3 slots × 20
    expect(count(k, 'ReplicateKey') - k.calls().filter((c) => c.operation === 'ReplicateKey' && c.errorCode === 'ThrottlingException').length).toBe(60);
  });

  it('reports a key whose reconcile fails with AccessDenied and sweeps every other key', async () => {
    const denied = 'mrk-' + '0'.repeat(31) + '1';
    const { kms: k, runtime } = await start({
      kms: { quotas: RAISED_QUOTAS },
      env: { KMS_REQUEST_QUOTAS: RAISED_QUOTAS_ENV },
      wrapGateway: (gateway) => ({
        ...gateway,
        async describeKey(region, keyId, signal) {
          if (keyId.endsWith(denied)) {
            throw new TerminalError(`User is not authorized to perform: kms:DescribeKey on ${keyId}`, 'AccessDeniedException');
          }
          return gateway.describeKey(region, keyId, signal);
        },
      }),
    });
    seedDemoKeys(k, 40);
    k.seedKey({ region: DEMO_REGION, keyId: denied, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });

    const result = await sweepRegion({ region: DEMO_REGION }, runtime);

    expect(result.complete).toBe(true);
    expect(result.report.keys).toBe(41);
    expect(result.report.results.error).toBe(1);
    expect(result.report.errors).toEqual({
      count: 1,
      keys: [
        {
          keyId: denied,
          message: `AccessDeniedException: User is not authorized to perform: kms:DescribeKey on arn:aws:kms:us-east-1:111122223333:key/${denied}`,
        },
      ],
    });
    expect(result.report.statuses.created).toBe(6);
  });

  it('stops before the deadline with the marker of the first unfinished page, and a run from that marker finishes the rest', async () => {
    const { kms: k, runtime } = await start({ kms: { quotas: RAISED_QUOTAS }, env: { KMS_REQUEST_QUOTAS: RAISED_QUOTAS_ENV } });
    seedDemoKeys(k, 300);
    const client = new KMSClient({ region: DEMO_REGION, endpoint: k.endpoint, credentials: CREDENTIALS });
    const firstPage = await client.send(new ListKeysCommand({ Limit: 100 }));
    client.destroy();
    let started = 0;
    const seen = new Set<string>();
    const onKey = (key: SweepKeyResult): void => {
      seen.add(key.keyId);
    };

    const first = await sweepRegion(
      {
        region: DEMO_REGION,
        pageSize: 100,
        concurrency: 4,
        safetyMarginMs: 10_000,
        // One check before each ListKeys page and one per key: 149 checks see 60 s left. Pages 1
        // and 2 are read at once (2 checks), page 1's 100 keys run, the check before reading
        // page 3 comes once page 1 is done (1), then page 2's keys: 46 start, the 47th sees 5 s.
        remainingTimeMs: () => (started++ < 149 ? 60_000 : 5_000),
        onKey,
      },
      runtime,
    );

    expect(first).toMatchObject({ complete: false, stoppedBy: 'deadline', resume: { marker: firstPage.NextMarker } });
    expect(first.report.keys).toBe(146);

    const second = await sweepRegion({ region: DEMO_REGION, pageSize: 100, marker: first.resume?.marker, onKey }, runtime);

    expect(second).toMatchObject({ complete: true, pages: 2 });
    expect(second.report.keys).toBe(200);
    expect(seen.size).toBe(300);
    expect(first.report.writes + second.report.writes).toBe(45); // 3 slots × 15, none twice
    expect(count(k, 'ReplicateKey')).toBe(45);
  });
  it('an abort mid-sweep counts no key as failed and the resumed run finishes the rest, with no Region written twice', async () => {
    const { kms: k, runtime } = await start({ kms: { quotas: RAISED_QUOTAS }, env: { KMS_REQUEST_QUOTAS: RAISED_QUOTAS_ENV } });
    seedDemoKeys(k, 300);
    const controller = new AbortController();
    const seen = new Set<string>();

    const first = await sweepRegion(
      {
        region: DEMO_REGION,
        pageSize: 100,
        signal: controller.signal,
        onKey: (key) => {
          seen.add(key.keyId);
          if (seen.size === 50) controller.abort();
        },
      },
      runtime,
    );

    expect(first).toMatchObject({ complete: false, stoppedBy: 'aborted' });
    expect(first.report.errors.count).toBe(0);
    expect(first.report.results.error).toBe(0);

    const second = await sweepRegion({ region: DEMO_REGION, pageSize: 100, ...(first.resume?.marker ? { marker: first.resume.marker } : {}), onKey: (key) => seen.add(key.keyId) }, runtime);

    expect(second.complete).toBe(true);
    expect(seen.size).toBe(300);
    const successfulReplicateKey = k.calls().filter((c) => c.operation === 'ReplicateKey' && c.errorCode === undefined).length;
    expect(successfulReplicateKey).toBe(45); // 3 slots × 15 missing Regions, each written once
  });
});

describe('the sweep Lambda handler', () => {
  function contextWithRemaining(remaining: () => number): Context {
    return {
      ...createLocalLambdaContext(900_000, 'kms-replica-reconciler-test-sweep'),
      getRemainingTimeInMillis: remaining,
    };
  }

  it('continues itself with { marker, startAfter, continuation } when the timeout is near, and the continuation completes the sweep', async () => {
    const { kms: k, runtime } = await start({ kms: { quotas: RAISED_QUOTAS }, env: { KMS_REQUEST_QUOTAS: RAISED_QUOTAS_ENV } });
    seedDemoKeys(k, 250);
    const continuations: Array<{ functionArn: string; input: unknown }> = [];
    const handler = createSweepHandler(runtime, {
      pageSize: 100,
      concurrency: 4,
      safetyMarginMs: 10_000,
      continueSweep: async (functionArn, input) => {
        continuations.push({ functionArn, input });
      },
    });
    let calls = 0;

    const first = await handler({}, contextWithRemaining(() => (calls++ < 120 ? 800_000 : 9_000)));

    expect(first).toMatchObject({ status: 'swept', region: DEMO_REGION, complete: false, stoppedBy: 'deadline', continued: true });
    if (first.status !== 'swept') throw new Error('expected a sweep');
    expect(continuations).toEqual([
      {
        functionArn: 'arn:aws:lambda:us-east-1:111122223333:function:kms-replica-reconciler-test-sweep',
        // The first key not finished: its page's marker and the key before it (ListKeys markers name pages).
        input: { marker: first.resume?.marker, startAfter: first.resume?.startAfter, continuation: 1 },
      },
    ]);
    expect(first.resume?.startAfter).toMatch(/^mrk-[0-9a-f]{32}$/);

    const second = await handler(continuations[0]?.input, contextWithRemaining(() => 800_000));

    expect(second).toMatchObject({ complete: true, continued: false });
    expect(count(k, 'ReplicateKey')).toBe(39); // 3 slots: 13 + 13 + 13 (250 = 12 × 20 + 10)
  });

  it('rejects a malformed marker with a message naming it', async () => {
    const { runtime } = await start({});
    const handler = createSweepHandler(runtime);

    // A terminal error: reported and returned, never retried by Lambda.
    await expect(handler({ marker: 42 }, createLocalLambdaContext())).resolves.toEqual({
      status: 'rejected',
      error: { code: 'InvalidSweepInput', message: 'sweep input: marker must be a non-empty string (a ListKeys NextMarker), got 42' },
    });
  });

  it('publishes one schema-valid summary per run and an outcome event per repaired key', async () => {
    kms = await startEmbeddedKms();
    const k = kms;
    const config = loadConfig({
      AWS_ENDPOINT_URL_KMS: k.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: k.endpoint,
      AWS_REGION: DEMO_REGION,
      OUTCOME_EVENT_BUS: 'reconciler-outcomes',
      LOG_LEVEL: 'SILENT',
    });
    const handler = createSweepHandler(createRuntime(config, { credentials: CREDENTIALS, maxAttempts: 1 }));
    k.seedKey({ region: DEMO_REGION, keyId: 'mrk-00000000000000000000000000000001', multiRegion: true, tags: { 'replica-regions': 'eu-west-1' } });
    k.seedKey({ region: DEMO_REGION, keyId: 'mrk-00000000000000000000000000000002', multiRegion: true, tags: { 'replica-regions': 'narnia-1' } });
    k.seedKey({ region: DEMO_REGION, keyId: 'mrk-00000000000000000000000000000003', multiRegion: true });

    await handler({}, createLocalLambdaContext(900_000, 'kms-replica-reconciler-test-sweep'));

    const published = k.publishedEvents({ bus: 'reconciler-outcomes' });
    expect(published.map((e) => e.detailType)).toEqual(['KMS Replica Reconcile Outcome', 'KMS Replica Sweep Summary']);
    expect(published[0]?.detail).toMatchObject({
      keyId: 'mrk-00000000000000000000000000000001',
      counts: { created: 1 },
      trigger: { eventName: 'Sweep', region: DEMO_REGION },
    });
    expect(published[1]?.detail).toMatchObject({
      result: 'sweep-summary',
      region: DEMO_REGION,
      complete: true,
      convergence: 'blocked',
      report: { keys: 3, writes: 1, untaggedMultiRegionPrimaries: { count: 1, keys: [{ keyId: 'mrk-00000000000000000000000000000003' }] } },
    });
    for (const event of published) expect(outcomeSchemaErrors(event.detail)).toEqual([]);
  });
});
