/**
 * The sweep's guardrail report (design §3): per swept Region, how every key fared, counted by
 * whole-key result and by replica-Region status, with the keys that need a person listed.
 * Pure: the sweep feeds it one key result at a time; memory stays bounded by the list cap.
 */
import { PROBLEM_STATUSES, REGION_STATUS_CODES, convergenceOf, worstConvergence, type Convergence } from '../reconcile/statuses.js';
import type { ErrorSummary, ReconcileOutcome, ReconcileResult, RegionStatusCode } from '../reconcile/types.js';

export type { Convergence } from '../reconcile/statuses.js';

/** How one listed key fared in a sweep. */
export type SweepKeyResult =
  | {
      /** `reconcile` gave an outcome; see `outcome.result`. */
      readonly kind: 'reconciled';
      readonly keyId: string;
      readonly arn: string;
      readonly outcome: ReconcileOutcome;
      /**
       * The family needed writes and a repair request went to the key-event queue (a stack's
       * sweep writes nothing): `outcome` is what the sweep read (the Regions still `missing`).
       */
      readonly queued?: boolean;
    }
  | {
      /** A replica key: the sweep of its primary's Region reconciles its family. No further read. */
      readonly kind: 'replica';
      readonly keyId: string;
      readonly arn: string;
      readonly primaryRegion?: string;
    }
  | {
      /** The reconcile had no outcome: its verdict `retry` or `terminal` (access denied, throttling after the SDK's retries, ...). */
      readonly kind: 'error';
      readonly keyId: string;
      readonly arn: string;
      readonly error: ErrorSummary;
    };

/** Whole-key result as the report counts it: a `ReconcileResult`, or `replica` / `error`. */
export type SweepResultCode = ReconcileResult | 'replica' | 'error';

/** One entry of a report list: a key, and for a replica-Region status the Region it concerns. */
export interface ReportedKey {
  readonly keyId: string;
  /** The replica Region (or bad tag token) the status is about; absent for whole-key lists. */
  readonly region?: string;
  readonly message?: string;
  /** `blocked-pending-deletion`: when KMS deletes the replica (ISO 8601), as the status carries it. */
  readonly deletionDate?: string;
}

/** A capped list: `count` is exact, `keys` holds at most the report's list limit. */
export interface ReportedKeys {
  readonly count: number;
  readonly keys: readonly ReportedKey[];
}

/** The guardrail report of one swept Region (JSON-serializable; logged and returned). */
export interface GuardrailReport {
  /** The swept Region (where the listed keys live). */
  readonly region: string;
  /** Keys listed and looked at by this run (a resumed run counts only its own). */
  readonly keys: number;
  /** Write calls made (`ReplicateKey`, `CancelKeyDeletion`, `EnableKey`): calls sent. */
  readonly writes: number;
  /** Families whose writes were queued to the key-event containers (a stack's sweep). */
  readonly queued: number;
  readonly dryRun: boolean;
  /** Keys per whole-key result. Every code is present (0 when none). */
  readonly results: Readonly<Record<SweepResultCode, number>>;
  /** Replica-Region statuses of the managed primaries, across all of them. Every code present. */
  readonly statuses: Readonly<Record<RegionStatusCode, number>>;
  /** The same statuses per replica Region (or bad tag token): only non-zero counts. */
  readonly byReplicaRegion: Readonly<Record<string, Readonly<Partial<Record<RegionStatusCode, number>>>>>;
  /** Keys with a problem status (see {@link ATTENTION_STATUSES}), per status. */
  readonly attention: Readonly<Partial<Record<RegionStatusCode, ReportedKeys>>>;
  /** Multi-Region primaries without the Region tag: unmanaged, maybe by mistake. */
  readonly untaggedMultiRegionPrimaries: ReportedKeys;
  /** Single-Region keys carrying the Region tag: can never be replicated. */
  readonly taggedSingleRegionKeys: ReportedKeys;
  /** Primary keys whose state forbids `ReplicateKey` while replicas are wanted. */
  readonly primariesNotEnabled: ReportedKeys;
  /** Keys whose reconcile failed as a whole (the sweep went on). */
  readonly errors: ReportedKeys;
}

/**
 * Replica-Region statuses whose keys are listed one by one in `attention`: the problem statuses of
 * the status vocabulary (`PROBLEM_STATUSES`), in its order.
 */
export const ATTENTION_STATUSES: readonly RegionStatusCode[] = PROBLEM_STATUSES;

const RESULT_CODES: readonly SweepResultCode[] = [
  'reconciled',
  'unmanaged',
  'not-multi-region',
  'primary-not-enabled',
  'key-not-found',
  'replica',
  'error',
];

/** Default cap of each list in a report (counts stay exact). */
export const DEFAULT_REPORT_LIST_LIMIT = 100;

/** Keeps the exact count and the `limit` first keys in (key id, Region) order, whatever the arrival order. */
class CappedList {
  count = 0;
  readonly keys: ReportedKey[] = [];
  constructor(private readonly limit: number) {}
  add(key: ReportedKey): void {
    this.count += 1;
    if (this.keys.length >= this.limit && compareReportedKeys(key, this.keys[this.keys.length - 1]!) >= 0) return;
    let at = this.keys.length;
    while (at > 0 && compareReportedKeys(key, this.keys[at - 1]!) < 0) at -= 1;
    this.keys.splice(at, 0, key);
    if (this.keys.length > this.limit) this.keys.pop();
  }
  toJSON(): ReportedKeys {
    return { count: this.count, keys: [...this.keys] };
  }
}

/** Accumulates sweep key results for {@link buildGuardrailReport}. Memory: O(list limit). */
export class GuardrailTally {
  keys = 0;
  writes = 0;
  queued = 0;
  readonly results = Object.fromEntries(RESULT_CODES.map((c) => [c, 0])) as Record<SweepResultCode, number>;
  readonly statuses = Object.fromEntries(REGION_STATUS_CODES.map((c) => [c, 0])) as Record<RegionStatusCode, number>;
  readonly byReplicaRegion = new Map<string, Partial<Record<RegionStatusCode, number>>>();
  readonly attention = new Map<RegionStatusCode, CappedList>();
  readonly untaggedMultiRegionPrimaries: CappedList;
  readonly taggedSingleRegionKeys: CappedList;
  readonly primariesNotEnabled: CappedList;
  readonly errors: CappedList;

  /**
   * @param region - the swept Region.
   * @param dryRun - whether the sweep wrote nothing (`DRY_RUN` / `plan`).
   * @param listLimit - cap of each key list (default {@link DEFAULT_REPORT_LIST_LIMIT}).
   */
  constructor(
    readonly region: string,
    readonly dryRun: boolean,
    private readonly listLimit = DEFAULT_REPORT_LIST_LIMIT,
  ) {
    this.untaggedMultiRegionPrimaries = new CappedList(listLimit);
    this.taggedSingleRegionKeys = new CappedList(listLimit);
    this.primariesNotEnabled = new CappedList(listLimit);
    this.errors = new CappedList(listLimit);
  }

  /** Counts one key result. */
  add(result: SweepKeyResult): void {
    this.keys += 1;
    if (result.kind === 'replica') {
      this.results.replica += 1;
      return;
    }
    if (result.kind === 'error') {
      this.results.error += 1;
      this.errors.add({ keyId: result.keyId, message: `${result.error.name}: ${result.error.message}` });
      return;
    }
    const { outcome } = result;
    this.results[outcome.result] += 1;
    this.writes += outcome.writes;
    if (result.queued) this.queued += 1;
    switch (outcome.result) {
      case 'unmanaged':
        // Multi-Region key ids begin with `mrk-` [S1 multi-region-keys-overview.md].
        if (outcome.keyId.startsWith('mrk-')) this.untaggedMultiRegionPrimaries.add({ keyId: outcome.keyId });
        break;
      case 'not-multi-region':
        this.taggedSingleRegionKeys.add({ keyId: outcome.keyId });
        break;
      case 'primary-not-enabled':
        this.primariesNotEnabled.add({ keyId: outcome.keyId, message: `primary key is ${outcome.primaryKeyState ?? 'not Enabled'}` });
        break;
      case 'reconciled':
      case 'key-not-found':
        break;
    }
    for (const status of outcome.regions) {
      this.statuses[status.status] += 1;
      const perRegion = this.byReplicaRegion.get(status.region) ?? {};
      perRegion[status.status] = (perRegion[status.status] ?? 0) + 1;
      this.byReplicaRegion.set(status.region, perRegion);
      if (ATTENTION_STATUSES.includes(status.status)) {
        let list = this.attention.get(status.status);
        if (!list) {
          list = new CappedList(this.listLimit);
          this.attention.set(status.status, list);
        }
        list.add({
          keyId: outcome.keyId,
          region: status.region,
          ...(status.error ? { message: `${status.error.name}: ${status.error.message}` } : status.message ? { message: status.message } : {}),
          ...(status.deletionDate ? { deletionDate: status.deletionDate } : {}),
        });
      }
    }
  }
}

/**
 * Builds the guardrail report of one swept Region: the summary object that is logged, returned
 * by the sweep and published as an outcome event.
 *
 * @param tally - what the sweep counted.
 * @returns a plain, JSON-serializable object, the same whatever order keys were added in: lists
 *   sorted by key id then Region, `byReplicaRegion` by Region, statuses in their declared order.
 */
export function buildGuardrailReport(tally: GuardrailTally): GuardrailReport {
  const sorted = (list: CappedList): ReportedKeys => list.toJSON();
  const attention: Partial<Record<RegionStatusCode, ReportedKeys>> = {};
  for (const status of ATTENTION_STATUSES) {
    const list = tally.attention.get(status);
    if (list) attention[status] = sorted(list);
  }
  const byReplicaRegion = Object.fromEntries(
    [...tally.byReplicaRegion.entries()]
      .sort(([a], [b]) => compare(a, b))
      .map(([region, counts]) => [region, Object.fromEntries(REGION_STATUS_CODES.flatMap((c) => (counts[c] ? [[c, counts[c]]] : [])))]),
  );
  return {
    region: tally.region,
    keys: tally.keys,
    writes: tally.writes,
    queued: tally.queued,
    dryRun: tally.dryRun,
    results: { ...tally.results },
    statuses: { ...tally.statuses },
    byReplicaRegion,
    attention,
    untaggedMultiRegionPrimaries: sorted(tally.untaggedMultiRegionPrimaries),
    taggedSingleRegionKeys: sorted(tally.taggedSingleRegionKeys),
    primariesNotEnabled: sorted(tally.primariesNotEnabled),
    errors: sorted(tally.errors),
  };
}

/**
 * How far from converged a report is ({@link Convergence}): the worst of what its statuses say
 * (`convergenceOf` of the status vocabulary: `failed`; a status that needs a person blocks; `missing`
 * and `restore-planned` are drift; every other status, `extra` included, is converged) and of its
 * whole-key results: a key whose reconcile failed (`error`) is `failed`; a tagged single-Region key
 * and a primary that is not `Enabled` are `blocked`. Untagged keys do not count against it.
 */
export function assessConvergence(report: GuardrailReport): Convergence {
  const r = report.results;
  const fromStatuses = REGION_STATUS_CODES.filter((s) => report.statuses[s] > 0).map(convergenceOf);
  const fromResults: Convergence[] = [];
  if (r.error > 0) fromResults.push('failed');
  if (r['not-multi-region'] + r['primary-not-enabled'] > 0) fromResults.push('blocked');
  return worstConvergence([...fromStatuses, ...fromResults]);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareReportedKeys(a: ReportedKey, b: ReportedKey): number {
  return compare(a.keyId, b.keyId) || compare(a.region ?? '', b.region ?? '');
}
