/**
 * The embedded KMS's stand-ins for CloudTrail event history (`LookupEvents`) and STS
 * (`GetCallerIdentity`), over HTTP with the unmodified SDK clients.
 */
import { CloudTrailClient, LookupEventsCommand, type LookupEventsCommandInput } from '@aws-sdk/client-cloudtrail';
import { CreateKeyCommand, ReplicateKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, ManualClock, rawCall, startHarness, type KmsHarness } from './support.js';

const ROLE_KEY = 'ASIAROLESESSION00001';
const ROLE_ARN = 'arn:aws:sts::111122223333:assumed-role/KeyAdmin/alice';

let harness: KmsHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function cloudTrail(h: KmsHarness, region: string): CloudTrailClient {
  return new CloudTrailClient({ endpoint: h.kms.endpoint, region, credentials: { accessKeyId: 'AKIDLOOKUP', secretAccessKey: 'x' }, maxAttempts: 1 });
}

async function lookup(h: KmsHarness, region: string, input: LookupEventsCommandInput = {}) {
  return cloudTrail(h, region).send(new LookupEventsCommand(input));
}

describe('CloudTrail LookupEvents on the embedded KMS', () => {
  it('returns the records of write calls in the Region they were recorded in, newest first, with the record as a JSON string', async () => {
    // Prepare
    const clock = new ManualClock();
    harness = await startHarness({ now: clock.now, callerIdentities: { [ROLE_KEY]: { type: 'AssumedRole', principalId: 'AROAEXAMPLE:alice', arn: ROLE_ARN } } });
    const created = await harness.client('us-east-1', ROLE_KEY).send(new CreateKeyCommand({ MultiRegion: true }));
    const arn = created.KeyMetadata?.Arn as string;
    clock.advance(2_000);
    await harness.client('us-east-1', ROLE_KEY).send(new ReplicateKeyCommand({ KeyId: arn, ReplicaRegion: 'eu-west-1' }));

    // Act
    const primaryRegion = await lookup(harness, 'us-east-1');
    const replicaRegion = await lookup(harness, 'eu-west-1');

    // Assess
    expect(primaryRegion.Events?.map((e) => e.EventName)).toEqual(['ReplicateKey', 'CreateKey']);
    expect(replicaRegion.Events?.map((e) => e.EventName)).toEqual(['CreateKey']);
    const first = primaryRegion.Events?.[1];
    expect(first).toMatchObject({
      EventName: 'CreateKey',
      ReadOnly: 'false',
      AccessKeyId: ROLE_KEY,
      EventSource: 'kms.amazonaws.com',
      Username: 'alice',
      EventTime: new Date(Math.floor((clock.now() - 2_000) / 1000) * 1000),
      Resources: [{ ResourceType: 'AWS::KMS::Key', ResourceName: arn }],
    });
    const record = JSON.parse(first?.CloudTrailEvent ?? '{}') as Record<string, unknown>;
    expect(record).toMatchObject({ eventName: 'CreateKey', awsRegion: 'us-east-1', userIdentity: { type: 'AssumedRole', arn: ROLE_ARN } });
    expect(record.eventID).toBe(first?.EventId);
  });

  it('filters by one lookup attribute and pages with a NextToken bound to the query', async () => {
    // Prepare
    const clock = new ManualClock();
    harness = await startHarness({ now: clock.now });
    const kms = harness.client('us-east-1');
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: ids[0], PendingWindowInDays: 7 }));

    // Act
    const page1 = await lookup(harness, 'us-east-1', { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateKey' }], MaxResults: 2 });
    const page2 = await lookup(harness, 'us-east-1', { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateKey' }], MaxResults: 2, NextToken: page1.NextToken });
    clock.advance(1_000);
    const otherQuery = await errorOf(lookup(harness, 'us-east-1', { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'ScheduleKeyDeletion' }], NextToken: page1.NextToken }));
    const byResource = await lookup(harness, 'us-east-1', { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: ids[0] as string }] });

    // Assess
    expect(page1.Events?.map((e) => e.Resources?.[0]?.ResourceName)).toEqual([ids[2], ids[1]]);
    expect(page2.Events?.map((e) => e.Resources?.[0]?.ResourceName)).toEqual([ids[0]]);
    expect(page2.NextToken).toBeUndefined();
    expect(otherQuery.name).toBe('InvalidNextTokenException');
    expect(byResource.Events?.map((e) => e.EventName)).toEqual(['ScheduleKeyDeletion', 'CreateKey']);
  });

  it('rejects two lookup attributes, MaxResults above 50 and a start after the end, as the API reference says', async () => {
    // Prepare
    const clock = new ManualClock();
    harness = await startHarness({ now: clock.now });

    // Act
    const twoAttributes = await errorOf(
      lookup(harness, 'us-east-1', {
        LookupAttributes: [
          { AttributeKey: 'EventName', AttributeValue: 'CreateKey' },
          { AttributeKey: 'ReadOnly', AttributeValue: 'false' },
        ],
      }),
    );
    const tooMany = await errorOf(lookup(harness, 'us-east-1', { MaxResults: 51 }));
    clock.advance(1_000);
    const backwards = await errorOf(lookup(harness, 'us-east-1', { StartTime: new Date('2026-12-01T00:00:00Z'), EndTime: new Date('2026-11-01T00:00:00Z') }));
    const badKey = await errorOf(lookup(harness, 'us-east-1', { LookupAttributes: [{ AttributeKey: 'Colour' as 'EventName', AttributeValue: 'x' }] }));

    // Assess
    expect(twoAttributes.name).toBe('InvalidLookupAttributesException');
    expect(tooMany.name).toBe('InvalidMaxResultsException');
    expect(backwards.name).toBe('InvalidTimeRangeException');
    expect(badKey.name).toBe('InvalidLookupAttributesException');
  });

  it('throttles a third lookup within a second in one Region, not in another Region', async () => {
    // Prepare
    const clock = new ManualClock();
    harness = await startHarness({ now: clock.now });

    // Act
    await lookup(harness, 'us-east-1');
    await lookup(harness, 'us-east-1');
    const third = await errorOf(lookup(harness, 'us-east-1'));
    const otherRegion = await lookup(harness, 'us-west-2');
    clock.advance(500);
    const afterHalfASecond = await lookup(harness, 'us-east-1');

    // Assess
    expect(third.name).toBe('ThrottlingException');
    expect(otherRegion.Events).toEqual([]);
    expect(afterHalfASecond.Events).toEqual([]);
  });

  it('holds a record back while the event fault delays it, and stores a duplicated record once', async () => {
    // Prepare
    harness = await startHarness({ faults: { events: { delayEvents: true, duplicateRate: 1 } } });
    await harness.client('us-east-1').send(new CreateKeyCommand({}));

    // Act
    const whileDelayed = await lookup(harness, 'us-east-1');
    harness.kms.releaseDelayedEvents();
    const afterRelease = await lookup(harness, 'us-east-1');

    // Assess
    expect(whileDelayed.Events).toEqual([]);
    expect(afterRelease.Events?.map((e) => e.EventName)).toEqual(['CreateKey']);
  });

  it('answers the long X-Amz-Target form too, and an unknown CloudTrail operation with UnknownOperationException', async () => {
    // Prepare
    harness = await startHarness();
    const authorization = 'AWS4-HMAC-SHA256 Credential=AKIDRAW/20261130/us-east-1/cloudtrail/aws4_request, SignedHeaders=host, Signature=00';

    // Act
    const longForm = await rawCall(harness.kms.endpoint, { target: 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents', authorization });
    const unknown = await rawCall(harness.kms.endpoint, { target: 'CloudTrail_20131101.CreateTrail', authorization });

    // Assess
    expect(longForm).toMatchObject({ status: 200, json: { Events: [] } });
    expect(unknown).toMatchObject({ status: 400, json: { __type: 'UnknownOperationException' } });
  });
});

describe('STS GetCallerIdentity on the embedded KMS', () => {
  it('names the caller as its CloudTrail records do: a configured role session, or by default an IAM user named after the access key', async () => {
    // Prepare
    harness = await startHarness({ account: '444455556666', callerIdentities: { [ROLE_KEY]: { type: 'AssumedRole', principalId: 'AROAEXAMPLE:alice', arn: ROLE_ARN.replace('111122223333', '444455556666') } } });
    const sts = (accessKeyId: string): STSClient =>
      new STSClient({ endpoint: harness?.kms.endpoint, region: 'eu-west-1', credentials: { accessKeyId, secretAccessKey: 'x' }, maxAttempts: 1 });

    // Act
    const role = await sts(ROLE_KEY).send(new GetCallerIdentityCommand({}));
    const user = await sts('AKIAPLAINUSER0000001').send(new GetCallerIdentityCommand({}));

    // Assess
    expect({ Account: role.Account, Arn: role.Arn, UserId: role.UserId }).toEqual({
      Account: '444455556666',
      Arn: 'arn:aws:sts::444455556666:assumed-role/KeyAdmin/alice',
      UserId: 'AROAEXAMPLE:alice',
    });
    expect({ Account: user.Account, Arn: user.Arn, UserId: user.UserId }).toEqual({
      Account: '444455556666',
      Arn: 'arn:aws:iam::444455556666:user/AKIAPLAINUSER0000001',
      UserId: 'AKIAPLAINUSER0000001',
    });
  });

  it('answers another STS action with an InvalidAction query error', async () => {
    // Prepare
    harness = await startHarness();

    // Act
    const response = await fetch(harness.kms.endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: 'AWS4-HMAC-SHA256 Credential=AKIDRAW/20261130/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00',
      },
      body: 'Action=AssumeRole&Version=2011-06-15',
    });

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('text/xml');
    expect(await response.text()).toContain('<Code>InvalidAction</Code><Message>Could not find operation AssumeRole for version 2011-06-15</Message>');
  });
});
