/**
 * The operations of a key's life: CreateKey, DescribeKey, ListKeys, ScheduleKeyDeletion,
 * CancelKeyDeletion, EnableKey, DisableKey. Which key states allow each is in `../key-states.ts`.
 */
import { invalidMarkerError, unsupportedOperationError } from '../../errors.js';
import { keyArn, newKeyId } from '../../ids.js';
import type { KeyOrigin, KeyState } from '../../types.js';
import { checkTagRules, readBoolean, readInteger, readString, readTags } from '../../validation.js';
import { createKey as addKey } from '../key-records.js';
import {
  DESCRIPTION_RULE,
  MARKER_RULE,
  POLICY_RULE,
  checkKeyQuota,
  checkPolicy,
  decodeMarker,
  defineKeyOperation,
  defineOperation,
  encodeMarker,
} from '../operation.js';

const DAY_MS = 86_400_000;

/**
 * CreateKey [S2 CreateKey][S1 ct-createkey.md]. Models symmetric encryption keys only
 * (`KeySpec` SYMMETRIC_DEFAULT, `KeyUsage` ENCRYPT_DECRYPT) with `Origin` AWS_KMS or EXTERNAL;
 * other specs, usages and origins answer `UnsupportedOperationException` (an emulator limit).
 * An EXTERNAL key starts in `PendingImport` [S1 key-state.md]. Then: the policy
 * (`MalformedPolicyDocumentException`), the tag rules (`TagException`), the key quota of the Region
 * (`LimitExceededException`).
 */
export const createKey = defineOperation({
  mutating: true,
  read: (input, checker) => ({
    policy: readString(input, 'Policy', checker, POLICY_RULE),
    description: readString(input, 'Description', checker, DESCRIPTION_RULE),
    keyUsage: readString(input, 'KeyUsage', checker),
    keySpec: readString(input, 'KeySpec', checker) ?? readString(input, 'CustomerMasterKeySpec', checker),
    origin: readString(input, 'Origin', checker),
    bypassLockoutCheck: readBoolean(input, 'BypassPolicyLockoutSafetyCheck'),
    multiRegion: readBoolean(input, 'MultiRegion') ?? false,
    tags: readTags(input, 'Tags', checker) ?? [],
  }),
  run(ctx, { policy, description, keyUsage, keySpec, origin, multiRegion, tags }) {
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

    const record = addKey(ctx.store, {
      keyId: newKeyId(multiRegion),
      region: ctx.region,
      at: ctx.at,
      multiRegion,
      origin: (origin ?? 'AWS_KMS') as KeyOrigin,
      tags,
      ...(description === undefined ? {} : { description }),
      ...(policy === undefined ? {} : { policy }),
    });
    ctx.resolvedKeyId = record.keyId;
    ctx.resourceArns.push(record.arn);
    const KeyMetadata = ctx.store.metadata(record);
    return { output: { KeyMetadata }, responseElements: { KeyMetadata } };
  },
});

/** DescribeKey [S2]: every key state is readable [S1 key-state.md]. */
export const describeKey = defineKeyOperation({
  name: 'DescribeKey',
  mutating: false,
  run(ctx, key) {
    const KeyMetadata = ctx.store.metadata(key);
    return { output: { KeyMetadata }, responseElements: { KeyMetadata } };
  },
});

/**
 * ListKeys [S2]: `Limit` 1–1000 (default 100), keys of the caller's Region in creation order,
 * `Truncated` and `NextMarker` while more remain. A marker this emulator did not issue for this
 * Region → `InvalidMarkerException`.
 */
export const listKeys = defineOperation({
  mutating: false,
  read: (input, checker) => ({
    limit: readInteger(input, 'Limit', checker, { min: 1, max: 1000 }) ?? 100,
    marker: readString(input, 'Marker', checker, MARKER_RULE),
  }),
  run(ctx, { limit, marker }) {
    let start = 0;
    if (marker !== undefined) {
      const position = ctx.store.positionOf(ctx.region, decodeMarker(marker, 'keys', ctx.region));
      if (position === undefined) throw invalidMarkerError();
      start = position;
    }
    const { ids, next } = ctx.store.page(ctx.region, start, limit);
    const Keys = ids.map((id) => ({ KeyId: id, KeyArn: keyArn(ctx.region, ctx.account, id) }));
    const output: Record<string, unknown> = { Keys, Truncated: next !== undefined };
    if (next !== undefined) output['NextMarker'] = encodeMarker('keys', ctx.region, next);
    return { output, responseElements: null };
  },
});

/**
 * ScheduleKeyDeletion [S2][S1 multi-region-keys-delete.md]: `PendingWindowInDays` 7–30 (default
 * 30). A primary with replicas in any state goes to `PendingReplicaDeletion` (no `DeletionDate`;
 * `PendingDeletionWindowInDays` shown); any other key to `PendingDeletion` with a `DeletionDate`.
 * A `Creating` key stops creating.
 */
export const scheduleKeyDeletion = defineKeyOperation({
  name: 'ScheduleKeyDeletion',
  mutating: true,
  read: (input, checker) => readInteger(input, 'PendingWindowInDays', checker, { min: 7, max: 30 }) ?? 30,
  run(ctx, key, days) {
    delete key.creatingUntil;
    delete key.stateAfterCreating;
    const group = key.multiRegion ? ctx.store.group(key.keyId) : undefined;
    const output: Record<string, unknown> = { KeyId: key.arn };
    if (group && group.primaryRegion === key.region && group.replicaRegions.length > 0) {
      key.state = 'PendingReplicaDeletion';
      key.pendingWindowInDays = days;
      delete key.deletionDate;
      output['KeyState'] = key.state;
    } else {
      key.state = 'PendingDeletion';
      key.pendingWindowInDays = days;
      key.deletionDate = ctx.at + days * DAY_MS;
      ctx.store.trackDeletion(key);
      output['KeyState'] = key.state;
      output['DeletionDate'] = new Date(key.deletionDate);
    }
    output['PendingWindowInDays'] = days;
    return { output, responseElements: output };
  },
});

/**
 * CancelKeyDeletion [S2][S1 key-state.md]: the key ends `Disabled` (INF: an EXTERNAL key that never
 * had material returns to `PendingImport`).
 */
export const cancelKeyDeletion = defineKeyOperation({
  name: 'CancelKeyDeletion',
  mutating: true,
  run(_ctx, key) {
    key.state = key.hasKeyMaterial ? 'Disabled' : 'PendingImport';
    delete key.deletionDate;
    delete key.pendingWindowInDays;
    const output = { KeyId: key.arn };
    return { output, responseElements: output };
  },
});

/**
 * EnableKey / DisableKey [S2]: sets the state the key-state table lets them set. No output;
 * CloudTrail's `responseElements.keyId` is the key ARN, as in records since December 2022
 * [fact sheet §10][S23][S24].
 */
function setEnabled(name: 'EnableKey' | 'DisableKey', target: KeyState): ReturnType<typeof defineKeyOperation> {
  return defineKeyOperation({
    name,
    mutating: true,
    run(_ctx, key) {
      key.state = target;
      return { output: {}, responseElements: { KeyId: key.arn } };
    },
  });
}

/** EnableKey [S2 EnableKey]. */
export const enableKey = setEnabled('EnableKey', 'Enabled');
/** DisableKey [S2 DisableKey]. */
export const disableKey = setEnabled('DisableKey', 'Disabled');
