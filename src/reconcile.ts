/**
 * The only sequencer: resolve the primary, observe the family, plan (pure), apply the plan
 * (design §2). Level-triggered: the request names a key; everything else is read fresh.
 */
import { RetryableError, type ReconcilerError } from './errors.js';
import type { KmsGateway } from './kms-gateway.js';
import { planReplication, type PlanSettings, type ReplicaObservation, type ReplicationAction } from './plan.js';
import type { KeyDescription, ReconcileOutcome, ReconcileRequest, RegionStatus, Tag } from './types.js';
import { settle, unwrap } from './settle.js';

/** Settings of one reconcile: the planner's plus `DRY_RUN`. */
export interface ReconcileSettings extends PlanSettings {
  /** Observe and plan, write nothing. */
  readonly dryRun: boolean;
}

/** What a reconcile needs from the outside world. */
export interface ReconcileDeps {
  readonly kms: KmsGateway;
  readonly settings: ReconcileSettings;
  /** The clock (for "the key was created seconds ago" decisions). */
  readonly now: () => Date;
}

/**
 * How long after the triggering call a `NotFoundException` is taken for KMS eventual
 * consistency (retryable) rather than a deleted key. KMS changes "can take minutes" [S17].
 */
const NOT_FOUND_GRACE_MS = 5 * 60_000;

/**
 * Reconciles the multi-Region key family of the key a request names.
 *
 * Calls: `DescribeKey` of the named key (at once with `ListResourceTags` when the event says it
 * is a primary), then `ListResourceTags` of the primary, or for a replica `DescribeKey` ∥
 * `ListResourceTags` of its primary (`MultiRegionConfiguration.PrimaryKey` [S2]); then
 * `DescribeKey` of each other replica in its own Region (skipped for an untagged key); then one
 * `ReplicateKey` per missing Region. A no-op costs 2 + (number of replicas) calls.
 *
 * @param request - the key and Region named by the trigger.
 * @param deps - the KMS gateway, settings and clock.
 * @param signal - aborts in-flight calls (Lambda timeout).
 * @returns the outcome: the whole-key result and one status per desired Region, bad tag token
 *   and extra replica. Per-Region write failures are reported in `regions` (status `failed`),
 *   not thrown.
 * @throws {RetryableError} when the observation itself cannot complete for a passing reason:
 *   throttling, a 5xx, the primary Region changing (`UpdatePrimaryRegion`), a key not yet visible.
 * @throws {TerminalError} when a read fails for a lasting reason (e.g. `AccessDeniedException`).
 */
export async function reconcileKey(
  request: ReconcileRequest,
  deps: ReconcileDeps,
  signal?: AbortSignal,
): Promise<ReconcileOutcome> {
  const { kms, settings } = deps;
  const observed = await observeFamily(request, deps, signal);
  if (observed.kind === 'replica') {
    const { replica } = observed;
    return {
      result: 'replica',
      keyId: replica.keyId,
      ...(replica.primaryKey ? { primaryArn: replica.primaryKey.arn, primaryRegion: replica.primaryKey.region } : {}),
      regions: [],
      writes: 0,
      dryRun: settings.dryRun,
      message: `${replica.arn} is a replica key; its family is reconciled from its primary key`,
    };
  }
  if (observed.kind === 'not-found') {
    return {
      result: 'key-not-found',
      keyId: request.keyId,
      regions: [],
      writes: 0,
      dryRun: settings.dryRun,
      message: `key ${request.keyId} does not exist in ${request.region}`,
    };
  }
  const { primary, tags, replicas } = observed;
  const plan = planReplication({ primary, tags, replicas }, settings);

  const base = {
    keyId: primary.keyId,
    primaryArn: primary.arn,
    primaryRegion: primary.region,
    primaryKeyState: primary.keyState,
    ...(primary.description ? { description: primary.description } : {}),
    dryRun: settings.dryRun,
    ...(plan.message ? { message: plan.message } : {}),
  };
  if (plan.actions.length === 0 || settings.dryRun) {
    return { ...base, result: plan.result, regions: plan.statuses, writes: 0 };
  }
  const applied = await applyPlan(plan.actions, primary, kms, signal);
  const regions = plan.statuses.map((status) => applied.statuses.get(status.region) ?? status);
  return { ...base, result: plan.result, regions, writes: applied.writes };
}

type FamilyRead =
  | { readonly kind: 'not-found' }
  | { readonly kind: 'replica'; readonly replica: KeyDescription }
  | {
      readonly kind: 'found';
      readonly primary: KeyDescription;
      readonly tags: readonly Tag[];
      readonly replicas: readonly ReplicaObservation[];
    };

async function observeFamily(request: ReconcileRequest, deps: ReconcileDeps, signal?: AbortSignal): Promise<FamilyRead> {
  const { kms, settings } = deps;
  // When the event says the key is a primary, read its tags while describing it: one round trip
  // less. Otherwise describe first, so a replica-side event costs no wasted ListResourceTags.
  const speculativeTags =
    request.keyTypeHint === 'PRIMARY' ? settle(kms.listResourceTags(request.region, request.keyId, signal)) : undefined;
  const named = await kms.describeKey(request.region, request.keyId, signal);
  if (!named) {
    await speculativeTags;
    const age = request.eventTime ? deps.now().getTime() - request.eventTime.getTime() : Infinity;
    if (age < NOT_FOUND_GRACE_MS && (request.eventName === 'CreateKey' || request.eventName === 'ReplicateKey')) {
      throw new RetryableError(
        `key ${request.keyId} is not yet visible in ${request.region} (KMS eventual consistency)`,
        'NotFoundException',
      );
    }
    return { kind: 'not-found' };
  }

  let primary = named;
  let tags: readonly Tag[];
  const known = new Map<string, KeyDescription>();
  if (named.multiRegionKeyType === 'REPLICA' && request.stopAtReplica) {
    await speculativeTags;
    return { kind: 'replica', replica: named };
  }
  if (named.multiRegionKeyType === 'REPLICA') {
    void speculativeTags; // a replica's tags are never the source of truth (design §1)
    known.set(named.region, named);
    const ref = named.primaryKey;
    if (!ref) throw new RetryableError(`replica ${named.arn} names no primary key`, 'PrimaryUnknown');
    const [primaryRead, primaryTags] = await Promise.all([
      kms.describeKey(ref.region, ref.arn, signal),
      settle(kms.listResourceTags(ref.region, ref.arn, signal)),
    ]);
    if (!primaryRead || primaryRead.multiRegionKeyType !== 'PRIMARY') {
      // During UpdatePrimaryRegion both keys may read as REPLICA [S2]; look again later.
      throw new RetryableError(
        `the primary of ${named.arn} (${ref.arn}) does not read as a primary key; the primary Region may be changing`,
        'PrimaryRegionChanging',
      );
    }
    primary = primaryRead;
    tags = unwrap(primaryTags);
  } else {
    tags = unwrap(await (speculativeTags ?? settle(kms.listResourceTags(named.region, named.arn, signal))));
  }

  if (primary.keyState === 'Updating') {
    throw new RetryableError(`primary key ${primary.arn} is Updating (primary Region change in progress)`, 'KeyUpdating');
  }
  const managed = tags.some((t) => t.key === settings.tagKey);
  const replicas = managed && primary.multiRegion ? await observeReplicas(primary, known, kms, signal) : [];
  return { kind: 'found', primary, tags, replicas };
}

async function observeReplicas(
  primary: KeyDescription,
  known: ReadonlyMap<string, KeyDescription>,
  kms: KmsGateway,
  signal?: AbortSignal,
): Promise<ReplicaObservation[]> {
  return Promise.all(
    primary.replicaKeys.map(async (ref): Promise<ReplicaObservation> => {
      const replica = known.get(ref.region) ?? (await kms.describeKey(ref.region, ref.arn, signal));
      if (!replica) return { ...ref, exists: false };
      return {
        ...ref,
        exists: true,
        keyState: replica.keyState,
        ...(replica.deletionDate ? { deletionDate: replica.deletionDate } : {}),
      };
    }),
  );
}

interface Applied {
  readonly statuses: ReadonlyMap<string, RegionStatus>;
  readonly writes: number;
}

async function applyPlan(
  actions: readonly ReplicationAction[],
  primary: KeyDescription,
  kms: KmsGateway,
  signal?: AbortSignal,
): Promise<Applied> {
  let writes = 0;
  let policy: Promise<string> | undefined;
  const primaryPolicy = (): Promise<string> => (policy ??= kms.getKeyPolicy(primary.region, primary.arn, signal));

  const results = await Promise.all(
    actions.map(async (action): Promise<RegionStatus> => {
      switch (action.kind) {
        case 'ReplicateKey': {
          const region = action.replicaRegion;
          try {
            const copied = action.copyPolicy ? await primaryPolicy() : undefined;
            writes += 1;
            const out = await kms.replicateKey(
              {
                primaryArn: action.primaryArn,
                primaryRegion: action.primaryRegion,
                replicaRegion: region,
                ...(action.description !== undefined ? { description: action.description } : {}),
                ...(action.tags ? { tags: action.tags } : {}),
                ...(copied !== undefined ? { policy: copied } : {}),
              },
              signal,
            );
            return { region, status: 'created', keyState: out.keyState };
          } catch (error) {
            const failure = error as ReconcilerError;
            if (failure.code === 'AlreadyExistsException') {
              // A concurrent reconcile or a lost response made it first: success [S2][S20].
              return { region, status: 'already-exists', message: 'a replica already exists in this Region' };
            }
            return failedStatus(region, failure);
          }
        }
        case 'RestoreReplica': {
          const region = action.replicaRegion;
          try {
            writes += 1;
            await kms.cancelKeyDeletion(region, action.replicaArn, signal);
            // A cancelled key comes back Disabled [S2]: enable it so it is usable again.
            writes += 1;
            await kms.enableKey(region, action.replicaArn, signal);
            return { region, status: 'restored', keyState: 'Enabled', message: 'deletion cancelled and replica enabled' };
          } catch (error) {
            return failedStatus(region, error as ReconcilerError);
          }
        }
      }
    }),
  );
  return { statuses: new Map(results.map((s) => [s.region, s])), writes };
}

function failedStatus(region: string, error: ReconcilerError): RegionStatus {
  return {
    region,
    status: 'failed',
    message: error.message,
    error: { name: error.code, message: error.message, retryable: error instanceof RetryableError },
  };
}
