/**
 * The status vocabulary: one row per replica-Region status (design §2, README "Statuses"), and
 * everything the product decides about a status read from it. A new status is one row here; the
 * compiler then asks for its style in the fleet report (`src/report/status-style.ts`), and every
 * set, metric name, schema enum and exit-code rule follows.
 *
 * Pure data: imports nothing.
 */

/**
 * How much a status matters, worst first:
 * - `failed`: a call failed; running again may help;
 * - `needs-person`: blocked until a person acts (a replica pending deletion, pending import,
 *   lacking the primary's pending material, disabled; a bad tag token);
 * - `drift`: no replica or a planned restore, and nothing was written (a dry run, or a primary
 *   that is not `Enabled`); the reconciler repairs it when it may write;
 * - `note`: worth telling (an `extra` replica: a person may look), but nothing is wrong;
 * - `converged`: nothing is needed.
 *
 * One field instead of three booleans: "is a problem", "needs a person" and "counts as converged"
 * are not independent (what needs a person is a problem and not converged), so they are derived
 * from the concern ({@link isProblemStatus}, {@link needsPerson}, {@link convergenceOf}) and
 * cannot contradict each other.
 */
export type Concern = 'failed' | 'needs-person' | 'drift' | 'note' | 'converged';

/** Concerns from worst to best. */
export const CONCERNS: readonly Concern[] = ['failed', 'needs-person', 'drift', 'note', 'converged'];

/**
 * How far from converged a key, a report or a run is, worst first (the sweep's verdict and the
 * `kms-replicas` exit code): `failed`; `blocked` (something needs a person); `drift` (repairs
 * wait: nothing was written); `converged` (every desired Region has a replica; `extra` replicas
 * do not count against it).
 */
export type Convergence = 'failed' | 'blocked' | 'drift' | 'converged';

/** Convergences from worst to best. */
export const CONVERGENCES = ['failed', 'blocked', 'drift', 'converged'] as const satisfies readonly Convergence[];

/** What a concern says of convergence: `needs-person` blocks it, a `note` does not count against it. */
const CONVERGENCE_OF_CONCERN = {
  failed: 'failed',
  'needs-person': 'blocked',
  drift: 'drift',
  note: 'converged',
  converged: 'converged',
} as const satisfies Record<Concern, Convergence>;

/** What the product knows of one status. */
export interface RegionStatusTraits {
  /** How much it matters; the problem, needs-a-person and converged sets derive from it. */
  readonly concern: Concern;
  /** A replica key exists in that Region (what `kms-replicas status` lists as actual). */
  readonly replicaExists: boolean;
  /** The Region (or token) is one the tag names; false for a replica the tag does not name. */
  readonly tagNamed: boolean;
  /** This reconcile made a write call for the Region (and it ended well). */
  readonly written: boolean;
  /** The CloudWatch metric counting the status (namespace `KmsReplicaReconciler`), or null when none. */
  readonly metric: string | null;
}

/**
 * Every replica-Region status, in the order reports list them (the outcome schema's enum, the
 * guardrail report's `statuses`, the `attention` lists). Meanings: README "Statuses", design §2.
 */
export const REGION_STATUSES = {
  /** a replica exists (`Enabled`, or another state that needs nothing). */
  present: { concern: 'converged', replicaExists: true, tagNamed: true, written: false, metric: null },
  /** a replica exists in `Creating`; counts as present, no call. */
  creating: { concern: 'converged', replicaExists: true, tagNamed: true, written: false, metric: null },
  /** a replica of an imported-key-material primary has no key material yet: import it. */
  'pending-import': { concern: 'needs-person', replicaExists: true, tagNamed: true, written: false, metric: 'ReplicasPendingImport' },
  /** a replica lacks the new material imported into the primary: import it before `RotateKeyOnDemand`. */
  'material-pending': { concern: 'needs-person', replicaExists: true, tagNamed: true, written: false, metric: 'ReplicasMaterialPending' },
  /** a replica exists but is `Disabled` (by someone else). */
  'replica-disabled': { concern: 'needs-person', replicaExists: true, tagNamed: true, written: false, metric: 'ReplicasDisabled' },
  /** the replica is scheduled for deletion: `ReplicateKey` fails until the deletion is cancelled or completes. */
  'blocked-pending-deletion': { concern: 'needs-person', replicaExists: true, tagNamed: true, written: false, metric: 'ReplicasBlockedPendingDeletion' },
  /** no replica and nothing was written (primary not `Enabled`, or `DRY_RUN`). */
  missing: { concern: 'drift', replicaExists: false, tagNamed: true, written: false, metric: null },
  /** `ReplicateKey` succeeded in this reconcile. */
  created: { concern: 'converged', replicaExists: true, tagNamed: true, written: true, metric: 'ReplicasCreated' },
  /** `ReplicateKey` answered `AlreadyExistsException` (a concurrent reconcile or a lost response): success. */
  'already-exists': { concern: 'converged', replicaExists: true, tagNamed: true, written: true, metric: 'ReplicasAlreadyExisting' },
  /** `ON_PENDING_DELETION=restore`: the replica's deletion was cancelled and it was enabled. */
  restored: { concern: 'converged', replicaExists: true, tagNamed: true, written: true, metric: 'ReplicasRestored' },
  /** `ON_PENDING_DELETION=restore` and `DRY_RUN`: a restore of this replica would be made. */
  'restore-planned': { concern: 'drift', replicaExists: true, tagNamed: true, written: false, metric: null },
  /** a tag token that is not a Region code of the primary's partition. */
  'invalid-region': { concern: 'needs-person', replicaExists: false, tagNamed: true, written: false, metric: 'TagTokensInvalid' },
  /** a Region outside `ALLOWED_REGIONS`. */
  'region-not-allowed': { concern: 'needs-person', replicaExists: false, tagNamed: true, written: false, metric: 'TagTokensNotAllowed' },
  /** a call failed for this Region (or its replica could not be read there); carries the classified error. */
  failed: { concern: 'failed', replicaExists: false, tagNamed: true, written: false, metric: 'RegionsFailed' },
  /** a replica in a Region the tag does not name; left in place. */
  extra: { concern: 'note', replicaExists: true, tagNamed: false, written: false, metric: 'ReplicasExtra' },
} as const satisfies Record<string, RegionStatusTraits>;

/** The status of one desired Region, bad tag token or extra replica after a reconcile. */
export type RegionStatusCode = keyof typeof REGION_STATUSES;

/** Every status, in the table's order. */
export const REGION_STATUS_CODES = Object.keys(REGION_STATUSES) as [RegionStatusCode, ...RegionStatusCode[]];

/** The statuses whose traits satisfy `test`, in the table's order. */
function statusesWhere(test: (traits: RegionStatusTraits) => boolean): readonly RegionStatusCode[] {
  return REGION_STATUS_CODES.filter((code) => test(REGION_STATUSES[code]));
}

/**
 * Problem statuses: anything but converged. An outcome with one is worth an outcome event, and the
 * sweep's guardrail report lists its keys one by one (`attention`).
 */
export const PROBLEM_STATUSES: readonly RegionStatusCode[] = statusesWhere((t) => t.concern !== 'converged');

/** Statuses that need a person (they block convergence; the fleet report lists them first). */
export const NEEDS_PERSON_STATUSES: readonly RegionStatusCode[] = statusesWhere((t) => t.concern === 'needs-person');

/** Statuses that count as converged (`extra` among them: it does not count against convergence). */
export const CONVERGED_STATUSES: readonly RegionStatusCode[] = statusesWhere((t) => CONVERGENCE_OF_CONCERN[t.concern] === 'converged');

/** Statuses meaning a replica key exists in that Region. */
export const REPLICA_EXISTS_STATUSES: readonly RegionStatusCode[] = statusesWhere((t) => t.replicaExists);

/** Whether a status is a problem (see {@link PROBLEM_STATUSES}). */
export function isProblemStatus(status: RegionStatusCode): boolean {
  return REGION_STATUSES[status].concern !== 'converged';
}

/** Whether a status needs a person (see {@link NEEDS_PERSON_STATUSES}). */
export function needsPerson(status: RegionStatusCode): boolean {
  return REGION_STATUSES[status].concern === 'needs-person';
}

/** Whether a status says something happened or is wrong: a problem, or a write of this reconcile. */
export function isNoteworthy(status: RegionStatusCode): boolean {
  return isProblemStatus(status) || REGION_STATUSES[status].written;
}

/** What one status says of convergence. */
export function convergenceOf(status: RegionStatusCode): Convergence {
  return CONVERGENCE_OF_CONCERN[REGION_STATUSES[status].concern];
}

/** What a concern says of convergence (`needs-person` → `blocked`, `note` → `converged`). */
export function convergenceOfConcern(concern: Concern): Convergence {
  return CONVERGENCE_OF_CONCERN[concern];
}

/** The metric counting a status, or undefined when none does. */
export function metricOf(status: RegionStatusCode): string | undefined {
  return REGION_STATUSES[status].metric ?? undefined;
}

/** The worst of some convergences (`converged` for none). */
export function worstConvergence(convergences: Iterable<Convergence>): Convergence {
  let worst: Convergence = 'converged';
  for (const c of convergences) if (CONVERGENCES.indexOf(c) < CONVERGENCES.indexOf(worst)) worst = c;
  return worst;
}

/** The worse of two concerns. */
export function worseConcern(a: Concern, b: Concern): Concern {
  return CONCERNS.indexOf(a) <= CONCERNS.indexOf(b) ? a : b;
}
