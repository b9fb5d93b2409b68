/**
 * The pure planner (design §2.3–§2.6): desired Regions versus observed replicas, as data.
 * No I/O, no clock, no randomness: the same observation always gives the same plan.
 */
import { summarizeError, type ReconcilerError } from './errors.js';
import { parseReplicaRegionsTag } from './tag-contract.js';
import type {
  ErrorSummary,
  FamilyKeyMaterial,
  KeyDescription,
  KeyMaterialHolding,
  KeyState,
  ReconcileResult,
  RegionStatus,
  RegionalKeyRef,
  Tag,
} from './types.js';

/** A replica listed in the primary's `ReplicaKeys`, observed with `DescribeKey` in its own Region. */
export type ReplicaObservation =
  | (RegionalKeyRef & {
      readonly exists: true;
      readonly keyState: KeyState;
      readonly deletionDate?: Date;
      /** `KeyMetadata.CreationDate`: tells this replica from an earlier one in the same Region. */
      readonly creationDate?: Date;
      /** `KeyMetadata.CurrentKeyMaterialId` [S2]. */
      readonly currentKeyMaterialId?: string;
    })
  /** Listed by the primary but `NotFoundException` in its Region (eventual consistency [S17]). */
  | (RegionalKeyRef & { readonly exists: false })
  /**
   * `DescribeKey` in the replica's Region failed (e.g. `AccessDeniedException` from a service
   * control policy denying that Region): its state is unknown. Only this Region is affected; the
   * error (as `src/aws/` classified it) is its Region's `failed` status, and retried when retryable.
   */
  | (RegionalKeyRef & { readonly exists: 'unknown'; readonly readError: ReconcilerError });

/**
 * Prefix of the restore marker: the tag `<prefix><Region>` the reconciler puts on the primary
 * before it cancels the deletion of that Region's replica, and removes once the replica is
 * `Enabled` again. Its value is the replica's creation date (ISO 8601), so a marker never applies
 * to another replica of the same Region. A replica in `PendingDeletion` cannot be tagged
 * (`KMSInvalidStateException` [S1 key-state.md]), hence the primary, which a restore requires to
 * be `Enabled`. The marker is how a later reconcile tells a restore interrupted between
 * `CancelKeyDeletion` and `EnableKey` (complete it) from a replica a person disabled (leave it).
 */
export const RESTORE_MARKER_PREFIX = 'kms-replica-reconciler:restoring:';

/** The restore marker's tag key for the replica of `region`. */
export function restoreMarkerKey(region: string): string {
  return `${RESTORE_MARKER_PREFIX}${region}`;
}

/**
 * The calls of a restore, in order: mark the primary, `CancelKeyDeletion` (the replica comes back
 * `Disabled` [S2]), `EnableKey`, remove the mark. An interrupted restore resumes at its first
 * call not done.
 */
export const RESTORE_STEPS = ['TagResource', 'CancelKeyDeletion', 'EnableKey', 'UntagResource'] as const;

/** One call of a restore (see {@link RESTORE_STEPS}). */
export type RestoreStep = (typeof RESTORE_STEPS)[number];

/**
 * The key material of an EXTERNAL family with replicas, read for the report only (it changes no
 * action) [fact sheet §10][S26]: the primary's `ListKeyRotations` and, while its new material is
 * `PENDING_MULTI_REGION_IMPORT_AND_ROTATION`, each replica's.
 */
export interface MaterialObservation {
  /** The primary's `CURRENT` material. */
  readonly currentKeyMaterialId?: string;
  /** New material imported into the primary, waiting for `RotateKeyOnDemand`. */
  readonly pending?: {
    readonly keyMaterialId: string;
    readonly state: 'PENDING_ROTATION' | 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION';
  };
  /**
   * While `pending.state` is `PENDING_MULTI_REGION_IMPORT_AND_ROTATION`: per replica Region,
   * whether that replica holds the pending material. A Region missing here was not read (or its
   * read failed): nothing is said of it.
   */
  readonly pendingHeldBy?: ReadonlyMap<string, boolean>;
  /** The primary's materials could not be read: nothing is said of them. */
  readonly error?: ErrorSummary;
}

/** Everything the planner may look at: a fresh read of the key family. */
export interface FamilyObservation {
  /** The key the trigger resolved to: a multi-Region primary, or a single-Region key. */
  readonly primary: KeyDescription;
  /** The primary's tags (all pages of `ListResourceTags`). */
  readonly tags: readonly Tag[];
  /** One entry per `ReplicaKeys` entry of the primary. */
  readonly replicas: readonly ReplicaObservation[];
  /** EXTERNAL families with replicas only. */
  readonly materials?: MaterialObservation;
}

/** The settings that change what is planned (a slice of `Config`). */
export interface PlanSettings {
  /** The tag key that names the desired Regions (`REPLICA_REGIONS_TAG`). */
  readonly tagKey: string;
  /** `ALLOWED_REGIONS`, or `undefined` for any Region of the primary's partition. */
  readonly allowedRegions?: ReadonlySet<string>;
  /** `ON_PENDING_DELETION`: `report` leaves a pending-deletion replica alone; `restore` revives it. */
  readonly onPendingDeletion: 'report' | 'restore';
  /** `COPY_TAGS`: give the replica a copy of the primary's tags. */
  readonly copyTags: boolean;
  /** `COPY_DESCRIPTION`: give the replica the primary's description. */
  readonly copyDescription: boolean;
  /** `REPLICA_POLICY`: `default` (KMS's default key policy) or `primary` (copy the primary's). */
  readonly replicaPolicy: 'default' | 'primary';
}

/** One write the executor must perform. */
export type ReplicationAction =
  | {
      readonly kind: 'ReplicateKey';
      readonly primaryArn: string;
      readonly primaryRegion: string;
      readonly replicaRegion: string;
      /** `undefined` leaves KMS's default (`""`). */
      readonly description?: string;
      /** `undefined` creates the replica without tags. */
      readonly tags?: readonly Tag[];
      /** True: read the primary's key policy and pass it as `Policy`. */
      readonly copyPolicy: boolean;
    }
  | {
      /**
       * The calls of {@link RESTORE_STEPS} from `from` on: `TagResource` of the marker on the
       * primary, `CancelKeyDeletion` and `EnableKey` of the replica, `UntagResource` of the marker.
       */
      readonly kind: 'RestoreReplica';
      readonly replicaArn: string;
      readonly replicaRegion: string;
      readonly primaryArn: string;
      readonly primaryRegion: string;
      /** The restore marker: key {@link restoreMarkerKey}, value the replica's creation date. */
      readonly marker: Tag;
      /** The first call to make: `TagResource` for a new restore, later for an interrupted one. */
      readonly from: RestoreStep;
    };

/** The planner's answer: what to do, and each Region's status if nothing is done. */
export interface ReplicationPlan {
  readonly result: ReconcileResult;
  readonly actions: readonly ReplicationAction[];
  /** Sorted by Region; Regions with an action are `missing` / `restore-planned` here. */
  readonly statuses: readonly RegionStatus[];
  readonly message?: string;
  /** EXTERNAL families with replicas: the primary's key material. */
  readonly keyMaterial?: FamilyKeyMaterial;
}

/**
 * Whether a key is managed, and so whether its replicas matter (design §1): the one place that
 * decides it. A key is managed when its tags carry the Region tag (`settings.tagKey`, case-sensitive);
 * a managed single-Region key can never be replicated. Only a managed multi-Region primary's
 * replicas are read (`reconcile`) and planned ({@link planReplication}).
 *
 * @returns `unmanaged` (no Region tag), `not-multi-region`, or `managed` with the Region tag.
 */
export function familyScope(
  primary: Pick<KeyDescription, 'multiRegion'>,
  tags: readonly Tag[],
  settings: Pick<PlanSettings, 'tagKey'>,
): { readonly kind: 'unmanaged' } | { readonly kind: 'not-multi-region' } | { readonly kind: 'managed'; readonly tag: Tag } {
  const tag = tags.find((t) => t.key === settings.tagKey);
  if (!tag) return { kind: 'unmanaged' };
  return primary.multiRegion ? { kind: 'managed', tag } : { kind: 'not-multi-region' };
}

/**
 * Plans the replication of one multi-Region key family.
 *
 * Only an `Enabled` primary gets actions (key-state table [S1 key-state.md]). Replicas listed in
 * `ReplicaKeys` count as present whatever their state, since `ReplicateKey` to their Region
 * answers `AlreadyExistsException` (API_ReplicateKey [S2]); replicas in Regions not desired are
 * reported `extra` and never deleted. A replica whose `DescribeKey` failed is its Region's `failed`
 * status and gets no action; the other Regions are planned as usual.
 *
 * For an EXTERNAL family whose key material was read (`observation.materials`), each replica's
 * status carries `keyMaterial` (does it hold the primary's current and pending material?), and an
 * otherwise `present` replica that lacks the pending material is `material-pending`: KMS refuses
 * `RotateKeyOnDemand` on the primary until every replica holds it [S26][fact sheet §10]. Extra
 * replicas (outside the tag) carry the field too: the rotation waits for them as well.
 *
 * With `ON_PENDING_DELETION=restore`, a desired Region's replica gets a `RestoreReplica` action
 * when it is `PendingDeletion`, or when the primary carries its restore marker (see
 * {@link RESTORE_MARKER_PREFIX}) and it is `Disabled` (an interrupted restore) or `Enabled` (the
 * marker is left over). A `Disabled` replica without its marker was disabled by someone else and
 * is only reported.
 *
 * @param observation - a fresh read of the family.
 * @param settings - the planning settings.
 * @returns the plan; `actions` is empty when nothing needs writing.
 */
export function planReplication(observation: FamilyObservation, settings: PlanSettings): ReplicationPlan {
  const { primary } = observation;
  const scope = familyScope(primary, observation.tags, settings);
  if (scope.kind === 'unmanaged') return { result: 'unmanaged', actions: [], statuses: [] };
  if (scope.kind === 'not-multi-region') {
    return {
      result: 'not-multi-region',
      actions: [],
      statuses: [],
      message: `${primary.arn} is a single-Region key; it carries the ${settings.tagKey} tag but cannot be replicated (a key cannot become multi-Region after creation)`,
    };
  }

  const desired = parseReplicaRegionsTag(scope.tag.value, {
    primaryRegion: primary.region,
    ...(settings.allowedRegions ? { allowedRegions: settings.allowedRegions } : {}),
  });
  const replicasByRegion = new Map(observation.replicas.map((r) => [r.region, r]));
  const writable = primary.keyState === 'Enabled';
  const actions: ReplicationAction[] = [];
  const statuses: RegionStatus[] = [];

  for (const region of desired.regions) {
    const replica = replicasByRegion.get(region);
    if (replica) {
      const marker = observation.tags.find((t) => t.key === restoreMarkerKey(region))?.value;
      const restore = writable && settings.onPendingDeletion === 'restore' ? planRestore(primary, replica, marker) : undefined;
      if (restore) {
        statuses.push(restore.status);
        actions.push(restore.action);
      } else {
        statuses.push(withKeyMaterial(statusOfReplica(replica, isInterruptedRestore(replica, marker)), replica, observation.materials));
      }
      continue;
    }
    statuses.push({ region, status: 'missing' });
    if (writable) actions.push(replicateAction(primary, region, observation.tags, settings));
  }
  for (const token of desired.rejected) {
    statuses.push({ region: token.token, status: token.status, message: token.message });
  }
  for (const replica of observation.replicas) {
    if (desired.regions.includes(replica.region)) continue;
    if (replica.exists === 'unknown') {
      statuses.push(unreadableStatus(replica, ` (a replica in a Region the ${settings.tagKey} tag does not name)`));
      continue;
    }
    const extra: RegionStatus = {
      region: replica.region,
      status: 'extra',
      ...(replica.exists ? { keyState: replica.keyState } : {}),
      message: `replica in a Region not named by the ${settings.tagKey} tag; left in place`,
    };
    const holding = holdingOf(replica, observation.materials);
    statuses.push(holding ? { ...extra, keyMaterial: holding } : extra);
  }
  statuses.sort((a, b) => (a.region < b.region ? -1 : a.region > b.region ? 1 : 0));
  const keyMaterial = familyKeyMaterial(observation.materials);
  const withMaterial = keyMaterial ? { keyMaterial } : {};

  if (!writable) {
    return {
      result: 'primary-not-enabled',
      actions: [],
      statuses,
      message: `primary key is ${primary.keyState}; only an Enabled primary can be replicated`,
      ...withMaterial,
    };
  }
  return { result: 'reconciled', actions, statuses, ...withMaterial };
}

/** The family's material as the outcome reports it. */
function familyKeyMaterial(materials: MaterialObservation | undefined): FamilyKeyMaterial | undefined {
  if (!materials) return undefined;
  return {
    ...(materials.currentKeyMaterialId ? { currentKeyMaterialId: materials.currentKeyMaterialId } : {}),
    ...(materials.pending ? { pendingKeyMaterialId: materials.pending.keyMaterialId, pendingState: materials.pending.state } : {}),
    ...(materials.error ? { error: materials.error } : {}),
  };
}

/**
 * Which of the primary's materials a replica holds: the current one when its `CurrentKeyMaterialId`
 * is the primary's and it is not waiting for material (`PendingImport`, `Creating`); the pending
 * one per `pendingHeldBy`, or surely when the primary's says `PENDING_ROTATION` (every replica has
 * it [S2 RotationsListEntry]). `undefined` when nothing was read or the replica was not observed.
 */
function holdingOf(replica: ReplicaObservation, materials: MaterialObservation | undefined): KeyMaterialHolding | undefined {
  if (!materials || materials.error || replica.exists !== true) return undefined;
  const current =
    materials.currentKeyMaterialId !== undefined &&
    replica.currentKeyMaterialId === materials.currentKeyMaterialId &&
    replica.keyState !== 'PendingImport' &&
    replica.keyState !== 'Creating';
  const pending = !materials.pending ? undefined : materials.pending.state === 'PENDING_ROTATION' ? true : materials.pendingHeldBy?.get(replica.region);
  return pending === undefined ? { current } : { current, pending };
}

/**
 * Adds `keyMaterial` to a replica's status; a `present` replica that lacks the pending material
 * becomes `material-pending`, naming the material and what to do.
 */
function withKeyMaterial(status: RegionStatus, replica: ReplicaObservation, materials: MaterialObservation | undefined): RegionStatus {
  const holding = holdingOf(replica, materials);
  if (!holding) return status;
  if (status.status === 'present' && holding.pending === false && materials?.pending) {
    return {
      ...status,
      status: 'material-pending',
      keyMaterial: holding,
      message:
        `replica lacks the primary's new key material ${materials.pending.keyMaterialId} (${materials.pending.state}): ` +
        'import it into this replica (ImportKeyMaterial with ImportType EXISTING_KEY_MATERIAL) before RotateKeyOnDemand on the primary',
    };
  }
  return { ...status, keyMaterial: holding };
}

/** The restore a replica needs, given the primary's marker for its Region; `undefined` if none. */
function planRestore(
  primary: KeyDescription,
  replica: ReplicaObservation,
  marker: string | undefined,
): { readonly status: RegionStatus; readonly action: ReplicationAction } | undefined {
  if (replica.exists !== true || !replica.creationDate) return undefined;
  const region = replica.region;
  const identity = replica.creationDate.toISOString();
  const marked = marker === identity;
  let from: RestoreStep;
  let message: string;
  if (replica.keyState === 'PendingDeletion') {
    from = marked ? 'CancelKeyDeletion' : 'TagResource';
    message = 'restore planned: CancelKeyDeletion, then EnableKey';
  } else if (marked && replica.keyState === 'Disabled') {
    from = 'EnableKey';
    message = 'restore planned: EnableKey, to complete an interrupted restore';
  } else if (marked && replica.keyState === 'Enabled') {
    from = 'UntagResource';
    message = 'restore planned: remove the marker of a finished restore from the primary';
  } else {
    return undefined;
  }
  return {
    status: {
      region,
      status: 'restore-planned',
      keyState: replica.keyState,
      ...(replica.deletionDate ? { deletionDate: replica.deletionDate.toISOString() } : {}),
      message,
    },
    action: {
      kind: 'RestoreReplica',
      replicaArn: replica.arn,
      replicaRegion: region,
      primaryArn: primary.arn,
      primaryRegion: primary.region,
      marker: { key: restoreMarkerKey(region), value: identity },
      from,
    },
  };
}

/** Whether a `Disabled` replica was left so by an interrupted restore (its marker names it). */
function isInterruptedRestore(replica: ReplicaObservation, marker: string | undefined): boolean {
  return replica.exists === true && replica.keyState === 'Disabled' && marker !== undefined && marker === replica.creationDate?.toISOString();
}

function unreadableStatus(replica: RegionalKeyRef & { readonly readError: ReconcilerError }, where = ''): RegionStatus {
  return failedStatus(
    replica.region,
    replica.readError,
    `DescribeKey of the replica in ${replica.region} failed, so its state is unknown${where}: ${replica.readError.message}`,
  );
}

function statusOfReplica(replica: ReplicaObservation, interruptedRestore: boolean): RegionStatus {
  const region = replica.region;
  if (replica.exists === 'unknown') return unreadableStatus(replica);
  if (!replica.exists) {
    return {
      region,
      status: 'creating',
      message: 'listed in ReplicaKeys but not yet visible in its Region (KMS eventual consistency)',
    };
  }
  const keyState = replica.keyState;
  switch (keyState) {
    case 'Creating':
      return { region, status: 'creating', keyState };
    case 'PendingImport':
      return {
        region,
        status: 'pending-import',
        keyState,
        message: 'replica has no key material: import the primary key material into this replica',
      };
    case 'Disabled':
      return {
        region,
        status: 'replica-disabled',
        keyState,
        message: interruptedRestore
          ? `replica is disabled by a restore that was interrupted after CancelKeyDeletion (marker ${restoreMarkerKey(region)} on the primary): ` +
            'a reconcile with ON_PENDING_DELETION=restore and an Enabled primary completes it'
          : 'replica exists but is disabled',
      };
    case 'PendingDeletion':
      return {
        region,
        status: 'blocked-pending-deletion',
        keyState,
        ...(replica.deletionDate ? { deletionDate: replica.deletionDate.toISOString() } : {}),
        message:
          'replica is scheduled for deletion; ReplicateKey to this Region fails until the deletion is cancelled or completes',
      };
    case 'Enabled':
    case 'PendingReplicaDeletion':
    case 'Unavailable':
    case 'Updating':
      return { region, status: 'present', keyState };
  }
}

function replicateAction(
  primary: KeyDescription,
  replicaRegion: string,
  tags: readonly Tag[],
  settings: PlanSettings,
): ReplicationAction {
  return {
    kind: 'ReplicateKey',
    primaryArn: primary.arn,
    primaryRegion: primary.region,
    replicaRegion,
    ...(settings.copyDescription ? { description: primary.description } : {}),
    // `aws:` tags belong to AWS and are refused by TagResource/ReplicateKey (TagException [S7]);
    // restore markers are about the primary's replicas, never a replica's own.
    ...(settings.copyTags ? { tags: tags.filter((t) => !t.key.toLowerCase().startsWith('aws:') && !t.key.startsWith(RESTORE_MARKER_PREFIX)) } : {}),
    copyPolicy: settings.replicaPolicy === 'primary',
  };
}

// ---------------------------------------------------------------------------------------------
// A Region's status after its write. The executor (`reconcile.ts`) reports what each planned write
// made of its Region as data; its status is assembled here, with the planner's other statuses.
// ---------------------------------------------------------------------------------------------

/** What the planned write of one Region came to (reported by the executor, turned into a status by {@link statusesAfterWrites}). */
export type WriteResult =
  /** `ReplicateKey` answered with the new replica (`keyState` normally `Creating` [S7]). */
  | { readonly kind: 'created'; readonly keyState: KeyState }
  /** `ReplicateKey` answered `AlreadyExistsException`: a concurrent reconcile or a lost response made it first [S2][S20]. */
  | { readonly kind: 'already-exists' }
  /** Every call of the restore succeeded. */
  | { readonly kind: 'restored' }
  /** A call failed; `step` is the restore's call that failed (absent for `ReplicateKey`). */
  | { readonly kind: 'failed'; readonly error: ReconcilerError; readonly step?: RestoreStep };

/**
 * Added to the message of `LimitExceededException` from `ReplicateKey`: the replica Region's
 * KMS keys resource quota is full (API_ReplicateKey [S2]; resource-limits [S1]: quota "AWS KMS
 * keys", 100,000 customer managed keys per Region, adjustable). Retrying cannot help.
 */
const KEY_QUOTA_HINT =
  'The Region holds as many KMS keys as its resource quota allows (AWS KMS quota "AWS KMS keys": ' +
  '100,000 customer managed keys per Region by default, adjustable in Service Quotas): delete keys there or request a higher quota. Not retried.';

/** What a restore that failed at a call leaves behind, for its failed status's message. */
const RESTORE_LEFT: Readonly<Record<RestoreStep, string>> = {
  TagResource: '; nothing was changed',
  CancelKeyDeletion: '; the replica is still pending deletion',
  EnableKey: '; the replica is Disabled until a later reconcile completes the restore (the marker on the primary says so)',
  UntagResource: '; the replica is Enabled, and a later reconcile removes the marker from the primary',
};

/** What a finished restore reports, by the call it started from. */
const RESTORED_MESSAGES: Readonly<Record<RestoreStep, string>> = {
  TagResource: 'deletion cancelled and replica enabled',
  CancelKeyDeletion: 'deletion cancelled and replica enabled',
  EnableKey: 'an interrupted restore was completed: replica enabled',
  UntagResource: 'the marker of a finished restore was removed from the primary',
};

/**
 * The plan's statuses after its writes: each written Region's status is what its write came to
 * (`created`, `already-exists`, `restored`, or `failed` with the error and, for a restore, what the
 * failed call left behind); every other Region keeps its planned status.
 *
 * @param plan - the plan the writes were made for.
 * @param results - per written Region (`replicaRegion` of its action), what its write came to.
 * @returns the statuses, sorted by Region as the plan's.
 */
export function statusesAfterWrites(plan: ReplicationPlan, results: ReadonlyMap<string, WriteResult>): RegionStatus[] {
  const actions = new Map(plan.actions.map((action) => [action.replicaRegion, action]));
  return plan.statuses.map((planned) => {
    const action = actions.get(planned.region);
    const result = results.get(planned.region);
    return action && result ? statusAfterWrite(action, result) : planned;
  });
}

function statusAfterWrite(action: ReplicationAction, result: WriteResult): RegionStatus {
  const region = action.replicaRegion;
  switch (result.kind) {
    case 'created':
      return { region, status: 'created', keyState: result.keyState };
    case 'already-exists':
      return { region, status: 'already-exists', message: 'a replica already exists in this Region' };
    case 'restored':
      // Only a RestoreReplica write restores.
      return { region, status: 'restored', keyState: 'Enabled', ...(action.kind === 'RestoreReplica' ? { message: RESTORED_MESSAGES[action.from] } : {}) };
    case 'failed': {
      const { error, step } = result;
      if (step) return failedStatus(region, error, `${step} failed: ${error.message}${RESTORE_LEFT[step]}`);
      if (error.code === 'LimitExceededException') return failedStatus(region, error, `${error.message} ${KEY_QUOTA_HINT}`);
      return failedStatus(region, error);
    }
  }
}

function failedStatus(region: string, error: ReconcilerError, message = error.message): RegionStatus {
  return { region, status: 'failed', message, error: summarizeError(error) };
}
