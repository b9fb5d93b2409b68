/**
 * Key material of the embedded KMS: the materials of a key (or of a multi-Region key family, which
 * shares one key id and its materials), their states, what each key of an EXTERNAL family has
 * imported, and the wrapping keys and import tokens of GetParametersForImport.
 *
 * Sources [fact sheet §10][S26]: symmetric keys can hold several key materials, each with a
 * `KeyMaterialId` (`CurrentKeyMaterialId` in DescribeKey names the one in use) and a state:
 * `CURRENT` (encrypts and decrypts), `NON_CURRENT` (decrypts only), `PENDING_ROTATION` (imported,
 * waiting for RotateKeyOnDemand) and `PENDING_MULTI_REGION_IMPORT_AND_ROTATION` (imported into the
 * primary of a multi-Region key but not yet into every replica) [S2 RotationsListEntry]. KMS does not
 * copy imported material between Regions: each key of a family imports it [S1 multi-region-keys-import.md].
 */
import { createDecipheriv, createHash, constants, generateKeyPairSync, privateDecrypt, randomBytes, type KeyObject } from 'node:crypto';

/** What the family says of one material (the two PENDING_* states are one `pending` here, see {@link materialState}). */
export type MaterialStatus = 'current' | 'non-current' | 'pending';

/** `KeyMaterialState` of the API model [S2 RotationsListEntry]. */
export type KeyMaterialState = 'CURRENT' | 'NON_CURRENT' | 'PENDING_ROTATION' | 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION';

/** `RotationType` of the API model [S2 RotationsListEntry]. */
export type RotationType = 'AUTOMATIC' | 'ON_DEMAND';

/** One key material of a key family. */
export interface KeyMaterial {
  /** 64 lowercase hex characters [S2 KeyMaterialId: fixed length 64]. */
  readonly id: string;
  /**
   * The material's bytes: 32 for a symmetric key. Kept only for EXTERNAL keys (so that a later
   * import can be checked against it); AWS_KMS material is never shown, so none is kept.
   */
  readonly secret?: Buffer;
  status: MaterialStatus;
  /** Epoch ms the rotation to this material completed; absent for the first material and a pending one [S2 RotationsListEntry]. */
  rotationDate?: number;
  rotationType?: RotationType;
}

/** What one key of an EXTERNAL family holds of a material it imported (ImportKeyMaterial's settings) [S2 ImportKeyMaterial]. */
export interface ImportedMaterial {
  readonly expirationModel: ExpirationModel;
  /** Epoch ms; set with `KEY_MATERIAL_EXPIRES`. Expiry is not enforced by the emulator (README). */
  readonly validTo?: number;
  readonly description?: string;
}

/** `ExpirationModelType` of the API model [S2]. */
export type ExpirationModel = 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';

/** Bytes of symmetric key material: 256 bits [S2 ImportKeyMaterial; KMS guide importing-keys-conceptual]. */
export const SYMMETRIC_KEY_MATERIAL_BYTES = 32;

/**
 * The id KMS gives a material: "a unique key material identifier based on the key ID and the key
 * material", computed with a cryptographic hash [S26 AWS Security Blog]. INF: SHA-256 of the key id
 * and the material; the key id is shared by a multi-Region family, so the same material has the
 * same id in the primary and every replica (which is how KMS can ask for the replicas to import
 * "the same key material" before a rotation).
 */
export function materialIdOf(keyId: string, secret: Uint8Array): string {
  return createHash('sha256').update(keyId, 'utf8').update(secret).digest('hex');
}

/**
 * The id of the material an AWS_KMS key is created with. INF: derived from the key id, so that
 * 100,000 seeded keys keep no per-key material (a key gets a stored material list only when it is
 * rotated). Real KMS ids are opaque 64-hex strings of the same shape.
 */
export function initialMaterialIdOf(keyId: string): string {
  return createHash('sha256').update('aws-kms-initial-material:', 'utf8').update(keyId, 'utf8').digest('hex');
}

/** A fresh random material id (a rotation of an AWS_KMS key). */
export function randomMaterialId(): string {
  return randomBytes(32).toString('hex');
}

/**
 * The API state of a material: `pending` is `PENDING_MULTI_REGION_IMPORT_AND_ROTATION` while some
 * key of the family lacks it, `PENDING_ROTATION` once every key holds it [S2 RotationsListEntry].
 * @param heldByAll whether every key of the family (the primary and each replica) has imported it.
 */
export function materialState(material: KeyMaterial, heldByAll: boolean): KeyMaterialState {
  switch (material.status) {
    case 'current':
      return 'CURRENT';
    case 'non-current':
      return 'NON_CURRENT';
    case 'pending':
      return heldByAll ? 'PENDING_ROTATION' : 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION';
  }
}

// ---------------------------------------------------------------------------------------------
// Wrapping keys and import tokens (GetParametersForImport → ImportKeyMaterial)
// ---------------------------------------------------------------------------------------------

/** `AlgorithmSpec` of the API model (the wrapping algorithm) [S2 GetParametersForImport]. */
export const WRAPPING_ALGORITHMS = [
  'RSAES_PKCS1_V1_5',
  'RSAES_OAEP_SHA_1',
  'RSAES_OAEP_SHA_256',
  'RSA_AES_KEY_WRAP_SHA_1',
  'RSA_AES_KEY_WRAP_SHA_256',
  'SM2PKE',
] as const;
export type WrappingAlgorithm = (typeof WRAPPING_ALGORITHMS)[number];

/** `WrappingKeySpec` of the API model [S2 GetParametersForImport]. */
export const WRAPPING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'SM2'] as const;
export type WrappingKeySpec = (typeof WRAPPING_KEY_SPECS)[number];

/** How long a public key and its import token can be used: 24 hours [S2 GetParametersForImport]. */
export const IMPORT_PARAMETERS_VALID_MS = 24 * 60 * 60 * 1000;

/**
 * How many unexpired import tokens the emulator keeps per account; the oldest is forgotten first
 * (and then answers InvalidImportTokenException). INF: KMS documents no such limit; it bounds the
 * memory a client calling GetParametersForImport in a loop can take (one RSA private key each).
 */
export const MAX_IMPORT_TOKENS = 1000;

/** One GetParametersForImport answer, as ImportKeyMaterial checks it. */
export interface ImportParameters {
  /** The key the parameters were issued for (its ARN): a token works for that key only [S2 InvalidImportTokenException]. */
  readonly keyArn: string;
  readonly algorithm: WrappingAlgorithm;
  readonly privateKey: KeyObject;
  /** Epoch ms. */
  readonly validTo: number;
}

/** A wrapping key pair: the DER `SubjectPublicKeyInfo` KMS returns as `PublicKey`, and the private half it keeps. */
export function generateWrappingKey(spec: Extract<WrappingKeySpec, `RSA_${string}`>): { publicKeyDer: Buffer; privateKey: KeyObject } {
  const modulusLength = Number(spec.slice('RSA_'.length));
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength });
  return { publicKeyDer: publicKey.export({ type: 'spki', format: 'der' }), privateKey };
}

/** A fresh import token: opaque bytes (INF: real tokens are larger opaque blobs). */
export function newImportToken(): Buffer {
  return randomBytes(32);
}

/**
 * Unwraps key material sent to ImportKeyMaterial [KMS guide importing-keys-encrypt-key-material]:
 * - `RSAES_OAEP_SHA_1` / `RSAES_OAEP_SHA_256`: the material encrypted with the public key, RSA-OAEP
 *   with SHA-1 / SHA-256 (MGF1 with the same hash);
 * - `RSA_AES_KEY_WRAP_SHA_1` / `_SHA_256`: an ephemeral 256-bit AES key encrypted with RSA-OAEP
 *   (SHA-1 / SHA-256), followed by the material wrapped with that AES key (AES key wrap with
 *   padding, RFC 5649).
 * @returns the material, or `undefined` when the bytes do not decrypt (InvalidCiphertextException).
 */
export function unwrapKeyMaterial(parameters: ImportParameters, ciphertext: Buffer): Buffer | undefined {
  const oaep = (hash: 'sha1' | 'sha256', data: Buffer): Buffer =>
    privateDecrypt({ key: parameters.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);
  try {
    switch (parameters.algorithm) {
      case 'RSAES_OAEP_SHA_1':
        return oaep('sha1', ciphertext);
      case 'RSAES_OAEP_SHA_256':
        return oaep('sha256', ciphertext);
      case 'RSA_AES_KEY_WRAP_SHA_1':
      case 'RSA_AES_KEY_WRAP_SHA_256': {
        const modulusBytes = (parameters.privateKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
        if (ciphertext.length <= modulusBytes) return undefined;
        const aesKey = oaep(parameters.algorithm.endsWith('SHA_1') ? 'sha1' : 'sha256', ciphertext.subarray(0, modulusBytes));
        if (aesKey.length !== 32) return undefined;
        const decipher = createDecipheriv('id-aes256-wrap-pad', aesKey, Buffer.from('A65959A6', 'hex'));
        return Buffer.concat([decipher.update(ciphertext.subarray(modulusBytes)), decipher.final()]);
      }
      case 'RSAES_PKCS1_V1_5':
      case 'SM2PKE':
        return undefined;
    }
  } catch {
    return undefined;
  }
}
