/**
 * The port through which the reconciler talks to KMS. `src/aws/kms.ts` implements it with the
 * AWS SDK; nothing outside `src/aws/` knows the SDK exists.
 */
import type { KeyDescription, KeyState, Tag } from './types.js';

/** Input of `ReplicateKey` (API_ReplicateKey [S2]). */
export interface ReplicateKeyInput {
  /** ARN of the multi-Region primary key. */
  readonly primaryArn: string;
  /** The primary key's Region: the call is made there. */
  readonly primaryRegion: string;
  readonly replicaRegion: string;
  readonly description?: string;
  readonly tags?: readonly Tag[];
  /** A key policy document (JSON); omitted = KMS's default key policy. */
  readonly policy?: string;
}

/** What `ReplicateKey` returns that the reconciler reports. */
export interface ReplicateKeyResult {
  readonly replicaArn: string;
  /** Normally `Creating` [S7]. */
  readonly keyState: KeyState;
}

/**
 * KMS operations used by the reconciler. Every method makes exactly the one (paged) KMS call it
 * names, in the given Region, and rejects with a `TerminalError` or `RetryableError` whose
 * `code` is the AWS error name (see `classifyAwsError`).
 */
export interface KmsGateway {
  /**
   * `DescribeKey` in `region`.
   * @returns the key, or `undefined` when KMS answers `NotFoundException` (a state, not an error).
   */
  describeKey(region: string, keyId: string, signal?: AbortSignal): Promise<KeyDescription | undefined>;
  /** `ListResourceTags`, every page. */
  listResourceTags(region: string, keyId: string, signal?: AbortSignal): Promise<Tag[]>;
  /** `GetKeyPolicy` of the `default` policy. */
  getKeyPolicy(region: string, keyId: string, signal?: AbortSignal): Promise<string>;
  /** `ReplicateKey`, called in the primary's Region. */
  replicateKey(input: ReplicateKeyInput, signal?: AbortSignal): Promise<ReplicateKeyResult>;
  /** `CancelKeyDeletion`; the key is `Disabled` afterwards [S2]. */
  cancelKeyDeletion(region: string, keyId: string, signal?: AbortSignal): Promise<void>;
  /** `EnableKey`. */
  enableKey(region: string, keyId: string, signal?: AbortSignal): Promise<void>;
}
