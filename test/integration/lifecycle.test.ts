import { DisableKeyCommand, EnableKeyCommand, GetKeyPolicyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RetryableError, TerminalError } from '../../src/reconcile/errors.js';
import { createLocalLambdaContext } from '../../src/local/lambda-context.js';
import { TIMEOUT_MARGIN_MS, type KeyEventResult } from '../../src/lambda/key-event-handler.js';
import type { KmsGateway } from '../../src/reconcile/kms-gateway.js';
import type { KeyState, ReconcileOutcome } from '../../src/reconcile/types.js';
import { FIXTURE_KEY_ID, loadFixture, type FixtureName } from '../helpers/fixtures.js';
import { startHarness, type Harness, type HarnessOptions } from '../helpers/harness.js';

const PRIMARY_ARN = `arn:aws:kms:us-east-1:111122223333:key/${FIXTURE_KEY_ID}`;

let harness: Harness | undefined;
const clients: KMSClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await harness?.close();
  harness = undefined;
});

async function start(options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

/** A key administrator's SDK client (another principal than the reconciler). */
function adminClient(h: Harness, region: string): KMSClient {
  const client = new KMSClient({ region, endpoint: h.kms.endpoint, credentials: { accessKeyId: 'AKIAKEYADMIN00000001', secretAccessKey: 'x' }, maxAttempts: 1 });
  clients.push(client);
  return client;
}

function seedPrimary(h: Harness, tags: Record<string, string> = { 'replica-regions': 'us-west-2 eu-west-1' }, extra: { origin?: 'EXTERNAL'; keyState?: KeyState; policy?: string } = {}): void {
  h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, description: 'Payments data key', tags, ...extra });
}

function outcomeOf(result: KeyEventResult): ReconcileOutcome {
  if (result.status !== 'reconciled') throw new Error(`expected a reconcile, got ${JSON.stringify(result)}`);
  return result.outcome;
}

function statuses(result: KeyEventResult): Record<string, string> {
  return Object.fromEntries(outcomeOf(result).regions.map((r) => [r.region, r.status]));
}

describe('lifecycle triggers', () => {
  it.each<FixtureName>(['schedule-key-deletion', 'cancel-key-deletion', 'enable-key', 'update-primary-region', 'update-primary-region-new-primary'])(
    '%s reaches the reconciler and converges the family',
    async (fixture) => {
      const h = await start();
      seedPrimary(h);
      h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2');

      const result = await h.invoke(loadFixture(fixture));

      expect(outcomeOf(result)).toMatchObject({ primaryArn: PRIMARY_ARN, result: 'reconciled' });
      expect(statuses(result)).toEqual({ 'eu-west-1': 'created', 'us-west-2': 'present' });
    },
  );
});

describe('primary key states', () => {
  it.each<[KeyState, { origin?: 'EXTERNAL'; keyState?: KeyState }]>([
    ['Disabled', { keyState: 'Disabled' }],
    ['PendingDeletion', { keyState: 'PendingDeletion' }],
    ['PendingImport', { origin: 'EXTERNAL' }],
  ])('a %s primary gets an outcome naming its state and no writes', async (state, seed) => {
    const h = await start();
    seedPrimary(h, undefined, seed);

    const result = await h.invoke(loadFixture('create-key'));

    expect(outcomeOf(result)).toMatchObject({
      result: 'primary-not-enabled',
      primaryKeyState: state,
      writes: 0,
      message: `primary key is ${state}; only an Enabled primary can be replicated`,
    });
    expect(statuses(result)).toEqual({ 'eu-west-1': 'missing', 'us-west-2': 'missing' });
    expect(h.count('ReplicateKey')).toBe(0);
  });

  it('a primary disabled through the API is not replicated; EnableKey later converges it', async () => {
    const h = await start();
    seedPrimary(h);
    await adminClient(h, 'us-east-1').send(new DisableKeyCommand({ KeyId: FIXTURE_KEY_ID }));

    const disabled = await h.invoke(loadFixture('create-key'));
    expect(outcomeOf(disabled).result).toBe('primary-not-enabled');
    expect(h.count('ReplicateKey')).toBe(0);

    h.kms.takeEvents();
    await adminClient(h, 'us-east-1').send(new EnableKeyCommand({ KeyId: FIXTURE_KEY_ID }));
    const deliveries = await h.deliverAll();

    expect((deliveries[0]?.event as { detail: { eventName: string } }).detail.eventName).toBe('EnableKey');
    expect(deliveries[0]?.result && statuses(deliveries[0].result)).toEqual({ 'eu-west-1': 'created', 'us-west-2': 'created' });
  });

  it('a primary scheduled for deletion while it has replicas is PendingReplicaDeletion: no writes', async () => {
    const h = await start();
    seedPrimary(h);
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2');
    await adminClient(h, 'us-east-1').send(new ScheduleKeyDeletionCommand({ KeyId: FIXTURE_KEY_ID, PendingWindowInDays: 7 }));

    const result = await h.invoke(loadFixture('schedule-key-deletion'));

    expect(outcomeOf(result)).toMatchObject({ result: 'primary-not-enabled', primaryKeyState: 'PendingReplicaDeletion', writes: 0 });
    expect(statuses(result)).toEqual({ 'eu-west-1': 'missing', 'us-west-2': 'present' });
  });
});

describe('replica key states', () => {
  it('reports a replica of an imported-material primary as pending-import with a hint', async () => {
    const h = await start();
    seedPrimary(h, { 'replica-regions': 'us-west-2' }, { origin: 'EXTERNAL', keyState: 'Enabled' });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2', { keyState: 'PendingImport' });

    const result = await h.invoke(loadFixture('create-key'));

    expect(outcomeOf(result).regions).toEqual([
      {
        region: 'us-west-2',
        status: 'pending-import',
        keyState: 'PendingImport',
        message: 'replica has no key material: import the primary key material into this replica',
        keyMaterial: { current: false },
      },
    ]);
    expect(outcomeOf(result).keyMaterial).toEqual({ currentKeyMaterialId: h.kms.describe('us-east-1', FIXTURE_KEY_ID)?.CurrentKeyMaterialId });
  });

  it('reports a disabled replica as replica-disabled', async () => {
    const h = await start();
    seedPrimary(h, { 'replica-regions': 'us-west-2' });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2', { keyState: 'Disabled' });

    const result = await h.invoke(loadFixture('create-key'));

    expect(statuses(result)).toEqual({ 'us-west-2': 'replica-disabled' });
  });

  it('restores a desired replica scheduled for deletion with ON_PENDING_DELETION=restore', async () => {
    const h = await start({ env: { ON_PENDING_DELETION: 'restore' } });
    seedPrimary(h, { 'replica-regions': 'us-west-2' });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2');
    await adminClient(h, 'us-west-2').send(new ScheduleKeyDeletionCommand({ KeyId: FIXTURE_KEY_ID, PendingWindowInDays: 7 }));
    h.kms.resetCalls();

    const result = await h.invoke(loadFixture('schedule-key-deletion'));

    expect(outcomeOf(result).regions).toEqual([
      { region: 'us-west-2', status: 'restored', keyState: 'Enabled', message: 'deletion cancelled and replica enabled' },
    ]);
    expect(h.kms.calls().filter((c) => c.region === 'us-west-2' && c.operation !== 'DescribeKey').map((c) => c.operation)).toEqual([
      'CancelKeyDeletion',
      'EnableKey',
    ]);
    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.KeyState).toBe('Enabled');
  });

  it('leaves a replica scheduled for deletion alone by default', async () => {
    const h = await start();
    seedPrimary(h, { 'replica-regions': 'us-west-2' });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2', { keyState: 'PendingDeletion' });

    const result = await h.invoke(loadFixture('schedule-key-deletion'));

    expect(statuses(result)).toEqual({ 'us-west-2': 'blocked-pending-deletion' });
    expect(h.kms.calls().map((c) => c.operation).sort()).toEqual(['DescribeKey', 'DescribeKey', 'ListResourceTags']);
  });
});

describe('Regions', () => {
  it('enforces ALLOWED_REGIONS before any write', async () => {
    const h = await start({ env: { ALLOWED_REGIONS: 'us-west-2' } });
    seedPrimary(h);

    const result = await h.invoke(loadFixture('create-key'));

    expect(outcomeOf(result).regions).toEqual([
      { region: 'eu-west-1', status: 'region-not-allowed', message: "'eu-west-1' is not in ALLOWED_REGIONS" },
      { region: 'us-west-2', status: 'created', keyState: 'Creating' },
    ]);
    expect(h.kms.calls().filter((c) => c.operation === 'ReplicateKey')).toHaveLength(1);
  });

  it("reports another partition's Region and replicates the rest", async () => {
    const h = await start();
    seedPrimary(h, { 'replica-regions': 'cn-north-1 us-west-2' });

    const result = await h.invoke(loadFixture('create-key'));

    expect(statuses(result)).toEqual({ 'cn-north-1': 'invalid-region', 'us-west-2': 'created' });
  });
});

describe('replica contents', () => {
  it('copies neither tags nor description when COPY_TAGS and COPY_DESCRIPTION are false', async () => {
    const h = await start({ env: { COPY_TAGS: 'false', COPY_DESCRIPTION: 'false' } });
    seedPrimary(h, { 'replica-regions': 'us-west-2', team: 'payments' });

    await h.invoke(loadFixture('create-key'));

    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.Description).toBe('');
    expect(h.kms.tags('us-west-2', FIXTURE_KEY_ID)).toEqual({});
  });

  it("copies the primary's key policy with REPLICA_POLICY=primary, without bypassing the lockout check", async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'Admins', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:role/KeyAdmin' }, Action: 'kms:*', Resource: '*' }],
    });
    const h = await start({ env: { REPLICA_POLICY: 'primary' } });
    seedPrimary(h, { 'replica-regions': 'us-west-2' }, { policy });

    await h.invoke(loadFixture('create-key'));
    expect(h.count('GetKeyPolicy')).toBe(1);

    const replicaPolicy = await adminClient(h, 'us-west-2').send(new GetKeyPolicyCommand({ KeyId: FIXTURE_KEY_ID, PolicyName: 'default' }));
    expect(replicaPolicy.Policy).toBe(policy);
    const replicate = h.kms.takeEvents().find((e) => e.detail.eventName === 'ReplicateKey');
    expect(replicate?.detail.requestParameters).not.toHaveProperty('bypassPolicyLockoutSafetyCheck', true);
  });

  it('gives the replica KMS\'s default key policy by default (no GetKeyPolicy)', async () => {
    const h = await start();
    seedPrimary(h, { 'replica-regions': 'us-west-2' }, { policy: '{"Version":"2012-10-17","Statement":[]}' });

    await h.invoke(loadFixture('create-key'));
    expect(h.count('GetKeyPolicy')).toBe(0);

    const replicaPolicy = await adminClient(h, 'us-west-2').send(new GetKeyPolicyCommand({ KeyId: FIXTURE_KEY_ID, PolicyName: 'default' }));
    expect(JSON.parse(replicaPolicy.Policy ?? '{}')).toMatchObject({
      Statement: [{ Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*' }],
    });
  });
});

describe('DRY_RUN', () => {
  it('observes, plans and publishes the plan, and writes nothing', async () => {
    const h = await start({ env: { DRY_RUN: 'true' } });
    seedPrimary(h);

    const result = await h.invoke(loadFixture('create-key'));

    expect(outcomeOf(result)).toMatchObject({ dryRun: true, writes: 0 });
    expect(statuses(result)).toEqual({ 'eu-west-1': 'missing', 'us-west-2': 'missing' });
    expect(h.kms.calls().map((c) => c.operation).sort()).toEqual(['DescribeKey', 'ListResourceTags']);
    expect(h.outcomes.map((o) => [o.detailType, o.detail.result])).toEqual([['KMS Replica Reconcile Outcome', 'reconciled']]);
  });
});

describe('retry semantics', () => {
  function failingReplicate(error: Error): (gateway: KmsGateway) => KmsGateway {
    return (gateway) => ({ ...gateway, replicateKey: async () => Promise.reject(error) });
  }

  it('throws a retryable failure so Lambda retries, after publishing what it did', async () => {
    const h = await start({ wrapGateway: failingReplicate(new RetryableError('Rate exceeded', 'ThrottlingException')) });
    seedPrimary(h, { 'replica-regions': 'us-west-2' });

    await expect(h.invoke(loadFixture('create-key'))).rejects.toMatchObject({
      name: 'RetryableError',
      code: 'ThrottlingException',
      message: 'us-west-2: ThrottlingException: Rate exceeded',
    });
    expect(h.outcomes).toHaveLength(1);
    expect(h.outcomes[0]?.detail).toMatchObject({ counts: { failed: 1 } });
  });

  it('does not throw when KMS rejects one Region: that Region is failed (terminal) and the others proceed', async () => {
    const h = await start({ kms: { disabledRegions: ['eu-west-1'] } });
    seedPrimary(h);

    const result = await h.invoke(loadFixture('create-key'));

    expect(outcomeOf(result).regions).toEqual([
      {
        region: 'eu-west-1',
        status: 'failed',
        message: 'Region eu-west-1 is not enabled for account 111122223333.',
        error: { name: 'UnsupportedOperationException', message: 'Region eu-west-1 is not enabled for account 111122223333.', retryable: false },
      },
      { region: 'us-west-2', status: 'created', keyState: 'Creating' },
    ]);
    expect(h.count('ReplicateKey')).toBe(2);
  });

  it('returns a terminal read failure as rejected and reports it', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform: kms:DescribeKey'), { name: 'AccessDeniedException' });
    const h = await start({
      wrapGateway: (gateway) => ({ ...gateway, describeKey: async () => Promise.reject(new TerminalError(denied.message, denied.name, { cause: denied })) }),
    });

    const result = await h.invoke(loadFixture('create-key'));

    expect(result).toEqual({
      status: 'rejected',
      error: { code: 'AccessDeniedException', message: 'User is not authorized to perform: kms:DescribeKey' },
    });
    expect(h.outcomes.map((o) => o.detail)).toEqual([
      {
        schemaVersion: '1',
        result: 'rejected',
        trigger: { eventId: 'a1c3e5f7-0b2d-4e6f-8a1c-3e5f7091b2d4', eventName: 'CreateKey', region: 'us-east-1' },
        error: { code: 'AccessDeniedException', message: 'User is not authorized to perform: kms:DescribeKey' },
      },
    ]);
  });
});

describe('Lambda timeout', () => {
  it('aborts in-flight KMS calls before the Lambda timeout and asks for a retry', async () => {
    const h = await start({ kms: { latencyMs: 5_000 } });
    seedPrimary(h);

    const context = createLocalLambdaContext(TIMEOUT_MARGIN_MS + 200);
    const failure = await h.invoke(loadFixture('create-key'), context).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(RetryableError);
    expect(failure).toMatchObject({ code: 'TimeoutError' });
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
  });
});

describe('outcome events and metrics', () => {
  it('publishes no outcome event for a clean no-op', async () => {
    const h = await start();
    seedPrimary(h);
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2');
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'eu-west-1');

    const result = await h.invoke(loadFixture('create-key'));

    expect(result).toMatchObject({ status: 'reconciled', published: false });
    expect(h.outcomes).toEqual([]);
  });

  it('records replicas created, blocked and the reconcile duration as metrics', async () => {
    const h = await start();
    seedPrimary(h);
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'eu-west-1', { keyState: 'PendingDeletion' });
    const addMetric = vi.spyOn(h.runtime.metrics, 'addMetric');

    await h.invoke(loadFixture('create-key'));

    const recorded = addMetric.mock.calls.map(([name, unit, value]) => [name, unit, name === 'ReconcileDuration' ? typeof value : value]);
    expect(recorded).toEqual([
      ['EventsReceived', 'Count', 1],
      ['Reconciles', 'Count', 1],
      ['ReconcileDuration', 'Milliseconds', 'number'],
      ['ReplicasBlockedPendingDeletion', 'Count', 1],
      ['ReplicasCreated', 'Count', 1],
    ]);
  });
});
