import {
  alreadyExistsError,
  disabledError,
  invalidArnError,
  invalidMarkerError,
  invalidStateError,
  invalidStateMessageError,
  keyDoesNotExistError,
  limitExceededError,
  malformedPolicyError,
  notFoundError,
  tagError,
  unsupportedOperationError,
} from './errors.js';
import {
  MULTI_REGION_KEY_ID_PATTERN,
  REGION_PATTERN,
  SINGLE_REGION_KEY_ID_PATTERN,
  keyArn,
  newKeyId,
  parseKmsArn,
  partitionOfRegion,
} from './ids.js';
import { newKeyRecord, type KeyRecord, type KeyStore } from './store.js';
import type { KeyMetadataView, KeyOrigin, KeyState, TagView } from './types.js';
import {
  ConstraintChecker,
  checkTagRules,
  isReservedTagKey,
  readBoolean,
  readInteger,
  readString,
  readStringList,
  readTags,
  TAG_KEY_MAX,
  type RequestInput,
} from './validation.js';

/** A CloudTrail record a call causes in another Region (ReplicateKey's replica-side CreateKey). */
export interface SideRecord {
  eventName: string;
  region: string;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  resourceArns: string[];
  /** Sets `userIdentity.invokedBy`: the record was made by a service on the caller's behalf. */
  invokedBy?: string;
  /**
   * Keep the caller's `sourceIPAddress`/`userAgent` (as AWS's UpdatePrimaryRegion sample does);
   * by default a record with `invokedBy` names that service in both fields.
   */
  callerSource?: boolean;
}

/**
 * What an operation sees of one call. Operations read and write the store through it and leave
 * behind what CloudTrail needs (`resourceArns`, `sideRecords`) even when they throw.
 */
export interface OperationContext {
  /** The caller's Region, from the SigV4 credential scope. */
  readonly region: string;
  readonly account: string;
  readonly requestId: string;
  /** Epoch ms when the call arrived. */
  readonly at: number;
  readonly store: KeyStore;
  /** Delay (ms) of a new replica's `Creating` state. */
  readonly replicaDelayMs: number;
  /** How long (ms) UpdatePrimaryRegion keeps both keys `Updating`; default 0. */
  readonly primaryUpdateDelayMs?: number;
  /** Resource quota: keys per Region (primaries, replicas, single-Region keys); default 100,000. */
  readonly maxKeysPerRegion?: number;
  /** Regions that exist but are not enabled for the account. */
  readonly disabledRegions?: ReadonlySet<string>;
  /** ARNs of the keys the call resolved, in order (CloudTrail `resources`). */
  readonly resourceArns: string[];
  /** Records the call causes in other Regions, written only on success. */
  readonly sideRecords: SideRecord[];
  /** The bare key id the call resolved to (for the call log). */
  resolvedKeyId?: string;
}

/** What a successful operation returns. */
export interface OperationResult {
  /** The response body (PascalCase, `Date`s; the server converts dates to epoch seconds). */
  output: Record<string, unknown>;
  /** CloudTrail `responseElements` before shaping; `null` where AWS logs null (e.g. TagResource). */
  responseElements: Record<string, unknown> | null;
}

/** One KMS operation: a function of the context and the parsed request body. */
export interface OperationDefinition {
  /** Mutating operations are recorded in CloudTrail; reads (Describe/List/Get) are not [S8]. */
  readonly mutating: boolean;
  /**
   * Runs the operation. @throws KmsApiError for every modelled or unmodelled KMS error.
   */
  run(ctx: OperationContext, input: RequestInput): OperationResult;
}

const DAY_MS = 86_400_000;
/** Customer managed keys per Region [S1 resource-limits.md][fact sheet §3]. */
export const DEFAULT_MAX_KEYS_PER_REGION = 100_000;
/** Key policy size limit, not adjustable [S1 resource-limits.md][fact sheet §3]. */
const KEY_POLICY_MAX_BYTES = 32_768;
const KEY_ID_RULE = { required: true, min: 1, max: 2048 } as const;
const POLICY_RULE = { min: 1, max: 131_072 } as const;
const DESCRIPTION_RULE = { min: 0, max: 8192 } as const;
const MARKER_RULE = { min: 1, max: 320, pattern: /^[\u0020-\u00FF]*$/, patternText: '[\\u0020-\\u00FF]*' } as const;

// ---------------------------------------------------------------------------------------------
// Key resolution
// ---------------------------------------------------------------------------------------------

/**
 * Resolves `KeyId` (bare id, `mrk-` id or key ARN) to a key in the caller's Region
 * [S2 DescribeKey KeyId][S7 test_get_key_in_different_region]:
 * - an ARN of another Region → `NotFoundException: Invalid arn <region>` (REC);
 * - an unknown id → `NotFoundException: Key '<arn>' does not exist` (REC);
 * - a string starting `arn:` that is not a KMS key/alias ARN, or whose partition does not match
 *   its Region → `InvalidArnException` (INF: the model lists InvalidArn for bad ARNs; no recording);
 * - a non-ARN that is neither a UUID nor an `mrk-` id → `NotFoundException: Invalid keyId '<value>'`,
 *   the id in single quotes as real KMS words it [fact sheet §10];
 * - an alias name or alias ARN → `NotFoundException` (aliases are not modelled by the emulator);
 * - a key ARN of another account → `NotFoundException` (INF: cross-account access is not modelled).
 */
export function resolveKey(ctx: OperationContext, keyIdInput: string): KeyRecord {
  let keyId = keyIdInput;
  if (keyIdInput.startsWith('arn:')) {
    const arn = parseKmsArn(keyIdInput);
    if (!arn || arn.partition !== partitionOfRegion(arn.region)) throw invalidArnError(keyIdInput);
    if (arn.region !== ctx.region) throw notFoundError(`Invalid arn ${arn.region}`);
    if (arn.resourceType === 'alias') throw notFoundError(`Alias ${keyIdInput} is not found.`);
    if (arn.account !== ctx.account) throw keyDoesNotExistError(keyIdInput);
    keyId = arn.resourceId;
  } else if (keyIdInput.startsWith('alias/')) {
    throw notFoundError(`Alias arn:${partitionOfRegion(ctx.region)}:kms:${ctx.region}:${ctx.account}:${keyIdInput} is not found.`);
  } else if (!MULTI_REGION_KEY_ID_PATTERN.test(keyId) && !SINGLE_REGION_KEY_ID_PATTERN.test(keyId)) {
    throw notFoundError(`Invalid keyId '${keyIdInput}'`);
  }
  const record = ctx.store.get(ctx.region, keyId);
  if (!record) throw keyDoesNotExistError(keyArn(ctx.region, ctx.account, keyId));
  ctx.resolvedKeyId = record.keyId;
  ctx.resourceArns.push(record.arn);
  return record;
}

function readKeyId(input: RequestInput, checker: ConstraintChecker): string {
  return readString(input, 'KeyId', checker, KEY_ID_RULE) ?? '';
}

function isPendingDeletion(state: KeyState): boolean {
  return state === 'PendingDeletion' || state === 'PendingReplicaDeletion';
}

/** @throws KmsApiError `MalformedPolicyDocumentException` unless `policy` is a JSON object. */
function checkPolicy(policy: string | undefined): void {
  if (policy === undefined) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch {
    throw malformedPolicyError('The new key policy will not allow you to update the key policy in the future.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw malformedPolicyError('The key policy must be a JSON object.');
  }
}

/**
 * @throws KmsApiError `LimitExceededException` when `region` already holds the maximum number of
 * keys [S1 resource-limits.md: 100,000 customer managed keys per Region; primaries and replicas
 * each count]. INF: the message wording.
 */
function checkKeyQuota(ctx: OperationContext, region: string): void {
  const max = ctx.maxKeysPerRegion ?? DEFAULT_MAX_KEYS_PER_REGION;
  if (ctx.store.count(region) >= max) {
    throw limitExceededError(`The request was rejected because the customer managed key quota of ${max} in ${region} was exceeded.`);
  }
}

// ---------------------------------------------------------------------------------------------
// Pagination markers: opaque base64url strings that name where the next page starts.
// ---------------------------------------------------------------------------------------------

function encodeMarker(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');
}

function decodeMarker(marker: string, kind: string, scope: string): string {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8'));
  } catch {
    throw invalidMarkerError();
  }
  if (!Array.isArray(parts) || parts.length !== 3 || parts[0] !== kind || parts[1] !== scope || typeof parts[2] !== 'string') {
    throw invalidMarkerError();
  }
  return parts[2];
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/**
 * CreateKey [S2 CreateKey][S1 ct-createkey.md]. Models symmetric encryption keys only
 * (`KeySpec` SYMMETRIC_DEFAULT, `KeyUsage` ENCRYPT_DECRYPT) with `Origin` AWS_KMS or EXTERNAL;
 * other specs, usages and origins answer `UnsupportedOperationException` (an emulator limit).
 * An EXTERNAL key starts in `PendingImport` [S1 key-state.md].
 */
const createKey: OperationDefinition = {
  mutating: true,
  run(ctx, input) {
    const checker = new ConstraintChecker();
    const policy = readString(input, 'Policy', checker, POLICY_RULE);
    const description = readString(input, 'Description', checker, DESCRIPTION_RULE);
    const keyUsage = readString(input, 'KeyUsage', checker);
    const keySpec = readString(input, 'KeySpec', checker) ?? readString(input, 'CustomerMasterKeySpec', checker);
    const origin = readString(input, 'Origin', checker);
    readBoolean(input, 'BypassPolicyLockoutSafetyCheck');
    const multiRegion = readBoolean(input, 'MultiRegion') ?? false;
    const tags = readTags(input, 'Tags', checker) ?? [];
    checker.throwIfAny();

    if (keyUsage !== undefined && keyUsage !== 'ENCRYPT_DECRYPT') {
      throw unsupportedOperationError(`The embedded KMS models only KeyUsage ENCRYPT_DECRYPT, not ${keyUsage}.`);
    }
    if (keySpec !== undefined && keySpec !== 'SYMMETRIC_DEFAULT') {
      throw unsupportedOperationError(`The embedded KMS models only KeySpec SYMMETRIC_DEFAULT, not ${keySpec}.`);
    }
    if (origin !== undefined && origin !== 'AWS_KMS' && origin !== 'EXTERNAL') {
      throw unsupportedOperationError(`The embedded KMS models only Origin AWS_KMS and EXTERNAL, not ${origin}.`);
    }
    checkPolicy(policy);
    checkTagRules(tags);
    checkKeyQuota(ctx, ctx.region);

    const keyOrigin: KeyOrigin = origin === 'EXTERNAL' ? 'EXTERNAL' : 'AWS_KMS';
    const keyId = newKeyId(multiRegion);
    const record = newKeyRecord({
      keyId,
      region: ctx.region,
      account: ctx.account,
      creationDate: ctx.at,
      multiRegion,
      origin: keyOrigin,
      state: keyOrigin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
      hasKeyMaterial: keyOrigin === 'AWS_KMS',
      tags,
      ...(description === undefined ? {} : { description }),
      ...(policy === undefined ? {} : { policy }),
    });
    ctx.store.add(record);
    if (multiRegion) ctx.store.addGroup(keyId, ctx.region);
    ctx.resolvedKeyId = keyId;
    ctx.resourceArns.push(record.arn);
    const KeyMetadata = ctx.store.metadata(record);
    return { output: { KeyMetadata }, responseElements: { KeyMetadata } };
  },
};

/** DescribeKey [S2]: every key state is readable [S1 key-state.md]. */
const describeKey: OperationDefinition = {
  mutating: false,
  run(ctx, input) {
    const checker = new ConstraintChecker();
    const keyId = readKeyId(input, checker);
    checker.throwIfAny();
    const KeyMetadata = ctx.store.metadata(resolveKey(ctx, keyId));
    return { output: { KeyMetadata }, responseElements: { KeyMetadata } };
  },
};

/**
 * ListKeys [S2]: `Limit` 1–1000 (default 100), keys of the caller's Region in creation order,
 * `Truncated` and `NextMarker` while more remain. A marker this emulator did not issue for this
 * Region → `InvalidMarkerException`.
 */
const listKeys: OperationDefinition = {
  mutating: false,
  run(ctx, input) {
    const checker = new ConstraintChecker();
    const limit = readInteger(input, 'Limit', checker, { min: 1, max: 1000 }) ?? 100;
    const marker = readString(input, 'Marker', checker, MARKER_RULE);
    checker.throwIfAny();
    let start = 0;
    if (marker !== undefined) {
      const position = ctx.store.positionOf(ctx.region, decodeMarker(marker, 'keys', ctx.region));
      if (position === undefined) throw invalidMarkerError();
      start = position;
    }
    const { ids, next } = ctx.store.page(ctx.region, start, limit);
    const Keys = ids.map((id) => ({ KeyId: id, KeyArn: keyArn(ctx.region, ctx.account, id) }));
    const output: Record<string, unknown> = { Keys, Truncated: next !== undefined };
    if (next !== undefined) output['NextMarker'] = encodeMarker(['keys', ctx.region, next]);
    return { output, responseElements: null };
  },
};

/** ListResourceTags [S2]: `Limit` 1–50 (default 50), `Marker`/`NextMarker`/`Truncated`. */
const listResourceTags: OperationDefinition = {
  mutating: false,
  run(ctx, input) {
    const checker = new ConstraintChecker();
    const keyId = readKeyId(input, checker);
    const limit = readInteger(input, 'Limit', checker, { min: 1, max: 50 }) ?? 50;
    const marker = readString(input, 'Marker', checker, MARKER_RULE);
    checker.throwIfAny();
    const record = resolveKey(ctx, keyId);
    const tags = ctx.store.tagList(record);
    let start = 0;
    if (marker !== undefined) {
      const tagKey = decodeMarker(marker, 'tags', record.arn);
      start = tags.findIndex((tag) => tag.TagKey === tagKey);
      if (start < 0) throw invalidMarkerError();
    }
    const Tags = tags.slice(start, start + limit);
    const next = tags[start + limit];
    const output: Record<string, unknown> = { Tags, Truncated: next !== undefined };
    if (next !== undefined) output['NextMarker'] = encodeMarker(['tags', record.arn, next.TagKey]);
    return { output, responseElements: null };
  },
};

/**
 * TagResource [S2]: adds tags or replaces values of existing keys. `KMSInvalidStateException` in
 * PendingDeletion/PendingReplicaDeletion [S1 key-state.md]; `TagException` for `aws:` keys,
 * duplicates or more than 50 tags in total [S7].
 */
const tagResource: OperationDefinition = {
  mutating: true,
  run(ctx, input) {
    const checker = new ConstraintChecker();
    const keyId = readKeyId(input, checker);
    const tags = readTags(input, 'Tags', checker, true) ?? [];
    checker.throwIfAny();
    const record = resolveKey(ctx, keyId);
    if (isPendingDeletion(record.state)) throw invalidStateError(record.arn, record.state);
    checkTagRules(tags, new Set(record.tags.keys()));
    for (const tag of tags) record.tags.set(tag.TagKey, tag.TagValue);
    return { output: {}, responseElements: null };
  },
};

/**
 * UntagResource [S2]: removes tag keys; a key that is not there is ignored. Same state rule as
 * TagResource. INF: an `aws:` key answers `TagException`, as for TagResource.
 */
const untagResource: OperationDefinition = {
  mutating: true,
  run(ctx, input) {
    const checker = new ConstraintChecker();
    const keyId = readKeyId(input, checker);
    const tagKeys = readStringList(input, 'TagKeys', checker, { required: true, min: 1, max: TAG_KEY_MAX }) ?? [];
    checker.throwIfAny();
    const record = resolveKey(ctx, keyId);
    if (isPendingDeletion(record.state)) throw invalidStateError(record.arn, record.state);
    if (tagKeys.some(isReservedTagKey)) throw tagError('Tags beginning with aws: are reserved');
    for (const tagKey of tagKeys) record.tags.delete(tagKey);
    return { output: {}, responseElements: null };
  },
};

/**
 * ReplicateKey [S2][S1 multi-region-keys-replicate.md, key-state.md][fact sheet §1]. Checks, in
 * order: model constraints (`ValidationException`), the key (`NotFoundException`), that it is a
 * multi-Region primary (`UnsupportedOperationException`), the primary's state
 * (`DisabledException`, `KMSInvalidStateException`), the partition, an existing replica or the
 * primary's own Region (`AlreadyExistsException`), the policy, the tag rules (`TagException`), then
 * the key quota of the replica's Region (`LimitExceededException`).
 * The replica starts `Creating` (Enabled false) and becomes `Enabled` — `PendingImport` for an
 * EXTERNAL primary — `replicaDelayMs` later. Description, tags and policy are not copied from the
 * primary [S2]. Records a CreateKey in the replica's Region besides the ReplicateKey here.
 */
const replicateKey: OperationDefinition = {
  mutating: true,
  run(ctx, input) {
    const checker = new ConstraintChecker();
    const keyId = readKeyId(input, checker);
    const replicaRegion =
      readString(input, 'ReplicaRegion', checker, { required: true, min: 1, max: 32, pattern: REGION_PATTERN }) ?? '';
    const policy = readString(input, 'Policy', checker, POLICY_RULE);
    readBoolean(input, 'BypassPolicyLockoutSafetyCheck');
    const description = readString(input, 'Description', checker, DESCRIPTION_RULE);
    const tags = readTags(input, 'Tags', checker) ?? [];
    checker.throwIfAny();

    const primary = resolveKey(ctx, keyId);
    const group = ctx.store.group(primary.keyId);
    // INF: a single-Region key gets the same answer as a replica; AWS documents neither code for it.
    if (!primary.multiRegion || !group || group.primaryRegion !== primary.region) {
      throw unsupportedOperationError(`${primary.arn} is not a multi-region primary key.`);
    }
    checkReplicablePrimaryState(primary);
    const primaryPartition = partitionOfRegion(primary.region);
    const replicaPartition = partitionOfRegion(replicaRegion);
    if (replicaPartition !== primaryPartition) {
      // INF: AWS says replicas must be in the primary's partition but documents no error code;
      // UnsupportedOperationException is the modelled error closest to "cannot do this here".
      throw unsupportedOperationError(
        `Replica region ${replicaRegion} is in partition ${replicaPartition}, but ${primary.arn} is in partition ${primaryPartition}. A multi-Region key can be replicated only within its partition.`,
      );
    }
    if (ctx.disabledRegions?.has(replicaRegion)) {
      // INF: AWS says only that replication fails until an opt-in Region is enabled [S1][S2].
      throw unsupportedOperationError(`Region ${replicaRegion} is not enabled for account ${ctx.account}.`);
    }
    if (replicaRegion === primary.region) {
      // INF: the code for the primary's own Region is undocumented; AlreadyExists fits "a key with
      // this id already exists in that Region".
      throw alreadyExistsError(`${primary.arn} is the primary key; a replica cannot be created in its Region ${replicaRegion}.`);
    }
    if (group.replicaRegions.includes(replicaRegion)) {
      throw alreadyExistsError(`Key '${keyArn(replicaRegion, ctx.account, primary.keyId)}' already exists`);
    }
    checkPolicy(policy);
    checkTagRules(tags);
    checkKeyQuota(ctx, replicaRegion);

    const replica = newKeyRecord({
      keyId: primary.keyId,
      region: replicaRegion,
      account: ctx.account,
      creationDate: ctx.at,
      multiRegion: true,
      origin: primary.origin,
      keyUsage: primary.keyUsage,
      keySpec: primary.keySpec,
      state: 'Creating',
      hasKeyMaterial: primary.origin === 'AWS_KMS',
      tags,
      ...(description === undefined ? {} : { description }),
      ...(policy === undefined ? {} : { policy }),
    });
    replica.creatingUntil = ctx.at + ctx.replicaDelayMs;
    replica.stateAfterCreating = primary.origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled';
    ctx.store.add(replica);
    group.replicaRegions.push(replicaRegion);

    const ReplicaKeyMetadata = ctx.store.metadata(replica);
    const ReplicaTags: TagView[] = ctx.store.tagList(replica);
    const output = { ReplicaKeyMetadata, ReplicaPolicy: replica.policy, ReplicaTags };
    ctx.sideRecords.push(replicaCreateKeyRecord(ReplicaKeyMetadata, input, replicaRegion));
    return { output, responseElements: { ReplicaKeyMetadata, ReplicaPolicy: replica.policy } };
  },
};

/**
 * The replica-Region CreateKey record of a ReplicateKey. INF throughout: AWS publishes no sample
 * [fact sheet §5.2, §9]. Chosen shape: the caller's identity plus `invokedBy: kms.amazonaws.com`
 * (as the new-primary record of UpdatePrimaryRegion has), the ReplicateKey's `requestID`, request
 * parameters naming what the replica was created with, and the replica's metadata (`REPLICA`,
 * `Creating`) as `keyMetadata`.
 */
function replicaCreateKeyRecord(metadata: KeyMetadataView, input: RequestInput, replicaRegion: string): SideRecord {
  const requestParameters: Record<string, unknown> = {
    Description: metadata.Description,
    KeyUsage: metadata.KeyUsage,
    KeySpec: metadata.KeySpec,
    Origin: metadata.Origin,
    MultiRegion: true,
  };
  if (input['Tags'] !== undefined) requestParameters['Tags'] = input['Tags'];
  if (input['Policy'] !== undefined) requestParameters['Policy'] = input['Policy'];
  return {
    eventName: 'CreateKey',
    region: replicaRegion,
    requestParameters,
    responseElements: { KeyMetadata: metadata },
    resourceArns: [metadata.Arn],
    invokedBy: 'kms.amazonaws.com',
  };
}

/**
 * The primary-state column of the key-state table for ReplicateKey [S1 key-state.md]: Disabled →
 * `DisabledException`; PendingDeletion/PendingReplicaDeletion, PendingImport, Creating, Updating →
 * `KMSInvalidStateException` (for pending deletion the table allows either code; the emulator picks
 * KMSInvalidState).
 */
function checkReplicablePrimaryState(primary: KeyRecord): void {
  switch (primary.state) {
    case 'Enabled':
      return;
    case 'Disabled':
      throw disabledError(primary.arn);
    case 'PendingDeletion':
    case 'PendingReplicaDeletion':
    case 'PendingImport':
    case 'Creating':
    case 'Updating':
    case 'Unavailable':
      throw invalidStateError(primary.arn, primary.state);
  }
}

/**
 * ScheduleKeyDeletion [S2][S1 multi-region-keys-delete.md]: `PendingWindowInDays` 7–30 (default
 * 30). A primary with replicas in any state goes to `PendingReplicaDeletion` (no `DeletionDate`;
 * `PendingDeletionWindowInDays` shown); any other key to `PendingDeletion` with a `DeletionDate`.
 * Already pending, or Updating → `KMSInvalidStateException` [S1 key-state.md].
 */
const scheduleKeyDeletion: OperationDefinition = {
  mutating: true,
  run(ctx, input) {
    const checker = new ConstraintChecker();
    const keyId = readKeyId(input, checker);
    const days = readInteger(input, 'PendingWindowInDays', checker, { min: 7, max: 30 }) ?? 30;
    checker.throwIfAny();
    const record = resolveKey(ctx, keyId);
    if (isPendingDeletion(record.state) || record.state === 'Updating') {
      throw invalidStateError(record.arn, record.state);
    }
    delete record.creatingUntil;
    delete record.stateAfterCreating;
    const group = record.multiRegion ? ctx.store.group(record.keyId) : undefined;
    const output: Record<string, unknown> = { KeyId: record.arn };
    if (group && group.primaryRegion === record.region && group.replicaRegions.length > 0) {
      record.state = 'PendingReplicaDeletion';
      record.pendingWindowInDays = days;
      delete record.deletionDate;
      output['KeyState'] = record.state;
    } else {
      record.state = 'PendingDeletion';
      record.pendingWindowInDays = days;
      record.deletionDate = ctx.at + days * DAY_MS;
      ctx.store.trackDeletion(record);
      output['KeyState'] = record.state;
      output['DeletionDate'] = new Date(record.deletionDate);
    }
    output['PendingWindowInDays'] = days;
    return { output, responseElements: output };
  },
};

/**
 * CancelKeyDeletion [S2][S1 key-state.md]: only from PendingDeletion/PendingReplicaDeletion, and
 * the key ends `Disabled` (INF: an EXTERNAL key that never had material returns to
 * `PendingImport`). Otherwise `KMSInvalidStateException: <arn> is not pending deletion.`
 */
const cancelKeyDeletion: OperationDefinition = {
  mutating: true,
  run(ctx, input) {
    const checker = new ConstraintChecker();
    const keyId = readKeyId(input, checker);
    checker.throwIfAny();
    const record = resolveKey(ctx, keyId);
    if (!isPendingDeletion(record.state)) throw invalidStateMessageError(`${record.arn} is not pending deletion.`);
    record.state = record.hasKeyMaterial ? 'Disabled' : 'PendingImport';
    delete record.deletionDate;
    delete record.pendingWindowInDays;
    const output = { KeyId: record.arn };
    return { output, responseElements: output };
  },
};

/**
 * The EnableKey column of the key-state table [S1 key-state.md]: Enabled, Disabled and
 * Unavailable succeed; PendingDeletion, PendingReplicaDeletion, PendingImport, Creating and
 * Updating → `KMSInvalidStateException`. DisableKey uses the same rule (the brief's choice).
 */
function setEnabled(target: 'Enabled' | 'Disabled'): OperationDefinition {
  return {
    mutating: true,
    run(ctx, input) {
      const checker = new ConstraintChecker();
      const keyId = readKeyId(input, checker);
      checker.throwIfAny();
      const record = resolveKey(ctx, keyId);
      switch (record.state) {
        case 'Enabled':
        case 'Disabled':
        case 'Unavailable':
          record.state = target;
          return { output: {}, responseElements: null };
        case 'PendingDeletion':
        case 'PendingReplicaDeletion':
        case 'PendingImport':
        case 'Creating':
        case 'Updating':
          throw invalidStateError(record.arn, record.state);
      }
    },
  };
}

/**
 * GetKeyPolicy [S2]: the key's policy; `PolicyName` may be omitted and otherwise must be
 * `default` (INF: any other name → `NotFoundException`).
 */
const getKeyPolicy: OperationDefinition = {
  mutating: false,
  run(ctx, input) {
    const checker = new ConstraintChecker();
    const keyId = readKeyId(input, checker);
    const policyName = readString(input, 'PolicyName', checker, { min: 1, max: 128, pattern: /^[\w]+$/, patternText: '[\\w]+' });
    checker.throwIfAny();
    const record = resolveKey(ctx, keyId);
    if (policyName !== undefined && policyName !== 'default') throw notFoundError('No such policy exists');
    return { output: { Policy: record.policy, PolicyName: 'default' }, responseElements: null };
  },
};

/**
 * PutKeyPolicy [S2 PutKeyPolicy][S1 ct-put-key-policy.md]: replaces the key's policy. `PolicyName`
 * may be omitted and otherwise must be `default` (INF: another name → `NotFoundException`, as for
 * GetKeyPolicy); `Policy` must be a JSON object (`MalformedPolicyDocumentException`; the lockout
 * check is not modelled, so `BypassPolicyLockoutSafetyCheck` is read and ignored) of at most 32 KB
 * (`LimitExceededException`, INF wording). Every key state allows it [S1 key-state.md].
 * CloudTrail: `requestParameters` as sent, `responseElements: null`, `resources` [the key].
 */
const putKeyPolicy: OperationDefinition = {
  mutating: true,
  run(ctx, input) {
    const checker = new ConstraintChecker();
    const keyId = readKeyId(input, checker);
    const policyName = readString(input, 'PolicyName', checker, { min: 1, max: 128, pattern: /^[\w]+$/, patternText: '[\\w]+' });
    const policy = readString(input, 'Policy', checker, { ...POLICY_RULE, required: true }) ?? '';
    readBoolean(input, 'BypassPolicyLockoutSafetyCheck');
    checker.throwIfAny();
    const record = resolveKey(ctx, keyId);
    if (policyName !== undefined && policyName !== 'default') throw notFoundError('No such policy exists');
    checkPolicy(policy);
    if (Buffer.byteLength(policy, 'utf8') > KEY_POLICY_MAX_BYTES) {
      throw limitExceededError(`The key policy exceeds the maximum size of ${KEY_POLICY_MAX_BYTES} bytes.`);
    }
    record.policy = policy;
    return { output: {}, responseElements: null };
  },
};

/**
 * UpdatePrimaryRegion [S2 UpdatePrimaryRegion][S1 key-state.md, ct-update-primary-region.md]
 * [fact sheet §1.4, §2, §5.2]. Called in the current primary's Region on the primary; the replica
 * in `PrimaryRegion` becomes the primary and the old primary a replica. Both keys are `Updating`
 * for `primaryUpdateDelayMs` (DescribeKey then shows both as `REPLICA`, already naming the new
 * `PrimaryKey`), then get their previous states back. No output.
 * Checks, in order:
 * - model constraints (`ValidationException`; `PrimaryRegion` 1–32, pattern as `ReplicaRegion`);
 * - the key (`NotFoundException`);
 * - a single-Region key or a replica → `UnsupportedOperationException <arn> is not a multi-region
 *   primary key.` (INF: the wording ReplicateKey uses);
 * - the primary's state: Disabled → `DisabledException`; PendingDeletion/PendingReplicaDeletion
 *   (INF: KMSInvalidState of the two the table allows), PendingImport, Creating, Unavailable →
 *   `KMSInvalidStateException`; Updating is allowed by the table: INF, a repeat of the in-flight
 *   update from its old primary's Region succeeds without change, anything else while updating →
 *   `KMSInvalidStateException <arn> is updating.`;
 * - `PrimaryRegion` = the primary's own Region → `UnsupportedOperationException` (INF);
 * - no replica in `PrimaryRegion` → `NotFoundException Key '<arn there>' does not exist` (INF:
 *   the model lists NotFound; the docs say only that a replica must exist there);
 * - the replica in Creating, PendingImport, PendingDeletion or Updating →
 *   `KMSInvalidStateException` naming the replica (INF).
 * CloudTrail: two records with one `requestID`: the old primary's Region (`requestParameters` as
 * sent, `responseElements: null`, `resources` [old primary]) and the new primary's Region
 * (caller's identity plus `invokedBy: "kms.amazonaws.com"`, `keyId` = the key ARN there,
 * `primaryRegion`, no `resources`).
 */
const updatePrimaryRegion: OperationDefinition = {
  mutating: true,
  run(ctx, input) {
    const checker = new ConstraintChecker();
    const keyId = readKeyId(input, checker);
    const primaryRegion =
      readString(input, 'PrimaryRegion', checker, { required: true, min: 1, max: 32, pattern: REGION_PATTERN }) ?? '';
    checker.throwIfAny();
    const primary = resolveKey(ctx, keyId);
    const group = primary.multiRegion ? ctx.store.group(primary.keyId) : undefined;
    if (!group) throw unsupportedOperationError(`${primary.arn} is not a multi-region primary key.`);
    if (primary.state === 'Updating') {
      const update = group.update;
      if (update && update.from === primary.region && update.to === primaryRegion) {
        ctx.sideRecords.push(newPrimaryRecord(ctx, primary.keyId, primaryRegion));
        return { output: {}, responseElements: null };
      }
      throw invalidStateError(primary.arn, primary.state);
    }
    if (group.primaryRegion !== primary.region) throw unsupportedOperationError(`${primary.arn} is not a multi-region primary key.`);
    switch (primary.state) {
      case 'Enabled':
        break;
      case 'Disabled':
        throw disabledError(primary.arn);
      case 'PendingDeletion':
      case 'PendingReplicaDeletion':
      case 'PendingImport':
      case 'Creating':
      case 'Unavailable':
        throw invalidStateError(primary.arn, primary.state);
    }
    if (primaryRegion === primary.region) {
      throw unsupportedOperationError(`${primary.arn} is already the primary key in ${primaryRegion}.`);
    }
    const replica = group.replicaRegions.includes(primaryRegion) ? ctx.store.get(primaryRegion, primary.keyId) : undefined;
    if (!replica) throw keyDoesNotExistError(keyArn(primaryRegion, ctx.account, primary.keyId));
    if (replica.state !== 'Enabled' && replica.state !== 'Disabled') throw invalidStateError(replica.arn, replica.state);
    ctx.store.startPrimaryUpdate(primary.keyId, primary.region, primaryRegion, ctx.at + (ctx.primaryUpdateDelayMs ?? 0));
    ctx.sideRecords.push(newPrimaryRecord(ctx, primary.keyId, primaryRegion));
    return { output: {}, responseElements: null };
  },
};

/** The new-primary Region's UpdatePrimaryRegion record [S1 ct-update-primary-region.md]. */
function newPrimaryRecord(ctx: OperationContext, keyId: string, primaryRegion: string): SideRecord {
  return {
    eventName: 'UpdatePrimaryRegion',
    region: primaryRegion,
    requestParameters: { KeyId: keyArn(primaryRegion, ctx.account, keyId), PrimaryRegion: primaryRegion },
    responseElements: null,
    resourceArns: [],
    invokedBy: 'kms.amazonaws.com',
    callerSource: true,
  };
}

/**
 * Creates the registry of operations, keyed by the name after `TrentService.` in `X-Amz-Target`.
 * Callers may add or replace entries on the returned map.
 */
export function createOperationRegistry(): Map<string, OperationDefinition> {
  return new Map<string, OperationDefinition>([
    ['CreateKey', createKey],
    ['DescribeKey', describeKey],
    ['ListKeys', listKeys],
    ['ListResourceTags', listResourceTags],
    ['TagResource', tagResource],
    ['UntagResource', untagResource],
    ['ReplicateKey', replicateKey],
    ['ScheduleKeyDeletion', scheduleKeyDeletion],
    ['CancelKeyDeletion', cancelKeyDeletion],
    ['EnableKey', setEnabled('Enabled')],
    ['DisableKey', setEnabled('Disabled')],
    ['GetKeyPolicy', getKeyPolicy],
    ['PutKeyPolicy', putKeyPolicy],
    ['UpdatePrimaryRegion', updatePrimaryRegion],
  ]);
}
