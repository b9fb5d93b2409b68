/**
 * Key material: GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial,
 * RotateKeyOnDemand and ListKeyRotations, for single-Region and multi-Region symmetric keys as
 * documented since 2025 [S26][fact sheet §10]: a key holds several materials; new material is
 * imported into a primary (`NEW_KEY_MATERIAL`) and the same material into every replica
 * (`EXISTING_KEY_MATERIAL`); only then may RotateKeyOnDemand be called on the primary. Which key
 * states allow each operation is in `../key-states.ts`; the materials themselves in
 * `../key-material.ts`. Request and response shapes follow the API model [S2] as shipped in
 * `@aws-sdk/client-kms` 3.1164.0; errors not worded by AWS are marked INF.
 */
import {
  expiredImportTokenError,
  incorrectKeyMaterialError,
  invalidImportTokenError,
  invalidMarkerError,
  invalidStateMessageError,
  invalidWrappedMaterialError,
  limitExceededError,
  notFoundError,
  unsupportedOperationError,
  validationError,
} from '../../errors.js';
import { readBlob, readInteger, readString, readTimestamp, type RequestInput } from '../../validation.js';
import {
  IMPORT_PARAMETERS_VALID_MS,
  SYMMETRIC_KEY_MATERIAL_BYTES,
  WRAPPING_ALGORITHMS,
  WRAPPING_KEY_SPECS,
  generateWrappingKey,
  materialIdOf,
  materialState,
  newImportToken,
  randomMaterialId,
  unwrapKeyMaterial,
  type ExpirationModel,
  type KeyMaterial,
  type WrappingAlgorithm,
  type WrappingKeySpec,
} from '../key-material.js';
import type { KeyRecord } from '../key-records.js';
import { MARKER_RULE, decodeMarker, defineKeyOperation, encodeMarker, type OperationContext } from '../operation.js';

const DAY_MS = 86_400_000;
/** `ImportToken` and `EncryptedKeyMaterial`: blobs of 1–6,144 bytes [S2 CiphertextType]. */
const CIPHERTEXT_BLOB_RULE = { required: true, min: 1, max: 6144 } as const;
/** `KeyMaterialId`: 64 characters [S2 RotationsListEntry]; INF: lowercase hex. */
const KEY_MATERIAL_ID_RULE = { min: 64, max: 64, pattern: /^[a-f0-9]+$/, patternText: '^[a-f0-9]+$' } as const;
/** `KeyMaterialDescription`: 0–256 characters of `^[a-zA-Z0-9:/_\s.-]+$` [S2 RotationsListEntry]. */
const KEY_MATERIAL_DESCRIPTION_RULE = { min: 0, max: 256, pattern: /^[a-zA-Z0-9:/_\s.-]*$/, patternText: '^[a-zA-Z0-9:/_\\s.-]+$' } as const;
/** ValidTo: at most 365 days ahead [S2 ImportKeyMaterial ValidTo]. */
const MAX_VALID_TO_DAYS = 365;
/** On-demand rotations per key: 25 [S2 RotateKeyOnDemand as shipped in @aws-sdk/client-kms 3.1164.0; older pages say 10]. */
export const MAX_ON_DEMAND_ROTATIONS = 25;

/**
 * @throws KmsApiError `UnsupportedOperationException "<arn> origin is <origin> which is not valid for
 *   this operation."` unless the key's material is imported (origin EXTERNAL) [S1 key-state.md (2019) fn 6, 9].
 */
function requireExternal(key: KeyRecord): void {
  if (key.origin !== 'EXTERNAL') throw unsupportedOperationError(`${key.arn} origin is ${key.origin} which is not valid for this operation.`);
}

/** Whether the key is a replica of a multi-Region key (the group names another primary Region). */
function isReplica(ctx: OperationContext, key: KeyRecord): boolean {
  const group = key.multiRegion ? ctx.store.group(key.keyId) : undefined;
  return group !== undefined && group.primaryRegion !== key.region;
}

/** Whether every key of the family holds the material (then a pending one is `PENDING_ROTATION`). */
function heldByFamily(ctx: OperationContext, key: KeyRecord, materialId: string): boolean {
  return ctx.store.familyOf(key).every((member) => ctx.store.holds(member, materialId));
}

/**
 * After an import or a deletion: the key holds its material when it holds every `CURRENT` and
 * `NON_CURRENT` material of the family ("you will need to import all of the key materials
 * associated with the KMS key to change its state to Enabled" [S2 ImportKeyMaterial]; pending
 * material is "not permanently associated with the KMS key" [S2 RotationsListEntry]). A key in
 * `PendingImport` that now holds them becomes `Enabled` [S2 ImportKeyMaterial].
 */
function settleMaterial(ctx: OperationContext, key: KeyRecord): void {
  const needed = ctx.store.materialsOf(key).filter((material) => material.status !== 'pending');
  key.hasKeyMaterial = needed.length > 0 && needed.every((material) => ctx.store.holds(key, material.id));
  if (key.hasKeyMaterial && key.state === 'PendingImport') key.state = 'Enabled';
}

/** `<arn> is not a multi-region primary key.` (the wording ReplicateKey uses for a replica [S25]; INF here). */
function notPrimaryError(key: KeyRecord): ReturnType<typeof unsupportedOperationError> {
  return unsupportedOperationError(`${key.arn} is not a multi-region primary key.`);
}

/**
 * GetParametersForImport [S2]: a fresh RSA wrapping key (`WrappingKeySpec` RSA_2048, RSA_3072 or
 * RSA_4096; the public half as DER `SubjectPublicKeyInfo` in `PublicKey`) and an import token bound
 * to this key, both valid for 24 hours (`ParametersValidTo`). Each key of a multi-Region family
 * gets its own [S1 multi-region-keys-import.md]. A read: no CloudTrail record reaches EventBridge [S8].
 * Errors: a key of another origin → UnsupportedOperationException (before the key-state table);
 * `RSAES_PKCS1_V1_5` (unsupported since October 10, 2023 [S2]) and SM2 (China Regions only [S2])
 * → UnsupportedOperationException (INF: the code).
 */
export const getParametersForImport = defineKeyOperation({
  name: 'GetParametersForImport',
  mutating: false,
  read: (input, checker) => ({
    algorithm: readString(input, 'WrappingAlgorithm', checker, { required: true, oneOf: WRAPPING_ALGORITHMS }) as WrappingAlgorithm,
    spec: readString(input, 'WrappingKeySpec', checker, { required: true, oneOf: WRAPPING_KEY_SPECS }) as WrappingKeySpec,
  }),
  before: (_ctx, key) => requireExternal(key),
  run(ctx, key, { algorithm, spec }) {
    if (algorithm === 'RSAES_PKCS1_V1_5') {
      throw unsupportedOperationError('The RSAES_PKCS1_V1_5 wrapping algorithm is not supported (since October 10, 2023).');
    }
    if (algorithm === 'SM2PKE' || spec === 'SM2') throw unsupportedOperationError('SM2 wrapping keys are supported only in the China Regions.');
    const { publicKeyDer, privateKey } = generateWrappingKey(spec as Exclude<WrappingKeySpec, 'SM2'>);
    const token = newImportToken();
    const validTo = ctx.at + IMPORT_PARAMETERS_VALID_MS;
    ctx.store.addImportToken(token.toString('hex'), { keyArn: key.arn, algorithm, privateKey, validTo });
    return {
      output: { KeyId: key.arn, ImportToken: token, PublicKey: publicKeyDer, ParametersValidTo: new Date(validTo) },
      responseElements: null,
    };
  },
});

/** The members of an ImportKeyMaterial request. */
interface ImportRequest {
  token: Buffer;
  encrypted: Buffer;
  validTo?: number;
  expirationModel?: ExpirationModel;
  importType?: 'NEW_KEY_MATERIAL' | 'EXISTING_KEY_MATERIAL';
  description?: string;
  materialId?: string;
}

/**
 * ImportKeyMaterial's CloudTrail `requestParameters`: what the caller set, without the import token
 * and the wrapped material, `validTo` as a display date [S23 ct-importkeymaterial].
 */
function importRequestParameters(input: RequestInput): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const member of ['KeyId', 'ExpirationModel', 'ImportType', 'KeyMaterialDescription', 'KeyMaterialId']) {
    if (input[member] !== undefined) shown[member] = input[member];
  }
  if (typeof input['ValidTo'] === 'number') shown['ValidTo'] = new Date(input['ValidTo'] * 1000);
  return shown;
}

/**
 * ImportKeyMaterial [S2][S26][fact sheet §10]. Checks, in order: model constraints; the key; origin
 * EXTERNAL (UnsupportedOperationException); the key-state table; `ExpirationModel`/`ValidTo`
 * (`KEY_MATERIAL_EXPIRES`, the default, needs a `ValidTo` within 365 days; `..._DOES_NOT_EXPIRE`
 * forbids one: ValidationException, INF); the token (InvalidImportTokenException: unknown or of
 * another key; ExpiredImportTokenException: past `ParametersValidTo`); the wrapped material
 * (InvalidCiphertextException: does not decrypt under the token's wrapping key and algorithm); the
 * material (IncorrectKeyMaterialException: not 256 bits; not the material `KeyMaterialId` names;
 * `EXISTING_KEY_MATERIAL` that is not a material of the key; `NEW_KEY_MATERIAL` already associated
 * with the key [S2]).
 * `ImportType` defaults to `NEW_KEY_MATERIAL` until the key has had material, then
 * `EXISTING_KEY_MATERIAL` [S2]; INF: a replica always defaults to `EXISTING_KEY_MATERIAL` (the only
 * kind it takes: new material "cannot be imported directly into a replica" [S26] →
 * UnsupportedOperationException, INF code). New material becomes `CURRENT` when the key has none,
 * else pending: `PENDING_MULTI_REGION_IMPORT_AND_ROTATION` while a replica lacks it,
 * `PENDING_ROTATION` once every key holds it; a second pending material → KMSInvalidStateException
 * (INF). A key in `PendingImport` that now holds every current and non-current material is `Enabled`.
 * CloudTrail: `responseElements {keyId: <arn>, keyMaterialId}` [S23 ct-importkeymaterial].
 */
export const importKeyMaterial = defineKeyOperation({
  name: 'ImportKeyMaterial',
  mutating: true,
  cloudTrailRequest: importRequestParameters,
  read: (input, checker): ImportRequest => {
    const validTo = readTimestamp(input, 'ValidTo');
    const expirationModel = readString(input, 'ExpirationModel', checker, { oneOf: ['KEY_MATERIAL_EXPIRES', 'KEY_MATERIAL_DOES_NOT_EXPIRE'] });
    const importType = readString(input, 'ImportType', checker, { oneOf: ['NEW_KEY_MATERIAL', 'EXISTING_KEY_MATERIAL'] });
    const description = readString(input, 'KeyMaterialDescription', checker, KEY_MATERIAL_DESCRIPTION_RULE);
    const materialId = readString(input, 'KeyMaterialId', checker, KEY_MATERIAL_ID_RULE);
    return {
      token: readBlob(input, 'ImportToken', checker, CIPHERTEXT_BLOB_RULE) ?? Buffer.alloc(0),
      encrypted: readBlob(input, 'EncryptedKeyMaterial', checker, CIPHERTEXT_BLOB_RULE) ?? Buffer.alloc(0),
      ...(validTo === undefined ? {} : { validTo }),
      ...(expirationModel === undefined ? {} : { expirationModel: expirationModel as ExpirationModel }),
      ...(importType === undefined ? {} : { importType: importType as ImportRequest['importType'] }),
      ...(description === undefined ? {} : { description }),
      ...(materialId === undefined ? {} : { materialId }),
    };
  },
  before: (_ctx, key) => requireExternal(key),
  run(ctx, key, request) {
    const expirationModel = request.expirationModel ?? 'KEY_MATERIAL_EXPIRES';
    checkExpiration(ctx, expirationModel, request.validTo);
    const parameters = ctx.store.importToken(request.token.toString('hex'));
    if (!parameters || parameters.keyArn !== key.arn) throw invalidImportTokenError();
    if (ctx.at > parameters.validTo) throw expiredImportTokenError();
    const secret = unwrapKeyMaterial(parameters, request.encrypted);
    if (secret === undefined) throw invalidWrappedMaterialError();
    if (secret.length !== SYMMETRIC_KEY_MATERIAL_BYTES) {
      throw incorrectKeyMaterialError(`The key material must be ${SYMMETRIC_KEY_MATERIAL_BYTES * 8} bits for a symmetric encryption key; it is ${secret.length * 8} bits.`);
    }
    const id = materialIdOf(key.keyId, secret);
    if (request.materialId !== undefined && request.importType === 'NEW_KEY_MATERIAL') {
      throw validationError(['KeyMaterialId cannot be specified with ImportType NEW_KEY_MATERIAL']);
    }
    if (request.materialId !== undefined && request.materialId !== id) {
      throw incorrectKeyMaterialError(`The key material is not the key material ${request.materialId}.`);
    }
    const materials = [...ctx.store.materialsOf(key)];
    const replica = isReplica(ctx, key);
    const importType = request.importType ?? (replica || materials.length > 0 ? 'EXISTING_KEY_MATERIAL' : 'NEW_KEY_MATERIAL');
    if (importType === 'NEW_KEY_MATERIAL') {
      if (replica) {
        throw unsupportedOperationError(
          `${key.arn} is a multi-Region replica key: import new key material into its primary key, then the same material into this key with ImportType EXISTING_KEY_MATERIAL.`,
        );
      }
      if (materials.some((material) => material.id === id)) {
        throw incorrectKeyMaterialError(`The key material is already associated with ${key.arn}: import it with ImportType EXISTING_KEY_MATERIAL.`);
      }
      const pending = materials.find((material) => material.status === 'pending');
      if (pending) {
        throw invalidStateMessageError(`${key.arn} already has key material ${pending.id} pending rotation: rotate or delete it first.`);
      }
      materials.push({ id, secret, status: materials.length === 0 ? 'current' : 'pending' });
      ctx.store.setMaterials(key.keyId, materials);
    } else if (!materials.some((material) => material.id === id)) {
      throw incorrectKeyMaterialError(`The key material is not key material of ${key.arn}: it was never imported into its ${replica ? 'primary ' : ''}key.`);
    }
    const previous = key.imported?.get(id);
    const description = request.description ?? previous?.description;
    key.imported?.set(id, {
      expirationModel,
      ...(request.validTo === undefined ? {} : { validTo: request.validTo }),
      ...(description === undefined ? {} : { description }),
    });
    settleMaterial(ctx, key);
    const output = { KeyId: key.arn, KeyMaterialId: id };
    return { output, responseElements: output };
  },
});

/** @throws KmsApiError `ValidationException` when `ExpirationModel` and `ValidTo` disagree or `ValidTo` is out of range (INF wording). */
function checkExpiration(ctx: OperationContext, model: ExpirationModel, validTo: number | undefined): void {
  if (model === 'KEY_MATERIAL_EXPIRES') {
    if (validTo === undefined) throw validationError(['ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES']);
    if (validTo <= ctx.at || validTo > ctx.at + MAX_VALID_TO_DAYS * DAY_MS) {
      throw validationError([`ValidTo must be in the future and at most ${MAX_VALID_TO_DAYS} days from now`]);
    }
  } else if (validTo !== undefined) {
    throw validationError(['ValidTo must be omitted when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE']);
  }
}

/**
 * DeleteImportedKeyMaterial [S2][fact sheet §10]: deletes `KeyMaterialId` (default: the current
 * material) from the key. A current or non-current material: the key goes to `PendingImport`, except
 * in `PendingDeletion` (unchanged [S2]; INF: `PendingReplicaDeletion` too). A pending material
 * (`PENDING_ROTATION`/`PENDING_MULTI_REGION_IMPORT_AND_ROTATION`) deleted from a primary leaves the
 * family, so the replicas' copies go too [S2]; from a replica, only that copy goes [S2]; key states
 * are unchanged (INF: the pending material is not needed for `Enabled`). A key that never had
 * material: no effect [S1 key-state.md (2019) "No effect"]. A `KeyMaterialId` the key does not know
 * → NotFoundException (INF). Response and CloudTrail `responseElements`: `{KeyId: <arn>, KeyMaterialId}`.
 */
export const deleteImportedKeyMaterial = defineKeyOperation({
  name: 'DeleteImportedKeyMaterial',
  mutating: true,
  read: (input, checker) => readString(input, 'KeyMaterialId', checker, KEY_MATERIAL_ID_RULE),
  before: (_ctx, key) => requireExternal(key),
  run(ctx, key, materialId) {
    const materials = [...ctx.store.materialsOf(key)];
    const targetId = materialId ?? materials.find((material) => material.status === 'current')?.id;
    if (targetId === undefined) return { output: { KeyId: key.arn }, responseElements: { KeyId: key.arn } };
    const material = materials.find((candidate) => candidate.id === targetId);
    if (!material) throw notFoundError(`Key material ${targetId} is not associated with ${key.arn}.`);
    if (material.status === 'pending') {
      if (isReplica(ctx, key)) {
        key.imported?.delete(targetId);
      } else {
        ctx.store.setMaterials(key.keyId, materials.filter((candidate) => candidate.id !== targetId));
        for (const member of ctx.store.familyOf(key)) member.imported?.delete(targetId);
      }
    } else {
      key.imported?.delete(targetId);
      key.hasKeyMaterial = false;
      if (key.state !== 'PendingDeletion' && key.state !== 'PendingReplicaDeletion') key.state = 'PendingImport';
    }
    const output = { KeyId: key.arn, KeyMaterialId: targetId };
    return { output, responseElements: output };
  },
});

/**
 * RotateKeyOnDemand [S2][S26][fact sheet §10]: on a single-Region key or a multi-Region primary
 * (a replica → UnsupportedOperationException `<arn> is not a multi-region primary key.`, INF). An
 * AWS_KMS key gets new material; an EXTERNAL key rotates to its pending material, which must be
 * `PENDING_ROTATION`, i.e. imported into every replica (KMSInvalidStateException otherwise, INF
 * wording; the same when there is none). The current material becomes `NON_CURRENT`, the new one
 * `CURRENT` with `RotationDate` and `RotationType: ON_DEMAND`. At most {@link MAX_ON_DEMAND_ROTATIONS}
 * per key (LimitExceededException, INF wording). INF: the rotation completes at once.
 * CloudTrail: the RotateKeyOnDemand AwsApiCall (`responseElements.keyId` the key id, as the guide's
 * example shows [S26 ct-rotatekeyondemand]) and a RotateKey AwsServiceEvent per key of the family,
 * in its Region (INF for the replicas), `serviceEventDetails {rotationType: ON_DEMAND, keyOrigin,
 * previousKeyMaterialId, currentKeyMaterialId, keyId}` [S26 ct-rotatekey].
 */
export const rotateKeyOnDemand = defineKeyOperation({
  name: 'RotateKeyOnDemand',
  mutating: true,
  before(ctx, key) {
    if (isReplica(ctx, key)) throw notPrimaryError(key);
  },
  run(ctx, key) {
    const materials: KeyMaterial[] = [...ctx.store.materialsOf(key)];
    if (materials.filter((material) => material.rotationType === 'ON_DEMAND').length >= MAX_ON_DEMAND_ROTATIONS) {
      throw limitExceededError(`${key.arn} has been rotated on demand ${MAX_ON_DEMAND_ROTATIONS} times, the most a key allows.`);
    }
    const current = materials.find((material) => material.status === 'current');
    if (!current) throw invalidStateMessageError(`${key.arn} has no current key material.`);
    let next: KeyMaterial;
    if (key.origin === 'EXTERNAL') {
      const pending = materials.find((material) => material.status === 'pending');
      if (!pending) throw invalidStateMessageError(`${key.arn} has no key material in PENDING_ROTATION state: import new key material first.`);
      if (!heldByFamily(ctx, key, pending.id)) {
        throw invalidStateMessageError(
          `${key.arn} key material ${pending.id} is PENDING_MULTI_REGION_IMPORT_AND_ROTATION: import it into every replica key first.`,
        );
      }
      next = pending;
    } else {
      next = { id: randomMaterialId(), status: 'pending' };
      materials.push(next);
    }
    current.status = 'non-current';
    next.status = 'current';
    next.rotationDate = ctx.at;
    next.rotationType = 'ON_DEMAND';
    ctx.store.setMaterials(key.keyId, materials);
    for (const member of ctx.store.familyOf(key)) {
      ctx.serviceEvents.push({
        eventName: 'RotateKey',
        region: member.region,
        keyArn: member.arn,
        serviceEventDetails: {
          rotationType: 'ON_DEMAND',
          keyOrigin: key.origin,
          previousKeyMaterialId: current.id,
          currentKeyMaterialId: next.id,
          keyId: key.keyId,
        },
      });
    }
    return { output: { KeyId: key.keyId }, responseElements: { KeyId: key.keyId } };
  },
});

/**
 * ListKeyRotations [S2 ListKeyRotations, RotationsListEntry]: the key's materials, oldest first.
 * `IncludeKeyMaterial` `ROTATIONS_ONLY` (default) lists completed rotations; `ALL_KEY_MATERIAL`
 * adds the first material and any pending one. Each entry: `KeyId` (INF: the key id),
 * `KeyMaterialId`, `KeyMaterialState`, `RotationDate`/`RotationType` once rotated; for EXTERNAL
 * keys also `ImportState` (`IMPORTED` when this key holds the material, else `PENDING_IMPORT`),
 * and what this key's import said: `KeyMaterialDescription`, `ExpirationModel`, `ValidTo`.
 * `Limit` 1–1000 (default 100), `Marker`/`NextMarker`/`Truncated`. A read: no CloudTrail record [S8].
 */
export const listKeyRotations = defineKeyOperation({
  name: 'ListKeyRotations',
  mutating: false,
  read: (input, checker) => ({
    include: readString(input, 'IncludeKeyMaterial', checker, { oneOf: ['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY'] }) ?? 'ROTATIONS_ONLY',
    limit: readInteger(input, 'Limit', checker, { min: 1, max: 1000 }) ?? 100,
    marker: readString(input, 'Marker', checker, MARKER_RULE),
  }),
  run(ctx, key, { include, limit, marker }) {
    const all = ctx.store.materialsOf(key);
    const listed = include === 'ALL_KEY_MATERIAL' ? all : all.filter((material) => material.rotationDate !== undefined);
    let start = 0;
    if (marker !== undefined) {
      const next = decodeMarker(marker, 'rotations', key.arn);
      start = listed.findIndex((material) => material.id === next);
      if (start < 0) throw invalidMarkerError();
    }
    const page = listed.slice(start, start + limit);
    const Rotations = page.map((material) => rotationEntry(ctx, key, material));
    const following = listed[start + limit];
    const output: Record<string, unknown> = { Rotations, Truncated: following !== undefined };
    if (following !== undefined) output['NextMarker'] = encodeMarker('rotations', key.arn, following.id);
    return { output, responseElements: null };
  },
});

function rotationEntry(ctx: OperationContext, key: KeyRecord, material: KeyMaterial): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    KeyId: key.keyId,
    KeyMaterialId: material.id,
    KeyMaterialState: materialState(material, heldByFamily(ctx, key, material.id)),
  };
  if (key.origin === 'EXTERNAL') {
    const imported = key.imported?.get(material.id);
    entry['ImportState'] = imported ? 'IMPORTED' : 'PENDING_IMPORT';
    if (imported?.description !== undefined) entry['KeyMaterialDescription'] = imported.description;
    if (imported) entry['ExpirationModel'] = imported.expirationModel;
    if (imported?.validTo !== undefined) entry['ValidTo'] = new Date(imported.validTo);
  }
  if (material.rotationDate !== undefined) entry['RotationDate'] = new Date(material.rotationDate);
  if (material.rotationType !== undefined) entry['RotationType'] = material.rotationType;
  return entry;
}
