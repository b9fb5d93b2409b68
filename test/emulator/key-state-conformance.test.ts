import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  GetKeyPolicyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  ListKeyRotationsCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdatePrimaryRegionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KEY_STATE_TABLE,
  KEY_STATES,
  STATE_PHRASES,
  type KeyOperationName,
  type KeyState,
} from '../../src/emulator/index.js';
import { errorOf, ManualClock, startHarness, wrapKeyMaterial, type KmsHarness } from './support.js';

/**
 * Walks every cell of the emulator's key-state table (operation × key state) over HTTP with the
 * unmodified SDK: each cell gets a fresh multi-Region key in that state, and the operation must
 * succeed where the table allows it and answer exactly the table's error elsewhere. With
 * key-state-table.test.ts (the table against the fact sheet) the behaviour cannot drift from either.
 */

const HOME = 'us-east-1';
/** Where each key family has its one replica, and where UpdatePrimaryRegion moves the primary. */
const REPLICA_REGION = 'eu-west-1';
/** Where ReplicateKey puts a new replica. */
const NEW_REPLICA_REGION = 'ap-southeast-2';
/** The material of every EXTERNAL key of the walk that has one. */
const MATERIAL = Buffer.alloc(32, 7);
/** The operations on imported material: walked with EXTERNAL keys (any other origin fails before the table). */
const IMPORT_OPERATIONS: ReadonlySet<KeyOperationName> = new Set(['GetParametersForImport', 'ImportKeyMaterial', 'DeleteImportedKeyMaterial']);

/** The key an operation is called on: its Region, id and ARN. */
interface KeyUnderTest {
  region: string;
  keyId: string;
  arn: string;
}

describe('the key-state table, walked over HTTP with the SDK', () => {
  const clock = new ManualClock();
  let h: KmsHarness;
  const home = (): KMSClient => h.client(HOME);

  beforeAll(async () => {
    // The clock stays put: an UpdatePrimaryRegion keeps both keys Updating for the whole run.
    h = await startHarness({ now: clock.now, primaryUpdateDelayMs: 60_000 });
  });
  afterAll(async () => {
    await h.close();
  });

  /** A multi-Region primary in HOME with an Enabled replica in REPLICA_REGION, through the API. */
  async function primaryWithReplica(): Promise<KeyUnderTest> {
    const created = await home().send(new CreateKeyCommand({ MultiRegion: true }));
    const keyId = created.KeyMetadata?.KeyId ?? '';
    await home().send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: REPLICA_REGION }));
    return { region: HOME, keyId, arn: created.KeyMetadata?.Arn ?? '' };
  }

  /** An EXTERNAL multi-Region primary in HOME holding MATERIAL, with an Enabled replica in REPLICA_REGION holding it too. */
  function externalPrimaryWithReplica(): KeyUnderTest {
    const seeded = h.kms.seedKey({ region: HOME, multiRegion: true, origin: 'EXTERNAL', keyState: 'Enabled', keyMaterial: MATERIAL });
    h.kms.seedReplica(seeded.KeyId, HOME, REPLICA_REGION, { keyState: 'Enabled' });
    return { region: HOME, keyId: seeded.KeyId, arn: seeded.Arn };
  }

  /**
   * An EXTERNAL key in `state` for the imported-material operations: seeded with MATERIAL, then
   * brought to the state through the API where the API can.
   */
  async function externalKeyIn(state: KeyState): Promise<KeyUnderTest> {
    switch (state) {
      case 'Enabled':
        return externalPrimaryWithReplica();
      case 'Disabled': {
        const key = externalPrimaryWithReplica();
        await home().send(new DisableKeyCommand({ KeyId: key.keyId }));
        return key;
      }
      case 'PendingDeletion': {
        const seeded = h.kms.seedKey({ region: HOME, multiRegion: true, origin: 'EXTERNAL', keyState: 'Enabled', keyMaterial: MATERIAL });
        await home().send(new ScheduleKeyDeletionCommand({ KeyId: seeded.KeyId, PendingWindowInDays: 7 }));
        return { region: HOME, keyId: seeded.KeyId, arn: seeded.Arn };
      }
      case 'PendingReplicaDeletion': {
        const key = externalPrimaryWithReplica();
        await home().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
        return key;
      }
      case 'PendingImport': {
        const created = await home().send(new CreateKeyCommand({ MultiRegion: true, Origin: 'EXTERNAL' }));
        return { region: HOME, keyId: created.KeyMetadata?.KeyId ?? '', arn: created.KeyMetadata?.Arn ?? '' };
      }
      case 'Unavailable':
      case 'Creating': {
        const seeded = h.kms.seedKey({ region: HOME, multiRegion: true, origin: 'EXTERNAL', keyState: state, keyMaterial: MATERIAL });
        return { region: HOME, keyId: seeded.KeyId, arn: seeded.Arn };
      }
      case 'Updating': {
        const key = externalPrimaryWithReplica();
        await home().send(new UpdatePrimaryRegionCommand({ KeyId: key.keyId, PrimaryRegion: REPLICA_REGION }));
        return key;
      }
    }
  }

  /**
   * A key in `state`, reached the way AWS reaches it where the API can (the multi-Region states
   * with a replica in REPLICA_REGION where the state allows one); `Unavailable` (custom key stores
   * only) and a `Creating` primary exist only by seeding. For ReplicateKey the key is the primary:
   * while Updating that is the new primary, in REPLICA_REGION.
   */
  async function keyIn(state: KeyState, operation: KeyOperationName): Promise<KeyUnderTest> {
    if (IMPORT_OPERATIONS.has(operation)) return externalKeyIn(state);
    switch (state) {
      case 'Enabled':
        return primaryWithReplica();
      case 'Disabled': {
        const key = await primaryWithReplica();
        await home().send(new DisableKeyCommand({ KeyId: key.keyId }));
        return key;
      }
      case 'PendingDeletion': {
        const created = await home().send(new CreateKeyCommand({ MultiRegion: true }));
        await home().send(new ScheduleKeyDeletionCommand({ KeyId: created.KeyMetadata?.KeyId, PendingWindowInDays: 7 }));
        return { region: HOME, keyId: created.KeyMetadata?.KeyId ?? '', arn: created.KeyMetadata?.Arn ?? '' };
      }
      case 'PendingReplicaDeletion': {
        const key = await primaryWithReplica();
        await home().send(new ScheduleKeyDeletionCommand({ KeyId: key.keyId, PendingWindowInDays: 7 }));
        return key;
      }
      case 'PendingImport': {
        const created = await home().send(new CreateKeyCommand({ MultiRegion: true, Origin: 'EXTERNAL' }));
        return { region: HOME, keyId: created.KeyMetadata?.KeyId ?? '', arn: created.KeyMetadata?.Arn ?? '' };
      }
      case 'Unavailable':
      case 'Creating': {
        const seeded = h.kms.seedKey({ region: HOME, multiRegion: true, keyState: state });
        h.kms.seedReplica(seeded.KeyId, HOME, REPLICA_REGION);
        return { region: HOME, keyId: seeded.KeyId, arn: seeded.Arn };
      }
      case 'Updating': {
        const key = await primaryWithReplica();
        await home().send(new UpdatePrimaryRegionCommand({ KeyId: key.keyId, PrimaryRegion: REPLICA_REGION }));
        // The operations on a primary are called on the new one (the old one already reads as a replica).
        if (operation !== 'ReplicateKey' && operation !== 'RotateKeyOnDemand') return key;
        const newPrimary = h.kms.describe(REPLICA_REGION, key.keyId);
        return { region: REPLICA_REGION, keyId: key.keyId, arn: newPrimary?.Arn ?? '' };
      }
    }
  }

  /**
   * Calls `operation` on `key` with a request that is valid in every other respect. ImportKeyMaterial
   * first gets import parameters where the table lets it (the key state is checked before the
   * token, so elsewhere any token does).
   */
  async function call(operation: KeyOperationName, key: KeyUnderTest, allowed: boolean): Promise<unknown> {
    const client = h.client(key.region);
    const KeyId = key.keyId;
    switch (operation) {
      case 'ReplicateKey':
        return client.send(new ReplicateKeyCommand({ KeyId, ReplicaRegion: NEW_REPLICA_REGION }));
      case 'DescribeKey':
        return client.send(new DescribeKeyCommand({ KeyId }));
      case 'ListResourceTags':
        return client.send(new ListResourceTagsCommand({ KeyId }));
      case 'GetKeyPolicy':
        return client.send(new GetKeyPolicyCommand({ KeyId, PolicyName: 'default' }));
      case 'PutKeyPolicy':
        return client.send(new PutKeyPolicyCommand({ KeyId, Policy: '{"Version":"2012-10-17","Statement":[]}' }));
      case 'TagResource':
        return client.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'team', TagValue: 'keys' }] }));
      case 'UntagResource':
        return client.send(new UntagResourceCommand({ KeyId, TagKeys: ['team'] }));
      case 'ScheduleKeyDeletion':
        return client.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
      case 'CancelKeyDeletion':
        return client.send(new CancelKeyDeletionCommand({ KeyId }));
      case 'EnableKey':
        return client.send(new EnableKeyCommand({ KeyId }));
      case 'DisableKey':
        return client.send(new DisableKeyCommand({ KeyId }));
      case 'UpdatePrimaryRegion':
        // While Updating this repeats the update in flight: the one call the table's ✓ covers.
        return client.send(new UpdatePrimaryRegionCommand({ KeyId, PrimaryRegion: REPLICA_REGION }));
      case 'GetParametersForImport':
        return client.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
      case 'ImportKeyMaterial': {
        let ImportToken: Uint8Array = Buffer.alloc(32, 1);
        let EncryptedKeyMaterial: Uint8Array = Buffer.alloc(256, 1);
        if (allowed) {
          const parameters = await client.send(new GetParametersForImportCommand({ KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
          ImportToken = parameters.ImportToken ?? ImportToken;
          EncryptedKeyMaterial = wrapKeyMaterial(parameters.PublicKey, MATERIAL);
        }
        return client.send(new ImportKeyMaterialCommand({ KeyId, ImportToken, EncryptedKeyMaterial, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
      }
      case 'DeleteImportedKeyMaterial':
        return client.send(new DeleteImportedKeyMaterialCommand({ KeyId }));
      case 'RotateKeyOnDemand':
        return client.send(new RotateKeyOnDemandCommand({ KeyId }));
      case 'ListKeyRotations':
        return client.send(new ListKeyRotationsCommand({ KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    }
  }

  const cells = (Object.keys(KEY_STATE_TABLE) as KeyOperationName[]).flatMap((operation) =>
    KEY_STATES.map((state) => ({ operation, state, rule: KEY_STATE_TABLE[operation][state] })),
  );

  it('walks every cell: 17 operations × 8 key states', () => {
    expect(cells).toHaveLength(136);
  });

  it.each(cells)('$operation on a $state key', async ({ operation, state, rule }) => {
    // Prepare
    const key = await keyIn(state, operation);
    expect(h.kms.describe(key.region, key.keyId)?.KeyState).toBe(state);

    // Act
    const outcome = call(operation, key, rule.allowed);

    // Assess
    if (rule.allowed) {
      await expect(outcome).resolves.toBeDefined();
    } else {
      expect(await errorOf(outcome)).toEqual({
        name: rule.code,
        message: `${key.arn} ${rule.phrase ?? STATE_PHRASES[state]}.`,
        status: 400,
      });
    }
  });

  it('answers KMSInvalidStateException "is updating" to any UpdatePrimaryRegion other than the repeat while Updating', async () => {
    const key = await keyIn('Updating', 'UpdatePrimaryRegion');

    const error = await errorOf(home().send(new UpdatePrimaryRegionCommand({ KeyId: key.keyId, PrimaryRegion: 'us-west-2' })));

    expect(error).toEqual({ name: 'KMSInvalidStateException', message: `${key.arn} is updating.`, status: 400 });
  });
});
