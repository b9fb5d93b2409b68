import { CreateKeyCommand, DescribeKeyCommand, ReplicateKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, startHarness, type KmsHarness } from './support.js';

/**
 * The embedded KMS against facts recorded from real AWS by LocalStack's AWS-validated KMS tests
 * (`tests/aws/services/kms/test_kms.py`: `test_replicate_replica_key_should_fail`,
 * `test_replicate_key`, `test_get_key_in_different_region`; snapshots validated 2025-09 and
 * 2025-11) [S25][fact sheet §10].
 */

const ACCOUNT = '111122223333';

describe('embedded KMS: facts recorded from real AWS [S25]', () => {
  let h: KmsHarness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  /** A multi-Region primary in us-east-1 with a replica in us-west-2, through the API. */
  async function replicated(): Promise<{ keyId: string; replicaArn: string }> {
    const created = await h.client('us-east-1').send(new CreateKeyCommand({ MultiRegion: true }));
    const keyId = created.KeyMetadata?.KeyId ?? '';
    const out = await h.client('us-east-1').send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'us-west-2' }));
    return { keyId, replicaArn: out.ReplicaKeyMetadata?.Arn ?? '' };
  }

  it.each([
    ['another Region', 'eu-west-1'],
    ['its own Region (the primary check comes before the same-Region check)', 'us-west-2'],
  ])('answers UnsupportedOperationException "<arn> is not a multi-region primary key." to replicating a replica into %s', async (_case, replicaRegion) => {
    const { keyId, replicaArn } = await replicated();

    const error = await errorOf(h.client('us-west-2').send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: replicaRegion })));

    expect(error).toEqual({ name: 'UnsupportedOperationException', message: `${replicaArn} is not a multi-region primary key.`, status: 400 });
  });

  it('answers a ReplicateKey without a Description with Description "", KeyState Creating and Enabled false', async () => {
    const created = await h.client('us-east-1').send(new CreateKeyCommand({ MultiRegion: true, Description: 'the primary has one' }));

    const out = await h.client('us-east-1').send(new ReplicateKeyCommand({ KeyId: created.KeyMetadata?.KeyId, ReplicaRegion: 'eu-central-1' }));

    expect([out.ReplicaKeyMetadata?.Description, out.ReplicaKeyMetadata?.KeyState, out.ReplicaKeyMetadata?.Enabled]).toEqual(['', 'Creating', false]);
  });

  it('gives a replica made without a Policy the default key-default-1 policy: one statement, kms:* for the account root', async () => {
    const created = await h.client('us-east-1').send(new CreateKeyCommand({ MultiRegion: true }));

    const out = await h.client('us-east-1').send(new ReplicateKeyCommand({ KeyId: created.KeyMetadata?.KeyId, ReplicaRegion: 'ap-northeast-1' }));

    expect(out.ReplicaPolicy).toBe(
      [
        '{',
        '  "Version" : "2012-10-17",',
        '  "Id" : "key-default-1",',
        '  "Statement" : [ {',
        '    "Sid" : "Enable IAM User Permissions",',
        '    "Effect" : "Allow",',
        '    "Principal" : {',
        `      "AWS" : "arn:aws:iam::${ACCOUNT}:root"`,
        '    },',
        '    "Action" : "kms:*",',
        '    "Resource" : "*"',
        '  } ]',
        '}',
      ].join('\n'),
    );
  });

  it("answers NotFoundException \"Key '<arn in the caller's Region>' does not exist\" to a key id of another Region", async () => {
    const created = await h.client('us-east-1').send(new CreateKeyCommand({ MultiRegion: true }));
    const keyId = created.KeyMetadata?.KeyId ?? '';

    const error = await errorOf(h.client('eu-west-2').send(new DescribeKeyCommand({ KeyId: keyId })));

    expect(error).toEqual({ name: 'NotFoundException', message: `Key 'arn:aws:kms:eu-west-2:${ACCOUNT}:key/${keyId}' does not exist`, status: 400 });
  });
});
