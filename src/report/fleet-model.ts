/**
 * The fleet report's picture as data: one row per key family, one column per Region any family
 * wants or holds, the counts and the families that need a person. Pure: a status document in,
 * a model out; `fleet-html.ts` draws it.
 */
import type { RegionStatusCode } from '../reconcile/types.js';
import type { FleetFamily, FleetKeyList, FleetRegionStatus, FleetStatus } from './status-document.js';
import { CONCERNS, RESULT_STYLE, STATUS_ORDER, STATUS_STYLE, concernOf, worseConcern, type Concern } from './status-style.js';

/** One cell of the matrix: a replica-Region status, or the primary key's own Region. */
export type FleetCell = { readonly kind: 'status'; readonly status: FleetRegionStatus } | { readonly kind: 'primary'; readonly keyState?: string };

/** One row: a key family. */
export interface FamilyRow {
  readonly family: FleetFamily;
  /** The primary's Region (the swept Region when the document does not say). */
  readonly primaryRegion: string;
  /** Cells by column name; a column with no cell is blank (neither wanted nor held). */
  readonly cells: ReadonlyMap<string, FleetCell>;
  /** The worst concern of the family's statuses and whole-key result. */
  readonly concern: Concern;
}

/** One column: a Region, or a bad tag token (every cell of it `invalid-region`). */
export interface RegionColumn {
  readonly name: string;
  readonly kind: 'region' | 'token';
}

/** A family that needs a person (or failed), with why. */
export interface AttentionItem {
  readonly keyId: string;
  readonly concern: Concern;
  /** One line per reason: whole-key result first, then each Region worst first. */
  readonly reasons: readonly string[];
}

/** What the whole report shows. */
export interface FleetModel {
  /** The command that made the document (`status`, `plan`, `report`). */
  readonly command: string;
  /** Rows, worst concern first, then by key id. */
  readonly families: readonly FamilyRow[];
  /** Regions in code order, then bad tag tokens. */
  readonly columns: readonly RegionColumn[];
  /** Cells per status across the fleet (every status present, 0 when none). */
  readonly statusCounts: Readonly<Record<RegionStatusCode, number>>;
  /** Per column: cells per status (non-zero only) and primaries. */
  readonly columnCounts: ReadonlyMap<string, Readonly<Partial<Record<RegionStatusCode | 'primary', number>>>>;
  /** Families per concern (every concern present). */
  readonly concernCounts: Readonly<Record<Concern, number>>;
  /** Families that need a person first (failed, then needs-person), then by key id. */
  readonly attention: readonly AttentionItem[];
  /** Keys whose reconcile failed as a whole (not in `families`): exact count, capped list. */
  readonly keyErrors: FleetKeyList;
  /** The swept Regions and keys listed there (managed or not). */
  readonly swept: readonly { readonly region: string; readonly keys: number; readonly complete: boolean; readonly stoppedBy?: string }[];
  readonly untaggedMultiRegionPrimaries: number;
  readonly interrupted: boolean;
  readonly notSwept: readonly string[];
  readonly dryRun: boolean;
}

/**
 * Builds the picture of a status document.
 *
 * A family listed by more than one swept Region (its primary Region changed between the two
 * listings) keeps its last listing.
 *
 * @param status - a `status --json` document (see {@link parseStatusDocument}).
 */
export function buildFleetModel(status: FleetStatus): FleetModel {
  const byKey = new Map<string, { family: FleetFamily; sweptRegion: string }>();
  for (const run of status.regions) for (const family of run.keys) byKey.set(family.keyId, { family, sweptRegion: run.region });

  const statusCounts = Object.fromEntries(STATUS_ORDER.map((s) => [s, 0])) as Record<RegionStatusCode, number>;
  const concernCounts = Object.fromEntries(CONCERNS.map((c) => [c, 0])) as Record<Concern, number>;
  const columnCounts = new Map<string, Partial<Record<RegionStatusCode | 'primary', number>>>();
  const tokenOnly = new Map<string, boolean>();
  const count = (column: string, what: RegionStatusCode | 'primary'): void => {
    const counts = columnCounts.get(column) ?? {};
    counts[what] = (counts[what] ?? 0) + 1;
    columnCounts.set(column, counts);
    tokenOnly.set(column, (tokenOnly.get(column) ?? true) && what === 'invalid-region');
  };

  const families: FamilyRow[] = [];
  const attention: AttentionItem[] = [];
  for (const { family, sweptRegion } of byKey.values()) {
    const primaryRegion = family.primaryRegion ?? sweptRegion;
    const cells = new Map<string, FleetCell>();
    let concern: Concern = RESULT_STYLE[family.result].concern;
    for (const status of family.regions) {
      cells.set(status.region, { kind: 'status', status });
      statusCounts[status.status] += 1;
      count(status.region, status.status);
      concern = worseConcern(concern, concernOf(status.status));
    }
    // The reconciler never reports the primary's own Region (design §1); a status there wins.
    if (!cells.has(primaryRegion)) {
      cells.set(primaryRegion, { kind: 'primary', ...(family.primaryKeyState !== undefined ? { keyState: family.primaryKeyState } : {}) });
      count(primaryRegion, 'primary');
    }
    concernCounts[concern] += 1;
    families.push({ family, primaryRegion, cells, concern });
    if (concern === 'failed' || concern === 'needs-person') attention.push({ keyId: family.keyId, concern, reasons: reasonsOf(family) });
  }

  const rank = (c: Concern): number => CONCERNS.indexOf(c);
  families.sort((a, b) => rank(a.concern) - rank(b.concern) || compare(a.family.keyId, b.family.keyId));
  attention.sort((a, b) => rank(a.concern) - rank(b.concern) || compare(a.keyId, b.keyId));
  const columns: RegionColumn[] = [...columnCounts.keys()]
    .map((name): RegionColumn => ({ name, kind: tokenOnly.get(name) ? 'token' : 'region' }))
    .sort((a, b) => (a.kind === b.kind ? compare(a.name, b.name) : a.kind === 'region' ? -1 : 1));

  const errorLists = status.regions.map((r) => r.report.errors);
  return {
    command: status.command,
    families,
    columns,
    statusCounts,
    columnCounts,
    concernCounts,
    attention,
    keyErrors: { count: sum(errorLists.map((l) => l.count)), keys: errorLists.flatMap((l) => l.keys) },
    swept: status.regions.map((r) => ({ region: r.region, keys: r.report.keys, complete: r.complete, ...(r.stoppedBy ? { stoppedBy: r.stoppedBy } : {}) })),
    untaggedMultiRegionPrimaries: sum(status.regions.map((r) => r.report.untaggedMultiRegionPrimaries.count)),
    interrupted: status.interrupted === true,
    notSwept: status.notSwept ?? [],
    dryRun: status.regions.every((r) => r.report.dryRun),
  };
}

/**
 * The detail of one status in words, e.g. `PendingDeletion, deletion date 2026-12-31T22:07:27.978Z`
 * or `AccessDeniedException (not retryable): …`; '' when there is none.
 */
export function detailOf(status: FleetRegionStatus): string {
  const parts: string[] = [];
  if (status.keyState) parts.push(status.keyState);
  if (status.deletionDate) parts.push(`deletion date ${status.deletionDate}`);
  if (status.error) parts.push(`${status.error.name} (${status.error.retryable ? 'retryable' : 'not retryable'}): ${status.error.message}`);
  else if (status.message) parts.push(status.message);
  return parts.join(', ');
}

function reasonsOf(family: FleetFamily): string[] {
  const reasons: string[] = [];
  const result = RESULT_STYLE[family.result];
  if (result.concern === 'needs-person' || result.concern === 'failed') {
    const state = family.result === 'primary-not-enabled' && family.primaryKeyState ? ` (${family.primaryKeyState})` : '';
    reasons.push(`${result.badge}${state}${family.message ? `: ${family.message}` : ''}`);
  }
  const worrying = family.regions
    .filter((s) => concernOf(s.status) === 'needs-person' || concernOf(s.status) === 'failed')
    .sort((a, b) => STATUS_STYLE[a.status].order - STATUS_STYLE[b.status].order || compare(a.region, b.region));
  for (const s of worrying) {
    const detail = detailOf(s);
    reasons.push(`${s.region}: ${s.status}${detail ? ` (${detail})` : ''}`);
  }
  return reasons;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
