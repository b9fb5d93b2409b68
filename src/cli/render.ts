/**
 * How `kms-replicas` and `npm start` show results: `cli-table3` tables for people, plain objects
 * for `--json`. Pure: strings in, strings out; no colour, so output is the same on a TTY and in a
 * pipe. Every table fits {@link MAX_TABLE_WIDTH} columns: long cells wrap onto more lines.
 */
import Table from 'cli-table3';
import type { GuardrailReport, ReportedKey } from '../sweep/guardrail.js';
import { REGION_STATUSES, isProblemStatus } from '../reconcile/statuses.js';
import type { ErrorSummary, ReconcileOutcome, RegionStatus, RegionStatusCode } from '../reconcile/types.js';
import type { SweepResult } from '../sweep/sweep-region.js';

/** The widest a table gets, borders included: a 120-column terminal shows it unbroken. */
export const MAX_TABLE_WIDTH = 120;

/** A wrapped column is not narrowed below its longest word, unless that is longer than this. */
const MAX_UNBROKEN_WORD = 38;

/**
 * A table of `rows` under `head`, each column as wide as its widest cell, except that the
 * columns in `wrap` are narrowed (the widest first) until the table fits
 * {@link MAX_TABLE_WIDTH}; their cells are then wrapped at spaces (a word longer than the column
 * is cut). No colour and no rule between rows: the same bytes on a TTY and in a pipe.
 */
function fittedTable(head: readonly string[], rows: readonly (readonly string[])[], wrap: readonly number[] = []): string {
  // cli-table3 pads each cell with one space on each side; n + 1 vertical borders.
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => longestLine(r[i] ?? ''))) + 2);
  const total = (): number => widths.reduce((a, b) => a + b, 0) + widths.length + 1;
  // A wrapped column keeps its header and its longest word (up to MAX_UNBROKEN_WORD) on one line.
  const minimum = head.map((h, i) => Math.max(h.length, Math.min(MAX_UNBROKEN_WORD, longestWord(rows.map((r) => r[i] ?? '')))) + 2);
  while (total() > MAX_TABLE_WIDTH) {
    const widest = wrap
      .filter((i) => (widths[i] ?? 0) > (minimum[i] ?? 0))
      .sort((a, b) => (widths[b] ?? 0) - (widths[a] ?? 0))[0];
    if (widest === undefined) break;
    widths[widest] = (widths[widest] ?? 0) - 1;
  }
  const t = new Table({
    head: [...head],
    colWidths: widths,
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const row of rows) t.push(row.map((cell, i) => (wrap.includes(i) ? wrapText(cell, (widths[i] ?? 0) - 2) : cell)));
  return t.toString();
}

function longestWord(cells: readonly string[]): number {
  return Math.max(0, ...cells.flatMap((cell) => cell.split(/\s+/).map((word) => word.length)));
}

function longestLine(text: string): number {
  return Math.max(...text.split('\n').map((line) => line.length));
}

/** Greedy word wrap at `width` characters; a word longer than a line is cut into pieces. */
function wrapText(text: string, width: number): string {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      const pieces = word.length > width ? (word.match(new RegExp(`.{1,${width}}`, 'g')) ?? [word]) : [word];
      for (const piece of pieces) {
        if (line === '') line = piece;
        else if (line.length + 1 + piece.length <= width) line += ` ${piece}`;
        else {
          lines.push(line);
          line = piece;
        }
      }
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/** `1 key`, `2 keys`. */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** The UTC day of an ISO date-time (`2026-12-08T10:00:00.000Z` → `2026-12-08`). */
function day(isoDate: string): string {
  return isoDate.slice(0, 10);
}

/**
 * A Region's status with what it needs said in a table cell: the error, and the deletion date
 * unless another cell shows it (`withDeletionDate` false).
 */
function statusText(status: RegionStatus, withDeletionDate = true): string {
  if (status.status === 'blocked-pending-deletion' && status.deletionDate && withDeletionDate) return `${status.status} until ${day(status.deletionDate)}`;
  if (status.status === 'failed' && status.error) return `${status.status} (${status.error.name})`;
  return status.status;
}

/** Whether an outcome is about a managed key worth a row (not an untagged key). */
export function isManaged(outcome: ReconcileOutcome): boolean {
  return outcome.result !== 'unmanaged' && outcome.result !== 'key-not-found';
}

/**
 * `plan`: one row per key and Region where something would be done or is in the way.
 * `missing` on an `Enabled` primary reads `ReplicateKey`; `restore-planned` reads its calls.
 * Every key listed is a primary key of `region` (a replica's family is planned from its
 * primary's Region).
 */
export function renderPlan(region: string, outcomes: readonly ReconcileOutcome[], result: SweepResult): string {
  const rows: string[][] = [];
  let replicate = 0;
  let restore = 0;
  for (const outcome of outcomes) {
    if (outcome.result === 'not-multi-region') {
      rows.push([outcome.keyId, '-', 'not-multi-region: single-Region key carries the tag']);
      continue;
    }
    for (const status of outcome.regions) {
      if (!isProblemStatus(status.status)) continue;
      let plan = statusText(status);
      if (status.status === 'missing' && outcome.result === 'reconciled') {
        plan = 'ReplicateKey';
        replicate += 1;
      } else if (status.status === 'missing') {
        plan = `missing (primary key is ${outcome.primaryKeyState ?? 'not Enabled'}: no write)`;
      } else if (status.status === 'restore-planned') {
        plan = status.message ?? 'restore planned';
        restore += 1;
      }
      rows.push([outcome.keyId, status.region, plan]);
    }
  }
  const restores = restore > 0 ? ` and ${plural(restore, 'restore')}` : '';
  const head =
    `Plan for ${region} (dry run, nothing written): ${plural(result.report.keys, 'key')} listed, ` +
    `${plural(replicate, 'ReplicateKey call')}${restores} would be made${incompleteNote(result)}`;
  return rows.length > 0 ? `${head}\n${fittedTable(['Key', 'Region', 'Plan'], rows, [2])}` : `${head}\nNothing to replicate and nothing in the way.`;
}

/**
 * `status`: one row per managed key: desired vs actual Regions and what stands between them
 * (a primary key that is not `Enabled` is named with its state). Every key listed is a primary
 * key of `region`.
 */
export function renderStatus(region: string, outcomes: readonly ReconcileOutcome[], result: SweepResult): string {
  const rows = outcomes.map((outcome) => {
    const desired = outcome.regions.filter((s) => REGION_STATUSES[s.status].tagNamed).map((s) => s.region);
    const actual = outcome.regions.filter((s) => REGION_STATUSES[s.status].replicaExists).map((s) => s.region);
    return [outcome.keyId, desired.join(' ') || '-', actual.join(' ') || '-', statusSummary(outcome)];
  });
  const head = `Managed keys in ${region}: ${outcomes.length} of ${plural(result.report.keys, 'key')} listed${incompleteNote(result)}`;
  return rows.length > 0
    ? `${head}\n${fittedTable(['Key', 'Desired', 'Actual', 'Status'], rows, [1, 2, 3])}`
    : `${head}\nNo managed primary keys in this Region.`;
}

function incompleteNote(result: SweepResult): string {
  if (result.complete) return '';
  return result.stoppedBy === 'aborted' ? ' (interrupted: listing incomplete)' : ' (listing incomplete)';
}

function statusSummary(outcome: ReconcileOutcome): string {
  if (outcome.result === 'not-multi-region') return 'not-multi-region';
  const problems = outcome.regions.filter((s: RegionStatus) => isProblemStatus(s.status)).map((s) => `${s.region} ${statusText(s)}`);
  if (outcome.result === 'primary-not-enabled') problems.unshift(`primary-not-enabled (${outcome.primaryKeyState ?? 'not Enabled'})`);
  return problems.length > 0 ? problems.join(', ') : 'converged';
}

/**
 * `sweep`: the guardrail report as a counts line and a table of what needs a person: one row per
 * key and Region, the status first in its detail.
 */
export function renderSweep(result: SweepResult): string {
  const r = result.report;
  const state = result.complete
    ? 'complete'
    : `${result.stoppedBy === 'aborted' ? 'interrupted' : `stopped (${result.stoppedBy ?? 'incomplete'})`}; ${resumeHint(result)}`;
  const lines = [`Sweep of ${r.region}: ${state}; ${plural(r.keys, 'key')}, ${plural(r.writes, 'write')}${r.dryRun ? ' (dry run)' : ''}`];
  lines.push(`  Keys:    ${countsLine(r.results)}`);
  lines.push(`  Regions: ${countsLine(r.statuses)}`);
  const rows: string[][] = [];
  for (const [status, list] of Object.entries(r.attention) as Array<[RegionStatusCode, GuardrailReport['errors']]>) {
    for (const key of list.keys) rows.push([key.keyId, key.region ?? '-', `${status}: ${attentionDetail(status, key, r)}`]);
    if (list.count > list.keys.length) rows.push([`… ${list.count - list.keys.length} more`, '', status]);
  }
  pushWhole(rows, 'not-multi-region', r.taggedSingleRegionKeys, 'single-Region key carries the tag');
  pushWhole(rows, 'primary-not-enabled', r.primariesNotEnabled);
  pushWhole(rows, 'error', r.errors);
  if (rows.length > 0) lines.push(fittedTable(['Key', 'Region', 'Needs attention'], rows, [2]));
  if (r.untaggedMultiRegionPrimaries.count > 0) {
    lines.push(`  Untagged multi-Region primaries (unmanaged): ${r.untaggedMultiRegionPrimaries.count}`);
  }
  return lines.join('\n');
}

/**
 * What to say about one key of an attention list: its message, with the deletion date of a
 * replica pending deletion; for `missing` (which carries no message), why nothing was written.
 */
function attentionDetail(status: RegionStatusCode, key: ReportedKey, report: GuardrailReport): string {
  if (status === 'missing' && key.message === undefined) {
    if (report.dryRun) return 'no replica; dry run: ReplicateKey not called';
    const primary = report.primariesNotEnabled.keys.find((k) => k.keyId === key.keyId);
    return `no replica; ReplicateKey not called: ${primary?.message ?? 'the primary key is not Enabled'}`;
  }
  const message = key.message ?? '';
  return key.deletionDate ? `${message} (deletion date ${day(key.deletionDate)})` : message;
}

/** How to resume a stopped sweep: the `--marker` to pass, or from the start when none. */
function resumeHint(result: SweepResult): string {
  const marker = result.resume?.marker;
  return marker !== undefined
    ? `resume with --region ${result.region} --marker ${marker}`
    : 'no ListKeys page was finished: run again without --marker';
}

function pushWhole(rows: string[][], label: string, list: GuardrailReport['errors'], detail?: string): void {
  for (const key of list.keys) rows.push([key.keyId, '-', `${label}: ${key.message ?? detail ?? ''}`]);
  if (list.count > list.keys.length) rows.push([`… ${list.count - list.keys.length} more`, '', label]);
}

function countsLine(counts: Readonly<Record<string, number>>): string {
  const nonZero = Object.entries(counts).filter(([, n]) => n > 0);
  return nonZero.length > 0 ? nonZero.map(([k, n]) => `${k} ${n}`).join(', ') : 'none';
}

/**
 * `reconcile` and `npm start`: the key family as the reconcile left it. A replica pending
 * deletion shows its deletion date (`PendingDeletion until 2026-12-08`), a failed Region its error.
 *
 * @param title - the line above the table; default: the whole-key result and the writes.
 */
export function renderFamily(outcome: ReconcileOutcome, title?: string): string {
  const rows = [[outcome.keyId, outcome.primaryRegion ?? '-', 'primary', outcome.result === 'reconciled' ? 'managed' : outcome.result, outcome.primaryKeyState ?? '-']];
  for (const s of outcome.regions) rows.push([outcome.keyId, s.region, 'replica', statusText(s, false), keyStateText(s)]);
  const head =
    title ??
    `${outcome.result}: ${plural(outcome.writes, 'write')}${outcome.dryRun ? ' (dry run)' : ''}${outcome.message ? `; ${outcome.message}` : ''}`;
  return `${head}\n${fittedTable(['Key', 'Region', 'Role', 'Status', 'Key state'], rows, [3, 4])}`;
}

function keyStateText(status: RegionStatus): string {
  if (status.keyState === 'PendingDeletion' && status.deletionDate) return `PendingDeletion until ${day(status.deletionDate)}`;
  return status.keyState ?? '-';
}

/** `reconcile` when the family could not be read: the error, and whether running again may help. */
export function renderReconcileError(keyId: string, region: string, error: ErrorSummary): string {
  const advice = error.retryable
    ? 'retryable: running again may help (so will the scheduled sweep)'
    : 'not retryable: running again fails the same way until the cause is fixed';
  return `error: ${keyId} in ${region} could not be reconciled: ${error.name}: ${error.message}\n(${advice})`;
}
