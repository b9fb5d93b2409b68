/**
 * The invariants of the chaos run (issue 7) and the figures of docs/RELIABILITY.md, computed from
 * a finished {@link ChaosRun}. Each broken invariant is one line naming the family, Region, event
 * or call concerned; the run passes when there is none.
 */
import type { KeyMetadataView } from '../src/emulator/index.js';
import type { KeyEventResult } from '../src/lambda/key-event-handler.js';
import type { ReconcileResult, RegionStatusCode } from '../src/reconcile/types.js';
import { FINDING_OPERATIONS, RESTORE_MARKER_PREFIX, restoreRegions, type ChaosRun, type SecurityHubRun } from './chaos-run.js';
import { DEFAULT_SWEEP_CONCURRENCY } from '../src/sweep/sweep-region.js';
import { KIND_WEIGHTS, type FamilyKind, type FamilyPlan } from './scenario.js';

/** KMS operations the reconciler may call with the chaos configuration (no restore, default policy). */
export const RECONCILER_OPERATIONS: ReadonlySet<string> = new Set(['DescribeKey', 'ListResourceTags', 'ReplicateKey', 'ListKeys', 'ListKeyRotations']);
/**
 * The calls of a restore (`ON_PENDING_DELETION=restore`, design.md §2.6): the marker on the primary
 * (`TagResource` / `UntagResource`), `CancelKeyDeletion` and `EnableKey` of the replica.
 */
export const RESTORE_OPERATIONS: ReadonlySet<string> = new Set(['TagResource', 'CancelKeyDeletion', 'EnableKey', 'UntagResource']);
/** SDK attempts per reconciler call (standard retry mode, as deployed): the most calls one reconcile makes of one restore step. */
const SDK_ATTEMPTS = 3;
/** Operations only the account's users call. */
export const USER_OPERATIONS: ReadonlySet<string> = new Set(['TagResource', 'CreateKey', 'ScheduleKeyDeletion', 'UpdatePrimaryRegion']);

/**
 * Stated bounds on KMS calls per minimum call (see {@link minimumCalls}): the event path pays for
 * duplicated and replayed events, Lambda and SDK retries and lost responses; the sweep for faults.
 */
export interface CallBounds {
  readonly eventPath: number;
  readonly sweep: number;
}

/** The bounds docs/RELIABILITY.md states. */
export const DEFAULT_CALL_BOUNDS: CallBounds = { eventPath: 2.5, sweep: 1.25 };

/** What the end state of a family must be: its whole-key result and, per Region, the statuses allowed. */
export interface ExpectedOutcome {
  readonly result: ReconcileResult;
  readonly regions: ReadonlyMap<string, ReadonlySet<RegionStatusCode>>;
}

/**
 * The end state a family must reach, from how its scenario was built: each desired Region holds a
 * replica (`present`, or `created` when the sweep had to make it; `pending-import` for an
 * EXTERNAL key), unless a replica there is disabled or scheduled for deletion, or the primary is
 * not `Enabled` (`missing`); every bad token is reported; every replica the tag does not name is
 * `extra`.
 */
export function expectedOutcome(plan: FamilyPlan, restoreMode = false): ExpectedOutcome {
  const regions = new Map<string, ReadonlySet<RegionStatusCode>>();
  if (plan.finalTagValue === undefined) return { result: 'unmanaged', regions };
  if (!plan.multiRegion) return { result: 'not-multi-region', regions };
  const replicas = new Map(plan.replicas.map((r) => [r.region, r.keyState]));
  if (plan.finalPrimaryRegion !== plan.primaryRegion) {
    replicas.delete(plan.finalPrimaryRegion);
    replicas.set(plan.primaryRegion, 'Enabled');
  }
  const restores = restoreMode ? restoreRegions(plan) : [];
  for (const region of plan.desiredRegions) {
    const state = region === plan.scheduledReplicaDeletion ? 'PendingDeletion' : replicas.get(region);
    // Restore mode: revived by an event (`present` by the sweep's time) or by the sweep itself.
    regions.set(region, restores.includes(region) ? new Set(['present', 'restored']) : statusesFor(state, plan));
  }
  for (const token of plan.rejectedTokens) regions.set(token.token, new Set([token.status]));
  for (const region of replicas.keys()) {
    if (!plan.desiredRegions.includes(region)) regions.set(region, new Set(['extra']));
  }
  return { result: plan.writable ? 'reconciled' : 'primary-not-enabled', regions };
}

function statusesFor(state: string | undefined, plan: FamilyPlan): ReadonlySet<RegionStatusCode> {
  switch (state) {
    case 'Enabled':
    case 'Creating':
      return new Set(['present']);
    case 'Disabled':
      return new Set(['replica-disabled']);
    case 'PendingDeletion':
      return new Set(['blocked-pending-deletion']);
    default:
      if (!plan.writable) return new Set(['missing']);
      // `already-exists`: the sweep's ReplicateKey lost its response and the SDK's retry found the replica.
      // `creating`: a later run of the sweep re-read (its page resumed) a replica an earlier run made.
      return new Set([plan.origin === 'EXTERNAL' ? 'pending-import' : 'present', 'created', 'already-exists', 'creating']);
  }
}

/** Replicas a family needs created over the whole run (desired Regions with no key at the start). */
export function replicasNeeded(plan: FamilyPlan): number {
  if (!plan.writable) return 0;
  const existing = new Set(plan.replicas.map((r) => r.region));
  return plan.desiredRegions.filter((region) => !existing.has(region) && region !== plan.primaryRegion).length;
}

/** The minimum KMS calls of a perfect run, split as the report shows them. */
export interface MinimumCalls {
  /** One no-op reconcile per CloudTrail record the users caused (2 reads + 1 per replica when managed). */
  readonly eventReads: number;
  /** One sweep over the keys at its start: ListKeys pages, 1 read per replica key, 2 (+1 per replica when managed) per other key. */
  readonly sweepReads: number;
  /** One ReplicateKey per replica that had to be created. */
  readonly writes: number;
}

/**
 * The minimum number of KMS calls: every record the users' actions caused delivered once and
 * reconciled once with the reads of a no-op reconcile (DescribeKey + ListResourceTags, plus a
 * DescribeKey per replica when the key is managed: `reconcile`'s documented cost), one
 * `ReplicateKey` per replica that had to exist, and one sweep reading every key that exists when it
 * starts once. The
 * reconciler's own CloudTrail echoes cost nothing (skipped by principal). Replica counts are those
 * of a perfect run at the time of each action.
 */
export function minimumCalls(run: Pick<ChaosRun, 'scenario' | 'keyIds' | 'kms' | 'attempts' | 'sweepAttemptsFrom'>): MinimumCalls {
  // The sweep reads the keys that exist when it starts: leave out the replicas it creates.
  const madeBySweep = new Set(
    run.attempts
      .slice(run.sweepAttemptsFrom)
      .filter((a) => a.errorCode === undefined)
      .map((a) => `${a.keyId}@${a.replicaRegion}`),
  );
  let eventReads = 0;
  let sweepReads = 0;
  let writes = 0;
  const keysPerRegion = new Map<string, number>();
  const count = (region: string): void => {
    keysPerRegion.set(region, (keysPerRegion.get(region) ?? 0) + 1);
  };
  for (const plan of run.scenario.families) {
    const managed = plan.finalTagValue !== undefined && plan.multiRegion;
    const needed = replicasNeeded(plan);
    writes += needed;
    const atStart = plan.replicas.length;
    const later = atStart + needed - (plan.kind === 'retag' ? 1 : 0);
    for (const action of plan.actions) {
      const records = action.kind === 'UpdatePrimaryRegion' ? 2 : 1;
      const replicas = action.round === 0 ? atStart : later;
      eventReads += records * (2 + (managed ? replicas : 0));
    }
    const keyId = run.keyIds[plan.index] ?? '';
    const primary = run.kms.describe(plan.finalPrimaryRegion, keyId);
    const replicaRegions = (primary?.MultiRegionConfiguration?.ReplicaKeys.map((r) => r.Region) ?? []).filter(
      (region) => !madeBySweep.has(`${keyId}@${region}`),
    );
    count(plan.finalPrimaryRegion);
    sweepReads += 2 + (managed ? replicaRegions.length : 0);
    for (const region of replicaRegions) {
      count(region);
      sweepReads += 1;
    }
  }
  for (const keys of keysPerRegion.values()) sweepReads += Math.max(1, Math.ceil(keys / 100));
  return { eventReads, sweepReads, writes };
}

/** The figures of one run (docs/RELIABILITY.md). */
export interface ChaosFigures {
  readonly seed: number;
  readonly families: number;
  readonly concurrency: number;
  readonly familiesByKind: Readonly<Record<FamilyKind, number>>;
  readonly keysAtStart: number;
  /** Keys at the end: every family's primary, the seeded replicas and the replicas created (none is deleted). */
  readonly keysAtEnd: number;
  readonly userActions: Readonly<Record<string, number>>;
  readonly rounds: number;
  readonly simulatedMinutes: number;
  readonly realSeconds: number;
  readonly events: {
    /** CloudTrail records KMS emitted (before the event faults). */
    readonly emitted: number;
    readonly dropped: number;
    readonly duplicated: number;
    readonly delayed: number;
    readonly reordered: number;
    /** Taken from the queue but not matched by the rule (failed calls carry `errorCode`). */
    readonly filteredByRule: number;
    readonly delivered: number;
    readonly invocations: number;
    readonly retries: number;
    readonly processed: number;
    readonly deadLettered: number;
    readonly deadLetteredByError: Readonly<Record<string, number>>;
    readonly results: Readonly<Record<'reconciled' | 'skipped' | 'rejected' | 'forwarded', number>>;
    readonly thrownByError: Readonly<Record<string, number>>;
    /** The longest invocation (real ms); the function's timeout is 60 s. */
    readonly longestInvocationMs: number;
  };
  readonly faults: {
    readonly throttled: number;
    readonly throttledByQuota: number;
    readonly internalError: number;
    readonly droppedConnection: number;
    readonly delayedCalls: number;
  };
  readonly replicateKey: {
    /** Every ReplicateKey call the reconciler sent (faulted ones included). */
    readonly calls: number;
    /** Calls that reached the operation. */
    readonly reached: number;
    readonly succeeded: number;
    readonly alreadyExists: number;
    /** Successes whose response was lost (connection dropped after the effect). */
    readonly lostResponses: number;
    /** AlreadyExists answers that followed a lost response for the same Region. */
    readonly alreadyExistsAfterLostResponse: number;
    readonly otherErrors: Readonly<Record<string, number>>;
  };
  readonly replicas: {
    readonly seeded: number;
    readonly needed: number;
    readonly createdByEvents: number;
    readonly createdBySweep: number;
  };
  readonly beforeSweep: {
    readonly familiesMissingReplicas: number;
    readonly regionsMissing: number;
    readonly byCause: Readonly<Record<'dead-lettered' | 'event-dropped' | 'no-event' | 'unexplained', number>>;
  };
  readonly sweep: {
    /** Sweep runs over every Region (a run per deadline), and those still going at their deadline. */
    readonly runs: number;
    readonly runsTimedOut: number;
    readonly keys: number;
    readonly writes: number;
    readonly errors: number;
    readonly complete: boolean;
    /** `keyId: error` of every managed family whose sweep reconcile threw. */
    readonly familyErrors: readonly string[];
  };
  readonly endStatuses: Readonly<Record<string, number>>;
  readonly endResults: Readonly<Record<string, number>>;
  /** Desired Regions still without a replica at the end whose reason is a reported retryable failure (the next sweep's). */
  readonly reportedFailures: number;
  readonly kmsCalls: {
    readonly eventPath: number;
    readonly sweep: number;
    readonly byOperation: Readonly<Record<string, number>>;
    readonly minimum: MinimumCalls;
    readonly eventPathMinimum: number;
    readonly sweepMinimum: number;
    readonly eventPathRatio: number;
    readonly sweepRatio: number;
    readonly totalRatio: number;
    readonly bounds: CallBounds;
  };
  readonly outcomeEvents: {
    readonly published: number;
    readonly publishFailures: number;
    readonly writeReportsLost: number;
    /** Failed PutEvents by error code (side reports: none may decide a verdict). */
    readonly failuresByError: Readonly<Record<string, number>>;
  };
  /**
   * The Region whose reads are denied: the families that touch it (held to every invariant, that
   * Region `failed`), those whose primary lives there (unreadable: counted apart), and those of
   * them the sweep reported.
   */
  readonly deniedReads?: { readonly region: string; readonly families: number; readonly primaryThere: number; readonly reported: number };
  /** Restore mode (`--restore`): the replicas to revive and what became of them. */
  readonly restore?: RestoreFigures;
  /** Security Hub findings (`--security-hub`): the faults, what was not imported, the end state. */
  readonly securityHub?: SecurityHubFigures;
}

/** What became of the Security Hub findings of a run with `--security-hub`. */
export interface SecurityHubFigures {
  /** `BatchImportFindings` and `GetFindings` calls before the clean last sweep (every attempt). */
  readonly callsByOperation: Readonly<Record<string, number>>;
  /** Their answers other than success, by error code (injected: throttled, 5xx, denied). */
  readonly failuresByError: Readonly<Record<string, number>>;
  /** Sum of the `FindingsNotImported` metric over the run (the clean sweep's part: 0, checked). */
  readonly findingsNotImported: number;
  /** The clean last sweep: the families it reported as their primary Region's stack, with a problem or converged; the keys it could not read (state unknown: neither raised nor resolved). */
  readonly finalSweep: { readonly problemFamilies: number; readonly convergedFamilies: number; readonly keyErrors: number; readonly writes: number; readonly calls: Readonly<Record<string, number>> };
  /** Findings stored at the end: active, archived (resolved); of the archived, those whose family has an active finding in another Region (its primary moved). */
  readonly findings: { readonly active: number; readonly archived: number; readonly movedPrimary: number };
}

/**
 * Region statuses of a family that converged (every desired Region holds a usable replica),
 * restated from docs/SECURITY-HUB.md rather than imported, so the run checks the product against
 * its contract: any other status is a problem, and so is a result of `not-multi-region` (a
 * single-Region key carrying the tag) or `primary-not-enabled`.
 */
export const CONVERGED_STATUSES: ReadonlySet<RegionStatusCode> = new Set(['present', 'creating', 'created', 'already-exists', 'restored']);
/** Results that are a problem whatever the Regions say. */
const PROBLEM_RESULTS: ReadonlySet<ReconcileResult> = new Set(['not-multi-region', 'primary-not-enabled']);
/** Security Hub's error codes: none may be thrown, redeliver an event or fail a key (side reports). */
export const FINDING_ERROR_CODES: ReadonlySet<string> = new Set(['LimitExceededException', 'InternalException', 'InvalidAccessException', 'InvalidInputException']);

/** What became of the restores of a run in restore mode. */
export interface RestoreFigures {
  /** Desired replicas of writable families that were or became `PendingDeletion`. */
  readonly replicas: number;
  /** The reconciler's calls of each restore operation (every attempt, failed ones included). */
  readonly callsByOperation: Readonly<Record<string, number>>;
  /** `EnableKey` answers other than success, by error code. */
  readonly enableKeyFailures: Readonly<Record<string, number>>;
  /** Just before the sweep: left `Disabled` by a failed `EnableKey` (each must carry its marker: checked), still `PendingDeletion`, `Enabled`. */
  readonly beforeSweep: { readonly disabled: number; readonly pendingDeletion: number; readonly enabled: number };
  /** The sweep's statuses of those Regions. */
  readonly sweepStatuses: Readonly<Record<string, number>>;
  /** At the end: `Enabled` and unmarked; reported failed by the sweep, left to the next one. */
  readonly enabledAtEnd: number;
  readonly leftToNextSweep: number;
  /**
   * The failed ones by what failed: `<call> <error>` for a restore call (`EnableKey
   * ThrottlingException`), `read <error>` when the replica could not be read (a Region whose reads
   * are denied).
   */
  readonly failedBy: Readonly<Record<string, number>>;
  /** The most `EnableKey` calls one replica received, and the bound it was held to. */
  readonly maxEnableKeyCallsPerReplica: number;
}

/** The verdict on a run: every broken invariant (none = pass) and the figures. */
export interface ChaosVerdict {
  readonly violations: readonly string[];
  readonly figures: ChaosFigures;
}

/**
 * Checks every invariant of issue 7 on a finished run:
 * 1. every desired, allowed Region of every `Enabled` primary holds a replica of the current
 *    primary, or the family's last outcome (the sweep's) says exactly why not, and that outcome
 *    is exactly the expected one for every family;
 * 2. no Region received two successful `ReplicateKey` calls, none was attempted into a Region
 *    whose replica is scheduled for deletion, exactly the needed replicas were made; no replica
 *    was deleted, the reconciler called nothing but its reads and `ReplicateKey`;
 * 3. every delivered event was processed or dead-lettered with its error, none was rejected or
 *    crashed the handler, every CloudTrail record is accounted for (nothing looped), and every
 *    family still missing a replica before the sweep lost its event (dropped or dead-lettered);
 * 4. KMS calls stay within {@link CallBounds} of the minimum;
 * 5. no unhandled rejection or uncaught exception, and the traffic went quiet.
 */
export function checkChaosRun(run: ChaosRun, bounds: CallBounds = DEFAULT_CALL_BOUNDS): ChaosVerdict {
  const violations: string[] = [];
  const fail = (message: string): void => {
    violations.push(message);
  };
  const keyOf = (plan: FamilyPlan): string => run.keyIds[plan.index] ?? '';
  // A Region where the role's reads are denied (issue 10's fault class). A replica there is its
  // Region's `failed` status (AccessDeniedException) and the family's other Regions are held to
  // every invariant (issue 11, item 1). A family whose primary lives there cannot be read at all:
  // it is counted apart and held to what still applies (no double or unwanted ReplicateKey,
  // nothing deleted, the failure reported by the sweep, never retried for ever).
  const denied = run.options.faults.deniedReadRegion;
  const touchesDenied = (plan: FamilyPlan): boolean =>
    denied !== undefined &&
    [plan.primaryRegion, plan.finalPrimaryRegion, ...plan.replicas.map((r) => r.region), ...plan.desiredRegions].includes(denied);
  const primaryDenied = (plan: FamilyPlan): boolean => denied !== undefined && (plan.primaryRegion === denied || plan.finalPrimaryRegion === denied);
  const touchingFamilies = run.scenario.families.filter(touchesDenied);
  const blockedFamilies = run.scenario.families.filter(primaryDenied);
  const blockedKeys = new Set(blockedFamilies.map(keyOf));
  const families = run.scenario.families.filter((plan) => !primaryDenied(plan));
  /** The read of `region`'s replica was denied: its one allowed status, besides a replica made there. */
  const deniedRead = (region: string, status: { status: string; error?: { name: string } }): boolean =>
    region === denied && status.status === 'failed' && status.error?.name === 'AccessDeniedException';
  const familyOfKey = new Map(run.scenario.families.map((plan) => [keyOf(plan), plan]));

  // 5. The process and the loop.
  for (const error of run.processErrors) fail(`process: ${error.split('\n')[0]}`);
  if (!run.quiet) fail(`the event traffic did not go quiet within ${run.rounds} rounds: something loops`);

  // 1. End state, per family: the sweep's outcome and the keys that exist.
  const endStatuses: Record<string, number> = {};
  const endResults: Record<string, number> = {};
  const sweepErrors: string[] = [];
  for (const plan of families) {
    const keyId = keyOf(plan);
    const label = `family ${plan.index} (${plan.kind}, ${keyId})`;
    const expected = expectedOutcome(plan, run.restoreMode);
    const swept = run.sweep.get(`${plan.finalPrimaryRegion}/${keyId}`);
    if (!swept) {
      fail(`${label}: the sweep of ${plan.finalPrimaryRegion} did not look at its primary key`);
      continue;
    }
    if (swept.kind !== 'reconciled') {
      endResults[swept.kind] = (endResults[swept.kind] ?? 0) + 1;
      if (swept.kind === 'error') {
        sweepErrors.push(`${keyId}: ${swept.error.name}: ${swept.error.message}`);
        if (!swept.error.retryable) fail(`${label}: the sweep failed terminally: ${swept.error.name}: ${swept.error.message}`);
        // Reported in the sweep's guardrail report (errors) and retried by the next sweep.
      } else {
        fail(`${label}: the sweep saw its primary key as a replica`);
      }
      continue;
    }
    const outcome = swept.outcome;
    endResults[outcome.result] = (endResults[outcome.result] ?? 0) + 1;
    if (outcome.result !== expected.result) fail(`${label}: result ${outcome.result}, expected ${expected.result}`);
    const actual = new Map(outcome.regions.map((r) => [r.region, r]));
    for (const [region, allowed] of expected.regions) {
      const status = actual.get(region);
      if (!status) {
        fail(`${label}: no status for ${region} (expected ${[...allowed].join(' or ')})`);
        continue;
      }
      endStatuses[status.status] = (endStatuses[status.status] ?? 0) + 1;
      if (deniedRead(region, status)) continue;
      if (status.status === 'failed' && (allowed.has('created') || allowed.has('restored'))) {
        // Reported with its error; the next sweep retries it.
        if (!status.error?.retryable) fail(`${label}: ${region} failed terminally: ${status.error?.name}: ${status.message}`);
        continue;
      }
      if (!allowed.has(status.status)) fail(`${label}: ${region} is ${status.status}, expected ${[...allowed].join(' or ')}`);
    }
    for (const status of outcome.regions) {
      if (!expected.regions.has(status.region) && !deniedRead(status.region, status)) fail(`${label}: unexpected status ${status.status} for ${status.region}`);
    }
    if (plan.multiRegion) checkKeysExist(run, plan, keyId, expected, actual, label, fail);
  }

  // The families of the denied Region: reported (a sweep error or a failed Region naming AccessDenied), never silent.
  let blockedReported = 0;
  for (const plan of blockedFamilies) {
    const keyId = keyOf(plan);
    const swept = run.sweep.get(`${plan.finalPrimaryRegion}/${keyId}`);
    const reported =
      plan.finalTagValue === undefined ||
      !plan.multiRegion ||
      (swept?.kind === 'error' && swept.error.name === 'AccessDeniedException') ||
      (swept?.kind === 'reconciled' && (swept.outcome.regions.some((r) => r.status === 'failed' && r.error?.name === 'AccessDeniedException') || swept.outcome.result !== 'reconciled' || expectedOutcome(plan, run.restoreMode).result === swept.outcome.result));
    if (swept === undefined && denied !== plan.finalPrimaryRegion) fail(`family ${plan.index} (${keyId}): the sweep of ${plan.finalPrimaryRegion} did not look at it`);
    if (reported) blockedReported += 1;
    else fail(`family ${plan.index} (${keyId}): touches ${denied}, whose reads are denied, but the sweep reported neither the denial nor a result`);
  }

  // 2. ReplicateKey: at most one success per Region, never into a blocked Region, exactly the needed ones.
  const successes = new Map<string, number>();
  let alreadyExists = 0;
  const otherErrors: Record<string, number> = {};
  for (const attempt of run.attempts) {
    const pair = `${attempt.keyId}@${attempt.replicaRegion}`;
    if (attempt.stateBefore === 'PendingDeletion') {
      fail(`ReplicateKey #${attempt.seq} of ${attempt.keyId} into ${attempt.replicaRegion}, whose replica is scheduled for deletion`);
    }
    if (attempt.errorCode === undefined) {
      successes.set(pair, (successes.get(pair) ?? 0) + 1);
      const plan = familyOfKey.get(attempt.keyId);
      if (!plan?.writable || !plan.desiredRegions.includes(attempt.replicaRegion)) {
        fail(`ReplicateKey #${attempt.seq} made a replica of ${attempt.keyId} in ${attempt.replicaRegion}, which its family does not want`);
      }
    } else if (attempt.errorCode === 'AlreadyExistsException') alreadyExists += 1;
    else otherErrors[attempt.errorCode] = (otherErrors[attempt.errorCode] ?? 0) + 1;
  }
  for (const [pair, n] of successes) if (n > 1) fail(`${pair} received ${n} successful ReplicateKey calls`);
  const needed = families.reduce((n, plan) => n + replicasNeeded(plan), 0);
  const succeededAll = [...successes.values()].reduce((a, b) => a + b, 0);
  const succeeded = [...successes.entries()].filter(([pair]) => !blockedKeys.has(pair.split('@')[0] ?? '')).reduce((a, [, b]) => a + b, 0);
  // Desired Regions still without a replica: each was reported by the sweep (checked above).
  const reportedFailures = families.reduce((n, plan) => n + missingAtEnd(run, plan, keyOf(plan)).length, 0);
  if (succeeded !== needed - reportedFailures) {
    fail(`${succeeded} replicas were created; ${needed} were needed and ${reportedFailures} are reported missing`);
  }

  // Lost responses: zip the attempts with the call log's ReplicateKey calls that reached the operation.
  const reached = run.calls.filter(
    (c) => c.operation === 'ReplicateKey' && c.fault !== 'throttle' && c.fault !== 'internalError' && c.errorCode !== 'ThrottlingException',
  );
  if (reached.length !== run.attempts.length) fail(`harness: ${reached.length} ReplicateKey calls reached KMS, the ledger has ${run.attempts.length}`);
  let lostResponses = 0;
  let alreadyExistsAfterLost = 0;
  run.attempts.forEach((attempt, i) => {
    if (reached[i]?.fault !== 'dropConnection' || attempt.errorCode !== undefined) return;
    lostResponses += 1;
    const next = run.attempts.find((a) => a.seq > attempt.seq && a.keyId === attempt.keyId && a.replicaRegion === attempt.replicaRegion);
    if (next?.errorCode === 'AlreadyExistsException') alreadyExistsAfterLost += 1;
    else if (next) fail(`ReplicateKey #${next.seq} after the lost response of #${attempt.seq} answered ${next.errorCode ?? 'success'}, not AlreadyExistsException`);
  });

  // No replica deleted; the reconciler made no call but its own.
  if (run.deleteKeyEvents > 0) fail(`${run.deleteKeyEvents} keys were deleted`);
  for (const plan of run.scenario.families) {
    const keyId = keyOf(plan);
    for (const replica of plan.replicas) {
      if (!run.kms.describe(replica.region, keyId)) fail(`family ${plan.index}: the key in ${replica.region} no longer exists`);
    }
  }
  for (const attempt of run.attempts) {
    if (attempt.errorCode === undefined && !run.kms.describe(attempt.replicaRegion, attempt.keyId)) {
      fail(`the replica of ${attempt.keyId} in ${attempt.replicaRegion} made by ReplicateKey #${attempt.seq} no longer exists`);
    }
  }
  const byOperation = countBy(run.calls, (c) => c.operation);
  const restoreCallsByOperation: Record<string, number> = {};
  for (const [operation, n] of Object.entries(byOperation)) {
    if (RECONCILER_OPERATIONS.has(operation) || operation === 'PutEvents') continue;
    if (run.securityHub !== undefined && FINDING_OPERATIONS.has(operation)) continue;
    const byUsers = run.userCallsByOperation.get(operation) ?? 0;
    if (run.restoreMode && RESTORE_OPERATIONS.has(operation) && n >= byUsers) {
      // The reconciler's restore calls; bounded by the restore invariants below.
      if (n > byUsers) restoreCallsByOperation[operation] = n - byUsers;
      continue;
    }
    if (!USER_OPERATIONS.has(operation) || n !== byUsers) fail(`${operation}: ${n} calls, ${byUsers} of them by the account's users`);
  }
  const restore = run.restoreMode ? checkRestores(run, families, keyOf, fail) : undefined;

  // 3. Events.
  const results = { reconciled: 0, skipped: 0, rejected: 0, forwarded: 0 };
  const thrownByError: Record<string, number> = {};
  const deadLetteredByError: Record<string, number> = {};
  let invocations = 0;
  for (const delivery of run.deliveries) {
    invocations += delivery.invocations.length;
    for (const invocation of delivery.invocations) {
      if (invocation.error) {
        const code = invocation.error.code ?? invocation.error.name;
        thrownByError[code] = (thrownByError[code] ?? 0) + 1;
        if (invocation.error.name !== 'RetryableError') fail(`event #${delivery.id}: the handler crashed: ${invocation.error.name}: ${invocation.error.message}`);
      }
    }
    const last = delivery.invocations[delivery.invocations.length - 1];
    if (delivery.state === 'pending') fail(`event #${delivery.id} is still waiting for a retry`);
    else if (delivery.state === 'processed') {
      const result = last?.result as KeyEventResult;
      results[result.status] += 1;
      // An event that names a key in the denied Region (or of a family whose primary is there) cannot be read: rejected, reported, never retried.
      const eventRegion = (delivery.event as { detail?: { awsRegion?: unknown } }).detail?.awsRegion;
      const ofBlocked =
        (blockedKeys.has(eventKeyId(delivery.event) ?? '') || (denied !== undefined && eventRegion === denied)) &&
        result.status === 'rejected' &&
        result.error.code === 'AccessDeniedException';
      if (result.status === 'rejected' && !ofBlocked) fail(`event #${delivery.id} (${eventName(delivery.event)}) was rejected: ${result.error.code}: ${result.error.message}`);
    } else {
      const code = last?.error?.code ?? last?.error?.name ?? 'unknown';
      deadLetteredByError[code] = (deadLetteredByError[code] ?? 0) + 1;
      if (!last?.error) fail(`event #${delivery.id} was dead-lettered without its error`);
    }
  }
  const emitted = run.eventsTaken + run.eventsAfterSweep + run.faultStats.eventDrop - run.faultStats.eventDuplicate;
  const replicateCalls = byOperation['ReplicateKey'] ?? 0;
  // Every restore call leaves one record, failed ones included (its faults answer, never drop).
  const restoreCalls = Object.values(restoreCallsByOperation).reduce((a, b) => a + b, 0);
  const accounted = run.userRecords + replicateCalls + succeededAll + run.deleteKeyEvents + restoreCalls;
  if (emitted !== accounted) {
    fail(`${emitted} CloudTrail records were emitted; the users' calls and the reconciler's ReplicateKey${run.restoreMode ? ' and restore' : ''} calls account for ${accounted}`);
  }

  // Families still missing a replica before the sweep: the cause must be a lost event.
  const processedRequestIds = new Set<string>();
  const deadLetteredKeys = new Set<string>();
  for (const delivery of run.deliveries) {
    const detail = (delivery.event as { detail?: { requestID?: unknown } }).detail;
    if (delivery.state === 'processed' && typeof detail?.requestID === 'string') processedRequestIds.add(detail.requestID);
    if (delivery.state === 'parked') deadLetteredKeys.add(eventKeyId(delivery.event) ?? '');
  }
  const byCause = { 'dead-lettered': 0, 'event-dropped': 0, 'no-event': 0, unexplained: 0 };
  let regionsMissing = 0;
  for (const [keyId, regions] of run.missingBeforeSweep) {
    if (blockedKeys.has(keyId)) continue;
    regionsMissing += regions.length;
    const actions = run.performed.filter((p) => p.keyId === keyId);
    if (familyOfKey.get(keyId)?.actions.length === 0) byCause['no-event'] += 1; // a backlog family: nothing happened to it, the sweep's work
    else if (deadLetteredKeys.has(keyId)) byCause['dead-lettered'] += 1;
    else if (actions.some((p) => !processedRequestIds.has(p.requestId))) byCause['event-dropped'] += 1;
    else {
      byCause.unexplained += 1;
      fail(`family of ${keyId}: every event of it was processed, yet ${regions.join(', ')} had no replica before the sweep`);
    }
  }

  // 4. Calls against the minimum.
  const minimum = minimumCalls(run);
  const eventPath = run.calls.slice(0, run.sweepCallsFrom).filter((c) => RECONCILER_OPERATIONS.has(c.operation)).length;
  const sweepCalls = run.calls.slice(run.sweepCallsFrom).filter((c) => RECONCILER_OPERATIONS.has(c.operation)).length;
  const createdBySweep = run.attempts.slice(run.sweepAttemptsFrom).filter((a) => a.errorCode === undefined).length;
  const eventPathMinimum = minimum.eventReads + minimum.writes - createdBySweep;
  const sweepMinimum = minimum.sweepReads + createdBySweep;
  const eventPathRatio = ratio(eventPath, eventPathMinimum);
  // A run that stops mid-page hands on its page's marker: the next run reads that page again and
  // re-reads the keys finished after the first unfinished one (at most the sweep's concurrency).
  const continuations = run.sweepRegions.reduce((n, r) => n + r.runs - 1, 0);
  const rereadAllowance = continuations * (1 + DEFAULT_SWEEP_CONCURRENCY * 3);
  const sweepRatio = ratio(Math.max(0, sweepCalls - rereadAllowance), sweepMinimum);
  if (eventPathRatio > bounds.eventPath) fail(`event path: ${eventPath} KMS calls, ${eventPathRatio}× the minimum ${eventPathMinimum} (bound ${bounds.eventPath}×)`);
  if (sweepRatio > bounds.sweep) fail(`sweep: ${sweepCalls} KMS calls, ${sweepRatio}× the minimum ${sweepMinimum} (bound ${bounds.sweep}×)`);

  const familiesByKind = Object.fromEntries(KIND_WEIGHTS.map(([kind]) => [kind, run.scenario.families.filter((f) => f.kind === kind).length])) as Record<FamilyKind, number>;
  const seeded = run.scenario.families.reduce((n, f) => n + f.replicas.length, 0);
  const sweepKeys = run.sweepRegions.reduce((n, r) => n + r.keys, 0);
  const hubFaults = (fault: string): number => (run.securityHub?.calls ?? []).filter((c) => c.fault === fault).length;
  let figures: ChaosFigures = {
    seed: run.options.seed,
    families: run.scenario.families.length,
    concurrency: run.options.concurrency,
    familiesByKind,
    keysAtStart: run.scenario.families.filter((f) => f.keyId !== undefined).length + seeded,
    keysAtEnd: run.scenario.families.length + seeded + succeededAll,
    userActions: countBy(run.performed, (p) => p.action.kind),
    rounds: run.rounds,
    simulatedMinutes: Math.round(run.simulatedMs / 60_000),
    realSeconds: Math.round(run.realMs / 100) / 10,
    events: {
      emitted,
      dropped: run.faultStats.eventDrop,
      duplicated: run.faultStats.eventDuplicate,
      delayed: run.faultStats.eventDelay,
      reordered: run.faultStats.eventReorder,
      filteredByRule: run.eventsFilteredByRule,
      delivered: run.deliveries.length,
      invocations,
      retries: invocations - run.deliveries.length,
      processed: results.reconciled + results.skipped + results.rejected,
      deadLettered: run.deliveries.filter((d) => d.state === 'parked').length,
      deadLetteredByError,
      results,
      thrownByError,
      longestInvocationMs: Math.max(0, ...run.deliveries.flatMap((d) => d.invocations.map((i) => i.durationMs))),
    },
    faults: {
      // Security Hub's injected faults are counted in its own figures (they answer LimitExceededException, not ThrottlingException).
      throttled: run.faultStats.throttle - hubFaults('throttle'),
      throttledByQuota: run.throttledCount - (run.faultStats.throttle - hubFaults('throttle')),
      internalError: run.faultStats.internalError - hubFaults('internalError'),
      droppedConnection: run.faultStats.dropConnection,
      delayedCalls: run.faultStats.latency,
    },
    replicateKey: {
      calls: replicateCalls,
      reached: run.attempts.length,
      succeeded,
      alreadyExists,
      lostResponses,
      alreadyExistsAfterLostResponse: alreadyExistsAfterLost,
      otherErrors,
    },
    replicas: { seeded, needed, createdByEvents: succeeded - createdBySweep, createdBySweep },
    beforeSweep: { familiesMissingReplicas: run.missingBeforeSweep.size, regionsMissing, byCause },
    sweep: {
      runs: run.sweepRegions.reduce((n, r) => n + r.runs, 0),
      runsTimedOut: run.sweepRegions.reduce((n, r) => n + r.runsTimedOut, 0),
      keys: sweepKeys,
      writes: run.sweepRegions.reduce((n, r) => n + r.writes, 0),
      errors: run.sweepRegions.reduce((n, r) => n + r.errors, 0),
      complete: run.sweepRegions.every((r) => r.complete),
      familyErrors: sweepErrors,
    },
    endStatuses,
    endResults,
    reportedFailures,
    kmsCalls: {
      eventPath,
      sweep: sweepCalls,
      byOperation: countBy(
        run.calls.filter((c) => RECONCILER_OPERATIONS.has(c.operation)),
        (c) => c.operation,
      ),
      minimum,
      eventPathMinimum,
      sweepMinimum,
      eventPathRatio,
      sweepRatio,
      totalRatio: ratio(eventPath + sweepCalls, eventPathMinimum + sweepMinimum),
      bounds,
    },
    outcomeEvents: {
      published: run.outcomesPublished,
      publishFailures: run.outcomePublishFailures.length,
      writeReportsLost: run.outcomePublishFailures.filter((f) => f.writes > 0).length,
      failuresByError: countBy(run.outcomePublishFailures, (f) => f.error.split(':')[0] ?? 'unknown'),
    },
    ...(restore !== undefined ? { restore: { ...restore, callsByOperation: restoreCallsByOperation } } : {}),
    ...(denied !== undefined
      ? { deniedReads: { region: denied, families: touchingFamilies.length, primaryThere: blockedFamilies.length, reported: blockedReported } }
      : {}),
  };
  if (run.securityHub !== undefined) {
    // Side reports never change the work: no Security Hub error was thrown (a Lambda retry), parked an event or failed a key.
    for (const code of Object.keys(thrownByError)) if (FINDING_ERROR_CODES.has(code)) fail(`Security Hub's ${code} was thrown by the handler ${thrownByError[code]} times (a side report must never cause a retry)`);
    for (const code of Object.keys(deadLetteredByError)) if (FINDING_ERROR_CODES.has(code)) fail(`${deadLetteredByError[code]} events were dead-lettered with Security Hub's ${code}`);
    for (const error of sweepErrors) if ([...FINDING_ERROR_CODES].some((code) => error.includes(code))) fail(`the sweep failed a key with a Security Hub error: ${error}`);
  }
  const securityHub = run.securityHub !== undefined ? checkFindings(run.securityHub, run.options.faults.securityHub !== undefined, fail) : undefined;
  if (securityHub !== undefined) figures = { ...figures, securityHub };
  if (!figures.sweep.complete) fail('the sweep did not complete');
  for (const r of run.sweepRegions) {
    if (r.runsTimedOut > 0) fail(`the sweep of ${r.region}: ${r.runsTimedOut} of ${r.runs} runs were still going at their deadline (a Lambda timeout)`);
    if (r.stalled) fail(`the sweep of ${r.region} stopped without progress before it completed`);
  }
  return { violations, figures };
}

/**
 * The restore invariants (restore mode, issue 10's `EnableKey` fault class):
 * - every desired replica that was or became `PendingDeletion` ends `Enabled` with no restore
 *   marker for its Region on the primary, unless the sweep reported its Region `failed` with a
 *   retryable error; then it is `Disabled` (or still `PendingDeletion`) and, once cancelled, marked;
 * - a replica left `Disabled` after a failed `EnableKey` is marked (so it is never lost): every
 *   replica found `Disabled` just before the sweep carries its marker;
 * - no other replica changed state: a replica seeded `Disabled` (a person's) stays `Disabled`; a
 *   replica scheduled for deletion in a Region the tag does not name stays `PendingDeletion`;
 * - no retry storm: at most one successful `CancelKeyDeletion` per replica, and `EnableKey` calls
 *   per replica at most {@link SDK_ATTEMPTS} × the reconciles that could make them (the
 *   invocations of the events naming the family, plus one sweep).
 */
function checkRestores(
  run: ChaosRun,
  families: readonly FamilyPlan[],
  keyOf: (plan: FamilyPlan) => string,
  fail: (message: string) => void,
): Omit<RestoreFigures, 'callsByOperation'> {
  const bare = (ref: string | undefined): string => (ref === undefined ? '' : ref.slice(ref.lastIndexOf('/') + 1));
  const callsOf = (operation: string): Map<string, typeof run.calls> => {
    const byReplica = new Map<string, typeof run.calls>();
    for (const call of run.calls) {
      if (call.operation !== operation) continue;
      const key = `${bare(call.keyId)}@${call.region}`;
      byReplica.set(key, [...(byReplica.get(key) ?? []), call]);
    }
    return byReplica;
  };
  const enableCalls = callsOf('EnableKey');
  const cancelCalls = callsOf('CancelKeyDeletion');
  const invocationsByKey = new Map<string, number>();
  for (const delivery of run.deliveries) {
    const keyId = eventKeyId(delivery.event) ?? '';
    invocationsByKey.set(keyId, (invocationsByKey.get(keyId) ?? 0) + delivery.invocations.length);
  }
  const enableKeyFailures = countBy(
    run.calls.filter((c) => c.operation === 'EnableKey' && c.errorCode !== undefined),
    (c) => c.errorCode ?? 'unknown',
  );
  const beforeSweep = { disabled: 0, pendingDeletion: 0, enabled: 0 };
  const sweepStatuses: Record<string, number> = {};
  let replicas = 0;
  let enabledAtEnd = 0;
  let leftToNextSweep = 0;
  const failedBy: Record<string, number> = {};
  let maxEnableKeyCallsPerReplica = 0;
  const restoring = new Set<string>();
  for (const plan of families) {
    const keyId = keyOf(plan);
    const label = `family ${plan.index} (${plan.kind}, ${keyId})`;
    const primaryTags = run.kms.tags(plan.finalPrimaryRegion, keyId) ?? {};
    const swept = run.sweep.get(`${plan.finalPrimaryRegion}/${keyId}`);
    for (const region of restoreRegions(plan)) {
      replicas += 1;
      const pair = `${keyId}@${region}`;
      restoring.add(pair);
      const state = run.kms.describe(region, keyId)?.KeyState;
      const marked = `${RESTORE_MARKER_PREFIX}${region}` in primaryTags;
      const before = run.restoresBeforeSweep.get(pair);
      if (before?.keyState === 'Disabled') {
        beforeSweep.disabled += 1;
        if (!before.marked) fail(`${label}: the replica in ${region} was left Disabled before the sweep without its restore marker on the primary (lost)`);
      } else if (before?.keyState === 'PendingDeletion') beforeSweep.pendingDeletion += 1;
      else if (before?.keyState === 'Enabled') beforeSweep.enabled += 1;
      const status = swept?.kind === 'reconciled' ? swept.outcome.regions.find((r) => r.region === region) : undefined;
      if (status) sweepStatuses[status.status] = (sweepStatuses[status.status] ?? 0) + 1;
      if (status?.status === 'failed') {
        // Reported; the status check above requires a retryable error. The next sweep resumes it.
        leftToNextSweep += 1;
        const step = /^(TagResource|CancelKeyDeletion|EnableKey|UntagResource) failed: /.exec(status.message ?? '')?.[1] ?? 'read';
        const cause = `${step} ${status.error?.name ?? 'unknown'}`;
        failedBy[cause] = (failedBy[cause] ?? 0) + 1;
        if (state === 'Disabled' && !marked) fail(`${label}: the replica in ${region} is Disabled after a failed restore, without its restore marker on the primary`);
        if (state !== 'Disabled' && state !== 'PendingDeletion') fail(`${label}: the restore of ${region} was reported failed, yet the replica is ${state}`);
      } else if (state !== 'Enabled') fail(`${label}: the replica in ${region} ends ${state}, not Enabled, and no failure was reported for it`);
      else if (marked) fail(`${label}: the replica in ${region} is Enabled but the primary still carries its restore marker`);
      else enabledAtEnd += 1;

      const cancelled = (cancelCalls.get(pair) ?? []).filter((c) => c.errorCode === undefined && c.fault === undefined).length;
      if (cancelled > 1) fail(`${label}: ${cancelled} successful CancelKeyDeletion calls for the replica in ${region}`);
      const enables = (enableCalls.get(pair) ?? []).length;
      maxEnableKeyCallsPerReplica = Math.max(maxEnableKeyCallsPerReplica, enables);
      const bound = SDK_ATTEMPTS * ((invocationsByKey.get(keyId) ?? 0) + 1);
      if (enables > bound) fail(`${label}: ${enables} EnableKey calls for the replica in ${region}, more than ${bound} (${SDK_ATTEMPTS} attempts × the reconciles of it): a retry storm`);
    }
    // Replicas the reconciler must leave alone in restore mode.
    for (const replica of plan.replicas) {
      const state = run.kms.describe(replica.region, keyId)?.KeyState;
      if (replica.keyState === 'Disabled' && state !== 'Disabled') fail(`${label}: the replica in ${replica.region} a person disabled is now ${state}`);
      if (replica.keyState === 'PendingDeletion' && !restoring.has(`${keyId}@${replica.region}`) && state !== 'PendingDeletion') {
        fail(`${label}: the replica in ${replica.region}, scheduled for deletion and not wanted (or its primary not Enabled), is now ${state}`);
      }
    }
  }
  // No restore call to a replica the reconciler had no reason to restore.
  for (const [operation, calls] of [['EnableKey', enableCalls], ['CancelKeyDeletion', cancelCalls]] as const) {
    for (const pair of calls.keys()) if (!restoring.has(pair)) fail(`${operation} of ${pair}, which no family wanted restored`);
  }
  return { replicas, enableKeyFailures, beforeSweep, sweepStatuses, enabledAtEnd, leftToNextSweep, failedBy, maxEnableKeyCallsPerReplica };
}

/** Desired Regions of a writable family that hold no key of it (ground truth). */
function missingAtEnd(run: ChaosRun, plan: FamilyPlan, keyId: string): string[] {
  if (!plan.writable) return [];
  return plan.desiredRegions.filter((region) => region !== plan.scheduledReplicaDeletion && !run.kms.describe(region, keyId));
}

/** The key of each Region that must hold one exists and belongs to the current primary; none was made where none may be. */
function checkKeysExist(
  run: ChaosRun,
  plan: FamilyPlan,
  keyId: string,
  expected: ExpectedOutcome,
  actual: ReadonlyMap<string, { status: RegionStatusCode }>,
  label: string,
  fail: (message: string) => void,
): void {
  const primary = run.kms.describe(plan.finalPrimaryRegion, keyId);
  if (primary?.MultiRegionConfiguration?.MultiRegionKeyType !== 'PRIMARY') {
    fail(`${label}: the key in ${plan.finalPrimaryRegion} is not the primary`);
    return;
  }
  for (const [region, allowed] of expected.regions) {
    if (!allowed.has('created') && !allowed.has('missing')) continue;
    const key: KeyMetadataView | undefined = run.kms.describe(region, keyId);
    if (allowed.has('missing')) {
      if (key) fail(`${label}: a replica was made in ${region} although the primary is not Enabled`);
      continue;
    }
    if (actual.get(region)?.status === 'failed') continue; // reported; counted above
    if (!key) fail(`${label}: no replica in desired Region ${region}`);
    else if (key.MultiRegionConfiguration?.PrimaryKey.Region !== plan.finalPrimaryRegion) {
      fail(`${label}: the key in ${region} is not a replica of the primary in ${plan.finalPrimaryRegion}`);
    }
  }
}

/** The bare key id an event names (resources ARN, keyMetadata, or requestParameters). */
export function eventKeyId(event: unknown): string | undefined {
  const detail = (event as { detail?: Record<string, unknown> }).detail ?? {};
  const resources = detail['resources'] as { ARN?: unknown }[] | undefined;
  const response = (detail['responseElements'] ?? {}) as { keyMetadata?: { keyId?: unknown } };
  const request = (detail['requestParameters'] ?? {}) as { keyId?: unknown; KeyId?: unknown };
  const ref = [resources?.[0]?.ARN, response.keyMetadata?.keyId, request.keyId, request.KeyId].find((v): v is string => typeof v === 'string');
  return ref === undefined ? undefined : ref.slice(ref.lastIndexOf('/') + 1);
}

function eventName(event: unknown): string {
  const detail = (event as { detail?: { eventName?: unknown; awsRegion?: unknown } }).detail;
  return `${String(detail?.eventName)} in ${String(detail?.awsRegion)}`;
}

/**
 * The Security Hub invariants (`--security-hub`), on the findings read back in process after the
 * clean last sweep (every fault lifted, one run per Region that saw every key):
 * - every family that sweep reported, as its primary Region's stack, with a problem (a Region
 *   status outside {@link CONVERGED_STATUSES}, or a result in `PROBLEM_RESULTS`) has exactly one
 *   `ACTIVE` finding, `Id` `kms-replica-reconciler/<account>/<key id>`, under the default product
 *   of its primary Region; every converged family has none;
 * - every `ACTIVE` finding is such a family's (none for a family that converged, moved its primary
 *   away or is gone), and no two `ACTIVE` findings share a family, across every Region's product;
 * - with Security Hub faults, the reports they failed were counted: `FindingsNotImported` is at
 *   least the calls answered `AccessDeniedException` (each one a failed report: the SDK does not
 *   retry a denial), so more than 0 whenever one was; the clean sweep's calls all succeeded and
 *   counted nothing.
 */
function checkFindings(hub: SecurityHubRun, faulted: boolean, fail: (message: string) => void): SecurityHubFigures {
  const idOf = (keyId: string): string => `kms-replica-reconciler/${hub.account}/${keyId}`;
  const productOf = (region: string): string => `arn:aws:securityhub:${region}:${hub.account}:product/${hub.account}/default`;
  const active = hub.findings.filter((f) => (f['RecordState'] ?? 'ACTIVE') === 'ACTIVE');
  const activeById = new Map<string, (typeof active)[number][]>();
  for (const finding of active) activeById.set(finding.Id, [...(activeById.get(finding.Id) ?? []), finding]);
  const problems = new Map<string, string>();
  let converged = 0;
  let unknown = 0;
  for (const [where, key] of hub.finalSweep) {
    const region = where.slice(0, where.indexOf('/'));
    if (key.kind === 'error') {
      unknown += 1;
      continue;
    }
    if (key.kind !== 'reconciled' || key.outcome.primaryRegion !== region) continue;
    const { outcome } = key;
    const id = idOf(outcome.keyId);
    const problem = PROBLEM_RESULTS.has(outcome.result) || outcome.regions.some((r) => !CONVERGED_STATUSES.has(r.status));
    const open = activeById.get(id) ?? [];
    if (problem) {
      problems.set(id, region);
      if (open.length !== 1) fail(`findings: ${outcome.keyId} (${outcome.result}; ${outcome.regions.map((r) => `${r.region} ${r.status}`).join(', ')}) has ${open.length} ACTIVE findings, expected exactly 1`);
      else if (open[0]?.ProductArn !== productOf(region)) fail(`findings: the ACTIVE finding of ${outcome.keyId} is under ${open[0]?.ProductArn}, expected ${productOf(region)} (its primary Region's)`);
    } else {
      converged += 1;
      if (open.length > 0) fail(`findings: ${outcome.keyId} converged (${outcome.result}) but has ${open.length} ACTIVE finding(s)`);
    }
  }
  for (const [id, findings] of activeById) {
    if (findings.length > 1) fail(`findings: ${findings.length} ACTIVE findings share the family ${id} (${findings.map((f) => f.ProductArn).join(', ')})`);
    if (!problems.has(id)) fail(`findings: ${id} is ACTIVE but the last sweep reported no problem for its family (${findings.map((f) => f.ProductArn).join(', ')})`);
  }
  const failed = hub.calls.filter((c) => c.errorCode !== undefined);
  const denied = failed.filter((c) => c.errorCode === 'AccessDeniedException').length;
  if (hub.findingsNotImported < denied) fail(`findings: FindingsNotImported ${hub.findingsNotImported}, fewer than the ${denied} Security Hub calls denied`);
  if (faulted && denied > 0 && hub.findingsNotImported === 0) fail('findings: Security Hub refused calls but FindingsNotImported is 0');
  for (const call of hub.finalSweepCalls) if (call.errorCode !== undefined) fail(`findings: ${call.operation} failed with ${call.errorCode} in the clean last sweep (${call.region})`);
  if (hub.findingsNotImportedByFinalSweep !== 0) fail(`findings: the clean last sweep counted ${hub.findingsNotImportedByFinalSweep} FindingsNotImported`);
  for (const r of hub.finalSweepRegions) if (!r.complete || r.runs !== 1) fail(`findings: the clean last sweep of ${r.region} took ${r.runs} runs${r.complete ? '' : ' and did not complete'} (it must see every key in one run)`);
  const archived = hub.findings.filter((f) => f['RecordState'] === 'ARCHIVED');
  return {
    callsByOperation: countBy(hub.calls, (c) => c.operation),
    failuresByError: countBy(failed, (c) => c.errorCode ?? 'unknown'),
    findingsNotImported: hub.findingsNotImported,
    finalSweep: {
      problemFamilies: problems.size,
      convergedFamilies: converged,
      keyErrors: unknown,
      writes: hub.finalSweepWrites,
      calls: countBy(hub.finalSweepCalls, (c) => c.operation),
    },
    findings: { active: active.length, archived: archived.length, movedPrimary: archived.filter((f) => activeById.has(f.Id)).length },
  };
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

function ratio(value: number, minimum: number): number {
  return minimum === 0 ? 0 : Math.round((value / minimum) * 100) / 100;
}

