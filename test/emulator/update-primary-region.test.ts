import {
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  ReplicateKeyCommand,
  UpdatePrimaryRegionCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { errorOf, ManualClock, startHarness, type KmsHarness } from './support.js';

const ACCOUNT = '111122223333';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const arnOf = (region: string, keyId: string): string => `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`;
const DELAY_MS = 5_000;

describe('embedded KMS: UpdatePrimaryRegion', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 15, 29, 18));
  let h: KmsHarness;

  beforeAll(async () => {
    h = await startHarness({ now: clock.now, primaryUpdateDelayMs: DELAY_MS });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.kms.takeEvents();
  });

  /** A primary in us-east-1 with Enabled replicas in the given Regions (SDK calls, replicas settled). */
  async function keyWithReplicas(...regions: string[]): Promise<string> {
    const created = await h.client('us-east-1').send(new CreateKeyCommand({ MultiRegion: true }));
    const keyId = created.KeyMetadata?.KeyId ?? '';
    for (const region of regions) await h.client('us-east-1').send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: region }));
    h.kms.takeEvents();
    return keyId;
  }

  async function describeIn(region: string, keyId: string): Promise<Record<string, unknown>> {
    const out = await h.client(region).send(new DescribeKeyCommand({ KeyId: keyId }));
    const m = out.KeyMetadata;
    return {
      KeyState: m?.KeyState,
      Enabled: m?.Enabled,
      Type: m?.MultiRegionConfiguration?.MultiRegionKeyType,
      PrimaryKey: m?.MultiRegionConfiguration?.PrimaryKey,
      ReplicaKeys: m?.MultiRegionConfiguration?.ReplicaKeys,
    };
  }

  it('puts both keys in Updating, shown as REPLICA, then swaps PRIMARY and REPLICA in every member', async () => {
    const keyId = await keyWithReplicas('eu-west-1', 'ap-southeast-2');

    const out = await h.client('us-east-1').send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'eu-west-1' }));
    expect(Object.keys(out)).toEqual(['$metadata']);

    const finalConfig = {
      PrimaryKey: { Arn: arnOf('eu-west-1', keyId), Region: 'eu-west-1' },
      // The old primary takes the new primary's place in the list.
      ReplicaKeys: [
        { Arn: arnOf('us-east-1', keyId), Region: 'us-east-1' },
        { Arn: arnOf('ap-southeast-2', keyId), Region: 'ap-southeast-2' },
      ],
    };
    // During the update: both Updating and both REPLICA (the worst case the docs allow).
    expect(await describeIn('us-east-1', keyId)).toEqual({ KeyState: 'Updating', Enabled: false, Type: 'REPLICA', ...finalConfig });
    expect(await describeIn('eu-west-1', keyId)).toEqual({ KeyState: 'Updating', Enabled: false, Type: 'REPLICA', ...finalConfig });
    expect(await describeIn('ap-southeast-2', keyId)).toEqual({ KeyState: 'Enabled', Enabled: true, Type: 'REPLICA', ...finalConfig });

    // The new primary cannot be replicated until the update is over.
    const replicate = await errorOf(h.client('eu-west-1').send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'sa-east-1' })));
    expect(replicate).toEqual({ name: 'KMSInvalidStateException', message: `${arnOf('eu-west-1', keyId)} is updating.`, status: 400 });

    clock.advance(DELAY_MS - 1);
    expect((await describeIn('eu-west-1', keyId))['KeyState']).toBe('Updating');
    clock.advance(1);
    expect(await describeIn('us-east-1', keyId)).toEqual({ KeyState: 'Enabled', Enabled: true, Type: 'REPLICA', ...finalConfig });
    expect(await describeIn('eu-west-1', keyId)).toEqual({ KeyState: 'Enabled', Enabled: true, Type: 'PRIMARY', ...finalConfig });
    expect(await describeIn('ap-southeast-2', keyId)).toEqual({ KeyState: 'Enabled', Enabled: true, Type: 'REPLICA', ...finalConfig });
  });

  it('emits two CloudTrail records with one requestID, each naming its key ARN in responseElements.keyId; the new-primary one has invokedBy, userAgent "AWS Internal" and no resources', async () => {
    const keyId = await keyWithReplicas('eu-west-1');
    await h.client('us-east-1').send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'eu-west-1' }));
    const events = h.kms.takeEvents();
    expect(events).toHaveLength(2);
    const [oldSide, newSide] = events;
    const identity = {
      type: 'IAMUser',
      principalId: 'AKIDEXAMPLE',
      arn: `arn:aws:iam::${ACCOUNT}:user/AKIDEXAMPLE`,
      accountId: ACCOUNT,
      accessKeyId: 'AKIDEXAMPLE',
      userName: 'AKIDEXAMPLE',
    };
    const common = {
      eventVersion: '1.11',
      eventTime: '2026-11-30T15:29:23Z',
      eventSource: 'kms.amazonaws.com',
      eventName: 'UpdatePrimaryRegion',
      sourceIPAddress: '127.0.0.1',
      requestID: expect.stringMatching(UUID),
      eventID: expect.stringMatching(UUID),
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: ACCOUNT,
      eventCategory: 'Management',
    };
    expect(oldSide?.region).toBe('us-east-1');
    expect(oldSide?.detail).toEqual({
      ...common,
      userIdentity: identity,
      userAgent: expect.stringContaining('aws-sdk-js'),
      awsRegion: 'us-east-1',
      requestParameters: { keyId, primaryRegion: 'eu-west-1' },
      // Since December 2022 [fact sheet §10, S23].
      responseElements: { keyId: arnOf('us-east-1', keyId) },
      resources: [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: arnOf('us-east-1', keyId) }],
      // The caller's own call over TLS [S24]; the new-primary record is KMS's, without (INF).
      tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_256_GCM_SHA384', clientProvidedHostHeader: 'kms.us-east-1.amazonaws.com' },
    });
    expect(newSide?.region).toBe('eu-west-1');
    expect(newSide?.detail).toEqual({
      ...common,
      userIdentity: { ...identity, invokedBy: 'kms.amazonaws.com' },
      // The caller's address, but KMS's own user agent (AWS's sample) [fact sheet §10, S23].
      userAgent: 'AWS Internal',
      awsRegion: 'eu-west-1',
      requestParameters: { keyId: arnOf('eu-west-1', keyId), primaryRegion: 'eu-west-1' },
      responseElements: { keyId: arnOf('eu-west-1', keyId) },
    });
    expect(newSide?.detail).not.toHaveProperty('resources');
    expect(newSide?.detail.requestID).toBe(oldSide?.detail.requestID);
    expect(newSide?.detail.eventID).not.toBe(oldSide?.detail.eventID);
    clock.advance(DELAY_MS);
  });

  it('answers DisabledException for a Disabled primary and changes nothing', async () => {
    const keyId = await keyWithReplicas('eu-west-1');
    await h.client('us-east-1').send(new DisableKeyCommand({ KeyId: keyId }));
    h.kms.takeEvents();
    const error = await errorOf(h.client('us-east-1').send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'eu-west-1' })));
    expect(error).toEqual({ name: 'DisabledException', message: `${arnOf('us-east-1', keyId)} is disabled.`, status: 400 });
    expect(h.kms.describe('us-east-1', keyId)?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('PRIMARY');
    expect(h.kms.describe('us-east-1', keyId)?.KeyState).toBe('Disabled');
    const events = h.kms.takeEvents();
    expect(events.map((e) => [e.region, e.detail.errorCode])).toEqual([['us-east-1', 'DisabledException']]);
  });

  it('restores each key to its own previous state (a Disabled replica becomes a Disabled primary)', async () => {
    const keyId = await keyWithReplicas('eu-west-1');
    await h.client('eu-west-1').send(new DisableKeyCommand({ KeyId: keyId }));
    await h.client('us-east-1').send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'eu-west-1' }));
    clock.advance(DELAY_MS);
    expect(await describeIn('eu-west-1', keyId)).toMatchObject({ KeyState: 'Disabled', Type: 'PRIMARY' });
    expect(await describeIn('us-east-1', keyId)).toMatchObject({ KeyState: 'Enabled', Type: 'REPLICA' });
  });

  it('answers NotFoundException when PrimaryRegion holds no replica, Unsupported on a replica or own Region', async () => {
    const keyId = await keyWithReplicas('eu-west-1');
    const east = h.client('us-east-1');
    expect(await errorOf(east.send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'sa-east-1' })))).toEqual({
      name: 'NotFoundException',
      message: `Key '${arnOf('sa-east-1', keyId)}' does not exist`,
      status: 400,
    });
    expect(await errorOf(h.client('eu-west-1').send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'us-east-1' })))).toEqual({
      name: 'UnsupportedOperationException',
      message: `${arnOf('eu-west-1', keyId)} is not a multi-region primary key.`,
      status: 400,
    });
    expect((await errorOf(east.send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'us-east-1' })))).name).toBe(
      'UnsupportedOperationException',
    );
    const single = await east.send(new CreateKeyCommand({}));
    expect((await errorOf(east.send(new UpdatePrimaryRegionCommand({ KeyId: single.KeyMetadata?.KeyId, PrimaryRegion: 'eu-west-1' })))).name).toBe(
      'UnsupportedOperationException',
    );
    expect(await errorOf(east.send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'EU-WEST-1' })))).toEqual({
      name: 'ValidationException',
      message:
        "1 validation error detected: Value 'EU-WEST-1' at 'primaryRegion' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([a-z]+-){2,3}\\d+$",
      status: 400,
    });
    expect(h.kms.describe('us-east-1', keyId)?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('PRIMARY');
  });

  it('answers KMSInvalidStateException for a primary pending deletion or a replica still Creating', async () => {
    const pending = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, keyState: 'PendingDeletion' });
    h.kms.seedReplica(pending.KeyId, 'us-east-1', 'eu-west-1');
    expect(await errorOf(h.client('us-east-1').send(new UpdatePrimaryRegionCommand({ KeyId: pending.KeyId, PrimaryRegion: 'eu-west-1' })))).toEqual({
      name: 'KMSInvalidStateException',
      message: `${pending.Arn} is pending deletion.`,
      status: 400,
    });
    const fresh = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    h.kms.seedReplica(fresh.KeyId, 'us-east-1', 'eu-west-1', { keyState: 'Creating' });
    expect(await errorOf(h.client('us-east-1').send(new UpdatePrimaryRegionCommand({ KeyId: fresh.KeyId, PrimaryRegion: 'eu-west-1' })))).toEqual({
      name: 'KMSInvalidStateException',
      message: `${arnOf('eu-west-1', fresh.KeyId)} is creating.`,
      status: 400,
    });
  });

  it('accepts a repeat of the in-flight update (Updating is allowed) and rejects another target meanwhile', async () => {
    const keyId = await keyWithReplicas('eu-west-1', 'eu-west-2');
    const east = h.client('us-east-1');
    await east.send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'eu-west-1' }));
    await east.send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'eu-west-1' }));
    expect(await errorOf(east.send(new UpdatePrimaryRegionCommand({ KeyId: keyId, PrimaryRegion: 'eu-west-2' })))).toEqual({
      name: 'KMSInvalidStateException',
      message: `${arnOf('us-east-1', keyId)} is updating.`,
      status: 400,
    });
    clock.advance(DELAY_MS);
    expect(h.kms.describe('eu-west-1', keyId)?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('PRIMARY');
    expect(h.kms.describe('us-east-1', keyId)?.KeyState).toBe('Enabled');
  });
});

describe('embedded KMS: UpdatePrimaryRegion with the default delay (0)', () => {
  it('is complete by the next read', async () => {
    const h = await startHarness();
    try {
      const primary = h.kms.seedKey({ region: 'us-west-2', multiRegion: true });
      h.kms.seedReplica(primary.KeyId, 'us-west-2', 'ap-northeast-1');
      await h.client('us-west-2').send(new UpdatePrimaryRegionCommand({ KeyId: primary.Arn, PrimaryRegion: 'ap-northeast-1' }));
      const described = await h.client('ap-northeast-1').send(new DescribeKeyCommand({ KeyId: primary.KeyId }));
      expect(described.KeyMetadata?.KeyState).toBe('Enabled');
      expect(described.KeyMetadata?.MultiRegionConfiguration).toEqual({
        MultiRegionKeyType: 'PRIMARY',
        PrimaryKey: { Arn: arnOf('ap-northeast-1', primary.KeyId), Region: 'ap-northeast-1' },
        ReplicaKeys: [{ Arn: primary.Arn, Region: 'us-west-2' }],
      });
      expect(h.kms.describe('us-west-2', primary.KeyId)?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
    } finally {
      await h.close();
    }
  });
});
