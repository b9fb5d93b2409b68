import { describe, expect, it } from 'vitest';
import { matchesKeyEventRule } from '../../src/local/key-event-rule.js';
import { parseTrigger, TRIGGER_EVENT_NAMES } from '../../src/reconcile/trigger.js';
import { FIXTURE_ACCOUNT, FIXTURE_KEY_ID, FIXTURE_SINGLE_REGION_KEY_ID, loadFixture, type FixtureName } from '../helpers/fixtures.js';

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

  it("reconciles an echo of the reconciler's own call carrying another identity exactly like any event: the echo skip is only an optimisation (the replica-Region CreateKey's identity is unverified) [fact sheet §10]", () => {
    const reconciler = 'arn:aws:iam::111122223333:role/kms-replica-reconciler-prod-us-east-1-lambdaRole';
    const echo = loadFixture('create-key-replica-region');
    echo.detail.userIdentity = {
      type: 'AWSService',
      invokedBy: 'kms.amazonaws.com',
      accountId: '111122223333',
    };

    const withPrincipal = parseTrigger(echo, { reconcilerPrincipalArn: reconciler });
    const withoutPrincipal = parseTrigger(echo);

    expect(withPrincipal).toEqual(withoutPrincipal);
    expect(withPrincipal).toMatchObject({ kind: 'request', request: { region: 'us-west-2', keyTypeHint: 'REPLICA' } });
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

  it('reads ImportKeyMaterial (a trigger: an EXTERNAL primary leaves PendingImport when its material arrives)', () => {
    expect(parseTrigger(loadFixture('import-key-material'))).toEqual({
      kind: 'request',
      request: {
        keyId: primaryArn,
        region: 'us-east-1',
        eventName: 'ImportKeyMaterial',
        eventId: '2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a',
        eventTime: new Date('2026-11-30T14:05:31Z'),
      },
    });
  });

  it.each<[string, 'enable-key' | 'update-primary-region' | 'import-key-material']>([
    ['EnableKey', 'enable-key'],
    ['UpdatePrimaryRegion', 'update-primary-region'],
    ['ImportKeyMaterial', 'import-key-material'],
  ])('reads a %s record the same with responseElements {keyId: <arn>} (since December 2022) or null (older records) [S23][S24]', (_name, fixture) => {
    const current = loadFixture(fixture);
    const older = loadFixture(fixture);
    older.detail.responseElements = null;

    const fromCurrent = parseTrigger(current);
    const fromOlder = parseTrigger(older);

    expect(current.detail.responseElements.keyId).toBe(primaryArn);
    expect(fromCurrent).toMatchObject({ kind: 'request', request: { keyId: primaryArn, region: 'us-east-1' } });
    expect(fromOlder).toEqual(fromCurrent);
  });

  it('takes the key from responseElements.keyId when detail.resources is absent, and from requestParameters.keyId when that is null too', () => {
    const withResponse = loadFixture('enable-key');
    delete withResponse.detail.resources;
    withResponse.detail.requestParameters.keyId = 'mrk-1234abcd12ab34cd56ef1234567890ab';
    const withoutResponse = loadFixture('enable-key');
    delete withoutResponse.detail.resources;
    withoutResponse.detail.responseElements = null;
    withoutResponse.detail.requestParameters.keyId = 'mrk-1234abcd12ab34cd56ef1234567890ab';

    expect(parseTrigger(withResponse)).toMatchObject({ kind: 'request', request: { keyId: primaryArn, region: 'us-east-1' } });
    expect(parseTrigger(withoutResponse)).toMatchObject({ kind: 'request', request: { keyId: FIXTURE_KEY_ID, region: 'us-east-1' } });
  });

  it('reads the new-primary UpdatePrimaryRegion record (no resources; invokedBy kms.amazonaws.com, the caller\'s address, userAgent AWS Internal) [S23]', () => {
    const event = loadFixture('update-primary-region-new-primary');

    expect([event.detail.userIdentity.invokedBy, event.detail.sourceIPAddress, event.detail.userAgent, event.detail.resources]).toEqual([
      'kms.amazonaws.com',
      '192.0.2.10',
      'AWS Internal',
      undefined,
    ]);
    expect(parseTrigger(event)).toMatchObject({
      kind: 'request',
      request: { keyId: `arn:aws:kms:us-west-2:111122223333:key/${FIXTURE_KEY_ID}`, region: 'us-west-2', eventName: 'UpdatePrimaryRegion' },
    });
  });

  it('reads records of every shape real ones have: eventVersion 1.08 to 1.11, IAMUser, AssumedRole and Root callers, console calls, tlsDetails [S24]', () => {
    const shapes = ALL_FIXTURES.map((name) => {
      const detail = loadFixture(name).detail;
      return [detail.eventVersion, detail.userIdentity.type, detail.sessionCredentialFromConsole ?? '-', detail.tlsDetails ? 'tls' : '-'];
    });

    expect(new Set(shapes.map(([version]) => version))).toEqual(new Set(['1.08', '1.09', '1.11']));
    expect(new Set(shapes.map(([, type]) => type))).toEqual(new Set(['IAMUser', 'AssumedRole', 'Root']));
    expect(shapes.filter(([, , console]) => console === 'true')).toHaveLength(1);
    for (const name of ALL_FIXTURES) {
      const event = loadFixture(name);
      const parsed = parseTrigger(event);
      expect([name, parsed.kind]).toEqual([name, name === 'replicate-key-failed' ? 'skip' : 'request']);
    }
  });

  it('names a record without any key', () => {
    const event = loadFixture('untag-resource');
    delete event.detail.resources;
    delete event.detail.requestParameters.keyId;
    expect(parseTrigger(event)).toMatchObject({ kind: 'invalid', problem: 'UntagResource record names no KMS key (no resources ARN, keyMetadata or keyId)' });
  });
});

const FOREIGN_ACCOUNT = '444455556666';
const ALL_FIXTURES: readonly FixtureName[] = [
  'create-key',
  'create-key-replica-region',
  'create-key-single-region',
  'replicate-key',
  'replicate-key-failed',
  'tag-resource',
  'untag-resource',
  'schedule-key-deletion',
  'cancel-key-deletion',
  'enable-key',
  'update-primary-region',
  'update-primary-region-new-primary',
  'import-key-material',
];

/** Every 12-digit number anywhere in a value. */
function accountsIn(value: unknown): Set<string> {
  return new Set(JSON.stringify(value).match(/\b\d{12}\b/g) ?? []);
}

/** A fixture as another account's default bus would carry it: every account id replaced. */
function fromForeignAccount(name: FixtureName): Record<string, any> {
  return JSON.parse(JSON.stringify(loadFixture(name)).replaceAll(FIXTURE_ACCOUNT, FOREIGN_ACCOUNT)) as Record<string, any>;
}

describe('parseTrigger with the account the reconciler works for', () => {
  const ours = { accountId: FIXTURE_ACCOUNT };

  it('names one account everywhere in every fixture, the one of the envelope', () => {
    for (const name of ALL_FIXTURES) {
      const event = loadFixture(name);
      expect([name, event.account, [...accountsIn(event)]]).toEqual([name, FIXTURE_ACCOUNT, [FIXTURE_ACCOUNT]]);
    }
  });

  it("reads every fixture of its own account as it reads it without an account", () => {
    for (const name of ALL_FIXTURES) {
      expect([name, parseTrigger(loadFixture(name), ours)]).toEqual([name, parseTrigger(loadFixture(name))]);
    }
  });

  it.each(ALL_FIXTURES)("skips the %s event of another account's bus", (name) => {
    expect(parseTrigger(fromForeignAccount(name), ours)).toEqual({
      kind: 'skip',
      reason: "account '444455556666' is not this reconciler's account (111122223333)",
      eventId: loadFixture(name).detail.eventID,
    });
  });

  it('skips an event whose account is missing or not a string', () => {
    const missing = loadFixture('tag-resource');
    delete missing.account;
    const numeric = { ...loadFixture('tag-resource'), account: 111122223333 };
    expect(parseTrigger(missing, ours)).toMatchObject({ kind: 'skip', reason: "account (missing) is not this reconciler's account (111122223333)" });
    expect(parseTrigger(numeric, ours)).toMatchObject({ kind: 'skip', reason: "account (number) is not this reconciler's account (111122223333)" });
  });

  it('skips a record another account received, even on our own bus', () => {
    const event = loadFixture('tag-resource');
    event.detail.recipientAccountId = FOREIGN_ACCOUNT;
    expect(parseTrigger(event, ours)).toEqual({
      kind: 'skip',
      reason: "detail.recipientAccountId '444455556666' is not this reconciler's account (111122223333)",
      eventId: 'd4f6b8c0-3e5a-4b7c-9d1f-3a5b7c9d1e2f',
    });
  });

  it("skips our account's record of a call on another account's key (the caller's copy of a cross-account call)", () => {
    const event = loadFixture('cancel-key-deletion');
    const foreignKey = `arn:aws:kms:us-west-2:${FOREIGN_ACCOUNT}:key/${FIXTURE_KEY_ID}`;
    event.detail.resources = [{ accountId: FOREIGN_ACCOUNT, type: 'AWS::KMS::Key', ARN: foreignKey }];
    event.detail.requestParameters.keyId = foreignKey;
    event.detail.responseElements.keyId = foreignKey;
    expect(parseTrigger(event, ours)).toEqual({
      kind: 'skip',
      reason: "CancelKeyDeletion names a key of account 444455556666, not of this reconciler's account (111122223333)",
      eventId: event.detail.eventID,
    });
  });

  it('acts on a call made by a principal of another account on our key: the key decides, not the caller', () => {
    const event = loadFixture('tag-resource');
    event.detail.userIdentity = {
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLEFOREIGN:admin',
      arn: `arn:aws:sts::${FOREIGN_ACCOUNT}:assumed-role/KeyAdmin/admin`,
      accountId: FOREIGN_ACCOUNT,
    };
    expect(parseTrigger(event, ours)).toMatchObject({ kind: 'request', request: { eventName: 'TagResource', keyId: `arn:aws:kms:us-east-1:${FIXTURE_ACCOUNT}:key/${FIXTURE_KEY_ID}` } });
  });

  it('skips nothing by account when the account is unknown (the CLI, local runs)', () => {
    expect(parseTrigger(fromForeignAccount('tag-resource'))).toMatchObject({
      kind: 'request',
      request: { keyId: `arn:aws:kms:us-east-1:${FOREIGN_ACCOUNT}:key/${FIXTURE_KEY_ID}` },
    });
  });
});

describe('parseTrigger and the eventSource', () => {
  it.each([
    ['ec2.amazonaws.com', "detail.eventSource 'ec2.amazonaws.com' is not kms.amazonaws.com"],
    ['KMS.amazonaws.com', "detail.eventSource 'KMS.amazonaws.com' is not kms.amazonaws.com"],
    [undefined, 'detail.eventSource (missing) is not kms.amazonaws.com'],
    [42, 'detail.eventSource (number) is not kms.amazonaws.com'],
  ])('skips a record whose eventSource is %s, with or without the account', (eventSource, reason) => {
    const event = loadFixture('tag-resource');
    if (eventSource === undefined) delete event.detail.eventSource;
    else event.detail.eventSource = eventSource;
    const skipped = { kind: 'skip', reason, eventId: 'd4f6b8c0-3e5a-4b7c-9d1f-3a5b7c9d1e2f' };
    expect(parseTrigger(event)).toEqual(skipped);
    expect(parseTrigger(event, { accountId: FIXTURE_ACCOUNT })).toEqual(skipped);
  });

  it("skips another service's record, however malformed, instead of rejecting it", () => {
    const event = loadFixture('tag-resource');
    event.detail = { eventSource: 's3.amazonaws.com', eventName: 42 };
    expect(parseTrigger(event)).toEqual({ kind: 'skip', reason: "detail.eventSource 's3.amazonaws.com' is not kms.amazonaws.com", eventId: event.id });
  });
});

describe('the local key-event rule (serverless.yml, in the local stack\'s account)', () => {
  it('passes every successful trigger fixture of the local account', () => {
    const passed = ALL_FIXTURES.filter((name) => matchesKeyEventRule(loadFixture(name)));
    expect(passed).toEqual(ALL_FIXTURES.filter((name) => name !== 'replicate-key-failed'));
    expect(new Set(passed.map((name) => loadFixture(name).detail.eventName))).toEqual(new Set(TRIGGER_EVENT_NAMES));
  });

  it("drops another account's events, events without an account, and other services' records", () => {
    const noAccount = loadFixture('tag-resource');
    delete noAccount.account;
    const otherService = loadFixture('tag-resource');
    otherService.detail.eventSource = 'ec2.amazonaws.com';
    for (const event of [fromForeignAccount('tag-resource'), fromForeignAccount('create-key'), noAccount, otherService]) {
      expect(matchesKeyEventRule(event)).toBe(false);
    }
  });
});
