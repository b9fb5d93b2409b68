/**
 * The two KMS calls that make and retire keys: `CreateKey` of a multi-Region primary and
 * `ScheduleKeyDeletion`. Only the smoke run uses them; the reconciler never creates a primary
 * and never deletes anything.
 */
import { CreateKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import type { KeyState, Tag } from '../reconcile/types.js';
import { classifyAwsError } from './classify.js';
import type { KmsClientFor } from './clients.js';

/** A key `CreateKey` made. */
export interface CreatedKey {
  readonly keyId: string;
  readonly arn: string;
  readonly region: string;
  /** `x-amzn-RequestId` of the call (CloudTrail's `requestID`). */
  readonly requestId?: string;
  /** The response's `KeyMetadata` as the SDK returns it (PascalCase, `Date`s). */
  readonly keyMetadata: Readonly<Record<string, unknown>>;
}

/** What `ScheduleKeyDeletion` answered (API_ScheduleKeyDeletion [S2]). */
export interface ScheduledDeletion {
  /** The key ARN. */
  readonly keyId: string;
  /** `PendingDeletion`, or `PendingReplicaDeletion` for a primary that still has replicas [S2]. */
  readonly keyState?: KeyState;
  /** Absent for `PendingReplicaDeletion` (the window starts when the last replica is deleted). */
  readonly deletionDate?: Date;
  readonly pendingWindowInDays?: number;
  readonly requestId?: string;
}

/** Creating and retiring keys. */
export interface KmsLifecycle {
  /**
   * `CreateKey` of a symmetric multi-Region primary (`SYMMETRIC_DEFAULT`, `ENCRYPT_DECRYPT`,
   * origin `AWS_KMS`, KMS's default key policy) with a description and tags. Tags need
   * `kms:TagResource` besides `kms:CreateKey` (KMS developer guide, `manage-tags-api`).
   * @throws {TerminalError} or {RetryableError} (see `classifyAwsError`).
   */
  createMultiRegionPrimary(region: string, input: { readonly description: string; readonly tags: readonly Tag[] }, signal?: AbortSignal): Promise<CreatedKey>;
  /**
   * `ScheduleKeyDeletion` with a waiting period of `pendingWindowInDays` (7-30 [S2]).
   * @throws {TerminalError} or {RetryableError}; `NotFoundException` for a key that does not
   *   exist, `KMSInvalidStateException` for one already pending deletion.
   */
  scheduleKeyDeletion(region: string, keyId: string, pendingWindowInDays: number, signal?: AbortSignal): Promise<ScheduledDeletion>;
}

/**
 * @param kmsClientFor - the per-Region clients (shared with the reconciler in the smoke run).
 */
export function createKmsLifecycle(kmsClientFor: KmsClientFor): KmsLifecycle {
  return {
    async createMultiRegionPrimary(region, input, signal) {
      try {
        const out = await kmsClientFor(region).send(
          new CreateKeyCommand({
            Description: input.description,
            KeySpec: 'SYMMETRIC_DEFAULT',
            KeyUsage: 'ENCRYPT_DECRYPT',
            MultiRegion: true,
            Tags: input.tags.map((t) => ({ TagKey: t.key, TagValue: t.value })),
          }),
          signal ? { abortSignal: signal } : {},
        );
        const metadata = out.KeyMetadata;
        if (!metadata?.KeyId || !metadata.Arn) throw new Error('CreateKey returned no KeyMetadata.KeyId or Arn');
        return {
          keyId: metadata.KeyId,
          arn: metadata.Arn,
          region,
          ...(out.$metadata.requestId ? { requestId: out.$metadata.requestId } : {}),
          keyMetadata: { ...metadata },
        };
      } catch (error) {
        throw classifyAwsError(error);
      }
    },
    async scheduleKeyDeletion(region, keyId, pendingWindowInDays, signal) {
      try {
        const out = await kmsClientFor(region).send(
          new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: pendingWindowInDays }),
          signal ? { abortSignal: signal } : {},
        );
        return {
          keyId: out.KeyId ?? keyId,
          ...(out.KeyState ? { keyState: out.KeyState as KeyState } : {}),
          ...(out.DeletionDate ? { deletionDate: out.DeletionDate } : {}),
          ...(out.PendingWindowInDays !== undefined ? { pendingWindowInDays: out.PendingWindowInDays } : {}),
          ...(out.$metadata.requestId ? { requestId: out.$metadata.requestId } : {}),
        };
      } catch (error) {
        throw classifyAwsError(error);
      }
    },
  };
}
