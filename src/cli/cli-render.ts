/**
 * How `kms-replicas` shows results: `cli-table3` tables for people, plain objects for `--json`.
 * Pure: strings in, strings out; no colour, so output is the same on a TTY and in a pipe.
 */
import Table from 'cli-table3';
import type { GuardrailReport } from '../guardrail.js';
import type { ReconcileOutcome, RegionStatus, RegionStatusCode } from '../types.js';
import type { SweepResult } from '../sweep.js';

/** Statuses meaning a replica exists in that Region. */
const REPLICA_EXISTS: ReadonlySet<RegionStatusCode> = new Set<RegionStatusCode>([
  'present',
  'creating',
  'pending-import',
  'replica-disabled',
  'blocked-pending-deletion',
  'created',
  'already-exists',
  'restored',
  'restore-planned',
  'extra',
]);

/** Statuses of a desired Region that need nothing. */
const FINE: ReadonlySet<RegionStatusCode> = new Set<RegionStatusCode>(['present', 'creating', 'created', 'already-exists', 'restored']);

function table(head: string[]): Table.Table {
  // No colour and no rule between rows: the same bytes on a TTY and in a pipe, one line per row.
  return new Table({ head, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
}

/** Whether an outcome is about a managed key worth a row (not an untagged key). */
export function isManaged(outcome: ReconcileOutcome): boolean {
  return outcome.result !== 'unmanaged' && outcome.result !== 'key-not-found';
}

/**
 * `plan`: one row per key and Region where something would be done or is in the way.
 * `missing` on an `Enabled` primary reads `ReplicateKey`; `restore-planned` reads its calls.
 */
export function renderPlan(region: string, outcomes: readonly ReconcileOutcome[], result: SweepResult): string {
  const t = table(['Key', 'Primary Region', 'Region', 'Plan']);
  let replicate = 0;
  let restore = 0;
  for (const outcome of outcomes) {
    if (outcome.result === 'not-multi-region') {
      t.push([outcome.keyId, outcome.primaryRegion ?? region, '-', 'not-multi-region: single-Region key carries the tag']);
      continue;
    }
    for (const status of outcome.regions) {
      if (FINE.has(status.status)) continue;
      let plan: string = status.status;
      if (status.status === 'missing' && outcome.result === 'reconciled') {
        plan = 'ReplicateKey';
        replicate += 1;
      } else if (status.status === 'missing') {
        plan = `missing (primary key is ${outcome.primaryKeyState ?? 'not Enabled'}: no write)`;
      } else if (status.status === 'restore-planned') {
        plan = status.message ?? 'restore planned';
        restore += 1;
      }
      t.push([outcome.keyId, outcome.primaryRegion ?? region, status.region, plan]);
    }
  }
  const restores = restore > 0 ? ` and ${restore} restore${restore === 1 ? '' : 's'}` : '';
  const head = `Plan for ${region} (dry run, nothing written): ${result.report.keys} keys listed, ${replicate} ReplicateKey call${replicate === 1 ? '' : 's'}${restores} would be made${incompleteNote(result)}`;
  return t.length > 0 ? `${head}\n${t.toString()}` : `${head}\nNothing to replicate and nothing in the way.`;
}

/** `status`: one row per managed key: desired vs actual Regions and what stands between them. */
export function renderStatus(region: string, outcomes: readonly ReconcileOutcome[], result: SweepResult): string {
  const t = table(['Key', 'Primary Region', 'Key state', 'Desired', 'Actual', 'Status']);
  for (const outcome of outcomes) {
    const desired = outcome.regions.filter((s) => s.status !== 'extra').map((s) => s.region);
    const actual = outcome.regions.filter((s) => REPLICA_EXISTS.has(s.status)).map((s) => s.region);
    t.push([
      outcome.keyId,
      outcome.primaryRegion ?? region,
      outcome.primaryKeyState ?? '-',
      desired.join(' ') || '-',
      actual.join(' ') || '-',
      statusSummary(outcome),
    ]);
  }
  const head = `Managed keys in ${region}: ${outcomes.length} of ${result.report.keys} keys listed${incompleteNote(result)}`;
  return t.length > 0 ? `${head}\n${t.toString()}` : `${head}\nNo managed primary keys in this Region.`;
}

function incompleteNote(result: SweepResult): string {
  if (result.complete) return '';
  return result.stoppedBy === 'aborted' ? ' (interrupted: listing incomplete)' : ' (listing incomplete)';
}

function statusSummary(outcome: ReconcileOutcome): string {
  if (outcome.result === 'not-multi-region') return 'not-multi-region';
  const problems = outcome.regions.filter((s: RegionStatus) => !FINE.has(s.status)).map((s) => `${s.region} ${s.status}`);
  if (outcome.result === 'primary-not-enabled') problems.unshift('primary-not-enabled');
  return problems.length > 0 ? problems.join(', ') : 'converged';
}

/** `sweep`: the guardrail report as a counts line and a table of what needs a person. */
export function renderSweep(result: SweepResult): string {
  const r = result.report;
  const state = result.complete
    ? 'complete'
    : `${result.stoppedBy === 'aborted' ? 'interrupted' : `stopped (${result.stoppedBy ?? 'incomplete'})`}; ${resumeHint(result)}`;
  const lines = [`Sweep of ${r.region}: ${state}; ${r.keys} keys, ${r.writes} write${r.writes === 1 ? '' : 's'}${r.dryRun ? ' (dry run)' : ''}`];
  lines.push(`  Keys:    ${countsLine(r.results)}`);
  lines.push(`  Regions: ${countsLine(r.statuses)}`);
  const t = table(['Needs attention', 'Key', 'Region', 'Detail']);
  for (const [status, list] of Object.entries(r.attention)) {
    for (const key of list.keys) t.push([status, key.keyId, key.region ?? '-', key.message ?? '']);
    if (list.count > list.keys.length) t.push([status, `… ${list.count - list.keys.length} more`, '', '']);
  }
  pushWhole(t, 'not-multi-region', r.taggedSingleRegionKeys, 'single-Region key carries the tag');
  pushWhole(t, 'primary-not-enabled', r.primariesNotEnabled);
  pushWhole(t, 'error', r.errors);
  if (t.length > 0) lines.push(t.toString());
  if (r.untaggedMultiRegionPrimaries.count > 0) {
    lines.push(`  Untagged multi-Region primaries (unmanaged): ${r.untaggedMultiRegionPrimaries.count}`);
  }
  return lines.join('\n');
}

/** How to resume a stopped sweep: the `--marker` to pass, or from the start when none. */
function resumeHint(result: SweepResult): string {
  const marker = result.resume?.marker;
  return marker !== undefined
    ? `resume with --region ${result.region} --marker ${marker}`
    : 'no ListKeys page was finished: run again without --marker';
}

function pushWhole(t: Table.Table, label: string, list: GuardrailReport['errors'], detail?: string): void {
  for (const key of list.keys) t.push([label, key.keyId, '-', key.message ?? detail ?? '']);
  if (list.count > list.keys.length) t.push([label, `… ${list.count - list.keys.length} more`, '', '']);
}

function countsLine(counts: Readonly<Record<string, number>>): string {
  const nonZero = Object.entries(counts).filter(([, n]) => n > 0);
  return nonZero.length > 0 ? nonZero.map(([k, n]) => `${k} ${n}`).join(', ') : 'none';
}

/** `reconcile`: the key family as the reconcile left it. */
export function renderFamily(outcome: ReconcileOutcome): string {
  const t = table(['Key', 'Region', 'Role', 'Status', 'Key state']);
  t.push([outcome.keyId, outcome.primaryRegion ?? '-', 'primary', outcome.result === 'reconciled' ? 'managed' : outcome.result, outcome.primaryKeyState ?? '-']);
  for (const s of outcome.regions) t.push([outcome.keyId, s.region, 'replica', s.status, s.keyState ?? '-']);
  const head = `${outcome.result}: ${outcome.writes} write${outcome.writes === 1 ? '' : 's'}${outcome.dryRun ? ' (dry run)' : ''}${outcome.message ? `; ${outcome.message}` : ''}`;
  return `${head}\n${t.toString()}`;
}
