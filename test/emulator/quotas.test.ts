import { CreateKeyCommand, DescribeKeyCommand, ReplicateKeyCommand, UpdatePrimaryRegionCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { DOCUMENTED_QUOTAS, KMS_THROTTLING_MESSAGE, type EmbeddedKmsOptions } from '../../src/emulator/index.js';
import { errorOf, ManualClock, startHarness, type KmsHarness } from './support.js';

const THROTTLED = { name: 'ThrottlingException', message: KMS_THROTTLING_MESSAGE, status: 400 };

describe('embedded KMS: request quotas', () => {
  let clock: ManualClock;
  let h: KmsHarness | undefined;

  async function start(options: EmbeddedKmsOptions): Promise<KmsHarness> {
    clock = new ManualClock();
    h = await startHarness({ now: clock.now, ...options });
    return h;
  }
  const harness = (): KmsHarness => {
    if (!h) throw new Error('start() first');
    return h;
  };
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** Sends `count` CreateKey calls in `region` one after the other; returns the outcome names. */
  async function createKeys(region: string, count: number): Promise<string[]> {
    const outcomes: string[] = [];
    for (let i = 0; i < count; i += 1) {
      try {
        await harness().client(region).send(new CreateKeyCommand({}));
        outcomes.push('ok');
      } catch (error) {
        outcomes.push((error as Error).name);
      }
    }
    return outcomes;
  }

  it('uses the documented requests-per-second table', () => {
    expect(DOCUMENTED_QUOTAS).toEqual({
      CreateKey: 5,
      ReplicateKey: 5,
      DescribeKey: 2000,
      ListResourceTags: 2000,
      ListKeys: 500,
      ListAliases: 500,
      TagResource: 10,
      UntagResource: 5,
      GetKeyPolicy: 1000,
      PutKeyPolicy: 15,
      CancelKeyDeletion: 5,
      EnableKey: 5,
      DisableKey: 5,
      UpdatePrimaryRegion: 5,
      ScheduleKeyDeletion: 15,
    });
  });

  it('lets exactly 5 CreateKey calls pass in one second of clock time, then throttles without effect', async () => {
    await start({ quotas: true });
    expect(await createKeys('us-east-1', 6)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ThrottlingException']);
    expect(await errorOf(harness().client('us-east-1').send(new CreateKeyCommand({ Description: 'x' })))).toEqual(THROTTLED);
    // Another Region has its own bucket.
    expect(await createKeys('eu-west-1', 1)).toEqual(['ok']);

    const calls = harness().kms.calls().filter((c) => c.errorCode === 'ThrottlingException');
    expect(calls).toEqual([
      { operation: 'CreateKey', region: 'us-east-1', errorCode: 'ThrottlingException', at: clock.current },
      { operation: 'CreateKey', region: 'us-east-1', errorCode: 'ThrottlingException', at: clock.current },
    ]);
    expect(harness().kms.throttledCount()).toBe(2);
    const events = harness().kms.takeEvents();
    const throttledEvents = events.filter((e) => e.detail.errorCode === 'ThrottlingException');
    expect(throttledEvents).toHaveLength(2);
    expect(throttledEvents[1]?.detail).toMatchObject({
      eventName: 'CreateKey',
      awsRegion: 'us-east-1',
      errorMessage: KMS_THROTTLING_MESSAGE,
      requestParameters: { description: 'x' },
      responseElements: null,
    });
    expect(throttledEvents[1]?.detail).not.toHaveProperty('resources');
    // Only the 5 + 1 successful calls created keys.
    expect(events.filter((e) => e.detail.errorCode === undefined)).toHaveLength(6);
  });

  it('refills from the clock: a full second restores 5 calls, 200 ms restores 1', async () => {
    await start({ quotas: true });
    expect(await createKeys('us-east-1', 6)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ThrottlingException']);
    clock.advance(1_000);
    expect(await createKeys('us-east-1', 6)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ThrottlingException']);
    clock.advance(200);
    expect(await createKeys('us-east-1', 2)).toEqual(['ok', 'ThrottlingException']);
    clock.advance(10_000);
    // Capacity is one second of quota: a long pause does not bank more than 5.
    expect(await createKeys('us-east-1', 6)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ThrottlingException']);
  });

  it('charges ReplicateKey 1 ReplicateKey in the primary Region and 2 CreateKey in the replica Region', async () => {
    await start({ quotas: true });
    const primaries = [0, 1, 2].map(() => harness().kms.seedKey({ region: 'us-east-1', multiRegion: true }).KeyId);
    const east = harness().client('us-east-1');
    await east.send(new ReplicateKeyCommand({ KeyId: primaries[0], ReplicaRegion: 'eu-west-1' }));
    await east.send(new ReplicateKeyCommand({ KeyId: primaries[1], ReplicaRegion: 'eu-west-1' }));
    // eu-west-1 has 1 CreateKey token left: not enough for a third ReplicateKey...
    expect(await errorOf(east.send(new ReplicateKeyCommand({ KeyId: primaries[2], ReplicaRegion: 'eu-west-1' })))).toEqual(THROTTLED);
    expect(harness().kms.describe('us-east-1', primaries[2] ?? '')?.MultiRegionConfiguration?.ReplicaKeys).toEqual([]);
    // ...but enough for one CreateKey there.
    expect(await createKeys('eu-west-1', 2)).toEqual(['ok', 'ThrottlingException']);
    // us-east-1 still has 3 ReplicateKey tokens (the throttled call took none): 3 more Regions pass.
    const more = ['ap-south-1', 'sa-east-1', 'ca-central-1', 'eu-north-1'];
    const outcomes: string[] = [];
    for (const region of more) {
      outcomes.push(await east.send(new ReplicateKeyCommand({ KeyId: primaries[2], ReplicaRegion: region })).then(() => 'ok', (e: Error) => e.name));
    }
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ThrottlingException']);
    clock.advance(400);
    // 400 ms refill 2 CreateKey tokens in eu-west-1.
    await east.send(new ReplicateKeyCommand({ KeyId: primaries[2], ReplicaRegion: 'eu-west-1' }));
  });

  it('charges UpdatePrimaryRegion once in each of the two Regions', async () => {
    await start({ quotas: { UpdatePrimaryRegion: 1 } });
    const key = harness().kms.seedKey({ region: 'us-east-1', multiRegion: true });
    harness().kms.seedReplica(key.KeyId, 'us-east-1', 'eu-west-1');
    await harness().client('us-east-1').send(new UpdatePrimaryRegionCommand({ KeyId: key.KeyId, PrimaryRegion: 'eu-west-1' }));
    // The first call spent eu-west-1's only token too.
    const back = new UpdatePrimaryRegionCommand({ KeyId: key.KeyId, PrimaryRegion: 'us-east-1' });
    expect(await errorOf(harness().client('eu-west-1').send(back))).toEqual(THROTTLED);
    clock.advance(1_000);
    await harness().client('eu-west-1').send(back);
    expect(harness().kms.describe('us-east-1', key.KeyId)?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('PRIMARY');
  });

  it('takes per-operation overrides and can be changed or lifted at runtime', async () => {
    await start({ quotas: { DescribeKey: 3 } });
    const key = harness().kms.seedKey({ region: 'us-east-1' });
    const describeAll = async (count: number): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < count; i += 1) {
        out.push(await harness().client('us-east-1').send(new DescribeKeyCommand({ KeyId: key.KeyId })).then(() => 'ok', (e: Error) => e.name));
      }
      return out;
    };
    expect(await describeAll(4)).toEqual(['ok', 'ok', 'ok', 'ThrottlingException']);
    // Reads are throttled but never recorded in CloudTrail.
    expect(harness().kms.pendingEvents()).toBe(0);
    harness().kms.setQuotas(false);
    expect(await describeAll(4)).toEqual(['ok', 'ok', 'ok', 'ok']);
    harness().kms.setQuotas({ DescribeKey: 1 });
    expect(await describeAll(2)).toEqual(['ok', 'ThrottlingException']);
    expect(harness().kms.throttledCount()).toBe(2);
  });

  it('is off by default', async () => {
    await start({});
    expect(await createKeys('us-east-1', 7)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
  });
});

describe('embedded KMS: keys-per-Region resource quota', () => {
  it('answers LimitExceededException on CreateKey and on ReplicateKey into a full Region', async () => {
    const h = await startHarness({ maxKeysPerRegion: 2 });
    try {
      const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
      await h.client('us-east-1').send(new CreateKeyCommand({}));
      expect(await errorOf(h.client('us-east-1').send(new CreateKeyCommand({})))).toEqual({
        name: 'LimitExceededException',
        message: 'The request was rejected because the customer managed key quota of 2 in us-east-1 was exceeded.',
        status: 400,
      });
      h.kms.seedKey({ region: 'eu-west-1' });
      await h.client('us-east-1').send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1' }));
      // eu-west-1 now holds 2 keys (a single-Region key and the replica): full.
      const other = h.kms.seedKey({ region: 'ap-south-1', multiRegion: true });
      const error = await errorOf(h.client('ap-south-1').send(new ReplicateKeyCommand({ KeyId: other.KeyId, ReplicaRegion: 'eu-west-1' })));
      expect(error).toEqual({
        name: 'LimitExceededException',
        message: 'The request was rejected because the customer managed key quota of 2 in eu-west-1 was exceeded.',
        status: 400,
      });
      expect(h.kms.describe('ap-south-1', other.KeyId)?.MultiRegionConfiguration?.ReplicaKeys).toEqual([]);
      expect(h.kms.describe('eu-west-1', other.KeyId)).toBeUndefined();
    } finally {
      await h.close();
    }
  });
});
