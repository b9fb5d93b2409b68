import { CreateKeyCommand, ReplicateKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedKms } from '../../src/emulator/index.js';
import { errorOf, startHarness, type KmsHarness } from './support.js';

describe('embedded KMS: Regions not enabled for the account', () => {
  let h: KmsHarness;

  beforeAll(async () => {
    h = await startHarness({ disabledRegions: ['me-south-1'] });
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses ReplicateKey into a disabled Region with UnsupportedOperationException, and nothing is created', async () => {
    const created = await h.client('us-east-1').send(new CreateKeyCommand({ MultiRegion: true }));
    const keyId = created.KeyMetadata?.KeyId ?? '';

    const error = await errorOf(h.client('us-east-1').send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'me-south-1' })));

    expect([error.name, error.message]).toEqual(['UnsupportedOperationException', 'Region me-south-1 is not enabled for account 111122223333.']);
    expect(h.kms.describe('me-south-1', keyId)).toBeUndefined();
    const ok = await h.client('us-east-1').send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'eu-west-1' }));
    expect(ok.ReplicaKeyMetadata?.KeyState).toBe('Creating');
  });

  it('rejects a malformed Region in the option', async () => {
    await expect(startEmbeddedKms({ disabledRegions: ['Mars'] })).rejects.toThrow("disabledRegions: 'Mars' is not a Region code");
  });
});
