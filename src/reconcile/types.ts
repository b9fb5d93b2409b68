/**
 * The small vocabulary shared by the reconciler's modules. Names follow AWS KMS spelling.
 */
import type { RegionStatusCode } from './statuses.js';

/**
 * A KMS key state, spelled as the API spells it.
 * Source: API_KeyMetadata `KeyState` [S2]; key-state table [S1 key-state.md].
 */
export type KeyState =
  | 'Creating'
  | 'Enabled'
  | 'Disabled'
  | 'PendingDeletion'
  | 'PendingImport'
  | 'PendingReplicaDeletion'
  | 'Unavailable'
  | 'Updating';

/** A KMS key as observed by `DescribeKey`, reduced to what reconciling needs. */
export interface KeyDescription {
  readonly keyId: string;
  readonly arn: string;
  /** The Region the key lives in (the Region of the ARN). */
  readonly region: string;
  readonly keyState: KeyState;
  readonly description: string;
  /** `AWS_KMS`, `EXTERNAL`, ... */
  readonly origin: string;
  readonly multiRegion: boolean;
  /** Absent for single-Region keys. */
  readonly multiRegionKeyType?: 'PRIMARY' | 'REPLICA';
  /** The primary key of the family; absent for single-Region keys. */
  readonly primaryKey?: RegionalKeyRef;
  /** Every replica of the family (no state: `ReplicaKeys` entries carry none [S2]). */
  readonly replicaKeys: readonly RegionalKeyRef[];
  /** Set only in `PendingDeletion`. */
  readonly deletionDate?: Date;
  /**
   * When the key was created (`KeyMetadata.CreationDate` [S2]); it never changes, so it tells a
   * replica from an earlier one of the same family in the same Region.
   */
  readonly creationDate?: Date;
  /**
   * `KeyMetadata.CurrentKeyMaterialId` [S2]: the key material in use (symmetric keys with AWS_KMS
   * or EXTERNAL origin); absent when the key has none (e.g. an EXTERNAL key before its import).
   */
  readonly currentKeyMaterialId?: string;
}

/** A key named by ARN and Region, as in `MultiRegionConfiguration`. */
export interface RegionalKeyRef {
  readonly arn: string;
  readonly region: string;
}

/** A tag as KMS stores it (keys and values are case-sensitive). */
export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** What the trigger names: a key in a Region. Never a source of state. */
export interface ReconcileRequest {
  /** Key id, `mrk-` id or key ARN, as found in the event. */
  readonly keyId: string;
  /** The Region to look the key up in (from the ARN, else the event's `awsRegion`). */
  readonly region: string;
  /** The CloudTrail `eventName`, or `Sweep` / `Manual` for other triggers. */
  readonly eventName: string;
  /** The CloudTrail `eventID` (for dedupe and correlation), or a generated id. */
  readonly eventId: string;
  /** When the triggering call happened (CloudTrail `eventTime`). */
  readonly eventTime?: Date;
  /**
   * What the event says the key is: `PRIMARY` for `ReplicateKey` and a primary's `CreateKey`,
   * `REPLICA` for the replica-Region `CreateKey`. Only a hint for which reads to start at once;
   * never trusted as state.
   */
  readonly keyTypeHint?: 'PRIMARY' | 'REPLICA';
  /**
   * Stop at a replica key instead of following it to its primary (the sweep: the sweep of the
   * primary's Region covers the family). The outcome is then `replica`, after one read.
   */
  readonly stopAtReplica?: boolean;
}

/**
 * The status of one desired Region (or one bad tag token, or one extra replica) after a
 * reconcile: a key of the status vocabulary (`statuses.ts`). Meanings: `design.md` §2.
 */
export type { RegionStatusCode } from './statuses.js';

/** A classified error attached to a `failed` status. */
export interface ErrorSummary {
  /** The AWS error name, e.g. `AccessDeniedException`. */
  readonly name: string;
  readonly message: string;
  readonly retryable: boolean;
}

/**
 * Whether a replica of an EXTERNAL (imported key material) family holds its primary's key material
 * [fact sheet §10][S26]: `current`, the material the primary uses (so the replica is usable);
 * `pending`, the new material imported into the primary and waiting for `RotateKeyOnDemand`, which
 * KMS refuses until every replica holds it. `pending` is absent when the primary has none (or it
 * could not be read).
 */
export interface KeyMaterialHolding {
  readonly current: boolean;
  readonly pending?: boolean;
}

/** One line of a reconcile's report. */
export interface RegionStatus {
  /** A Region code, or the raw tag token for `invalid-region`. */
  readonly region: string;
  readonly status: RegionStatusCode;
  /** The replica's key state when one was observed. */
  readonly keyState?: KeyState;
  /** ISO-8601 deletion date of a replica in `PendingDeletion`. */
  readonly deletionDate?: string;
  /** A human-readable explanation for statuses that need one. */
  readonly message?: string;
  readonly error?: ErrorSummary;
  /** Replicas of an EXTERNAL family: which of the primary's key materials this replica holds. */
  readonly keyMaterial?: KeyMaterialHolding;
}

/**
 * The key material of an EXTERNAL family, as its primary lists it (`ListKeyRotations`,
 * `IncludeKeyMaterial=ALL_KEY_MATERIAL` [S2]).
 */
export interface FamilyKeyMaterial {
  /** The primary's `CURRENT` material. */
  readonly currentKeyMaterialId?: string;
  /** New material imported into the primary, waiting for `RotateKeyOnDemand` [S2 RotationsListEntry]. */
  readonly pendingKeyMaterialId?: string;
  /**
   * `PENDING_MULTI_REGION_IMPORT_AND_ROTATION` while some replica lacks it (the `material-pending`
   * Regions name them), `PENDING_ROTATION` once every replica has it.
   */
  readonly pendingState?: 'PENDING_ROTATION' | 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION';
  /** The read of the materials failed: nothing is said of them (the replication went on). */
  readonly error?: ErrorSummary;
}

/** Whole-key result of a reconcile. */
export type ReconcileResult =
  /** desired vs actual compared; see `regions`. */
  | 'reconciled'
  /** the primary carries no Region tag: nothing to do. */
  | 'unmanaged'
  /** a single-Region key carries the tag: it can never be replicated. */
  | 'not-multi-region'
  /** the primary's state forbids `ReplicateKey`; no writes were made. */
  | 'primary-not-enabled'
  /** the key named by the event no longer exists. */
  | 'key-not-found'
  /** the key is a replica key and the request asked to stop there (`stopAtReplica`). */
  | 'replica';

/** The report of one reconcile: what was observed, decided and done. */
export interface ReconcileOutcome {
  readonly result: ReconcileResult;
  /** The key id shared by the whole multi-Region family. */
  readonly keyId: string;
  readonly primaryArn?: string;
  readonly primaryRegion?: string;
  readonly primaryKeyState?: KeyState;
  /**
   * The primary key's description (`DescribeKey` `Description`, user-written, up to 8192
   * characters [S2 API_KeyMetadata]); absent when empty or when no primary was read. Shown by
   * `kms-replicas status --json` and `report`; left out of outcome events (schema v1).
   */
  readonly description?: string;
  /** One entry per desired Region, bad token and extra replica, sorted by Region. */
  readonly regions: readonly RegionStatus[];
  /** Number of write calls made (`ReplicateKey`, ...). */
  readonly writes: number;
  readonly dryRun: boolean;
  /** Human-readable reason for a non-`reconciled` result. */
  readonly message?: string;
  /** EXTERNAL families with replicas: the primary's key material (see `keyMaterial` of each Region). */
  readonly keyMaterial?: FamilyKeyMaterial;
}
