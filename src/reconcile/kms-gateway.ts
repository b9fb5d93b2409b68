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

/** One page of `ListKeys` (API_ListKeys [S2]). */
export interface KeyListPage {
  /** The keys of this page, in KMS's listing order: every key of the Region, of any kind. */
  readonly keys: readonly { readonly keyId: string; readonly arn: string }[];
  /** Pass as `marker` to read the next page; absent on the last page (`Truncated: false`). */
  readonly nextMarker?: string;
}

/**
 * One key material of a key, as `ListKeyRotations` with `IncludeKeyMaterial=ALL_KEY_MATERIAL` lists
 * it [S2 ListKeyRotations, RotationsListEntry].
 */
export interface KeyMaterialEntry {
  readonly keyMaterialId: string;
  /** `CURRENT`, `NON_CURRENT`, `PENDING_ROTATION` or `PENDING_MULTI_REGION_IMPORT_AND_ROTATION`. */
  readonly state: string;
  /** `ImportState` is `IMPORTED`: this key holds the material (EXTERNAL keys) [S2]. */
  readonly imported: boolean;
}

/**
 * KMS operations used by the reconciler. Every method makes exactly the one (paged) KMS call it
 * names, in the given Region, and rejects with a `TerminalError` or `RetryableError` whose
 * `code` is the AWS error name (see `classifyAwsError`). A write that was never sent (its
 * `signal` aborted first) rejects with a `RetryableError` `AbortError` whose `unsent` is true.
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
  /**
   * `TagResource`: adds or replaces `tags` on the key. `KMSInvalidStateException` on a key pending
   * deletion [S1 key-state.md]; `TagException` past 50 tags [S7].
   */
  tagResource(region: string, keyId: string, tags: readonly Tag[], signal?: AbortSignal): Promise<void>;
  /** `UntagResource`: removes `tagKeys`; a key that is not there is ignored [S2]. */
  untagResource(region: string, keyId: string, tagKeys: readonly string[], signal?: AbortSignal): Promise<void>;
  /**
   * `ListKeyRotations` with `IncludeKeyMaterial=ALL_KEY_MATERIAL`, every page: the key's materials,
   * pending ones included [S2]. Read only for EXTERNAL families (see `reconcile`).
   */
  listKeyMaterials(region: string, keyId: string, signal?: AbortSignal): Promise<KeyMaterialEntry[]>;
  /**
   * One page of `ListKeys` in `region` (the sweep streams pages; it never holds the whole list).
   * @param page.marker - the previous page's `nextMarker`; absent for the first page.
   * @param page.limit - keys per page, 1-1000 (KMS default 100) [S2].
   * @throws {TerminalError} `InvalidMarkerException` for a marker KMS did not issue.
   */
  listKeys(region: string, page: { readonly marker?: string; readonly limit?: number }, signal?: AbortSignal): Promise<KeyListPage>;
}
