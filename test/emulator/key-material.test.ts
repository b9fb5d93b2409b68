import {
  CreateKeyCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  ListKeyRotationsCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type ImportKeyMaterialCommandInput,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { constants, createCipheriv, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CloudTrailEventBridgeEvent } from '../../src/emulator/index.js';
import { KeyStore } from '../../src/emulator/kms/store.js';
import { errorOf, ManualClock, rawCall, startHarness, wrapKeyMaterial, type KmsHarness } from './support.js';

/**
 * Conformance of the embedded KMS with the documented rules of imported key material for
 * multi-Region keys (2025) [fact sheet §10][S26] and the API model [S2] (GetParametersForImport,
 * ImportKeyMaterial, DeleteImportedKeyMaterial, RotateKeyOnDemand, ListKeyRotations), over HTTP
 * with the unmodified SDK. The material is wrapped with node:crypto as the KMS guide tells a user to.
 */

const ACCOUNT = '111122223333';
const HEX64 = /^[0-9a-f]{64}$/;
const arnOf = (region: string, keyId: string): string => `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`;

describe('embedded KMS: imported key material', () => {
  const clock = new ManualClock();
  let h: KmsHarness;
  const east = (): KMSClient => h.client('us-east-1');
  const west = (): KMSClient => h.client('us-west-2');

  beforeAll(async () => {
    h = await startHarness({ now: clock.now });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.kms.takeEvents();
  });

  /** GetParametersForImport then ImportKeyMaterial of `material` (RSAES_OAEP_SHA_256, no expiry). */
  async function importInto(
    client: KMSClient,
    keyId: string,
    material: Buffer,
    extra: Partial<ImportKeyMaterialCommandInput> = {},
  ): Promise<{ KeyId?: string; KeyMaterialId?: string }> {
    const parameters = await client.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    return client.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: parameters.ImportToken,
        EncryptedKeyMaterial: wrapKeyMaterial(parameters.PublicKey, material),
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        ...extra,
      }),
    );
  }

  /** An EXTERNAL multi-Region primary in us-east-1 holding `material`, with an Enabled replica in us-west-2 holding it too. */
  async function familyWith(material: Buffer): Promise<string> {
    const created = await east().send(new CreateKeyCommand({ MultiRegion: true, Origin: 'EXTERNAL' }));
    const keyId = created.KeyMetadata?.KeyId ?? '';
    await importInto(east(), keyId, material);
    await east().send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'us-west-2' }));
    await importInto(west(), keyId, material);
    return keyId;
  }

  async function materialStates(client: KMSClient, keyId: string): Promise<Array<[string, string, string]>> {
    const out = await client.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    return (out.Rotations ?? []).map((r) => [r.KeyMaterialId ?? '', r.KeyMaterialState ?? '', r.ImportState ?? '']);
  }

  it('GetParametersForImport returns an RSA public key of the requested size, an import token and a 24-hour validity [S2]', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', multiRegion: true, origin: 'EXTERNAL' });

    const out = await east().send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_3072' }));

    const publicKey = createPublicKey({ key: Buffer.from(out.PublicKey ?? []), format: 'der', type: 'spki' });
    expect(publicKey.asymmetricKeyType).toBe('rsa');
    expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(out.KeyId).toBe(key.Arn);
    expect(out.ImportToken?.length).toBeGreaterThan(0);
    expect(out.ParametersValidTo).toEqual(new Date(clock.current + 24 * 3_600_000));
  });

  it('answers UnsupportedOperationException to the import operations on a key whose material KMS made [S1 key-state.md fn 6, 9]', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', multiRegion: true });
    const expected = { name: 'UnsupportedOperationException', message: `${key.Arn} origin is AWS_KMS which is not valid for this operation.`, status: 400 };

    expect(await errorOf(east().send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })))).toEqual(expected);
    expect(await errorOf(east().send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId })))).toEqual(expected);
  });

  it('imports the first material as CURRENT: the key is Enabled and DescribeKey names it [S2 ImportKeyMaterial, KeyMetadata]', async () => {
    const created = await east().send(new CreateKeyCommand({ MultiRegion: true, Origin: 'EXTERNAL' }));
    const keyId = created.KeyMetadata?.KeyId ?? '';
    expect(created.KeyMetadata?.KeyState).toBe('PendingImport');
    expect(created.KeyMetadata?.CurrentKeyMaterialId).toBeUndefined();

    const imported = await importInto(east(), keyId, randomBytes(32));

    expect(imported.KeyId).toBe(arnOf('us-east-1', keyId));
    expect(imported.KeyMaterialId).toMatch(HEX64);
    const described = await east().send(new DescribeKeyCommand({ KeyId: keyId }));
    expect([described.KeyMetadata?.KeyState, described.KeyMetadata?.CurrentKeyMaterialId]).toEqual(['Enabled', imported.KeyMaterialId]);
    expect(await materialStates(east(), keyId)).toEqual([[imported.KeyMaterialId, 'CURRENT', 'IMPORTED']]);
  });

  it('accepts material wrapped with RSA_AES_KEY_WRAP_SHA_256: an RSA-OAEP AES key, then AES key wrap with padding [KMS guide importing-keys-encrypt-key-material]', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', origin: 'EXTERNAL' });
    const material = randomBytes(32);
    const parameters = await east().send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const aesKey = randomBytes(32);
    const wrappedAesKey = publicEncrypt(
      { key: createPublicKey({ key: Buffer.from(parameters.PublicKey ?? []), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      aesKey,
    );
    const cipher = createCipheriv('id-aes256-wrap-pad', aesKey, Buffer.from('A65959A6', 'hex'));
    const wrappedMaterial = Buffer.concat([cipher.update(material), cipher.final()]);

    const out = await east().send(
      new ImportKeyMaterialCommand({
        KeyId: key.KeyId,
        ImportToken: parameters.ImportToken,
        EncryptedKeyMaterial: Buffer.concat([wrappedAesKey, wrappedMaterial]),
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      }),
    );

    expect(h.kms.describe('us-east-1', key.KeyId)).toMatchObject({ KeyState: 'Enabled', CurrentKeyMaterialId: out.KeyMaterialId });
  });

  it('refuses an unknown import token, or one issued for another key, with InvalidImportTokenException [S2]', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', origin: 'EXTERNAL' });
    const other = h.kms.seedKey({ region: 'us-east-1', origin: 'EXTERNAL' });
    const parameters = await east().send(new GetParametersForImportCommand({ KeyId: other.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const EncryptedKeyMaterial = wrapKeyMaterial(parameters.PublicKey, randomBytes(32));
    const expected = { name: 'InvalidImportTokenException', message: 'The import token is invalid or is associated with a different KMS key.', status: 400 };

    const unknown = east().send(new ImportKeyMaterialCommand({ KeyId: key.KeyId, ImportToken: randomBytes(32), EncryptedKeyMaterial, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
    const foreign = east().send(new ImportKeyMaterialCommand({ KeyId: key.KeyId, ImportToken: parameters.ImportToken, EncryptedKeyMaterial, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));

    expect(await errorOf(unknown)).toEqual(expected);
    expect(await errorOf(foreign)).toEqual(expected);
    expect(h.kms.describe('us-east-1', key.KeyId)?.KeyState).toBe('PendingImport');
  });

  it('refuses a token older than 24 hours with ExpiredImportTokenException [S2]', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', origin: 'EXTERNAL' });
    const parameters = await east().send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    clock.advance(24 * 3_600_000 + 1000);

    const error = await errorOf(
      east().send(
        new ImportKeyMaterialCommand({
          KeyId: key.KeyId,
          ImportToken: parameters.ImportToken,
          EncryptedKeyMaterial: wrapKeyMaterial(parameters.PublicKey, randomBytes(32)),
          ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        }),
      ),
    );

    expect(error.name).toBe('ExpiredImportTokenException');
  });

  it('refuses material that does not decrypt under the wrapping key with InvalidCiphertextException [S2]', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', origin: 'EXTERNAL' });
    const parameters = await east().send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const wrongHash = wrapKeyMaterial(parameters.PublicKey, randomBytes(32), 'sha1');

    const garbage = east().send(new ImportKeyMaterialCommand({ KeyId: key.KeyId, ImportToken: parameters.ImportToken, EncryptedKeyMaterial: randomBytes(256), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
    const otherAlgorithm = east().send(new ImportKeyMaterialCommand({ KeyId: key.KeyId, ImportToken: parameters.ImportToken, EncryptedKeyMaterial: wrongHash, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));

    expect((await errorOf(garbage)).name).toBe('InvalidCiphertextException');
    expect((await errorOf(otherAlgorithm)).name).toBe('InvalidCiphertextException');
  });

  it('refuses material that is not 256 bits with IncorrectKeyMaterialException (INF: the code)', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', origin: 'EXTERNAL' });

    const error = await errorOf(importInto(east(), key.KeyId, randomBytes(16)));

    expect(error).toEqual({
      name: 'IncorrectKeyMaterialException',
      message: 'The key material must be 256 bits for a symmetric encryption key; it is 128 bits.',
      status: 400,
    });
  });

  it('checks ExpirationModel against ValidTo: KEY_MATERIAL_EXPIRES (the default) needs one within 365 days [S2]', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', origin: 'EXTERNAL' });

    const noValidTo = await errorOf(importInto(east(), key.KeyId, randomBytes(32), { ExpirationModel: undefined }));
    const tooFar = await errorOf(importInto(east(), key.KeyId, randomBytes(32), { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date(clock.current + 366 * 86_400_000) }));
    const accepted = await importInto(east(), key.KeyId, randomBytes(32), { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: new Date(clock.current + 30 * 86_400_000) });

    expect([noValidTo.name, tooFar.name]).toEqual(['ValidationException', 'ValidationException']);
    const listed = await east().send(new ListKeyRotationsCommand({ KeyId: key.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
    expect(listed.Rotations).toEqual([
      {
        KeyId: key.KeyId,
        KeyMaterialId: accepted.KeyMaterialId,
        KeyMaterialState: 'CURRENT',
        ImportState: 'IMPORTED',
        ExpirationModel: 'KEY_MATERIAL_EXPIRES',
        ValidTo: new Date(clock.current + 30 * 86_400_000),
      },
    ]);
  });

  it("refuses a replica's import of material other than its primary's with IncorrectKeyMaterialException [S2][S26]", async () => {
    const material = randomBytes(32);
    const created = await east().send(new CreateKeyCommand({ MultiRegion: true, Origin: 'EXTERNAL' }));
    const keyId = created.KeyMetadata?.KeyId ?? '';
    await importInto(east(), keyId, material);
    const replicated = await east().send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'us-west-2' }));
    expect(replicated.ReplicaKeyMetadata?.CurrentKeyMaterialId).toBeUndefined(); // absent from the response [S7]
    expect(h.kms.describe('us-west-2', keyId)?.KeyState).toBe('PendingImport');

    const wrong = await errorOf(importInto(west(), keyId, randomBytes(32)));
    const right = await importInto(west(), keyId, material);

    expect(wrong.name).toBe('IncorrectKeyMaterialException');
    expect(right.KeyMaterialId).toBe(h.kms.describe('us-east-1', keyId)?.CurrentKeyMaterialId);
    expect(h.kms.describe('us-west-2', keyId)).toMatchObject({ KeyState: 'Enabled', CurrentKeyMaterialId: right.KeyMaterialId });
  });

  it('refuses new material imported straight into a replica: new material goes into the primary first [S2 ImportKeyMaterial][S26]', async () => {
    const keyId = await familyWith(randomBytes(32));

    const error = await errorOf(importInto(west(), keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' }));

    expect(error.name).toBe('UnsupportedOperationException');
    expect(error.message).toContain('import new key material into its primary key');
  });

  it('refuses NEW_KEY_MATERIAL that is already associated with the key with IncorrectKeyMaterialException [S2]', async () => {
    const material = randomBytes(32);
    const keyId = await familyWith(material);

    const error = await errorOf(importInto(east(), keyId, material, { ImportType: 'NEW_KEY_MATERIAL' }));

    expect(error.name).toBe('IncorrectKeyMaterialException');
  });

  it('keeps new primary material PENDING_MULTI_REGION_IMPORT_AND_ROTATION until every replica has it, then PENDING_ROTATION [S2 RotationsListEntry]', async () => {
    const first = randomBytes(32);
    const second = randomBytes(32);
    const keyId = await familyWith(first);
    await east().send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'eu-west-1' }));
    await importInto(h.client('eu-west-1'), keyId, first);
    const firstId = h.kms.describe('us-east-1', keyId)?.CurrentKeyMaterialId ?? '';

    const added = await importInto(east(), keyId, second, { ImportType: 'NEW_KEY_MATERIAL' });
    const afterPrimary = await materialStates(east(), keyId);
    await importInto(west(), keyId, second, { ImportType: 'EXISTING_KEY_MATERIAL' });
    const afterOneReplica = await materialStates(west(), keyId);
    await importInto(h.client('eu-west-1'), keyId, second, { ImportType: 'EXISTING_KEY_MATERIAL' });
    const afterAll = await materialStates(east(), keyId);

    const secondId = added.KeyMaterialId ?? '';
    expect(afterPrimary).toEqual([
      [firstId, 'CURRENT', 'IMPORTED'],
      [secondId, 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION', 'IMPORTED'],
    ]);
    expect(afterOneReplica).toEqual([
      [firstId, 'CURRENT', 'IMPORTED'],
      [secondId, 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION', 'IMPORTED'],
    ]);
    expect(afterAll).toEqual([
      [firstId, 'CURRENT', 'IMPORTED'],
      [secondId, 'PENDING_ROTATION', 'IMPORTED'],
    ]);
    expect(await materialStates(h.client('eu-west-1'), keyId)).toEqual(afterAll);
    // The keys keep using their current material meanwhile.
    expect(h.kms.describe('us-west-2', keyId)).toMatchObject({ KeyState: 'Enabled', CurrentKeyMaterialId: firstId });
  });

  it('lists a pending material as PENDING_IMPORT in a replica that has not imported it', async () => {
    const keyId = await familyWith(randomBytes(32));
    const added = await importInto(east(), keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' });

    const states = await materialStates(west(), keyId);

    expect(states[1]).toEqual([added.KeyMaterialId, 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION', 'PENDING_IMPORT']);
  });

  it('refuses a second new material while one is pending (INF: KMSInvalidStateException)', async () => {
    const keyId = await familyWith(randomBytes(32));
    await importInto(east(), keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' });

    const error = await errorOf(importInto(east(), keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' }));

    expect(error.name).toBe('KMSInvalidStateException');
  });

  it('rotates on demand only once every replica holds the pending material; then the whole family uses it [S26][fact sheet §10]', async () => {
    const first = randomBytes(32);
    const second = randomBytes(32);
    const keyId = await familyWith(first);
    const firstId = h.kms.describe('us-east-1', keyId)?.CurrentKeyMaterialId ?? '';
    const added = await importInto(east(), keyId, second, { ImportType: 'NEW_KEY_MATERIAL' });

    const blocked = await errorOf(east().send(new RotateKeyOnDemandCommand({ KeyId: keyId })));
    await importInto(west(), keyId, second, { ImportType: 'EXISTING_KEY_MATERIAL' });
    clock.advance(60_000);
    const rotated = await east().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));

    expect(blocked).toEqual({
      name: 'KMSInvalidStateException',
      message: `${arnOf('us-east-1', keyId)} key material ${added.KeyMaterialId} is PENDING_MULTI_REGION_IMPORT_AND_ROTATION: import it into every replica key first.`,
      status: 400,
    });
    expect(rotated.KeyId).toBe(keyId);
    for (const region of ['us-east-1', 'us-west-2']) expect(h.kms.describe(region, keyId)?.CurrentKeyMaterialId).toBe(added.KeyMaterialId);
    const rotations = await east().send(new ListKeyRotationsCommand({ KeyId: keyId }));
    expect(rotations.Rotations?.map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.RotationType, r.RotationDate])).toEqual([
      [added.KeyMaterialId, 'CURRENT', 'ON_DEMAND', new Date(clock.current)],
    ]);
    expect((await materialStates(west(), keyId)).map(([id, state]) => [id, state])).toEqual([
      [firstId, 'NON_CURRENT'],
      [added.KeyMaterialId, 'CURRENT'],
    ]);
  });

  it('refuses RotateKeyOnDemand of an EXTERNAL key with nothing pending, and on a replica (INF: the codes)', async () => {
    const keyId = await familyWith(randomBytes(32));

    const nothingPending = await errorOf(east().send(new RotateKeyOnDemandCommand({ KeyId: keyId })));
    const onReplica = await errorOf(west().send(new RotateKeyOnDemandCommand({ KeyId: keyId })));

    expect(nothingPending.name).toBe('KMSInvalidStateException');
    expect(onReplica).toEqual({ name: 'UnsupportedOperationException', message: `${arnOf('us-west-2', keyId)} is not a multi-region primary key.`, status: 400 });
  });

  it('rotates an AWS_KMS key on demand with new material, at most 25 times [S2 RotateKeyOnDemand]', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1' });
    const firstId = key.CurrentKeyMaterialId;

    for (let i = 0; i < 25; i += 1) await east().send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    const limited = await errorOf(east().send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })));

    expect(firstId).toMatch(HEX64);
    expect(h.kms.describe('us-east-1', key.KeyId)?.CurrentKeyMaterialId).not.toBe(firstId);
    expect(limited.name).toBe('LimitExceededException');
    const all = await east().send(new ListKeyRotationsCommand({ KeyId: key.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Limit: 1000 }));
    const onlyRotations = await east().send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Limit: 10 }));
    expect(all.Rotations).toHaveLength(26);
    expect(all.Rotations?.[0]).toEqual({ KeyId: key.KeyId, KeyMaterialId: firstId, KeyMaterialState: 'NON_CURRENT' });
    expect([onlyRotations.Rotations?.length, onlyRotations.Truncated]).toEqual([10, true]);
    const next = await east().send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Limit: 100, Marker: onlyRotations.NextMarker }));
    expect([next.Rotations?.length, next.Truncated, next.Rotations?.at(-1)?.KeyMaterialState]).toEqual([15, false, 'CURRENT']);
  });

  it('deletes pending material from a primary together with the replicas\' copies [S2 DeleteImportedKeyMaterial]', async () => {
    const keyId = await familyWith(randomBytes(32));
    const second = randomBytes(32);
    const added = await importInto(east(), keyId, second, { ImportType: 'NEW_KEY_MATERIAL' });
    await importInto(west(), keyId, second, { ImportType: 'EXISTING_KEY_MATERIAL' });

    const deleted = await east().send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId, KeyMaterialId: added.KeyMaterialId }));

    expect(deleted).toMatchObject({ KeyId: arnOf('us-east-1', keyId), KeyMaterialId: added.KeyMaterialId });
    expect((await materialStates(east(), keyId)).map(([, state]) => state)).toEqual(['CURRENT']);
    expect((await materialStates(west(), keyId)).map(([, state]) => state)).toEqual(['CURRENT']);
    expect([h.kms.describe('us-east-1', keyId)?.KeyState, h.kms.describe('us-west-2', keyId)?.KeyState]).toEqual(['Enabled', 'Enabled']);
  });

  it("deletes a replica's current material from that replica only: it goes PendingImport, the primary stays Enabled [S2]", async () => {
    const material = randomBytes(32);
    const keyId = await familyWith(material);

    await west().send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    const afterDelete = [h.kms.describe('us-east-1', keyId)?.KeyState, h.kms.describe('us-west-2', keyId)?.KeyState];
    await importInto(west(), keyId, material);

    expect(afterDelete).toEqual(['Enabled', 'PendingImport']);
    expect(h.kms.describe('us-west-2', keyId)?.KeyState).toBe('Enabled');
  });

  it('keeps a key PendingDeletion when its material is deleted [S2 DeleteImportedKeyMaterial]', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', origin: 'EXTERNAL', keyState: 'Enabled' });
    await east().send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));

    await east().send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId }));

    expect(h.kms.describe('us-east-1', key.KeyId)?.KeyState).toBe('PendingDeletion');
  });

  it('needs every current and non-current material in a replica made after a rotation before it is Enabled [S2 ImportKeyMaterial]', async () => {
    const first = randomBytes(32);
    const second = randomBytes(32);
    const keyId = await familyWith(first);
    await importInto(east(), keyId, second, { ImportType: 'NEW_KEY_MATERIAL' });
    await importInto(west(), keyId, second, { ImportType: 'EXISTING_KEY_MATERIAL' });
    await east().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    await east().send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: 'ap-south-1' }));
    const south = h.client('ap-south-1');

    await importInto(south, keyId, second);
    const withCurrentOnly = h.kms.describe('ap-south-1', keyId)?.KeyState;
    await importInto(south, keyId, first);

    expect(withCurrentOnly).toBe('PendingImport');
    expect(h.kms.describe('ap-south-1', keyId)?.KeyState).toBe('Enabled');
  });

  it('records ImportKeyMaterial without the token or the wrapped material, and RotateKeyOnDemand with a RotateKey service event per key [S23][S26]', async () => {
    const second = randomBytes(32);
    const keyId = await familyWith(randomBytes(32));
    const previous = h.kms.describe('us-east-1', keyId)?.CurrentKeyMaterialId;
    h.kms.takeEvents();
    const validTo = new Date(Date.UTC(2026, 11, 30, 17, 47, 45));

    const added = await importInto(east(), keyId, second, { ImportType: 'NEW_KEY_MATERIAL', ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo, KeyMaterialDescription: 'material B' });
    await importInto(west(), keyId, second, { ImportType: 'EXISTING_KEY_MATERIAL' });
    await east().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const events = h.kms.takeEvents();

    expect(events.map((e) => [e['detail-type'], e.detail.eventName, e.region])).toEqual([
      ['AWS API Call via CloudTrail', 'ImportKeyMaterial', 'us-east-1'],
      ['AWS API Call via CloudTrail', 'ImportKeyMaterial', 'us-west-2'],
      ['AWS API Call via CloudTrail', 'RotateKeyOnDemand', 'us-east-1'],
      ['AWS Service Event via CloudTrail', 'RotateKey', 'us-east-1'],
      ['AWS Service Event via CloudTrail', 'RotateKey', 'us-west-2'],
    ]);
    const [imported, , rotate, rotated] = events as CloudTrailEventBridgeEvent[];
    expect(imported?.detail).toMatchObject({
      eventVersion: '1.11',
      requestParameters: { keyId, expirationModel: 'KEY_MATERIAL_EXPIRES', importType: 'NEW_KEY_MATERIAL', keyMaterialDescription: 'material B', validTo: 'Dec 30, 2026, 5:47:45 PM' },
      responseElements: { keyId: arnOf('us-east-1', keyId), keyMaterialId: added.KeyMaterialId },
      resources: [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: arnOf('us-east-1', keyId) }],
    });
    expect(Object.keys(imported?.detail.requestParameters ?? {}).sort()).toEqual(['expirationModel', 'importType', 'keyId', 'keyMaterialDescription', 'validTo']);
    expect(rotate?.detail).toMatchObject({ eventType: 'AwsApiCall', requestParameters: { keyId }, responseElements: { keyId } });
    expect(rotated?.detail).toMatchObject({
      eventType: 'AwsServiceEvent',
      userIdentity: { accountId: ACCOUNT, invokedBy: 'AWS Internal' },
      requestParameters: null,
      responseElements: null,
      resources: [{ accountId: ACCOUNT, type: 'AWS::KMS::Key', ARN: arnOf('us-east-1', keyId) }],
      serviceEventDetails: { rotationType: 'ON_DEMAND', keyOrigin: 'EXTERNAL', previousKeyMaterialId: previous, currentKeyMaterialId: added.KeyMaterialId, keyId },
    });
  });

  it('leaves no record of GetParametersForImport or ListKeyRotations (reads) [S8]', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', origin: 'EXTERNAL' });

    await east().send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' }));
    await east().send(new ListKeyRotationsCommand({ KeyId: key.KeyId }));

    expect(h.kms.takeEvents()).toEqual([]);
  });

  it('refuses the deprecated RSAES_PKCS1_V1_5 and the China-only SM2 wrapping, and an unknown algorithm (ValidationException) [S2]', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', origin: 'EXTERNAL' });
    const ask = (WrappingAlgorithm: string, WrappingKeySpec: string): Promise<unknown> =>
      east().send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: WrappingAlgorithm as 'RSAES_OAEP_SHA_256', WrappingKeySpec: WrappingKeySpec as 'RSA_2048' }));

    expect((await errorOf(ask('RSAES_PKCS1_V1_5', 'RSA_2048'))).name).toBe('UnsupportedOperationException');
    expect((await errorOf(ask('SM2PKE', 'SM2'))).name).toBe('UnsupportedOperationException');
    expect((await errorOf(ask('ROT13', 'RSA_2048'))).name).toBe('ValidationException');
  });

  it('refuses hostile import requests before any key is touched: a token that is not base64, blobs over 6,144 bytes, a malformed KeyMaterialId', async () => {
    const key = h.kms.seedKey({ region: 'us-east-1', origin: 'EXTERNAL' });

    const notBase64 = await rawCall(h.kms.endpoint, {
      target: 'TrentService.ImportKeyMaterial',
      body: JSON.stringify({ KeyId: key.KeyId, ImportToken: 'not base64!', EncryptedKeyMaterial: 'AAAA', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
    });
    const tooLong = await errorOf(
      east().send(new ImportKeyMaterialCommand({ KeyId: key.KeyId, ImportToken: Buffer.alloc(6145), EncryptedKeyMaterial: Buffer.alloc(1), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' })),
    );
    const badId = await errorOf(east().send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId, KeyMaterialId: 'XYZ' })));

    expect([notBase64.status, notBase64.json['__type']]).toEqual([400, 'SerializationException']);
    expect(tooLong).toMatchObject({ name: 'ValidationException', message: expect.stringContaining("Value '(6145 bytes)' at 'importToken' failed to satisfy constraint: Member must have length less than or equal to 6144") });
    expect(badId.name).toBe('ValidationException');
    expect(h.kms.describe('us-east-1', key.KeyId)?.KeyState).toBe('PendingImport');
  });
});

describe('embedded KMS: the import-token store', () => {
  it('keeps at most 1,000 unexpired tokens, forgetting the oldest first (a bound on memory, INF)', () => {
    const store = new KeyStore('111122223333', () => 0);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const parameters = { keyArn: 'arn:aws:kms:us-east-1:111122223333:key/k', algorithm: 'RSAES_OAEP_SHA_256' as const, privateKey, validTo: 1 };

    for (let i = 0; i <= 1000; i += 1) store.addImportToken(`token-${i}`, parameters);

    expect(store.importToken('token-0')).toBeUndefined();
    expect(store.importToken('token-1')).toBe(parameters);
    expect(store.importToken('token-1000')).toBe(parameters);
  });
});
