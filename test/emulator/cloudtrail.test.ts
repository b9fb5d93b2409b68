import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  GetKeyPolicyCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ReplicateKeyCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CloudTrailEventBridgeEvent } from '../../src/emulator/index.js';
import { errorOf, ManualClock, startHarness, type KmsHarness } from './support.js';

const ACCOUNT = '111122223333';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('embedded KMS: CloudTrail events via EventBridge', () => {
  // 2026-11-30T15:29:18Z, displayed by CloudTrail as "Nov 30, 2026, 3:29:18 PM".
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 15, 29, 18));
  let h: KmsHarness;

  beforeAll(async () => {
    h = await startHarness({
      now: clock.now,
      callerIdentities: {
        AKIDROLE: { type: 'AssumedRole', principalId: 'AROAEXAMPLE:fn', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/reconciler/fn` },
        AKIDROOT: { type: 'Root', principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, console: true },
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.kms.takeEvents();
  });

  it('emits a CreateKey event shaped like CloudTrail delivers it to EventBridge', async () => {
    const out = await h.client('us-east-1').send(
      new CreateKeyCommand({ MultiRegion: true, Description: 'd', Tags: [{ TagKey: 'replica-regions', TagValue: 'eu-west-1' }] }),
    );
    const keyId = out.KeyMetadata?.KeyId ?? '';
    const arn = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId}`;
    const events = h.kms.takeEvents();

    expect(events).toHaveLength(1);
    const event = events[0] as CloudTrailEventBridgeEvent;
    expect(event).toEqual({
      version: '0',
      id: expect.stringMatching(UUID),
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.kms',
      account: ACCOUNT,
      time: '2026-11-30T15:29:18Z',
      region: 'us-east-1',
      resources: [],
      detail: {
        eventVersion: '1.11',
        userIdentity: {
          type: 'IAMUser',
          principalId: 'AKIDEXAMPLE',
          arn: `arn:aws:iam::${ACCOUNT}:user/AKIDEXAMPLE`,
          accountId: ACCOUNT,
          accessKeyId: 'AKIDEXAMPLE',
          userName: 'AKIDEXAMPLE',
        },
        eventTime: '2026-11-30T15:29:18Z',
        eventSource: 'kms.amazonaws.com',
        eventName: 'CreateKey',
        awsRegion: 'us-east-1',
        sourceIPAddress: '127.0.0.1',
        userAgent: expect.stringContaining('aws-sdk-js'),
        requestParameters: {
          multiRegion: true,
          description: 'd',
          tags: [{ tagKey: 'replica-regions', tagValue: 'eu-west-1' }],
        },
        responseElements: {
          keyMetadata: {
            aWSAccountId: ACCOUNT,
            keyId,
            arn,
            creationDate: 'Nov 30, 2026, 3:29:18 PM',
            enabled: true,
            description: 'd',
            keyUsage: 'ENCRYPT_DECRYPT',
            keyState: 'Enabled',
            origin: 'AWS_KMS',
            keyManager: 'CUSTOMER',
            customerMasterKeySpec: 'SYMMETRIC_DEFAULT',
            keySpec: 'SYMMETRIC_DEFAULT',
            encryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
            multiRegion: true,
            multiRegionConfiguration: {
              multiRegionKeyType: 'PRIMARY',
              primaryKey: { arn, region: 'us-east-1' },
              replicaKeys: [],
            },
            currentKeyMaterialId: expect.stringMatching(/^[0-9a-f]{64}$/),
          },
        },
        requestID: expect.stringMatching(UUID),
        eventID: expect.stringMatching(UUID),
        readOnly: false,
        resources: [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: arn }],
        eventType: 'AwsApiCall',
        managementEvent: true,
        recipientAccountId: ACCOUNT,
        eventCategory: 'Management',
        tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_256_GCM_SHA384', clientProvidedHostHeader: 'kms.us-east-1.amazonaws.com' },
      },
    });
    expect(event.detail.eventID).not.toBe(event.id);
  });

  it("emits ReplicateKey in the primary's Region and a REPLICA CreateKey in the replica's Region", async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const replicaArn = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${primary.KeyId}`;
    await h.client('us-east-1').send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-west-1', Description: 'r' }));
    const [replicate, create, ...rest] = h.kms.takeEvents();

    expect(rest).toEqual([]);
    expect(replicate?.region).toBe('us-east-1');
    expect(replicate?.detail.eventName).toBe('ReplicateKey');
    expect(replicate?.detail.awsRegion).toBe('us-east-1');
    expect(replicate?.detail.requestParameters).toEqual({ keyId: primary.KeyId, replicaRegion: 'eu-west-1', description: 'r' });
    expect(replicate?.detail.resources).toEqual([{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: primary.Arn }]);
    const replicaMetadata = (replicate?.detail.responseElements?.['replicaKeyMetadata'] ?? {}) as Record<string, unknown>;
    expect(replicaMetadata['keyState']).toBe('Creating');
    expect(replicaMetadata['enabled']).toBe(false);
    expect(replicaMetadata['multiRegionConfiguration']).toEqual({
      multiRegionKeyType: 'REPLICA',
      primaryKey: { arn: primary.Arn, region: 'us-east-1' },
      replicaKeys: [{ arn: replicaArn, region: 'eu-west-1' }],
    });
    expect(typeof replicate?.detail.responseElements?.['replicaPolicy']).toBe('string');

    expect(create?.region).toBe('eu-west-1');
    expect(create?.detail.eventName).toBe('CreateKey');
    expect(create?.detail.awsRegion).toBe('eu-west-1');
    expect(create?.detail.requestID).toBe(replicate?.detail.requestID);
    expect(create?.detail.eventID).not.toBe(replicate?.detail.eventID);
    expect(create?.detail.userIdentity.accessKeyId).toBe('AKIDEXAMPLE');
    expect(create?.detail.userIdentity.invokedBy).toBe('kms.amazonaws.com');
    // INF, by analogy with the one published record KMS writes on a caller's behalf (new-primary UpdatePrimaryRegion [S23]).
    expect([create?.detail.sourceIPAddress, create?.detail.userAgent, create?.detail.tlsDetails]).toEqual([replicate?.detail.sourceIPAddress, 'AWS Internal', undefined]);
    expect(replicate?.detail.tlsDetails?.clientProvidedHostHeader).toBe('kms.us-east-1.amazonaws.com');
    expect(create?.detail.resources).toEqual([{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: replicaArn }]);
    const keyMetadata = (create?.detail.responseElements?.['keyMetadata'] ?? {}) as Record<string, unknown>;
    expect(keyMetadata['arn']).toBe(replicaArn);
    expect(keyMetadata['keyState']).toBe('Creating');
    expect((keyMetadata['multiRegionConfiguration'] as Record<string, unknown>)['multiRegionKeyType']).toBe('REPLICA');
  });

  it('emits a failed call with errorCode, errorMessage and null responseElements', async () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, keyState: 'Disabled' });
    await errorOf(h.client('us-east-1').send(new ReplicateKeyCommand({ KeyId: primary.Arn, ReplicaRegion: 'eu-west-1' })));
    const events = h.kms.takeEvents();

    expect(events).toHaveLength(1);
    const detail = events[0]?.detail;
    expect(detail?.eventName).toBe('ReplicateKey');
    expect(detail?.errorCode).toBe('DisabledException');
    expect(detail?.errorMessage).toBe(`${primary.Arn} is disabled.`);
    expect(detail?.responseElements).toBeNull();
    expect(detail?.requestParameters).toEqual({ keyId: primary.Arn, replicaRegion: 'eu-west-1' });
    expect(detail?.resources).toEqual([{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: primary.Arn }]);
  });

  it('omits detail.resources for a failed call whose key was not found', async () => {
    await errorOf(h.client('us-east-1').send(new EnableKeyCommand({ KeyId: 'mrk-0123456789abcdef0123456789abcdef' })));
    const [event] = h.kms.takeEvents();
    expect(event?.detail.errorCode).toBe('NotFoundException');
    expect(event?.detail.resources).toBeUndefined();
  });

  it('emits no event for DescribeKey, ListKeys, ListResourceTags or GetKeyPolicy', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const client = h.client('us-east-1');
    await client.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    await client.send(new ListKeysCommand({}));
    await client.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
    await client.send(new GetKeyPolicyCommand({ KeyId: key.KeyId }));
    await errorOf(client.send(new DescribeKeyCommand({ KeyId: 'mrk-0123456789abcdef0123456789abcdef' })));
    expect(h.kms.pendingEvents()).toBe(0);
  });

  it('emits one event per mutating call, FIFO: null responseElements for tag calls, the key ARN as responseElements.keyId for the others', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const client = h.client('us-east-1');
    await client.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'a', TagValue: '1' }] }));
    await client.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['a'] }));
    await client.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await client.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    await client.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    await client.send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }));
    expect(h.kms.pendingEvents()).toBe(6);
    const events = h.kms.takeEvents();

    expect(events.map((e) => e.detail.eventName)).toEqual([
      'TagResource',
      'UntagResource',
      'DisableKey',
      'EnableKey',
      'ScheduleKeyDeletion',
      'CancelKeyDeletion',
    ]);
    expect(events.slice(0, 2).map((e) => e.detail.responseElements)).toEqual([null, null]);
    // Records since December 2022 name the key's ARN in responseElements.keyId [fact sheet §10, S23, S24].
    expect(events.slice(2, 4).map((e) => e.detail.responseElements)).toEqual([{ keyId: key.Arn }, { keyId: key.Arn }]);
    expect(events[0]?.detail.requestParameters).toEqual({ keyId: key.KeyId, tags: [{ tagKey: 'a', tagValue: '1' }] });
    expect(events[1]?.detail.requestParameters).toEqual({ keyId: key.KeyId, tagKeys: ['a'] });
    expect(events[4]?.detail.responseElements).toEqual({
      keyId: key.Arn,
      keyState: 'PendingDeletion',
      deletionDate: 'Dec 7, 2026, 3:29:18 PM',
      pendingWindowInDays: 7,
    });
    expect(events[5]?.detail.responseElements).toEqual({ keyId: key.Arn });
    expect(h.kms.pendingEvents()).toBe(0);
  });

  it('notifies subscribers until they unsubscribe, and still queues the events', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const received: string[] = [];
    const unsubscribe = h.kms.subscribe((event) => received.push(event.detail.eventName));
    await h.client('us-east-1').send(new DisableKeyCommand({ KeyId: key.KeyId }));
    unsubscribe();
    await h.client('us-east-1').send(new EnableKeyCommand({ KeyId: key.KeyId }));
    expect(received).toEqual(['DisableKey']);
    expect(h.kms.takeEvents().map((e) => e.detail.eventName)).toEqual(['DisableKey', 'EnableKey']);
  });

  it('names the caller with a configured identity for its access key id', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    await h.client('us-east-1', 'AKIDROLE').send(new DisableKeyCommand({ KeyId: key.KeyId }));
    const [event] = h.kms.takeEvents();
    expect(event?.detail.userIdentity).toEqual({
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLE:fn',
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/reconciler/fn`,
      accountId: ACCOUNT,
      accessKeyId: 'AKIDROLE',
    });
  });

  it('names a Root caller signed in to the console as real records do: type Root, sessionCredentialFromConsole "true" [S24][fact sheet §10]', async () => {
    const key = h.kms.seedKey({ region: 'eu-west-1' });

    await h.client('eu-west-1', 'AKIDROOT').send(new DisableKeyCommand({ KeyId: key.KeyId }));
    const [event] = h.kms.takeEvents();

    expect(event?.detail.userIdentity).toEqual({
      type: 'Root',
      principalId: ACCOUNT,
      arn: `arn:aws:iam::${ACCOUNT}:root`,
      accountId: ACCOUNT,
      accessKeyId: 'AKIDROOT',
    });
    expect(event?.detail.sessionCredentialFromConsole).toBe('true');
    expect(event?.detail.tlsDetails).toEqual({ tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_256_GCM_SHA384', clientProvidedHostHeader: 'kms.eu-west-1.amazonaws.com' });
    expect(Object.keys(event?.detail ?? {}).slice(-2)).toEqual(['tlsDetails', 'sessionCredentialFromConsole']);
  });

  it('writes no sessionCredentialFromConsole for a caller outside the console', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });

    await h.client('us-east-1', 'AKIDROLE').send(new DisableKeyCommand({ KeyId: key.KeyId }));
    const [event] = h.kms.takeEvents();

    expect(event?.detail).not.toHaveProperty('sessionCredentialFromConsole');
    expect(event?.detail.eventVersion).toBe('1.11');
  });

  it('emits no event for seeded keys', () => {
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    h.kms.seedReplica(primary.KeyId, 'us-east-1', 'eu-west-1');
    expect(h.kms.pendingEvents()).toBe(0);
  });

  it('displays afternoon and midnight hours on a 12-hour clock', async () => {
    clock.current = Date.UTC(2026, 0, 5, 0, 7, 9);
    const out = await h.client('us-east-1').send(new CreateKeyCommand({}));
    const [event] = h.kms.takeEvents();
    const metadata = (event?.detail.responseElements?.['keyMetadata'] ?? {}) as Record<string, unknown>;
    expect(out.KeyMetadata?.CreationDate).toEqual(new Date(clock.current));
    expect(metadata['creationDate']).toBe('Jan 5, 2026, 12:07:09 AM');
    expect(event?.detail.eventTime).toBe('2026-01-05T00:07:09Z');
  });
});
