import { CreateKeyCommand, GetKeyPolicyCommand, PutKeyPolicyCommand, ReplicateKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KEY_STATES } from '../../src/emulator/index.js';
import { errorOf, ManualClock, startHarness, type KmsHarness } from './support.js';

const ACCOUNT = '111122223333';
const POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] });

describe('embedded KMS: PutKeyPolicy', () => {
  const clock = new ManualClock();
  let h: KmsHarness;

  beforeAll(async () => {
    h = await startHarness({ now: clock.now });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.kms.takeEvents();
  });

  const east = (): ReturnType<KmsHarness['client']> => h.client('us-east-1');

  it('replaces the policy that GetKeyPolicy returns and records the call in CloudTrail', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    await east().send(new PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'default', Policy: POLICY, BypassPolicyLockoutSafetyCheck: false }));
    const got = await east().send(new GetKeyPolicyCommand({ KeyId: key.KeyId }));
    expect(got.Policy).toBe(POLICY);

    const events = h.kms.takeEvents();
    expect(events).toHaveLength(1);
    expect(events[0]?.detail).toMatchObject({
      eventName: 'PutKeyPolicy',
      awsRegion: 'us-east-1',
      requestParameters: { keyId: key.KeyId, policyName: 'default', policy: POLICY, bypassPolicyLockoutSafetyCheck: false },
      responseElements: null,
      resources: [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: key.Arn }],
    });
  });

  it('answers MalformedPolicyDocumentException for a policy that is not a JSON object, keeping the old one', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', policy: POLICY });
    for (const policy of ['not json', '[1,2]', '"text"']) {
      const error = await errorOf(east().send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: policy })));
      expect(error.name).toBe('MalformedPolicyDocumentException');
    }
    expect((await east().send(new GetKeyPolicyCommand({ KeyId: key.KeyId }))).Policy).toBe(POLICY);
    expect(h.kms.takeEvents().map((e) => e.detail.errorCode)).toEqual([
      'MalformedPolicyDocumentException',
      'MalformedPolicyDocumentException',
      'MalformedPolicyDocumentException',
    ]);
  });

  it('answers NotFoundException for another PolicyName and LimitExceededException beyond 32 KB', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    expect(await errorOf(east().send(new PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: 'other', Policy: POLICY })))).toEqual({
      name: 'NotFoundException',
      message: 'No such policy exists',
      status: 400,
    });
    const big = JSON.stringify({ Version: '2012-10-17', Pad: 'x'.repeat(32_768) });
    expect((await errorOf(east().send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: big })))).name).toBe('LimitExceededException');
  });

  it('is allowed in every key state', async () => {
    for (const state of KEY_STATES) {
      const multiRegion = state === 'Creating' || state === 'Updating' || state === 'PendingReplicaDeletion';
      const key = h.kms.seedKey({ region: 'eu-west-1', multiRegion, keyState: state });
      const policy = JSON.stringify({ Version: '2012-10-17', Id: state });
      await h.client('eu-west-1').send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: policy }));
      expect((await h.client('eu-west-1').send(new GetKeyPolicyCommand({ KeyId: key.KeyId }))).Policy).toBe(policy);
    }
  });

  it('holds CreateKey and ReplicateKey to the same 32 KB key policy limit, creating nothing', async () => {
    // "A key policy document must conform to: up to 32 kilobytes (32,768 bytes)", for CreateKey,
    // ReplicateKey and PutKeyPolicy alike [KMS guide key-policy-overview][fact sheet §3].
    const big = JSON.stringify({ Version: '2012-10-17', Pad: 'x'.repeat(32_768) });
    const limit = { name: 'LimitExceededException', message: 'The key policy exceeds the maximum size of 32768 bytes.', status: 400 };
    const primary = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const callsBefore = h.kms.calls().length;

    const created = await errorOf(east().send(new CreateKeyCommand({ Policy: big })));
    const replicated = await errorOf(east().send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: 'eu-central-1', Policy: big })));

    expect(created).toEqual(limit);
    expect(replicated).toEqual(limit);
    expect(h.kms.describe('eu-central-1', primary.KeyId)).toBeUndefined();
    expect(h.kms.calls().slice(callsBefore).map((call) => call.errorCode)).toEqual(['LimitExceededException', 'LimitExceededException']);
  });

  it('refuses a key policy with a character outside the model\'s set (ValidationException), for CreateKey and PutKeyPolicy', async () => {
    // Policy: `[\u0009\u000A\u000D\u0020-\u00FF]+` [S2][fact sheet §1.1]; '€' is U+20AC.
    const policy = JSON.stringify({ Version: '2012-10-17', Id: 'price in €' });
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const refusal = {
      name: 'ValidationException',
      message: `1 validation error detected: Value '${policy}' at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+`,
      status: 400,
    };

    const created = await errorOf(east().send(new CreateKeyCommand({ Policy: policy })));
    const put = await errorOf(east().send(new PutKeyPolicyCommand({ KeyId: key.KeyId, Policy: policy })));

    expect(created).toEqual(refusal);
    expect(put).toEqual(refusal);
  });
});
