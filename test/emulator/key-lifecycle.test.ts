import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  GetKeyPolicyCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyState } from '../../src/emulator/index.js';
import { errorOf, ManualClock, startHarness, type KmsHarness } from './support.js';

const DAY_MS = 86_400_000;

describe('embedded KMS: key states, deletion and tags', () => {
  const clock = new ManualClock();
  let h: KmsHarness;

  beforeAll(async () => {
    h = await startHarness({ now: clock.now });
  });
  afterAll(async () => {
    await h.close();
  });

  const east = (): ReturnType<KmsHarness['client']> => h.client('us-east-1');

  it('creates an Enabled symmetric single-Region key with KMS defaults', async () => {
    const out = await east().send(new CreateKeyCommand({}));
    const metadata = out.KeyMetadata;
    expect(metadata).toEqual({
      AWSAccountId: '111122223333',
      KeyId: metadata?.KeyId,
      Arn: `arn:aws:kms:us-east-1:111122223333:key/${metadata?.KeyId}`,
      CreationDate: new Date(clock.current),
      Enabled: true,
      Description: '',
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: 'Enabled',
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      MultiRegion: false,
      CurrentKeyMaterialId: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(metadata?.KeyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('creates a multi-Region primary with an empty ReplicaKeys list', async () => {
    const out = await east().send(new CreateKeyCommand({ MultiRegion: true }));
    expect(out.KeyMetadata?.MultiRegion).toBe(true);
    expect(out.KeyMetadata?.MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: 'PRIMARY',
      PrimaryKey: { Arn: out.KeyMetadata?.Arn, Region: 'us-east-1' },
      ReplicaKeys: [],
    });
  });

  it('creates an EXTERNAL key in PendingImport', async () => {
    const out = await east().send(new CreateKeyCommand({ Origin: 'EXTERNAL', MultiRegion: true }));
    expect(out.KeyMetadata?.KeyState).toBe('PendingImport');
    expect(out.KeyMetadata?.Enabled).toBe(false);
    expect(out.KeyMetadata?.Origin).toBe('EXTERNAL');
  });

  it('answers TagException for an aws: tag on CreateKey', async () => {
    const error = await errorOf(east().send(new CreateKeyCommand({ Tags: [{ TagKey: 'AWS:x', TagValue: '' }] })));
    expect(error).toEqual({ name: 'TagException', message: 'Tags beginning with aws: are reserved', status: 400 });
  });

  it('answers MalformedPolicyDocumentException for a policy that is not JSON', async () => {
    const error = await errorOf(east().send(new CreateKeyCommand({ Policy: 'not json' })));
    expect(error.name).toBe('MalformedPolicyDocumentException');
  });

  it('returns the default key policy under the name "default"', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const out = await east().send(new GetKeyPolicyCommand({ KeyId: key.KeyId }));
    expect(out.PolicyName).toBe('default');
    expect(JSON.parse(out.Policy ?? '')).toEqual({
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [
        {
          Sid: 'Enable IAM User Permissions',
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::111122223333:root' },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    });
  });

  it('schedules a key without replicas to PendingDeletion with a DeletionDate', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const out = await east().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    expect(out.KeyId).toBe(key.Arn);
    expect(out.KeyState).toBe('PendingDeletion');
    expect(out.PendingWindowInDays).toBe(7);
    expect(out.DeletionDate).toEqual(new Date(clock.current + 7 * DAY_MS));
    const described = await east().send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    expect(described.KeyMetadata?.DeletionDate).toEqual(new Date(clock.current + 7 * DAY_MS));
    expect(described.KeyMetadata?.PendingDeletionWindowInDays).toBeUndefined();
    expect(described.KeyMetadata?.Enabled).toBe(false);
  });

  it('defaults the waiting period to 30 days', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const out = await east().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }));
    expect(out.PendingWindowInDays).toBe(30);
    expect(out.DeletionDate).toEqual(new Date(clock.current + 30 * DAY_MS));
  });

  it('schedules a primary with replicas to PendingReplicaDeletion without a DeletionDate', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    h.kms.seedReplica(primary.KeyId, 'us-east-1', 'eu-west-1', { keyState: 'PendingDeletion' });
    const out = await east().send(new ScheduleKeyDeletionCommand({ KeyId: primary.KeyId, PendingWindowInDays: 10 }));
    expect(out.KeyState).toBe('PendingReplicaDeletion');
    expect(out.DeletionDate).toBeUndefined();
    expect(out.PendingWindowInDays).toBe(10);
    const described = await east().send(new DescribeKeyCommand({ KeyId: primary.KeyId }));
    expect(described.KeyMetadata?.KeyState).toBe('PendingReplicaDeletion');
    expect(described.KeyMetadata?.PendingDeletionWindowInDays).toBe(10);
    expect(described.KeyMetadata?.DeletionDate).toBeUndefined();
    expect(described.KeyMetadata?.MultiRegionConfiguration?.ReplicaKeys).toEqual([
      { Arn: `arn:aws:kms:eu-west-1:111122223333:key/${primary.KeyId}`, Region: 'eu-west-1' },
    ]);
  });

  it('schedules a replica to PendingDeletion and leaves its primary Enabled', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    h.kms.seedReplica(primary.KeyId, 'us-east-1', 'eu-west-1');
    const out = await h.client('eu-west-1').send(new ScheduleKeyDeletionCommand({ KeyId: primary.KeyId, PendingWindowInDays: 7 }));
    expect(out.KeyState).toBe('PendingDeletion');
    expect(h.kms.describe('us-east-1', primary.KeyId)?.KeyState).toBe('Enabled');
  });

  it.each([6, 31])('answers ValidationException for a waiting period of %i days', async (days) => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const error = await errorOf(east().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: days })));
    expect(error.name).toBe('ValidationException');
    expect(error.message).toContain(`Value '${days}' at 'pendingWindowInDays'`);
  });

  it.each<KeyState>(['PendingDeletion', 'PendingReplicaDeletion', 'Updating'])(
    'answers KMSInvalidStateException when scheduling a %s key',
    async (state) => {
      const key = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, keyState: state });
      const error = await errorOf(east().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId })));
      expect(error.name).toBe('KMSInvalidStateException');
    },
  );

  it.each<KeyState>(['PendingDeletion', 'PendingReplicaDeletion'])('cancels deletion of a %s key and leaves it Disabled', async (state) => {
    const key = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, keyState: state });
    const out = await east().send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }));
    expect(out.KeyId).toBe(key.Arn);
    const described = await east().send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    expect(described.KeyMetadata?.KeyState).toBe('Disabled');
    expect(described.KeyMetadata?.Enabled).toBe(false);
    expect(described.KeyMetadata?.DeletionDate).toBeUndefined();
    expect(described.KeyMetadata?.PendingDeletionWindowInDays).toBeUndefined();
  });

  it('answers KMSInvalidStateException "is not pending deletion" when cancelling an Enabled key', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const error = await errorOf(east().send(new CancelKeyDeletionCommand({ KeyId: key.KeyId })));
    expect(error).toEqual({ name: 'KMSInvalidStateException', message: `${key.Arn} is not pending deletion.`, status: 400 });
  });

  it('disables and re-enables a key', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    await east().send(new DisableKeyCommand({ KeyId: key.KeyId }));
    const disabled = h.kms.describe('us-east-1', key.KeyId);
    await east().send(new EnableKeyCommand({ KeyId: key.KeyId }));
    const enabled = h.kms.describe('us-east-1', key.KeyId);
    expect([disabled?.KeyState, disabled?.Enabled]).toEqual(['Disabled', false]);
    expect([enabled?.KeyState, enabled?.Enabled]).toEqual(['Enabled', true]);
  });

  it.each<KeyState>(['PendingDeletion', 'PendingReplicaDeletion', 'PendingImport', 'Creating', 'Updating'])(
    'answers KMSInvalidStateException to EnableKey and DisableKey on a %s key',
    async (state) => {
      const key = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, keyState: state });
      const enable = await errorOf(east().send(new EnableKeyCommand({ KeyId: key.KeyId })));
      const disable = await errorOf(east().send(new DisableKeyCommand({ KeyId: key.KeyId })));
      expect(enable.name).toBe('KMSInvalidStateException');
      expect(disable.name).toBe('KMSInvalidStateException');
      expect(h.kms.describe('us-east-1', key.KeyId)?.KeyState).toBe(state);
    },
  );

  it('adds tags, replaces an existing value and removes tags', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', tags: { a: '1', b: '2' } });
    await east().send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'b', TagValue: '20' }, { TagKey: 'c', TagValue: '' }] }));
    await east().send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['a', 'missing'] }));
    const out = await east().send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
    expect(out.Tags).toEqual([
      { TagKey: 'b', TagValue: '20' },
      { TagKey: 'c', TagValue: '' },
    ]);
    expect(out.Truncated).toBe(false);
  });

  it.each<KeyState>(['PendingDeletion', 'PendingReplicaDeletion'])(
    'answers KMSInvalidStateException to TagResource and UntagResource on a %s key',
    async (state) => {
      const key = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, keyState: state, tags: { a: '1' } });
      const tag = await errorOf(east().send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'b', TagValue: '' }] })));
      const untag = await errorOf(east().send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['a'] })));
      expect(tag.name).toBe('KMSInvalidStateException');
      expect(untag.name).toBe('KMSInvalidStateException');
      expect(h.kms.tags('us-east-1', key.KeyId)).toEqual({ a: '1' });
    },
  );

  it('tags a key that is Disabled or PendingImport', async () => {
    const disabled = h.kms.seedKey({ region: 'us-east-1', keyState: 'Disabled' });
    const importing = h.kms.seedKey({ region: 'us-east-1', origin: 'EXTERNAL' });
    await east().send(new TagResourceCommand({ KeyId: disabled.KeyId, Tags: [{ TagKey: 'x', TagValue: '1' }] }));
    await east().send(new TagResourceCommand({ KeyId: importing.KeyId, Tags: [{ TagKey: 'x', TagValue: '1' }] }));
    expect(h.kms.tags('us-east-1', disabled.KeyId)).toEqual({ x: '1' });
    expect(h.kms.tags('us-east-1', importing.KeyId)).toEqual({ x: '1' });
  });

  it('answers TagException when TagResource would exceed 50 tags, counting replaced keys once', async () => {
    const tags = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, 'v']));
    const key = h.kms.seedKey({ region: 'us-east-1', tags });
    await east().send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'k0', TagValue: 'new' }, { TagKey: 'k49', TagValue: '' }] }));
    const error = await errorOf(east().send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'k50', TagValue: '' }] })));
    expect(error).toEqual({ name: 'TagException', message: 'Too many tags', status: 400 });
    expect(Object.keys(h.kms.tags('us-east-1', key.KeyId) ?? {})).toHaveLength(50);
  });

  it('answers TagException for an aws: key on TagResource', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const error = await errorOf(east().send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'aws:cloudformation:stack-name', TagValue: 'x' }] })));
    expect(error.name).toBe('TagException');
  });
});
