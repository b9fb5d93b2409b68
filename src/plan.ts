/**
 * The pure planner (design §2.3–§2.6): desired Regions versus observed replicas, as data.
 * No I/O, no clock, no randomness: the same observation always gives the same plan.
 */
import { parseReplicaRegionsTag } from './tag-contract.js';
import type { KeyDescription, KeyState, ReconcileResult, RegionStatus, RegionalKeyRef, Tag } from './types.js';

/** A replica listed in the primary's `ReplicaKeys`, observed with `DescribeKey` in its own Region. */
export type ReplicaObservation =
  | (RegionalKeyRef & { readonly exists: true; readonly keyState: KeyState; readonly deletionDate?: Date })
  /** Listed by the primary but `NotFoundException` in its Region (eventual consistency [S17]). */
  | (RegionalKeyRef & { readonly exists: false });

/** Everything the planner may look at: a fresh read of the key family. */
export interface FamilyObservation {
  /** The key the trigger resolved to: a multi-Region primary, or a single-Region key. */
  readonly primary: KeyDescription;
  /** The primary's tags (all pages of `ListResourceTags`). */
  readonly tags: readonly Tag[];
  /** One entry per `ReplicaKeys` entry of the primary. */
  readonly replicas: readonly ReplicaObservation[];
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
      /** `CancelKeyDeletion` then `EnableKey` on a replica (a cancelled key comes back `Disabled` [S2]). */
      readonly kind: 'RestoreReplica';
      readonly replicaArn: string;
      readonly replicaRegion: string;
    };

/** The planner's answer: what to do, and each Region's status if nothing is done. */
export interface ReplicationPlan {
  readonly result: ReconcileResult;
  readonly actions: readonly ReplicationAction[];
  /** Sorted by Region; Regions with an action are `missing` / `blocked-pending-deletion` here. */
  readonly statuses: readonly RegionStatus[];
  readonly message?: string;
}

/**
 * Plans the replication of one multi-Region key family.
 *
 * Only an `Enabled` primary gets actions (key-state table [S1 key-state.md]). Replicas listed in
 * `ReplicaKeys` count as present whatever their state, since `ReplicateKey` to their Region
 * answers `AlreadyExistsException` (API_ReplicateKey [S2]); replicas in Regions not desired are
 * reported `extra` and never deleted.
 *
 * @param observation - a fresh read of the family.
 * @param settings - the planning settings.
 * @returns the plan; `actions` is empty when nothing needs writing.
 */
export function planReplication(observation: FamilyObservation, settings: PlanSettings): ReplicationPlan {
  const { primary } = observation;
  const tag = observation.tags.find((t) => t.key === settings.tagKey);
  if (!tag) return { result: 'unmanaged', actions: [], statuses: [] };
  if (!primary.multiRegion) {
    return {
      result: 'not-multi-region',
      actions: [],
      statuses: [],
      message: `${primary.arn} is a single-Region key; it carries the ${settings.tagKey} tag but cannot be replicated (a key cannot become multi-Region after creation)`,
    };
  }

  const desired = parseReplicaRegionsTag(tag.value, {
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
      const status = statusOfReplica(replica);
      statuses.push(status);
      if (writable && status.status === 'blocked-pending-deletion' && settings.onPendingDeletion === 'restore') {
        actions.push({ kind: 'RestoreReplica', replicaArn: replica.arn, replicaRegion: region });
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
    statuses.push({
      region: replica.region,
      status: 'extra',
      ...(replica.exists ? { keyState: replica.keyState } : {}),
      message: `replica in a Region not named by the ${settings.tagKey} tag; left in place`,
    });
  }
  statuses.sort((a, b) => (a.region < b.region ? -1 : a.region > b.region ? 1 : 0));

  if (!writable) {
    return {
      result: 'primary-not-enabled',
      actions: [],
      statuses,
      message: `primary key is ${primary.keyState}; only an Enabled primary can be replicated`,
    };
  }
  return { result: 'reconciled', actions, statuses };
}

function statusOfReplica(replica: ReplicaObservation): RegionStatus {
  const region = replica.region;
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
      return { region, status: 'replica-disabled', keyState, message: 'replica exists but is disabled' };
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
    // `aws:` tags belong to AWS and are refused by TagResource/ReplicateKey (TagException [S7]).
    ...(settings.copyTags ? { tags: tags.filter((t) => !t.key.toLowerCase().startsWith('aws:')) } : {}),
    copyPolicy: settings.replicaPolicy === 'primary',
  };
}
