import { describe, expect, it } from 'vitest';
import { parseTrigger } from '../../src/cloudtrail.js';
import { FIXTURE_KEY_ID, FIXTURE_SINGLE_REGION_KEY_ID, loadFixture } from '../helpers/fixtures.js';

const primaryArn = `arn:aws:kms:us-east-1:111122223333:key/${FIXTURE_KEY_ID}`;

describe('parseTrigger', () => {
  it('turns a multi-Region CreateKey into a request for the new key', () => {
    expect(parseTrigger(loadFixture('create-key'))).toEqual({
      kind: 'request',
      request: {
        keyId: primaryArn,
        region: 'us-east-1',
        eventName: 'CreateKey',
        eventId: 'a1c3e5f7-0b2d-4e6f-8a1c-3e5f7091b2d4',
        eventTime: new Date('2026-11-30T09:14:27Z'),
        keyTypeHint: 'PRIMARY',
      },
    });
  });

  it('takes the primary from a ReplicateKey record, not the new replica', () => {
    const parsed = parseTrigger(loadFixture('replicate-key'));
    expect(parsed.kind === 'request' && parsed.request.keyId).toBe(primaryArn);
    expect(parsed.kind === 'request' && parsed.request.region).toBe('us-east-1');
  });

  it('marks the replica-Region CreateKey as a replica and addresses the replica Region', () => {
    const parsed = parseTrigger(loadFixture('create-key-replica-region'));
    expect(parsed).toMatchObject({
      kind: 'request',
      request: { keyId: `arn:aws:kms:us-west-2:111122223333:key/${FIXTURE_KEY_ID}`, region: 'us-west-2', keyTypeHint: 'REPLICA' },
    });
  });

  it('reads TagResource and UntagResource', () => {
    expect(parseTrigger(loadFixture('tag-resource'))).toMatchObject({ kind: 'request', request: { eventName: 'TagResource', keyId: primaryArn } });
    expect(parseTrigger(loadFixture('untag-resource'))).toMatchObject({ kind: 'request', request: { eventName: 'UntagResource', keyId: primaryArn } });
  });

  it('falls back to requestParameters.keyId and awsRegion when detail.resources is absent', () => {
    const event = loadFixture('untag-resource');
    delete event.detail.resources;
    expect(parseTrigger(event)).toMatchObject({ kind: 'request', request: { keyId: FIXTURE_KEY_ID, region: 'us-east-1' } });
  });

  it('reads a single-Region CreateKey (the reconciler decides what to report)', () => {
    expect(parseTrigger(loadFixture('create-key-single-region'))).toMatchObject({
      kind: 'request',
      request: { keyId: `arn:aws:kms:us-east-1:111122223333:key/${FIXTURE_SINGLE_REGION_KEY_ID}` },
    });
  });

  it('skips a failed call', () => {
    expect(parseTrigger(loadFixture('replicate-key-failed'))).toEqual({
      kind: 'skip',
      reason: 'ReplicateKey failed with AlreadyExistsException; failed calls change nothing',
      eventId: 'f6b8d0e2-5a7c-4d9e-9f3b-5c7d9e1f3a4b',
    });
  });

  it('skips events that are not triggers', () => {
    const event = loadFixture('tag-resource');
    event.detail.eventName = 'DisableKey';
    expect(parseTrigger(event)).toMatchObject({ kind: 'skip', reason: 'DisableKey is not a trigger event' });
    expect(parseTrigger({ ...loadFixture('tag-resource'), source: 'aws.s3' })).toEqual({ kind: 'skip', reason: "source 'aws.s3' is not aws.kms" });
  });

  it("skips the reconciler's own calls when its principal is known", () => {
    const event = loadFixture('replicate-key');
    expect(parseTrigger(event, { reconcilerPrincipalArn: 'arn:aws:iam::111122223333:role/KeyAdmin' })).toMatchObject({
      kind: 'skip',
      reason: 'ReplicateKey was made by the reconciler itself',
    });
    expect(parseTrigger(event, { reconcilerPrincipalArn: 'arn:aws:iam::111122223333:role/Other' }).kind).toBe('request');
  });

  it('recognises a session of the reconciler role by its assumed-role ARN alone', () => {
    const event = loadFixture('replicate-key');
    delete event.detail.userIdentity.sessionContext;
    expect(parseTrigger(event, { reconcilerPrincipalArn: 'arn:aws:iam::111122223333:role/service/KeyAdmin' }).kind).toBe('skip');
    expect(parseTrigger(event, { reconcilerPrincipalArn: 'arn:aws:iam::111122223333:role/KeyAdminX' }).kind).toBe('request');
    expect(parseTrigger(event, { reconcilerPrincipalArn: 'arn:aws:iam::999999999999:role/KeyAdmin' }).kind).toBe('request');
  });

  it.each([
    [null, 'not an EventBridge event: expected a JSON object, got null'],
    ['{"truncated":', 'not an EventBridge event: expected a JSON object, got a string ("{\\"truncated\\":")'],
    [[1, 2], 'not an EventBridge event: expected a JSON object, got an array'],
    [{ source: 'aws.kms', 'detail-type': 'AWS API Call via CloudTrail' }, "not an EventBridge event: the field 'detail' is missing or not an object (at detail)"],
  ])('names the problem with a malformed event %#', (event, problem) => {
    expect(parseTrigger(event)).toEqual({ kind: 'invalid', problem });
  });

  it('names a missing eventName', () => {
    const event = loadFixture('tag-resource');
    delete event.detail.eventName;
    expect(parseTrigger(event)).toEqual({
      kind: 'invalid',
      problem: 'malformed CloudTrail record: detail.eventName is missing or not a string (at eventName)',
      eventId: 'd4f6b8c0-3e5a-4b7c-9d1f-3a5b7c9d1e2f',
    });
  });

  it('names a key reference that is neither an ARN nor a key id', () => {
    const event = loadFixture('untag-resource');
    delete event.detail.resources;
    event.detail.requestParameters.keyId = 'alias/payments';
    expect(parseTrigger(event)).toMatchObject({ kind: 'invalid', problem: "key reference 'alias/payments' is neither a key ARN nor a key id" });
  });

  it('refuses a key ARN whose resource is not a key id', () => {
    const event = loadFixture('create-key');
    event.detail.resources[0].ARN = 'arn:aws:kms:us-east-1:111122223333:key/not-a-key-id';
    expect(parseTrigger(event)).toMatchObject({
      kind: 'invalid',
      problem: "key reference 'arn:aws:kms:us-east-1:111122223333:key/not-a-key-id' is neither a key ARN nor a key id",
    });
  });

  it('keeps a problem message short whatever the size of the bad value', () => {
    const event = loadFixture('tag-resource');
    event.detail.awsRegion = 'x'.repeat(1_000_000);
    const parsed = parseTrigger(event);
    expect(parsed.kind === 'invalid' && parsed.problem).toBe(`detail.awsRegion '${'x'.repeat(117)}...' is not a Region code`);
  });

  it('names a record without any key', () => {
    const event = loadFixture('untag-resource');
    delete event.detail.resources;
    delete event.detail.requestParameters.keyId;
    expect(parseTrigger(event)).toMatchObject({ kind: 'invalid', problem: 'UntagResource record names no KMS key (no resources ARN, keyMetadata or keyId)' });
  });
});
