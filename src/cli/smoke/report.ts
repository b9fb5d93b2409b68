/**
 * What `npm run smoke` reports: its exit codes, its streams, the `--json` summary, the text of a
 * run, the commands for keys left not scheduled for deletion, and the `--cleanup-only` result.
 */
import type { CallerIdentity } from '../../aws/caller-identity.js';
import { EX_USAGE } from '../exit-codes.js';
import type { CleanupOnlyReport } from './cleanup.js';
import { formatDuration } from './cloudtrail.js';
import type { SmokeCliOptions } from './options.js';
import type { RegionProbe } from './preflight.js';
import type { RecordSummary } from './record.js';
import type { SmokeRunReport } from './session.js';

/**
 * Exit codes of `npm run smoke` (docs/SMOKE.md). They keep the meanings of `kms-replicas`'s
 * (docs/CLI.md): 2 needs a person, 3 failed, 4 incomplete, 64 usage, 70 could not run, 130
 * interrupted. When several apply, the first of 2, 130, 3, 4 wins: a key left costing money
 * matters most.
 */
export const SMOKE_EXIT_CODES = {
  /** Every step passed and every key the run made is scheduled for deletion. */
  passed: 0,
  /** A key the run made is not scheduled for deletion: the commands to do it were printed. */
  needsPerson: 2,
  /** A step failed (a check did not hold, or a call failed); every key made is scheduled for deletion. */
  failed: 3,
  /** Every step passed but some CloudTrail records did not appear before `--cloudtrail-timeout`. */
  recordingIncomplete: 4,
  /** Bad option, Region or setting; or `--yes` missing (nothing was created). `EX_USAGE`, as in every command. */
  usage: EX_USAGE,
  /** Could not start: no, expired or invalid credentials; a Region unreachable or not enabled; a read the preflight needs denied. */
  couldNotRun: 70,
  /** Ctrl-C or SIGTERM: the run stopped and scheduled what it had made for deletion. */
  interrupted: 130,
} as const;

/** Where the command writes and what it reads. */
export interface SmokeIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** The environment (settings, credentials); read through `loadConfig` and for static credentials. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** First Ctrl-C: stop the steps, then clean up. */
  readonly signal?: AbortSignal;
  /** Second Ctrl-C: stop the cleanup too (the keys not yet scheduled are printed). */
  readonly abandon?: AbortSignal;
  /** The clock (epoch ms); default `Date.now`. */
  readonly now?: () => number;
}

/** The exit code of a run (see {@link SMOKE_EXIT_CODES} for the order). */
export function exitCodeOf(report: SmokeRunReport, interrupted: boolean): number {
  if (!report.cleanupComplete) return SMOKE_EXIT_CODES.needsPerson;
  if (interrupted || report.steps.some((s) => s.status === 'interrupted')) return SMOKE_EXIT_CODES.interrupted;
  const failed = report.steps.filter((s) => s.status === 'failed');
  if (failed.length === 0) return SMOKE_EXIT_CODES.passed;
  const onlyMissingRecords =
    failed.length === 1 && failed[0]?.name === 'cloudtrail' && (report.cloudTrail?.missing.length ?? 0) > 0 && (report.cloudTrail?.found.every((f) => !f.problem) ?? true);
  return onlyMissingRecords ? SMOKE_EXIT_CODES.recordingIncomplete : SMOKE_EXIT_CODES.failed;
}

const RESULT_NAMES: Record<number, string> = { 0: 'passed', 2: 'needs-a-person', 3: 'failed', 4: 'recording-incomplete', 130: 'interrupted' };

/** The `--json` summary (docs/SMOKE.md, "Output"). */
export function summarize(
  report: SmokeRunReport,
  extra: {
    code: number;
    caller: CallerIdentity;
    primaryRegion: string;
    replicaRegions: readonly string[];
    probes: readonly RegionProbe[];
    durationMs: number;
    outcomes: number;
    record?: RecordSummary;
  },
): Record<string, unknown> {
  return {
    runId: report.runId,
    result: RESULT_NAMES[extra.code] ?? 'failed',
    exitCode: extra.code,
    account: extra.caller.account,
    caller: extra.caller.arn,
    primaryRegion: extra.primaryRegion,
    replicaRegions: extra.replicaRegions,
    keyId: report.keyId ?? null,
    primaryArn: report.primaryArn ?? null,
    durationMs: extra.durationMs,
    preflight: extra.probes,
    steps: report.steps,
    replicas: report.replicas,
    cleanup: report.cleanup,
    cleanupComplete: report.cleanupComplete,
    cloudTrail: report.cloudTrail ?? null,
    kmsCalls: report.kmsCalls,
    kmsWrites: report.kmsWrites,
    outcomeEvents: extra.outcomes,
    record: extra.record ?? null,
  };
}

export function renderRun(report: SmokeRunReport, summary: Record<string, unknown>): string {
  const lines = [
    `kms-replicas smoke run ${report.runId}: ${String(summary.result)} (exit ${String(summary.exitCode)}) in ${formatDuration(Number(summary.durationMs))}`,
    `key ${report.keyId ?? '(none created)'}; ${report.kmsCalls} KMS calls (${report.kmsWrites} writes)`,
  ];
  for (const step of report.steps) lines.push(`  ${step.name.padEnd(25)} ${step.status.padEnd(11)} ${formatDuration(step.ms).padStart(10)}  ${step.detail}`);
  for (const replica of report.replicas) lines.push(`replica ${replica.region}: Creating → ${replica.finalState} in ${formatDuration(replica.creatingMs)} (${replica.polls} polls)`);
  const record = summary.record as RecordSummary | null;
  if (record) {
    lines.push(`recorded: ${record.kmsFiles} KMS calls and ${record.cloudTrailFiles} CloudTrail records in ${record.dir}, account id replaced by 111122223333`);
    if (record.withheld.length > 0) lines.push(`withheld (still held a sensitive value after scrubbing): ${record.withheld.join(', ')}`);
    if (record.unwritten.length > 0) lines.push(`could not write: ${record.unwritten.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function manualCleanup(report: SmokeRunReport, regions: readonly string[]): string {
  const left = report.cleanup.filter((e) => e.action === 'failed' || e.action === 'abandoned');
  return [
    `smoke: ${left.length} key(s) the run made are NOT scheduled for deletion and cost $1/month each until they are:`,
    ...left.map((e) => `  aws kms schedule-key-deletion --region ${e.region} --key-id ${e.arn} --pending-window-in-days 7${e.error ? `   # ${e.error}` : ''}`),
    `(replicas first, then the primary), or, once the permission is fixed: npm run smoke -- --regions "${regions.join(' ')}" --cleanup-only --yes`,
  ].join('\n');
}

export function finishCleanupOnly(
  report: CleanupOnlyReport,
  ctx: { options: SmokeCliOptions; caller: CallerIdentity; regions: readonly string[]; io: SmokeIo; say: (line: string) => void; durationMs: number },
): number {
  const { options, io, say } = ctx;
  const scheduled = options.yes === true;
  const code = !scheduled && report.leftovers.length > 0 ? SMOKE_EXIT_CODES.usage : report.complete || !scheduled ? SMOKE_EXIT_CODES.passed : SMOKE_EXIT_CODES.needsPerson;
  const summary = {
    mode: 'cleanup-only',
    exitCode: code,
    account: ctx.caller.account,
    regions: ctx.regions,
    examined: report.examined,
    alreadyScheduled: report.alreadyScheduled,
    leftovers: report.leftovers,
    cleanup: report.cleanup,
    complete: report.complete,
    durationMs: ctx.durationMs,
  };
  if (options.json) io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const lines = [`${report.examined} multi-Region key(s) examined; ${report.alreadyScheduled} tagged key(s) already pending deletion; ${report.leftovers.length} leftover(s)`];
    for (const key of report.leftovers) {
      const done = report.cleanup.find((e) => e.arn === key.arn);
      lines.push(`  ${key.region} ${key.role.padEnd(7)} ${key.arn} ${key.keyState}${key.runId ? ` (run ${key.runId})` : ''}${done ? ` → ${done.action}${done.keyState ? ` (${done.keyState})` : ''}` : ''}`);
    }
    io.stdout.write(`${lines.join('\n')}\n`);
  }
  if (!scheduled && report.leftovers.length > 0) say('smoke: nothing was scheduled: add --yes to schedule these for deletion (7 days)');
  const failed = report.cleanup.filter((e) => e.action === 'failed' || e.action === 'abandoned');
  for (const e of failed) say(`smoke: not scheduled: ${e.arn}: ${e.error ?? e.action}`);
  return code;
}
