import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EnableKeyCommand,
  GetKeyPolicyCommand,
  ListResourceTagsCommand,
  ReplicateKeyCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, ManualClock, startHarness, type KmsHarness } from './support.js';

const ACCOUNT = '111122223333';
const arnOf = (region: string, keyId: string): string => `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`;

describe('embedded KMS: ReplicateKey', () => {
  const clock = new ManualClock();
  const DELAY_MS = 5_000;
  let h: KmsHarness;

  beforeAll(async () => {
    h = await startHarness({ now: clock.now, replicaDelayMs: DELAY_MS });
  });
  afterAll(async () => {
    await h.close();
  });

  const east = (): ReturnType<KmsHarness['client']> => h.client('us-east-1');

  it('creates a replica with the primary key id, Creating and not enabled', async () => {
    const created = await east().send(new CreateKeyCommand({ MultiRegion: true, Description: 'primary' }));
    const keyId = created.KeyMetadata?.KeyId ?? '';
    expect(keyId).toMatch(/^mrk-[0-9a-f]{32}$/);

    const out = await east().send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'eu-west-1' }));

    expect(out.ReplicaKeyMetadata?.KeyId).toBe(keyId);
    expect(out.ReplicaKeyMetadata?.Arn).toBe(arnOf('eu-west-1', keyId));
    expect(out.ReplicaKeyMetadata?.KeyState).toBe('Creating');
    expect(out.ReplicaKeyMetadata?.Enabled).toBe(false);
    expect(out.ReplicaKeyMetadata?.Description).toBe('');
    expect(out.ReplicaKeyMetadata?.MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: 'REPLICA',
      PrimaryKey: { Arn: arnOf('us-east-1', keyId), Region: 'us-east-1' },
      ReplicaKeys: [{ Arn: arnOf('eu-west-1', keyId), Region: 'eu-west-1' }],
    });
    expect(out.ReplicaTags).toEqual([]);
    expect(JSON.parse(out.ReplicaPolicy ?? '')).toEqual({
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [
        {
          Sid: 'Enable IAM User Permissions',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    });
  });

  it('lists the new replica on the primary at once', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    await east().send(new ReplicateKeyCommand({ KeyId: primary.Arn, ReplicaRegion: 'ap-south-1' }));
    const described = await east().send(new DescribeKeyCommand({ KeyId: primary.KeyId }));
    expect(described.KeyMetadata?.MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: 'PRIMARY',
      PrimaryKey: { Arn: primary.Arn, Region: 'us-east-1' },
      ReplicaKeys: [{ Arn: arnOf('ap-south-1', primary.KeyId), Region: 'ap-south-1' }],
    });
  });

  it('lists every replica, in creation order, on the primary and on each replica', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    await east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1' }));
    await east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'ap-northeast-1' }));
    const expected = [
      { Arn: arnOf('eu-west-1', primary.KeyId), Region: 'eu-west-1' },
      { Arn: arnOf('ap-northeast-1', primary.KeyId), Region: 'ap-northeast-1' },
    ];
    const fromPrimary = await east().send(new DescribeKeyCommand({ KeyId: primary.KeyId }));
    const fromReplica = await h.client('eu-west-1').send(new DescribeKeyCommand({ KeyId: primary.KeyId }));
    expect(fromPrimary.KeyMetadata?.MultiRegionConfiguration?.ReplicaKeys).toEqual(expected);
    expect(fromReplica.KeyMetadata?.MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: 'REPLICA',
      PrimaryKey: { Arn: primary.Arn, Region: 'us-east-1' },
      ReplicaKeys: expected,
    });
  });

  it('keeps a seeded Creating replica Creating until creatingForMs has passed', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    h.kms.seedReplica(primary.KeyId, 'us-east-1', 'me-south-1', { keyState: 'Creating', creatingForMs: 100 });
    const before = h.kms.describe('me-south-1', primary.KeyId)?.KeyState;
    clock.advance(100);
    const after = await h.client('me-south-1').send(new DescribeKeyCommand({ KeyId: primary.KeyId }));
    expect(before).toBe('Creating');
    expect(after.KeyMetadata?.KeyState).toBe('Enabled');
  });

  it('moves the replica from Creating to Enabled after replicaDelayMs', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    await east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-central-1' }));
    const replicaClient = h.client('eu-central-1');

    clock.advance(DELAY_MS - 1);
    const before = await replicaClient.send(new DescribeKeyCommand({ KeyId: primary.KeyId }));
    clock.advance(1);
    const after = await replicaClient.send(new DescribeKeyCommand({ KeyId: primary.KeyId }));

    expect(before.KeyMetadata?.KeyState).toBe('Creating');
    expect(after.KeyMetadata?.KeyState).toBe('Enabled');
    expect(after.KeyMetadata?.Enabled).toBe(true);
  });

  it('moves a replica of an EXTERNAL primary from Creating to PendingImport', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, origin: 'EXTERNAL', keyState: 'Enabled' });
    const out = await east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-2' }));
    expect(out.ReplicaKeyMetadata?.KeyState).toBe('Creating');
    expect(out.ReplicaKeyMetadata?.Origin).toBe('EXTERNAL');

    clock.advance(DELAY_MS);
    const replica = await h.client('eu-west-2').send(new DescribeKeyCommand({ KeyId: primary.KeyId }));
    expect(replica.KeyMetadata?.KeyState).toBe('PendingImport');
    expect(replica.KeyMetadata?.Enabled).toBe(false);
  });

  it('gives the replica the description, tags and policy passed, not the primary ones', async () => {
    const primary = h.kms.seedKey({
      region: 'us-east-1',
      multiRegion: true,
      description: 'primary description',
      tags: { team: 'a' },
    });
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [] });
    const out = await east().send(
      new ReplicateKeyCommand({
        KeyId: primary.KeyId,
        ReplicaRegion: 'sa-east-1',
        Description: 'replica description',
        Tags: [{ TagKey: 'replica', TagValue: 'yes' }],
        Policy: policy,
      }),
    );
    expect(out.ReplicaKeyMetadata?.Description).toBe('replica description');
    expect(out.ReplicaTags).toEqual([{ TagKey: 'replica', TagValue: 'yes' }]);
    expect(out.ReplicaPolicy).toBe(policy);

    const replica = h.client('sa-east-1');
    const tags = await replica.send(new ListResourceTagsCommand({ KeyId: primary.KeyId }));
    const stored = await replica.send(new GetKeyPolicyCommand({ KeyId: primary.KeyId, PolicyName: 'default' }));
    expect(tags.Tags).toEqual([{ TagKey: 'replica', TagValue: 'yes' }]);
    expect(stored.Policy).toBe(policy);
  });

  it('does not copy the primary tags when none are passed', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, tags: { team: 'a' } });
    await east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'ca-central-1' }));
    const tags = await h.client('ca-central-1').send(new ListResourceTagsCommand({ KeyId: primary.KeyId }));
    expect(tags.Tags).toEqual([]);
  });

  it('answers AlreadyExistsException for a Region that already holds a replica', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    h.kms.seedReplica(primary.KeyId, 'us-east-1', 'eu-west-1');
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1' })));
    expect(error.name).toBe('AlreadyExistsException');
  });

  it('answers AlreadyExistsException while the existing replica is still Creating', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    await east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-north-1' }));
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-north-1' })));
    expect(error.name).toBe('AlreadyExistsException');
  });

  it('answers AlreadyExistsException for a replica Region whose replica is PendingDeletion', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    h.kms.seedReplica(primary.KeyId, 'us-east-1', 'eu-west-1', { keyState: 'PendingDeletion' });
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1' })));
    expect(error.name).toBe('AlreadyExistsException');
  });

  it("answers AlreadyExistsException for the primary's own Region", async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'us-east-1' })));
    expect(error.name).toBe('AlreadyExistsException');
  });

  it('answers UnsupportedOperationException when the key is a replica', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const replica = h.kms.seedReplica(primary.KeyId, 'us-east-1', 'us-west-2');
    const error = await errorOf(
      h.client('us-west-2').send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1' })),
    );
    expect(error).toEqual({
      name: 'UnsupportedOperationException',
      message: `${replica.Arn} is not a multi-region primary key.`,
      status: 400,
    });
  });

  it('answers UnsupportedOperationException for a single-Region key', async () => {
    const single = h.kms.seedKey({ region: 'us-east-1' });
    expect(single.KeyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: single.KeyId, ReplicaRegion: 'eu-west-1' })));
    expect(error.name).toBe('UnsupportedOperationException');
  });

  it('answers UnsupportedOperationException for a Region of another partition', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'cn-north-1' })));
    expect(error.name).toBe('UnsupportedOperationException');
    expect(error.message).toContain('partition aws-cn');
  });

  it('answers DisabledException "<arn> is disabled." for a Disabled primary', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, keyState: 'Disabled' });
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1' })));
    expect(error).toEqual({ name: 'DisabledException', message: `${primary.Arn} is disabled.`, status: 400 });
  });

  it('answers KMSInvalidStateException "is pending import" for a PendingImport primary', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, origin: 'EXTERNAL' });
    expect(primary.KeyState).toBe('PendingImport');
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1' })));
    expect(error).toEqual({ name: 'KMSInvalidStateException', message: `${primary.Arn} is pending import.`, status: 400 });
  });

  it('answers KMSInvalidStateException for a PendingReplicaDeletion primary', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    h.kms.seedReplica(primary.KeyId, 'us-east-1', 'eu-west-1');
    await east().send(new ScheduleKeyDeletionCommand({ KeyId: primary.KeyId, PendingWindowInDays: 7 }));
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-3' })));
    expect(error.name).toBe('KMSInvalidStateException');
  });

  it('answers KMSInvalidStateException for a PendingDeletion primary', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, keyState: 'PendingDeletion' });
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-3' })));
    expect(error.name).toBe('KMSInvalidStateException');
  });

  it('answers KMSInvalidStateException "is updating" for an Updating primary', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, keyState: 'Updating' });
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-3' })));
    expect(error).toEqual({ name: 'KMSInvalidStateException', message: `${primary.Arn} is updating.`, status: 400 });
  });

  it.each(['us-east-1a', 'EU-WEST-1', 'useast1'])('answers ValidationException for the malformed Region %s', async (region) => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: region })));
    expect(error).toEqual({
      name: 'ValidationException',
      message: `1 validation error detected: Value '${region}' at 'replicaRegion' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$`,
      status: 400,
    });
  });

  it.each(['aws:owner', 'AWS:owner', 'Aws:x'])('answers TagException for the reserved tag key %s', async (tagKey) => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const error = await errorOf(
      east().send(
        new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1', Tags: [{ TagKey: tagKey, TagValue: 'v' }] }),
      ),
    );
    expect(error).toEqual({ name: 'TagException', message: 'Tags beginning with aws: are reserved', status: 400 });
    expect(h.kms.describe('eu-west-1', primary.KeyId)).toBeUndefined();
  });

  it('answers TagException for duplicate tag keys', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const error = await errorOf(
      east().send(
        new ReplicateKeyCommand({
          KeyId: primary.KeyId,
          ReplicaRegion: 'eu-west-1',
          Tags: [
            { TagKey: 'a', TagValue: '1' },
            { TagKey: 'a', TagValue: '2' },
          ],
        }),
      ),
    );
    expect(error).toEqual({ name: 'TagException', message: 'Duplicate tag keys', status: 400 });
  });

  it('answers TagException for more than 50 tags', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const tags = Array.from({ length: 51 }, (_, i) => ({ TagKey: `k${i}`, TagValue: '' }));
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1', Tags: tags })));
    expect(error).toEqual({ name: 'TagException', message: 'Too many tags', status: 400 });
  });

  it('answers ValidationException for a tag value longer than 256', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const value = 'v'.repeat(257);
    const error = await errorOf(
      east().send(
        new ReplicateKeyCommand({
          KeyId: primary.KeyId,
          ReplicaRegion: 'eu-west-1',
          Tags: [
            { TagKey: 'ok', TagValue: '' },
            { TagKey: 'long', TagValue: value },
          ],
        }),
      ),
    );
    expect(error.name).toBe('ValidationException');
    expect(error.message).toBe(
      `1 validation error detected: Value '${value}' at 'tags.2.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256`,
    );
  });

  it('answers ValidationException for a tag key longer than 128', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const key = 'k'.repeat(129);
    const error = await errorOf(
      east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1', Tags: [{ TagKey: key, TagValue: '' }] })),
    );
    expect(error.message).toBe(
      `1 validation error detected: Value '${key}' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128`,
    );
  });

  it('answers NotFoundException for an unknown primary', async () => {
    const error = await errorOf(
      east().send(new ReplicateKeyCommand({ KeyId: 'mrk-0123456789abcdef0123456789abcdef', ReplicaRegion: 'eu-west-1' })),
    );
    expect(error.name).toBe('NotFoundException');
  });

  it('answers DisabledException after CancelKeyDeletion until EnableKey is called', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, keyState: 'PendingDeletion' });
    await east().send(new CancelKeyDeletionCommand({ KeyId: primary.KeyId }));
    const error = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1' })));
    await east().send(new EnableKeyCommand({ KeyId: primary.KeyId }));
    const out = await east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1' }));
    expect(error.name).toBe('DisabledException');
    expect(out.ReplicaKeyMetadata?.KeyState).toBe('Creating');
  });
});
