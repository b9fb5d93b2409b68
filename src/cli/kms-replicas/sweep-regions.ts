/**
 * The sweeping behind `plan`, `status`, `sweep` and `report`: one `sweepRegion` per Region with
 * its progress line and log lines, the documents and texts of a multi-Region run, and its exit
 * code. An interruption (`CliIo.signal`) is the sweep's own stop (`stoppedBy: 'aborted'`, with
 * its resume marker and its guardrail report of the keys finished); the Regions not started are
 * listed as `notSwept`.
 */
import type { Runtime } from '../../lambda/runtime.js';
import type { ReconcilerError } from '../../reconcile/errors.js';
import type { ReconcileOutcome } from '../../reconcile/types.js';
import type { FleetStatus } from '../../report/status-document.js';
import { assessConvergence, type SweepKeyResult } from '../../sweep/guardrail.js';
import { DEFAULT_SWEEP_CONCURRENCY, sweepRegion, type SweepResult } from '../../sweep/sweep-region.js';
import { EXIT_CODES, exitCodeOf } from '../exit-codes.js';
import { UsageError, regionsOf, type RegionOptions } from '../options.js';
import { SweepProgress } from '../progress.js';
import { isManaged, renderPlan, renderStatus } from '../render.js';
import type { Target } from '../target.js';
import { announce, type CliIo, type GlobalOptions, type ProgressSlot } from './context.js';

/** The `ListKeys` page size of a sweep (sweepRegion's default). */
export const PAGE_SIZE = 100;

/** `sweep`'s options beyond the Regions: where to resume, where to stop. */
export interface SweepCliOptions extends RegionOptions {
  readonly marker?: string;
  readonly maxKeys?: number;
}

/** One Region's sweep, with the managed keys' outcomes when collected. */
export interface RegionRun {
  readonly result: SweepResult;
  readonly outcomes: ReconcileOutcome[];
}

/** Every Region's run; `notSwept`: the Regions not started because the run was interrupted. */
export interface SweepRuns {
  readonly runs: RegionRun[];
  readonly notSwept: string[];
  readonly interrupted: boolean;
}

/**
 * Runs one sweep per Region with its progress line (on a TTY stderr, without --json, and when no
 * log lines go to stderr: they would break into it); collects the managed keys' outcomes.
 *
 * @throws {UsageError} a bad `--region`, `--marker` with several Regions, or a `--marker` that
 *   is not a `ListKeys` marker of the Region.
 * @throws {ReconcilerError} when `ListKeys` fails other than by the interruption (exit 70).
 */
export async function sweepRegions(
  target: Target,
  global: GlobalOptions,
  options: SweepCliOptions,
  host: { readonly io: CliIo; readonly screen: ProgressSlot },
  collect: boolean,
): Promise<SweepRuns> {
  const { io, screen } = host;
  const regions = regionsOf(target, options);
  if (options.marker !== undefined && regions.length > 1) {
    throw new UsageError(`--marker resumes the listing of one Region: give one --region, not ${regions.join(' ')}`);
  }
  announce(target, global, io);
  const runs: RegionRun[] = [];
  const notSwept: string[] = [];
  const showProgress = global.progress && !global.json && io.stderr.isTTY === true && target.runtime.config.logLevel === 'SILENT';
  const { logger } = target.runtime;
  for (const region of regions) {
    if (io.signal?.aborted) {
      notSwept.push(region);
      continue;
    }
    const outcomes: ReconcileOutcome[] = [];
    const progress = showProgress ? new SweepProgress(region, io.stderr) : undefined;
    screen.progress = progress;
    progress?.start();
    let result: SweepResult;
    try {
      // An interruption stops the sweep (its ListKeys too) with the keys finished and the marker
      // to resume from: sweepRegion throws only when ListKeys fails for another reason.
      result = await sweepRegion(
        {
          region,
          concurrency: options.concurrency ?? DEFAULT_SWEEP_CONCURRENCY,
          ...(options.marker !== undefined ? { marker: options.marker } : {}),
          // A page no bigger than --max-keys, so the resume marker always moves on.
          ...(options.maxKeys !== undefined ? { maxKeys: options.maxKeys, pageSize: Math.min(PAGE_SIZE, options.maxKeys) } : {}),
          ...(io.signal ? { signal: io.signal } : {}),
          onPage: (keys, more) => progress?.listedPage(keys, more),
          onKey: (key) => {
            logKey(logger, region, key);
            if (key.kind === 'reconciled' && collect && isManaged(key.outcome)) outcomes.push(key.outcome);
            progress?.keyDone(key.kind === 'reconciled' ? key.outcome.writes : 0);
          },
        },
        target.runtime,
      );
    } catch (error) {
      if (options.marker !== undefined && (error as Partial<ReconcilerError>).code === 'InvalidMarkerException') {
        throw new UsageError(
          `--marker '${options.marker}' is not a ListKeys marker of ${region}: pass the marker a stopped sweep of ${region} printed, or leave --marker out to start from the beginning`,
        );
      }
      throw error;
    } finally {
      progress?.stop();
      screen.progress = undefined;
    }
    logger.info('sweep finished', { region, complete: result.complete, stoppedBy: result.stoppedBy, resume: result.resume, keys: result.report.keys, writes: result.report.writes });
    outcomes.sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
    runs.push({ result, outcomes });
  }
  return { runs, notSwept, interrupted: io.signal?.aborted === true };
}

/**
 * One log line per key (to stderr): `key reconciled` (INFO) for a managed key, `key failed`
 * (WARN), and at DEBUG `key unmanaged` / `key is a replica` for the others.
 */
function logKey(logger: Runtime['logger'], region: string, key: SweepKeyResult): void {
  if (key.kind === 'error') {
    logger.warn('key failed', { region, keyId: key.keyId, errorCode: key.error.name, errorMessage: key.error.message, retryable: key.error.retryable });
  } else if (key.kind === 'replica') {
    logger.debug('key is a replica', { region, keyId: key.keyId, primaryRegion: key.primaryRegion });
  } else if (key.outcome.result === 'unmanaged') {
    logger.debug('key unmanaged', { region, keyId: key.keyId });
  } else {
    logger.info('key reconciled', outcomeFields(region, key.outcome));
  }
}

/** The fields of a `key reconciled` log line. */
export function outcomeFields(region: string, outcome: ReconcileOutcome): Record<string, unknown> {
  return {
    region,
    keyId: outcome.keyId,
    result: outcome.result,
    writes: outcome.writes,
    regions: Object.fromEntries(outcome.regions.map((r) => [r.region, r.status])),
  };
}

/** The exit code of a multi-Region run: interrupted, else the worst finding of its Regions. */
export function exitCodeOfRuns({ runs, interrupted }: SweepRuns): number {
  if (interrupted) return EXIT_CODES.interrupted;
  return exitCodeOf(
    runs.map((r) => assessConvergence(r.result.report)),
    runs.some((r) => !r.result.complete),
  );
}

/** `interrupted` and `notSwept` of the JSON document, when the run was interrupted. */
export function interruptionFields({ interrupted, notSwept }: SweepRuns): Record<string, unknown> {
  return interrupted ? { interrupted: true, ...(notSwept.length > 0 ? { notSwept } : {}) } : {};
}

/** The line after the tables of an interrupted run ('' otherwise). */
export function interruptionNote({ interrupted, notSwept }: SweepRuns): string {
  if (!interrupted) return '';
  return (
    '\nInterrupted: no key was started after the signal; the keys in flight were abandoned (reported failed or error with AbortError; ' +
    `the resume marker covers them)${notSwept.length > 0 ? `; not swept: ${notSwept.join(' ')}` : ''}.`
  );
}

/** The document `status --json` and `plan --json` print (and `report` draws). */
export function listingDocument(command: 'plan' | 'status' | 'report', swept: SweepRuns): FleetStatus {
  const regions = swept.runs.map(({ result, outcomes }) => ({
    region: result.region,
    complete: result.complete,
    ...(result.stoppedBy ? { stoppedBy: result.stoppedBy } : {}),
    keys: outcomes,
    report: result.report,
  }));
  return { command, ...interruptionFields(swept), regions };
}

/** `plan` and `status`: the managed keys of the Region(s), as tables or one JSON document. */
export async function listing(
  command: 'plan' | 'status',
  target: Target,
  global: GlobalOptions,
  options: RegionOptions,
  host: { readonly io: CliIo; readonly screen: ProgressSlot },
): Promise<number> {
  const { io } = host;
  const swept = await sweepRegions(target, global, options, host, true);
  if (global.json) {
    io.stdout.write(`${JSON.stringify(listingDocument(command, swept), null, 2)}\n`);
  } else {
    const render = command === 'plan' ? renderPlan : renderStatus;
    io.stdout.write(`${swept.runs.map(({ result, outcomes }) => render(result.region, outcomes, result)).join('\n\n')}${interruptionNote(swept)}\n`);
  }
  return exitCodeOfRuns(swept);
}
