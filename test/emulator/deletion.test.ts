import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  ListKeysCommand,
  ReplicateKeyCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/emulator/index.js';
import { errorOf, startHarness, type KmsHarness } from './support.js';

const ACCOUNT = '111122223333';
const DAY_MS = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const arnOf = (region: string, keyId: string): string => `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`;
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

describe('embedded KMS: deletion completes when the waiting period ends', () => {
  let clock: ManualClock;
  let t0: number;
  let h: KmsHarness;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 10, 30, 15, 29, 18));
    t0 = clock.now();
    h = await startHarness({ now: clock.now });
  });
  afterEach(async () => {
    await h.close();
  });

  it('deletes a key at its DeletionDate and emits the DeleteKey service event', async () => {
    const east = h.client('us-east-1');
    const keyId = (await east.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId ?? '';
    const scheduled = await east.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    expect(scheduled.DeletionDate).toEqual(new Date(t0 + 7 * DAY_MS));
    h.kms.takeEvents();

    clock.advance(7 * DAY_MS - 1);
    expect((await east.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe('PendingDeletion');
    expect(h.kms.takeEvents()).toEqual([]);
    clock.advance(1);
    expect(await errorOf(east.send(new DescribeKeyCommand({ KeyId: keyId })))).toEqual({
      name: 'NotFoundException',
      message: `Key '${arnOf('us-east-1', keyId)}' does not exist`,
      status: 400,
    });
    expect((await east.send(new ListKeysCommand({}))).Keys).toEqual([]);
    expect(h.kms.takeEvents()).toEqual([
      {
        version: '0',
        id: expect.stringMatching(UUID),
        'detail-type': 'AWS Service Event via CloudTrail',
        source: 'aws.kms',
        account: ACCOUNT,
        time: iso(t0 + 7 * DAY_MS),
        region: 'us-east-1',
        resources: [],
        detail: {
          eventVersion: '1.11',
          userIdentity: { accountId: ACCOUNT, invokedBy: 'AWS Internal' },
          eventTime: iso(t0 + 7 * DAY_MS),
          eventSource: 'kms.amazonaws.com',
          eventName: 'DeleteKey',
          awsRegion: 'us-east-1',
          sourceIPAddress: 'AWS Internal',
          userAgent: 'AWS Internal',
          requestParameters: null,
          responseElements: null,
          eventID: expect.stringMatching(UUID),
          readOnly: false,
          resources: [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: arnOf('us-east-1', keyId) }],
          eventType: 'AwsServiceEvent',
          managementEvent: true,
          recipientAccountId: ACCOUNT,
          eventCategory: 'Management',
          serviceEventDetails: { keyId },
        },
      },
    ]);
  });

  it('moves a PendingReplicaDeletion primary to PendingDeletion when its last replica is deleted, then deletes it', async () => {
    const east = h.client('us-east-1');
    const keyId = (await east.send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata?.KeyId ?? '';
    await east.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'eu-west-1' }));
    await east.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'ap-south-1' }));
    await h.client('eu-west-1').send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    await h.client('ap-south-1').send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 10 }));
    const primary = await east.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    expect(primary.KeyState).toBe('PendingReplicaDeletion');
    h.kms.takeEvents();

    clock.advance(7 * DAY_MS);
    const afterFirst = (await east.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    expect(afterFirst?.KeyState).toBe('PendingReplicaDeletion');
    expect(afterFirst?.PendingDeletionWindowInDays).toBe(7);
    expect(afterFirst?.MultiRegionConfiguration?.ReplicaKeys).toEqual([{ Arn: arnOf('ap-south-1', keyId), Region: 'ap-south-1' }]);
    expect((await h.client('ap-south-1').send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.MultiRegionConfiguration?.ReplicaKeys).toEqual([
      { Arn: arnOf('ap-south-1', keyId), Region: 'ap-south-1' },
    ]);
    expect((await errorOf(h.client('eu-west-1').send(new DescribeKeyCommand({ KeyId: keyId })))).name).toBe('NotFoundException');

    clock.advance(3 * DAY_MS);
    const pending = (await east.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    expect(pending?.KeyState).toBe('PendingDeletion');
    expect(pending?.DeletionDate).toEqual(new Date(t0 + 17 * DAY_MS));
    expect(pending?.PendingDeletionWindowInDays).toBeUndefined();
    expect(pending?.MultiRegionConfiguration?.ReplicaKeys).toEqual([]);

    clock.advance(7 * DAY_MS);
    expect(h.kms.describe('us-east-1', keyId)).toBeUndefined();
    expect(h.kms.takeEvents().map((e) => [e.detail.eventName, e.region, e.time])).toEqual([
      ['DeleteKey', 'eu-west-1', iso(t0 + 7 * DAY_MS)],
      ['DeleteKey', 'ap-south-1', iso(t0 + 10 * DAY_MS)],
      ['DeleteKey', 'us-east-1', iso(t0 + 17 * DAY_MS)],
    ]);
  });

  it('evaluates lazily in deletion order: one late sweep dates the primary from its last replica', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    h.kms.seedReplica(primary.KeyId, 'us-east-1', 'eu-west-1');
    await h.client('eu-west-1').send(new ScheduleKeyDeletionCommand({ KeyId: primary.KeyId, PendingWindowInDays: 7 }));
    await h.client('us-east-1').send(new ScheduleKeyDeletionCommand({ KeyId: primary.KeyId, PendingWindowInDays: 7 }));
    h.kms.takeEvents();
    clock.advance(90 * DAY_MS);
    expect(h.kms.sweepDeletions()).toBe(2);
    expect(h.kms.sweepDeletions()).toBe(0);
    expect(h.kms.takeEvents().map((e) => [e.region, e.detail.eventTime])).toEqual([
      ['eu-west-1', iso(t0 + 7 * DAY_MS)],
      ['us-east-1', iso(t0 + 14 * DAY_MS)],
    ]);
  });

  it('does not delete a key whose deletion was cancelled', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    await h.client('us-east-1').send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    await h.client('us-east-1').send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }));
    clock.advance(30 * DAY_MS);
    expect(h.kms.sweepDeletions()).toBe(0);
    expect(h.kms.describe('us-east-1', key.KeyId)?.KeyState).toBe('Disabled');
  });

  it('keeps ListKeys markers working across a deleted key', async () => {
    const first = h.kms.seedKey({ region: 'eu-west-3' });
    const second = h.kms.seedKey({ region: 'eu-west-3', keyState: 'PendingDeletion' });
    const third = h.kms.seedKey({ region: 'eu-west-3' });
    const client = h.client('eu-west-3');
    const page1 = await client.send(new ListKeysCommand({ Limit: 1 }));
    expect(page1.Keys?.map((k) => k.KeyId)).toEqual([first.KeyId]);
    clock.advance(30 * DAY_MS);
    const page2 = await client.send(new ListKeysCommand({ Limit: 1, Marker: page1.NextMarker }));
    expect(page2.Keys?.map((k) => k.KeyId)).toEqual([third.KeyId]);
    expect(page2.Truncated).toBe(false);
    expect(h.kms.describe('eu-west-3', second.KeyId)).toBeUndefined();
  });
});

describe('ManualClock', () => {
  it('advances, sets and refuses to run backwards through advance', () => {
    const clock = new ManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    expect(clock.advance(500)).toBe(1_500);
    clock.set(10);
    expect(clock.current).toBe(10);
    const { now } = clock;
    expect(now()).toBe(10);
    expect(() => clock.advance(-1)).toThrow(TypeError);
    expect(new ManualClock().now()).toBe(Date.UTC(2026, 10, 30, 15, 29, 18));
  });
});
