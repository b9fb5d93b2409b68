/**
 * The only sequencer: resolve the primary, observe the family, plan (pure), apply the plan
 * (design §2). Level-triggered: the request names a key; everything else is read fresh.
 */
import { RetryableError, TerminalError, isReconcilerError, summarizeError, type ReconcilerError } from './errors.js';
import type { KmsGateway } from './kms-gateway.js';
import {
  RESTORE_STEPS,
  familyScope,
  planReplication,
  statusesAfterWrites,
  type MaterialObservation,
  type PlanSettings,
  type ReplicaObservation,
  type ReplicationAction,
  type ReplicationPlan,
  type RestoreStep,
  type WriteResult,
} from './plan.js';
import type { KeyDescription, ReconcileOutcome, ReconcileRequest, Tag } from './types.js';
import { settle, type Settled } from './settle.js';
import { DONE, verdictOfFailure, verdictOfRegions, type DoneVerdict, type Reconciled, type RetryVerdict, type TerminalVerdict } from './verdict.js';

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
 * How long after a `CreateKey` or `ReplicateKey` call a `NotFoundException` from any read or write
 * of the family is taken for KMS eventual consistency (retryable) rather than a deleted key. KMS
 * changes "can take minutes" [S17]; a key cannot be deleted sooner than 7 days after it is
 * scheduled [S2 ScheduleKeyDeletion], so in this window NotFound means "not visible yet".
 */
const NOT_FOUND_GRACE_MS = 5 * 60_000;

/**
 * Reconciles the multi-Region key family of the key a request names, and says what should happen
 * next (its verdict, `verdict.ts`).
 *
 * Calls: `DescribeKey` of the named key (at once with `ListResourceTags` when the event says it
 * is a primary), then `ListResourceTags` of the primary, or for a replica `DescribeKey` ∥
 * `ListResourceTags` of its primary (`MultiRegionConfiguration.PrimaryKey` [S2]); then
 * `DescribeKey` of each other replica in its own Region (skipped for an untagged key); for an
 * EXTERNAL family with replicas, `ListKeyRotations` of the primary (and of each replica while new
 * material waits for them, see `observeMaterials`); then one `ReplicateKey` per missing Region, and
 * the calls of each planned restore (`TagResource` of the restore marker on the primary,
 * `CancelKeyDeletion`, `EnableKey`, `UntagResource`). A no-op costs 2 + (number of replicas) calls
 * (one more for an EXTERNAL family). A replica that cannot be read is its Region's `failed`
 * status; the other Regions are still planned and written. `writes` counts the write calls sent:
 * a call aborted while it waited for its pacing slot was never sent.
 *
 * @param request - the key and Region named by the trigger.
 * @param deps - the KMS gateway, settings and clock.
 * @param signal - aborts in-flight calls (Lambda timeout).
 * @returns `{ outcome, verdict }`. The outcome: the whole-key result and one status per desired
 *   Region, bad tag token and extra replica; per-Region read and write failures are Regions
 *   `failed` in it. The verdict: `done`; or `retry` naming the Regions that failed for a passing
 *   reason (throttling, a 5xx, `NotFoundException` right after the triggering call), the error
 *   `<Region>: <code>: <message>` of the first. Without an outcome, the family could not be
 *   reconciled: `retry` when the observation failed for a passing reason (throttling, a 5xx, the
 *   primary Region changing, `PrimaryRegionChanging` also when `ReplicateKey` answered
 *   `UnsupportedOperationException` and the named primary no longer reads as `PRIMARY`; a key not
 *   yet visible, `NotFoundException` within 5 minutes of the `CreateKey`/`ReplicateKey` that
 *   triggered the reconcile; `AbortError`, or the signal's own `RetryableError` reason, when
 *   `signal` aborted before any write was sent); `terminal` when a read of the named key or its
 *   primary failed for a lasting reason (e.g. `AccessDeniedException`).
 * @throws only what is neither a classified error nor explained by the signal (a programming
 *   error): the gateway rejects with classified errors only.
 */
export async function reconcile(request: ReconcileRequest, deps: ReconcileDeps, signal?: AbortSignal): Promise<Reconciled> {
  const planned = await planKey(request, deps, signal);
  return planned.outcome ? planned.apply(signal) : planned;
}

/**
 * After `ReplicateKey` answered `UnsupportedOperationException` (which it does for a key that is
 * not a multi-Region primary [S7][S25]), re-reads the named primary with one `DescribeKey`. If it
 * now reads as a replica, as `Updating`, or not at all, `UpdatePrimaryRegion` moved the primary
 * after the family was read (during the change both keys may read as REPLICA [S2
 * UpdatePrimaryRegion]): the reconcile is retried, and the retry starts from the new primary.
 * If it still reads as the primary, the error stands as the Regions' terminal `failed` status
 * (e.g. a Region not enabled for the account).
 *
 * @throws {RetryableError} `PrimaryRegionChanging` when the key no longer reads as the primary;
 *   whatever the re-read throws.
 */
async function checkStillPrimary(primary: KeyDescription, kms: KmsGateway, signal?: AbortSignal): Promise<void> {
  const reread = await kms.describeKey(primary.region, primary.arn, signal);
  if (reread?.multiRegionKeyType === 'PRIMARY' && reread.keyState !== 'Updating') return;
  const now = !reread
    ? 'is not found (NotFoundException)'
    : reread.multiRegionKeyType !== 'PRIMARY'
      ? `now reads as a ${reread.multiRegionKeyType ?? 'single-Region'} key`
      : 'is Updating';
  throw new RetryableError(
    `ReplicateKey answered UnsupportedOperationException and ${primary.arn} ${now}: the primary Region changed during the reconcile`,
    'PrimaryRegionChanging',
  );
}

/**
 * Whether the triggering call created a key of the family moments ago (`CreateKey`: the key;
 * `ReplicateKey`: the replica), so that `NotFoundException` means "not visible yet" [S17].
 */
function withinCreationGrace(request: ReconcileRequest, deps: ReconcileDeps): boolean {
  if (request.eventName !== 'CreateKey' && request.eventName !== 'ReplicateKey') return false;
  const age = request.eventTime ? deps.now().getTime() - request.eventTime.getTime() : Infinity;
  return age < NOT_FOUND_GRACE_MS;
}

/** A `NotFoundException` within the creation grace becomes retryable; anything else is unchanged. */
function graceNotFound(error: unknown, request: ReconcileRequest, deps: ReconcileDeps): unknown {
  const failure = error;
  if (!(failure instanceof TerminalError) || failure.code !== 'NotFoundException' || !withinCreationGrace(request, deps)) return error;
  return new RetryableError(
    `${failure.message} (right after ${request.eventName}: taken for KMS eventual consistency and retried)`,
    'NotFoundException',
    { cause: error },
  );
}

/** The value of a settled read, a `NotFoundException` within the creation grace made retryable. */
function unwrapRead<T>(settled: Settled<T>, request: ReconcileRequest, deps: ReconcileDeps): T {
  if (settled.ok) return settled.value;
  throw graceNotFound(settled.error, request, deps);
}

type FamilyRead =
  | { readonly kind: 'not-found' }
  | { readonly kind: 'replica'; readonly replica: KeyDescription }
  | {
      readonly kind: 'found';
      readonly primary: KeyDescription;
      readonly tags: readonly Tag[];
      readonly replicas: readonly ReplicaObservation[];
      readonly materials?: MaterialObservation;
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
    if (withinCreationGrace(request, deps)) {
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
    tags = unwrapRead(primaryTags, request, deps);
  } else {
    tags = unwrapRead(await (speculativeTags ?? settle(kms.listResourceTags(named.region, named.arn, signal))), request, deps);
  }

  if (primary.keyState === 'Updating') {
    throw new RetryableError(`primary key ${primary.arn} is Updating (primary Region change in progress)`, 'KeyUpdating');
  }
  // Only a managed multi-Region primary's replicas matter (the planner's own test, familyScope).
  const replicas = familyScope(primary, tags, settings).kind === 'managed' ? await observeReplicas(primary, known, kms, signal) : [];
  // Only EXTERNAL families hold material someone must import into each replica [S1 multi-region-keys-import.md].
  const materials = primary.origin === 'EXTERNAL' && replicas.length > 0 ? await observeMaterials(primary, replicas, kms, signal) : undefined;
  return { kind: 'found', primary, tags, replicas, ...(materials ? { materials } : {}) };
}

/**
 * The key material of an EXTERNAL family, for the report [fact sheet §10][S26]: `ListKeyRotations`
 * (`ALL_KEY_MATERIAL`) of the primary names its current and pending material; only while the
 * pending one is `PENDING_MULTI_REGION_IMPORT_AND_ROTATION` (some replica lacks it), each observed
 * replica's `ListKeyRotations` says whether it holds it (`ImportState: IMPORTED` [S2
 * RotationsListEntry]); a `Creating` replica holds none and is not read. The replicas' current
 * material comes from their DescribeKey (`CurrentKeyMaterialId`), already read. A side report: a
 * failed read is noted (`error`, or the Region left unsaid), never the reconcile's failure; an
 * abort still ends it.
 */
async function observeMaterials(
  primary: KeyDescription,
  replicas: readonly ReplicaObservation[],
  kms: KmsGateway,
  signal?: AbortSignal,
): Promise<MaterialObservation> {
  let entries;
  try {
    entries = await kms.listKeyMaterials(primary.region, primary.arn, signal);
  } catch (error) {
    if (signal?.aborted || !isReconcilerError(error)) throw error;
    return { error: summarizeError(error) };
  }
  const current = primary.currentKeyMaterialId ?? entries.find((entry) => entry.state === 'CURRENT')?.keyMaterialId;
  const withCurrent = current ? { currentKeyMaterialId: current } : {};
  const found = entries.find((entry) => entry.state === 'PENDING_ROTATION' || entry.state === 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION');
  if (!found) return withCurrent;
  const pending = { keyMaterialId: found.keyMaterialId, state: found.state as 'PENDING_ROTATION' | 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION' };
  if (pending.state === 'PENDING_ROTATION') return { ...withCurrent, pending };
  const held = await Promise.all(
    replicas.map(async (replica): Promise<[string, boolean] | undefined> => {
      if (replica.exists !== true) return undefined;
      if (replica.keyState === 'Creating') return [replica.region, false];
      const listed = await settle(kms.listKeyMaterials(replica.region, replica.arn, signal));
      if (!listed.ok) {
        if (signal?.aborted) throw listed.error;
        return undefined;
      }
      return [replica.region, listed.value.some((entry) => entry.keyMaterialId === pending.keyMaterialId && entry.imported)];
    }),
  );
  return { ...withCurrent, pending, pendingHeldBy: new Map(held.filter((entry): entry is [string, boolean] => entry !== undefined)) };
}

/**
 * `DescribeKey` of each replica in its own Region. A read that fails is that replica's
 * observation (`exists: 'unknown'` with the error), not the family's: an SCP denying one Region
 * must not stop the others. An abort still ends the whole observation.
 */
async function observeReplicas(
  primary: KeyDescription,
  known: ReadonlyMap<string, KeyDescription>,
  kms: KmsGateway,
  signal?: AbortSignal,
): Promise<ReplicaObservation[]> {
  return Promise.all(
    primary.replicaKeys.map(async (ref): Promise<ReplicaObservation> => {
      let replica: KeyDescription | undefined;
      try {
        replica = known.get(ref.region) ?? (await kms.describeKey(ref.region, ref.arn, signal));
      } catch (error) {
        if (signal?.aborted || !isReconcilerError(error)) throw error;
        return { ...ref, exists: 'unknown', readError: error };
      }
      if (!replica) return { ...ref, exists: false };
      return {
        ...ref,
        exists: true,
        keyState: replica.keyState,
        ...(replica.deletionDate ? { deletionDate: replica.deletionDate } : {}),
        ...(replica.creationDate ? { creationDate: replica.creationDate } : {}),
        ...(replica.currentKeyMaterialId ? { currentKeyMaterialId: replica.currentKeyMaterialId } : {}),
      };
    }),
  );
}

interface Applied {
  /** What each write came to, by its Region. */
  readonly results: ReadonlyMap<string, WriteResult>;
  /** Write calls sent (a call that never left, `unsent`, is not counted). */
  readonly writes: number;
  /** Some `ReplicateKey` answered `UnsupportedOperationException` (see `checkStillPrimary`). */
  readonly unsupported: boolean;
}

interface ApplyContext {
  readonly kms: KmsGateway;
  /** Makes a `NotFoundException` within the creation grace retryable. */
  readonly graceNotFound: (error: unknown) => unknown;
}

/**
 * Makes the planned writes, all at once, and reports what each came to as data (the statuses are
 * assembled by the planner's `statusesAfterWrites`). A classified failure is its Region's result;
 * anything else (a programming error) is thrown once every write has settled.
 */
async function applyPlan(
  actions: readonly ReplicationAction[],
  primary: KeyDescription,
  { kms, graceNotFound: grace }: ApplyContext,
  signal?: AbortSignal,
): Promise<Applied> {
  let writes = 0;
  let unsupported = false;
  let unexpected: { readonly error: unknown } | undefined;
  let policy: Promise<string> | undefined;
  const primaryPolicy = (): Promise<string> => (policy ??= kms.getKeyPolicy(primary.region, primary.arn, signal));
  /** One write call, counted once it was sent (whatever KMS answered). */
  const send = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      const out = await call();
      writes += 1;
      return out;
    } catch (error) {
      if (!(error as Partial<ReconcilerError>).unsent) writes += 1;
      throw error;
    }
  };
  /** A failed write's result: the classified error (a `NotFoundException` within the creation grace made retryable). */
  const failed = (error: unknown, step?: RestoreStep): WriteResult | undefined => {
    const failure = grace(error);
    if (!isReconcilerError(failure)) {
      unexpected ??= { error };
      return undefined;
    }
    return step ? { kind: 'failed', error: failure, step } : { kind: 'failed', error: failure };
  };

  const settled = await Promise.all(
    actions.map(async (action): Promise<[string, WriteResult | undefined]> => {
      const region = action.replicaRegion;
      switch (action.kind) {
        case 'ReplicateKey': {
          try {
            const copied = action.copyPolicy ? await primaryPolicy() : undefined;
            const out = await send(() =>
              kms.replicateKey(
                {
                  primaryArn: action.primaryArn,
                  primaryRegion: action.primaryRegion,
                  replicaRegion: region,
                  ...(action.description !== undefined ? { description: action.description } : {}),
                  ...(action.tags ? { tags: action.tags } : {}),
                  ...(copied !== undefined ? { policy: copied } : {}),
                },
                signal,
              ),
            );
            return [region, { kind: 'created', keyState: out.keyState }];
          } catch (error) {
            const code = (error as Partial<ReconcilerError>).code;
            // A concurrent reconcile or a lost response made it first: success [S2][S20].
            if (code === 'AlreadyExistsException' && isReconcilerError(error)) return [region, { kind: 'already-exists' }];
            if (code === 'UnsupportedOperationException') unsupported = true;
            return [region, failed(error)];
          }
        }
        case 'RestoreReplica': {
          const steps = RESTORE_STEPS.slice(RESTORE_STEPS.indexOf(action.from));
          let step: RestoreStep = action.from;
          try {
            for (step of steps) {
              switch (step) {
                case 'TagResource':
                  // Before the replica changes, so that an interruption anywhere after leaves the mark.
                  await send(() => kms.tagResource(action.primaryRegion, action.primaryArn, [action.marker], signal));
                  break;
                case 'CancelKeyDeletion':
                  await send(() => kms.cancelKeyDeletion(region, action.replicaArn, signal));
                  break;
                case 'EnableKey':
                  // A cancelled key comes back Disabled [S2]: enable it so it is usable again.
                  await send(() => kms.enableKey(region, action.replicaArn, signal));
                  break;
                case 'UntagResource':
                  await send(() => kms.untagResource(action.primaryRegion, action.primaryArn, [action.marker.key], signal));
                  break;
              }
            }
            return [region, { kind: 'restored' }];
          } catch (error) {
            return [region, failed(error, step)];
          }
        }
      }
    }),
  );
  if (unexpected) throw unexpected.error;
  const results = new Map<string, WriteResult>();
  for (const [region, result] of settled) if (result) results.set(region, result);
  return { results, writes, unsupported };
}

/**
 * The Regions of an observation or its writes that failed, each with its classified error: a
 * replica whose `DescribeKey` failed, a write that failed.
 */
function regionFailures(plan: ReplicationPlan, replicas: readonly ReplicaObservation[], results?: ReadonlyMap<string, WriteResult>): Map<string, ReconcilerError> {
  const failures = new Map<string, ReconcilerError>();
  const listed = new Set(plan.statuses.map((status) => status.region));
  for (const replica of replicas) if (replica.exists === 'unknown' && listed.has(replica.region)) failures.set(replica.region, replica.readError);
  for (const [region, result] of results ?? []) if (result.kind === 'failed') failures.set(region, result.error);
  return failures;
}

// ---------------------------------------------------------------------------------------------
// Plan first, write later (issue 10). `reconcile` is `planKey` then `apply`; the key-event batch
// handler and the sweep read and plan a family, then decide whether to write here (time left, the
// write budget), forward it to the primary's Region, or queue it for the key-event containers.
// ---------------------------------------------------------------------------------------------

/** A reconcile that has read and planned the family and written nothing yet. */
export interface PlannedReconcile {
  /**
   * The outcome if nothing is written: as `reconcile` reports it when the plan is empty or
   * `DRY_RUN` is on (statuses `missing` / `restore-planned` where writes are planned).
   */
  readonly outcome: ReconcileOutcome;
  /** The verdict of {@link outcome}: `retry` when a replica could not be read for a passing reason. */
  readonly verdict: DoneVerdict | RetryVerdict;
  /** The writes `apply` will make; empty when `outcome` is already final (nothing to write, or `DRY_RUN`). */
  readonly actions: readonly ReplicationAction[];
  /**
   * Makes the planned writes (none under `DRY_RUN`) and returns what `reconcile` would have
   * returned. Per-Region write failures are statuses (and, when retryable, the verdict's Regions).
   * Without an outcome: `retry` with `AbortError` (or the signal's `RetryableError` reason) when
   * `signal` aborted before any write was sent; `retry` with `PrimaryRegionChanging` when
   * `ReplicateKey` answered `UnsupportedOperationException` and the named primary no longer reads
   * as `PRIMARY`.
   */
  apply(signal?: AbortSignal): Promise<Reconciled>;
}

/** A family that could not be read: no outcome, only the verdict. */
export interface UnreadFamily {
  readonly outcome?: undefined;
  readonly verdict: RetryVerdict | TerminalVerdict;
}

/**
 * Observes and plans the family of the key a request names, without writing: the reads of
 * `reconcile`, the same verdicts.
 *
 * @returns the planned reconcile, or (no `outcome`) the verdict of a family that could not be read.
 * @throws only a programming error (see `reconcile`).
 */
export async function planKey(request: ReconcileRequest, deps: ReconcileDeps, signal?: AbortSignal): Promise<PlannedReconcile | UnreadFamily> {
  const { kms, settings } = deps;
  const final = (outcome: ReconcileOutcome, verdict: DoneVerdict | RetryVerdict = DONE): PlannedReconcile => ({
    outcome,
    verdict,
    actions: [],
    apply: async () => ({ outcome, verdict }),
  });
  let observed: FamilyRead;
  try {
    observed = await observeFamily(request, deps, signal);
  } catch (error) {
    return { verdict: verdictOfFailure(error, signal) };
  }
  if (observed.kind === 'replica') {
    const { replica } = observed;
    return final({
      result: 'replica',
      keyId: replica.keyId,
      ...(replica.primaryKey ? { primaryArn: replica.primaryKey.arn, primaryRegion: replica.primaryKey.region } : {}),
      regions: [],
      writes: 0,
      dryRun: settings.dryRun,
      message: `${replica.arn} is a replica key; its family is reconciled from its primary key`,
    });
  }
  if (observed.kind === 'not-found') {
    return final({
      result: 'key-not-found',
      keyId: request.keyId,
      regions: [],
      writes: 0,
      dryRun: settings.dryRun,
      message: `key ${request.keyId} does not exist in ${request.region}`,
    });
  }
  const { primary, tags, replicas, materials } = observed;
  const plan = planReplication({ primary, tags, replicas, ...(materials ? { materials } : {}) }, settings);
  const base = {
    keyId: primary.keyId,
    primaryArn: primary.arn,
    primaryRegion: primary.region,
    primaryKeyState: primary.keyState,
    ...(primary.description ? { description: primary.description } : {}),
    dryRun: settings.dryRun,
    ...(plan.message ? { message: plan.message } : {}),
    ...(plan.keyMaterial ? { keyMaterial: plan.keyMaterial } : {}),
  };
  const unwritten: ReconcileOutcome = { ...base, result: plan.result, regions: plan.statuses, writes: 0 };
  const unwrittenVerdict = verdictOfRegions(regionFailures(plan, replicas));
  if (plan.actions.length === 0 || settings.dryRun) return final(unwritten, unwrittenVerdict);
  return {
    outcome: unwritten,
    verdict: unwrittenVerdict,
    actions: plan.actions,
    async apply(applySignal?: AbortSignal): Promise<Reconciled> {
      const writeSignal = applySignal ?? signal;
      const applied = await applyPlan(plan.actions, primary, { kms, graceNotFound: (error) => graceNotFound(error, request, deps) }, writeSignal);
      if (writeSignal?.aborted && applied.writes === 0) {
        // Cut short before anything was sent: not a result (a sweep resumes it, Lambda retries it).
        return { verdict: verdictOfFailure(new RetryableError(`the reconcile of ${primary.arn} was aborted before any write was sent`, 'AbortError'), writeSignal) };
      }
      if (applied.unsupported) {
        try {
          await checkStillPrimary(primary, kms, writeSignal);
        } catch (error) {
          return { verdict: verdictOfFailure(error, writeSignal) };
        }
      }
      const outcome: ReconcileOutcome = { ...base, result: plan.result, regions: statusesAfterWrites(plan, applied.results), writes: applied.writes };
      return { outcome, verdict: verdictOfRegions(regionFailures(plan, replicas, applied.results)) };
    },
  };
}
