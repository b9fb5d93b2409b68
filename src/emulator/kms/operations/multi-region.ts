/**
 * The multi-Region operations: ReplicateKey and UpdatePrimaryRegion. Which states of the primary
 * allow each is in `../key-states.ts`; the checks before and after it are listed on each.
 */
import { alreadyExistsError, keyDoesNotExistError, unsupportedOperationError, type KmsApiError } from '../../errors.js';
import { REGION_PATTERN, keyArn, partitionOfRegion } from '../../ids.js';
import type { KeyMetadataView, TagView } from '../../types.js';
import { checkTagRules, readBoolean, readString, readTags } from '../../validation.js';
import { createReplica, type KeyRecord } from '../key-records.js';
import { invalidStateError } from '../key-states.js';
import {
  DESCRIPTION_RULE,
  POLICY_RULE,
  checkKeyQuota,
  checkPolicy,
  defineKeyOperation,
  type OperationContext,
  type SideRecord,
} from '../operation.js';

/** `ReplicaRegion` / `PrimaryRegion`: 1–32 characters of `^([a-z]+-){2,3}\d+$` [S2]. */
const REGION_RULE = { required: true, min: 1, max: 32, pattern: REGION_PATTERN } as const;

/**
 * `UnsupportedOperationException <arn> is not a multi-region primary key.`, for a replica (REC
 * [S7][S25]) or a single-Region key (INF: AWS documents no code for it).
 */
function notPrimaryError(key: KeyRecord): KmsApiError {
  return unsupportedOperationError(`${key.arn} is not a multi-region primary key.`);
}

/**
 * ReplicateKey [S2][S1 multi-region-keys-replicate.md, key-state.md][fact sheet §1]. Checks, in
 * order: model constraints (`ValidationException`), the key (`NotFoundException`), that it is a
 * multi-Region primary (`UnsupportedOperationException`; before the state, as recorded [S25]), the
 * primary's state (key-state table), the partition, an existing replica or the primary's own
 * Region (`AlreadyExistsException`), the policy, the tag rules (`TagException`), then the key quota
 * of the replica's Region (`LimitExceededException`).
 * The replica starts `Creating` (Enabled false) and becomes `Enabled` — `PendingImport` for an
 * EXTERNAL primary — `replicaDelayMs` later. Description, tags and policy are not copied from the
 * primary [S2]. Records a CreateKey in the replica's Region besides the ReplicateKey here.
 */
export const replicateKey = defineKeyOperation({
  name: 'ReplicateKey',
  mutating: true,
  read: (input, checker) => ({
    replicaRegion: readString(input, 'ReplicaRegion', checker, REGION_RULE) ?? '',
    policy: readString(input, 'Policy', checker, POLICY_RULE),
    bypassLockoutCheck: readBoolean(input, 'BypassPolicyLockoutSafetyCheck'),
    description: readString(input, 'Description', checker, DESCRIPTION_RULE),
    tags: readTags(input, 'Tags', checker) ?? [],
    /** As sent, for the replica-Region CreateKey record. */
    sent: { Tags: input['Tags'], Policy: input['Policy'] },
  }),
  before(ctx, primary) {
    const group = ctx.store.group(primary.keyId);
    if (!primary.multiRegion || !group || group.primaryRegion !== primary.region) throw notPrimaryError(primary);
  },
  run(ctx, primary, { replicaRegion, policy, description, tags, sent }) {
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
    if (ctx.store.group(primary.keyId)?.replicaRegions.includes(replicaRegion)) {
      throw alreadyExistsError(`Key '${keyArn(replicaRegion, ctx.account, primary.keyId)}' already exists`);
    }
    checkPolicy(policy);
    checkTagRules(tags);
    checkKeyQuota(ctx, replicaRegion);

    const replica = createReplica(ctx.store, primary, {
      region: replicaRegion,
      at: ctx.at,
      state: 'Creating',
      creatingUntil: ctx.at + ctx.replicaDelayMs,
      tags,
      ...(description === undefined ? {} : { description }),
      ...(policy === undefined ? {} : { policy }),
    });
    // A ReplicateKey response has no CurrentKeyMaterialId, though DescribeKey shows it later (REC/OBS [S7 provider.py]).
    const { CurrentKeyMaterialId: _notInResponse, ...ReplicaKeyMetadata } = ctx.store.metadata(replica);
    const ReplicaTags: TagView[] = ctx.store.tagList(replica);
    ctx.sideRecords.push(replicaCreateKeyRecord(ReplicaKeyMetadata, replica.region, sent));
    return {
      output: { ReplicaKeyMetadata, ReplicaPolicy: replica.policy, ReplicaTags },
      responseElements: { ReplicaKeyMetadata, ReplicaPolicy: replica.policy },
    };
  },
});

/**
 * The replica-Region CreateKey record of a ReplicateKey. INF throughout: AWS publishes no sample
 * and the fact sheet lists its shape as unverified [fact sheet §5.2, §9, §10]. Chosen shape, by
 * analogy with the one published record KMS writes in another Region on a caller's behalf (the
 * new-primary UpdatePrimaryRegion record [S23]): the caller's identity plus `invokedBy:
 * kms.amazonaws.com`, the caller's `sourceIPAddress`, `userAgent: AWS Internal`, no `tlsDetails`;
 * the ReplicateKey's `requestID`, request parameters naming what the replica was created with (tags
 * and policy as sent: unverified too), and the replica's metadata (`REPLICA`, `Creating`) as
 * `keyMetadata`. The reconciler depends on none of this beyond the key it names.
 */
function replicaCreateKeyRecord(metadata: Omit<KeyMetadataView, 'CurrentKeyMaterialId'>, replicaRegion: string, sent: { Tags: unknown; Policy: unknown }): SideRecord {
  const requestParameters: Record<string, unknown> = {
    Description: metadata.Description,
    KeyUsage: metadata.KeyUsage,
    KeySpec: metadata.KeySpec,
    Origin: metadata.Origin,
    MultiRegion: true,
  };
  if (sent.Tags !== undefined) requestParameters['Tags'] = sent.Tags;
  if (sent.Policy !== undefined) requestParameters['Policy'] = sent.Policy;
  return {
    eventName: 'CreateKey',
    region: replicaRegion,
    requestParameters,
    responseElements: { KeyMetadata: metadata },
    resourceArns: [metadata.Arn],
    invokedBy: 'kms.amazonaws.com',
    userAgent: 'AWS Internal',
  };
}

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
 *   primary key.` (INF: the wording ReplicateKey uses); a key `Updating` is checked by the update
 *   it is in, below;
 * - the primary's state (key-state table); `Updating` (the table allows it): INF, a repeat of the
 *   in-flight update from its old primary's Region succeeds without change, anything else while
 *   updating → `KMSInvalidStateException <arn> is updating.`;
 * - `PrimaryRegion` = the primary's own Region → `UnsupportedOperationException` (INF);
 * - no replica in `PrimaryRegion` → `NotFoundException Key '<arn there>' does not exist` (INF:
 *   the model lists NotFound; the docs say only that a replica must exist there);
 * - the replica in Creating, PendingImport, PendingDeletion or Updating →
 *   `KMSInvalidStateException` naming the replica (INF).
 * CloudTrail: two records with one `requestID`, each with `responseElements.keyId` = its key's
 * ARN (records since December 2022 [fact sheet §10][S23]): the old primary's Region
 * (`requestParameters` as sent, `resources` [old primary]) and the new primary's Region (the
 * caller's identity plus `invokedBy: "kms.amazonaws.com"`, the caller's `sourceIPAddress`,
 * `userAgent: "AWS Internal"` [fact sheet §10], `keyId` = the key ARN there, `primaryRegion`,
 * no `resources`).
 */
export const updatePrimaryRegion = defineKeyOperation({
  name: 'UpdatePrimaryRegion',
  mutating: true,
  read: (input, checker) => readString(input, 'PrimaryRegion', checker, REGION_RULE) ?? '',
  before(ctx, primary) {
    const group = primary.multiRegion ? ctx.store.group(primary.keyId) : undefined;
    if (!group) throw notPrimaryError(primary);
    if (primary.state !== 'Updating' && group.primaryRegion !== primary.region) throw notPrimaryError(primary);
  },
  run(ctx, primary, primaryRegion) {
    if (primary.state === 'Updating') {
      const update = ctx.store.group(primary.keyId)?.update;
      if (!update || update.from !== primary.region || update.to !== primaryRegion) throw invalidStateError(primary.arn, primary.state);
      ctx.sideRecords.push(newPrimaryRecord(ctx, primary.keyId, primaryRegion));
      return { output: {}, responseElements: { KeyId: primary.arn } };
    }
    if (primaryRegion === primary.region) {
      throw unsupportedOperationError(`${primary.arn} is already the primary key in ${primaryRegion}.`);
    }
    const replica = ctx.store.group(primary.keyId)?.replicaRegions.includes(primaryRegion)
      ? ctx.store.get(primaryRegion, primary.keyId)
      : undefined;
    if (!replica) throw keyDoesNotExistError(keyArn(primaryRegion, ctx.account, primary.keyId));
    if (replica.state !== 'Enabled' && replica.state !== 'Disabled') throw invalidStateError(replica.arn, replica.state);
    ctx.store.startPrimaryUpdate(primary.keyId, primary.region, primaryRegion, ctx.at + (ctx.primaryUpdateDelayMs ?? 0));
    ctx.sideRecords.push(newPrimaryRecord(ctx, primary.keyId, primaryRegion));
    return { output: {}, responseElements: { KeyId: primary.arn } };
  },
});

/** The new-primary Region's UpdatePrimaryRegion record [S1 ct-update-primary-region.md]. */
function newPrimaryRecord(ctx: OperationContext, keyId: string, primaryRegion: string): SideRecord {
  const arn = keyArn(primaryRegion, ctx.account, keyId);
  return {
    eventName: 'UpdatePrimaryRegion',
    region: primaryRegion,
    requestParameters: { KeyId: arn, PrimaryRegion: primaryRegion },
    responseElements: { KeyId: arn },
    resourceArns: [],
    invokedBy: 'kms.amazonaws.com',
    userAgent: 'AWS Internal',
  };
}
