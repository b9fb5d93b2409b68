import { KMSClient, TagResourceCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyEventResult } from '../../src/lambda/key-event-handler.js';
import type { KmsGateway } from '../../src/reconcile/kms-gateway.js';
import type { ReconcileOutcome } from '../../src/reconcile/types.js';
import { FIXTURE_KEY_ID, FIXTURE_SINGLE_REGION_KEY_ID, loadFixture } from '../helpers/fixtures.js';
import { TEST_ROLE_ARN, startHarness, type Harness, type HarnessOptions } from '../helpers/harness.js';

const PRIMARY_TAGS = { 'replica-regions': 'us-west-2 eu-west-1', team: 'payments' };

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

function seedPrimary(h: Harness, tags: Record<string, string> = PRIMARY_TAGS): void {
  h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, description: 'Payments data key', tags });
}

function outcomeOf(result: KeyEventResult): ReconcileOutcome {
  if (result.status !== 'reconciled') throw new Error(`expected a reconcile, got ${JSON.stringify(result)}`);
  return result.outcome;
}

function statuses(result: KeyEventResult): Record<string, string> {
  return Object.fromEntries(outcomeOf(result).regions.map((r) => [r.region, r.status]));
}

describe('key-event handler on the embedded KMS', () => {
  it("replicates a tagged CreateKey to every desired Region with the primary's tags and description", async () => {
    const h = await start();
    seedPrimary(h);

    const result = await h.invoke(loadFixture('create-key'));

    expect(statuses(result)).toEqual({ 'eu-west-1': 'created', 'us-west-2': 'created' });
    for (const region of ['us-west-2', 'eu-west-1']) {
      const replica = h.kms.describe(region, FIXTURE_KEY_ID);
      expect(replica?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
      expect(replica?.Description).toBe('Payments data key');
      expect(h.kms.tags(region, FIXTURE_KEY_ID)).toEqual(PRIMARY_TAGS);
    }
  });

  it('makes no write when the same event is delivered twice', async () => {
    const h = await start();
    seedPrimary(h);
    await h.invoke(loadFixture('create-key'));
    h.kms.resetCalls();

    const again = await h.invoke(loadFixture('create-key'));

    expect(statuses(again)).toEqual({ 'eu-west-1': 'present', 'us-west-2': 'present' });
    expect(outcomeOf(again).writes).toBe(0);
    expect(h.kms.calls().map((c) => c.operation).sort()).toEqual(['DescribeKey', 'DescribeKey', 'DescribeKey', 'ListResourceTags']);
  });

  it.each([
    ['reconciled', {}],
    ['skipped as own echoes', { RECONCILER_PRINCIPAL_ARN: TEST_ROLE_ARN }],
  ])('converges on its own events (%s): one ReplicateKey per desired Region, then nothing to plan', async (_mode, env) => {
    const h = await start({ env });
    seedPrimary(h);

    const deliveries = await h.deliverAll([loadFixture('create-key')]);

    // The fixture, then ReplicateKey (primary Region) + CreateKey (replica Region) per replica.
    expect(deliveries.map((d) => (d.event as { detail: { eventName: string; awsRegion: string } }).detail.eventName)).toEqual([
      'CreateKey',
      'ReplicateKey',
      'CreateKey',
      'ReplicateKey',
      'CreateKey',
    ]);
    expect(deliveries.filter((d) => d.error !== undefined)).toEqual([]);
    expect(h.count('ReplicateKey')).toBe(2);
    const echoes = deliveries.slice(1).map((d) => d.result);
    for (const echo of echoes) {
      if (echo?.status === 'reconciled') expect(echo.outcome.writes).toBe(0);
      else expect(echo).toMatchObject({ status: 'skipped' });
    }

    h.kms.resetCalls();
    const further = await h.invoke(loadFixture('create-key'));
    expect(statuses(further)).toEqual({ 'eu-west-1': 'present', 'us-west-2': 'present' });
    expect(h.count('ReplicateKey')).toBe(0);
  });

  it('replicates only the added Region when a TagResource call extends the tag', async () => {
    const h = await start();
    seedPrimary(h);
    await h.deliverAll([loadFixture('create-key')]);
    const client = new KMSClient({
      region: 'us-east-1',
      endpoint: h.kms.endpoint,
      credentials: { accessKeyId: 'AKIAKEYADMIN00000001', secretAccessKey: 'x' },
    });

    await client.send(
      new TagResourceCommand({ KeyId: FIXTURE_KEY_ID, Tags: [{ TagKey: 'replica-regions', TagValue: 'us-west-2 eu-west-1 ap-southeast-2' }] }),
    );
    h.kms.resetCalls();
    const deliveries = await h.deliverAll();

    const tagged = deliveries[0]?.result;
    expect((deliveries[0]?.event as { detail: { eventName: string } }).detail.eventName).toBe('TagResource');
    expect(tagged && statuses(tagged)).toEqual({ 'ap-southeast-2': 'created', 'eu-west-1': 'present', 'us-west-2': 'present' });
    expect(h.count('ReplicateKey')).toBe(1);
    client.destroy();
  });

  it('reports one created and one already-exists when two reconciles race, with no error', async () => {
    let arrived = 0;
    let release: () => void = () => undefined;
    const bothObserved = new Promise<void>((resolve) => {
      release = resolve;
    });
    const h = await start({
      wrapGateway: (gateway: KmsGateway): KmsGateway => ({
        ...gateway,
        async replicateKey(input, signal) {
          arrived += 1;
          if (arrived === 2) release();
          await bothObserved; // both reconciles have observed "missing" before either writes
          return gateway.replicateKey(input, signal);
        },
      }),
    });
    seedPrimary(h, { 'replica-regions': 'us-west-2' });

    const [a, b] = await Promise.all([h.invoke(loadFixture('create-key')), h.invoke(loadFixture('create-key'))]);

    expect([statuses(a)['us-west-2'], statuses(b)['us-west-2']].sort()).toEqual(['already-exists', 'created']);
    expect(h.count('ReplicateKey')).toBe(2);
  });

  it('reports a PendingDeletion replica as blocked with its deletion date and does not retry', async () => {
    const h = await start();
    seedPrimary(h);
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2', { keyState: 'PendingDeletion' });
    const deletionDate = h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.DeletionDate?.toISOString();

    const result = await h.invoke(loadFixture('create-key'));

    const blocked = outcomeOf(result).regions.find((r) => r.region === 'us-west-2');
    expect(blocked).toEqual({
      region: 'us-west-2',
      status: 'blocked-pending-deletion',
      keyState: 'PendingDeletion',
      deletionDate,
      message: 'replica is scheduled for deletion; ReplicateKey to this Region fails until the deletion is cancelled or completes',
    });
    expect(statuses(result)['eu-west-1']).toBe('created');
    expect(h.count('ReplicateKey')).toBe(1); // eu-west-1 only: no call into the blocked Region
  });

  it('counts a Creating replica as present (creating), not missing', async () => {
    const h = await start({ kms: { replicaDelayMs: 3_600_000 } });
    seedPrimary(h, { 'replica-regions': 'us-west-2' });
    await h.invoke(loadFixture('create-key'));
    h.kms.resetCalls();

    const result = await h.invoke(loadFixture('create-key'));

    expect(outcomeOf(result).regions).toEqual([{ region: 'us-west-2', status: 'creating', keyState: 'Creating' }]);
    expect(h.count('ReplicateKey')).toBe(0);
  });

  it('resolves a replica-Region CreateKey to the primary and converges', async () => {
    const h = await start();
    seedPrimary(h);
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2');

    const result = await h.invoke(loadFixture('create-key-replica-region'));

    expect(outcomeOf(result)).toMatchObject({ primaryRegion: 'us-east-1', primaryArn: `arn:aws:kms:us-east-1:111122223333:key/${FIXTURE_KEY_ID}` });
    expect(statuses(result)).toEqual({ 'eu-west-1': 'created', 'us-west-2': 'present' });
  });

  it('resolves a ReplicateKey event to its primary', async () => {
    const h = await start();
    seedPrimary(h);
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2');

    const result = await h.invoke(loadFixture('replicate-key'));

    expect(statuses(result)).toEqual({ 'eu-west-1': 'created', 'us-west-2': 'present' });
  });

  it.each([
    ['spaces', 'us-west-2   eu-west-1', { 'eu-west-1': 'created', 'us-west-2': 'created' }],
    ['plus signs', 'us-west-2+eu-west-1', { 'eu-west-1': 'created', 'us-west-2': 'created' }],
    ['slashes', 'us-west-2/eu-west-1', { 'eu-west-1': 'created', 'us-west-2': 'created' }],
    ['mixed case', 'US-West-2 Eu-West-1', { 'eu-west-1': 'created', 'us-west-2': 'created' }],
    ['duplicates', 'us-west-2 us-west-2 US-WEST-2', { 'us-west-2': 'created' }],
    ["the primary's own Region", 'us-east-1 us-west-2', { 'us-west-2': 'created' }],
    ['none', 'none', {}],
    ['empty', '', {}],
    ['a bogus token', 'us-west-2 narnia-1 eu-west-1', { 'eu-west-1': 'created', 'narnia-1': 'invalid-region', 'us-west-2': 'created' }],
  ])('reads a tag value with %s', async (_case, value, expected) => {
    const h = await start();
    seedPrimary(h, { 'replica-regions': value });

    const result = await h.invoke(loadFixture('create-key'));

    expect(statuses(result)).toEqual(expected);
    expect(h.count('ReplicateKey')).toBe(Object.values(expected).filter((s) => s === 'created').length);
  });

  it('reports a single-Region key carrying the tag as not-multi-region, with no write', async () => {
    const h = await start();
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_SINGLE_REGION_KEY_ID, multiRegion: false, tags: { 'replica-regions': 'us-west-2' } });

    const result = await h.invoke(loadFixture('create-key-single-region'));

    expect(outcomeOf(result).result).toBe('not-multi-region');
    expect(h.count('ReplicateKey')).toBe(0);
  });

  it('leaves an untagged key alone after reading it', async () => {
    const h = await start();
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { team: 'payments' } });

    const result = await h.invoke(loadFixture('untag-resource'));

    expect(outcomeOf(result)).toMatchObject({ result: 'unmanaged', regions: [], writes: 0 });
    expect(h.kms.calls().map((c) => c.operation).sort()).toEqual(['DescribeKey', 'ListResourceTags']);
  });

  it('skips a failed-call event without calling KMS', async () => {
    const h = await start();
    seedPrimary(h);

    const result = await h.invoke(loadFixture('replicate-key-failed'));

    expect(result).toEqual({
      status: 'skipped',
      reason: 'ReplicateKey failed with AlreadyExistsException; failed calls change nothing',
      eventId: 'f6b8d0e2-5a7c-4d9e-9f3b-5c7d9e1f3a4b',
    });
    expect(h.kms.calls()).toEqual([]);
  });

  it('rejects a malformed event with a clear error, without crashing or calling KMS', async () => {
    const h = await start();
    const event = loadFixture('tag-resource');
    delete event.detail.awsRegion;

    const result = await h.invoke(event);

    expect(result).toEqual({
      status: 'rejected',
      error: { code: 'InvalidEvent', message: 'malformed CloudTrail record: detail.awsRegion is missing or not a string (at awsRegion)' },
    });
    expect(h.kms.calls()).toEqual([]);
  });

  it('reports a key that no longer exists as key-not-found', async () => {
    const h = await start();

    const result = await h.invoke(loadFixture('untag-resource'));

    expect(outcomeOf(result)).toMatchObject({ result: 'key-not-found', writes: 0 });
  });
});
