/**
 * `kms-replicas`: the operators' command line (`plan`, `reconcile`, `sweep`, `status`). The same
 * code paths as the Lambda functions (`reconcileKey`, `sweepRegion`, the paced gateway) against
 * real AWS, any KMS endpoint, or the embedded KMS. Documented in `docs/CLI.md`.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../lambda/config.js';
import { RetryableError, TerminalError, type ReconcilerError } from '../reconcile/errors.js';
import { GuardrailTally, assessConvergence, buildGuardrailReport, type Convergence, type SweepKeyResult } from '../sweep/guardrail.js';
import { reconcileKey } from '../reconcile/reconcile.js';
import { REGION_CODE_PATTERN, lookupRegion, partitionOf } from '../reconcile/regions.js';
import type { Runtime } from '../lambda/runtime.js';
import { DEFAULT_SWEEP_CONCURRENCY, sweepRegion, type SweepResult } from '../sweep/sweep-region.js';
import type { ErrorSummary, ReconcileOutcome } from '../reconcile/types.js';
import { isManaged, renderFamily, renderPlan, renderReconcileError, renderStatus, renderSweep } from './render.js';
import { TargetError, connectTarget, localLogLevel, parseLogLevelOption, type Target, type TargetOptions } from './target.js';
import { EX_USAGE } from './exit-codes.js';
import { SweepProgress } from './progress.js';
import type { FleetStatus } from '../report/status-document.js';
import { ReportUsageError, checkHtmlPath, describeWritten, drawSavedStatus, writeFleetReport } from './report-command.js';

/** Exit codes (documented in `docs/CLI.md`); the worst finding of the run decides. */
export const EXIT_CODES = {
  /** Every desired Region of every managed primary has a replica. */
  converged: 0,
  /** Replicas are missing and nothing was written (`plan`, `status`, `--dry-run`). */
  drift: 1,
  /** Something needs a person: blocked, misconfigured, or a primary that is not `Enabled`. */
  blocked: 2,
  /** A call or a key's reconcile failed; running again may help. */
  failed: 3,
  /** The sweep stopped before the end of the listing (`--max-keys`). */
  incomplete: 4,
  /** Bad command line or bad setting (`EX_USAGE`, the same in every command of the project). */
  usage: EX_USAGE,
  /** Could not run at all: KMS unreachable, no credentials, ListKeys failed, a bug (`EX_SOFTWARE`). */
  error: 70,
  /**
   * Interrupted (SIGINT, SIGTERM: {@link CliIo.signal} aborted): the partial result and the
   * marker to resume from were printed. Wins over every finding, as the findings are partial.
   */
  interrupted: 130,
} as const;

/** The `ListKeys` page size of a sweep (sweepRegion's default). */
const PAGE_SIZE = 100;

/**
 * Why a run was interrupted: the reason the bin aborts {@link CliIo.signal} with. `what` names it
 * in the notice (`SIGINT`, or the launcher that went away); `bySignal`: a second one exits at once.
 */
export class Interruption extends Error {
  override readonly name = 'Interruption';
  constructor(
    readonly what: string,
    readonly bySignal: boolean,
  ) {
    super(`interrupted by ${what}`);
  }
}

/** What `runCli` writes to and reads from (the process's, or a test's). */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  /** Messages, the progress bar (on a TTY) and the reconciler's log lines (`--log-level`). */
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  /** The environment, passed to `loadConfig` only. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Aborted to interrupt the run (the bin aborts it on SIGINT and SIGTERM): no key is started
   * after it, the keys in flight are abandoned, the partial result is printed with the marker to
   * resume from, and the exit code is {@link EXIT_CODES.interrupted}.
   */
  readonly signal?: AbortSignal;
}

interface GlobalOptions extends TargetOptions {
  readonly json?: boolean;
  readonly progress: boolean;
  /** `--log-level`; undefined when not given (then `LOG_LEVEL`, else `SILENT`). */
  readonly logLevel?: string;
}

interface RegionOptions {
  readonly region?: string[];
  readonly concurrency?: number;
}

/**
 * Runs `kms-replicas` with `argv` (without the node and script paths).
 * @returns the exit code (see {@link EXIT_CODES}); never throws.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  // The progress line on the screen, if any: cleared before the interruption notice is written,
  // or its cursor restore would move back over the notice and the report would overwrite it.
  const screen: ProgressSlot = {};
  const onAbort = (): void => {
    const lineWasDrawn = screen.progress?.isActive === true;
    screen.progress?.stop();
    io.stderr.write(interruptionNotice(io.signal?.reason, lineWasDrawn));
  };
  if (io.signal?.aborted) onAbort();
  else io.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await runProgram(argv, io, screen);
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
  }
}

/** Where `sweepAll` puts the progress line it draws, for the interruption notice to clear it. */
interface ProgressSlot {
  progress?: SweepProgress;
}

function interruptionNotice(reason: unknown, lineWasDrawn: boolean): string {
  const what = reason instanceof Interruption ? reason.what : 'interrupted';
  const again = reason instanceof Interruption && reason.bySignal ? ` (${what} again to exit at once)` : '';
  // Ctrl-C echoes ^C where the cursor is: start on a new line, unless the cleared progress line is it.
  return `${lineWasDrawn ? '' : '\n'}kms-replicas: ${what}: stopping; the partial result and the marker to resume from follow${again}\n`;
}

async function runProgram(argv: readonly string[], io: CliIo, screen: ProgressSlot): Promise<number> {
  let code: number = EXIT_CODES.converged;
  const program = new Command()
    .name('kms-replicas')
    .description(
      'Keeps AWS KMS multi-Region keys replicated to the Regions named by a tag on the primary key. ' +
        'Targets real AWS (default credential chain), any KMS endpoint (--endpoint, AWS_ENDPOINT_URL_KMS) ' +
        'or the embedded KMS (--embedded, seeded with --seed N demo keys). Every KMS call is paced to ' +
        'QUOTA_SHARE of the KMS request quotas.\n\nExit codes: 0 converged, 1 drift (replicas missing, dry run), ' +
        '2 blocked (needs a person), 3 failed, 4 incomplete, 64 usage error, 70 could not run, ' +
        '130 interrupted (Ctrl-C or SIGTERM: the partial report and the --marker to resume with are printed; ' +
        'a second Ctrl-C exits at once). See docs/CLI.md.',
    )
    .option('--embedded', 'start the embedded KMS on 127.0.0.1 for this run (no AWS account needed)', false)
    .option('--seed <n>', 'with --embedded: seed this many demo keys in us-east-1 (default 40; a sweep takes about 0.08 s per key)', parseCount)
    .option('--endpoint <url>', 'a KMS-compatible endpoint (LocalStack...); overrides AWS_ENDPOINT_URL_KMS')
    .option('--json', 'print one JSON document instead of tables')
    .option('--no-progress', 'no progress bar (it is shown only on a TTY stderr anyway)')
    .addOption(
      new Option('--log-level <level>', 'reconciler log level: one JSON line per key on stderr at INFO (managed keys) or DEBUG (every key) (default: LOG_LEVEL, else SILENT)')
        .argParser(parseLogLevelOption),
    )
    .showHelpAfterError('(see kms-replicas --help)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  const regionOption = (): Option => new Option('--region <region...>', 'Region(s) to cover (default: AWS_REGION; us-east-1 with --embedded)');
  const concurrencyOption = (): Option =>
    new Option('--concurrency <n>', 'keys reconciled at the same time').argParser(parseCount).default(DEFAULT_SWEEP_CONCURRENCY);

  program
    .command('plan')
    .description('dry run: what would be replicated, per key and Region (nothing is written)')
    .showHelpAfterError('(see kms-replicas plan --help)')
    .addOption(regionOption())
    .addOption(concurrencyOption())
    .action(async (_o: RegionOptions, command: Command) => {
      code = await withTarget(command, { DRY_RUN: 'true' }, (target, g, o) => listing('plan', target, g, o as RegionOptions, io, screen));
    });

  program
    .command('status')
    .description('a table of managed keys: desired vs actual Regions and their statuses (read only)')
    .showHelpAfterError('(see kms-replicas status --help)')
    .addOption(regionOption())
    .addOption(concurrencyOption())
    .action(async (_o: RegionOptions, command: Command) => {
      code = await withTarget(command, { DRY_RUN: 'true' }, (target, g, o) => listing('status', target, g, o as RegionOptions, io, screen));
    });

  program
    .command('report')
    .description('an HTML page of every key family against every Region, in one self-contained file (read only)')
    .showHelpAfterError('(see kms-replicas report --help)')
    .requiredOption('--html <file>', 'write the page to this file (replaced atomically)')
    .option('--from <file>', 'draw a saved `status --json` document instead of reading KMS')
    .addOption(regionOption())
    .addOption(concurrencyOption())
    .addHelpText(
      'after',
      '\nExit 0 once the page is written, whatever it shows (status gives the findings as exit codes); 64 bad option, ' +
        'bad --html folder or bad --from document; 70 could not run or write; 130 interrupted (the partial page is written).\n' +
        'With --json, prints the status document the page was drawn from (report --from takes it back).\n',
    )
    .action(async (o: ReportCliOptions, command: Command) => {
      code =
        o.from !== undefined
          ? reportFromFile(command.optsWithGlobals<GlobalOptions & ReportCliOptions>(), command.name(), io)
          : await withTarget(command, { DRY_RUN: 'true' }, (target, g, opts) => reportCommand(target, g, opts as unknown as ReportCliOptions, io, screen));
    });

  program
    .command('sweep')
    .description('reconcile every managed primary key of the Region(s), paced, and print the guardrail report')
    .showHelpAfterError('(see kms-replicas sweep --help)')
    .addOption(regionOption())
    .addOption(concurrencyOption())
    .option('--marker <marker>', 'resume from this ListKeys marker (printed by a stopped or interrupted sweep of the one --region)')
    .option(
      '--max-keys <n>',
      `stop after this many keys; the marker printed resumes after the last whole ListKeys page (pages are ${PAGE_SIZE} keys, ` +
        'or n when n is smaller), so keys of a partly done page are checked again',
      parseCount,
    )
    .option('--dry-run', 'observe and plan only, write nothing (DRY_RUN=true)')
    .action(async (o: { dryRun?: boolean }, command: Command) => {
      code = await withTarget(command, o.dryRun ? { DRY_RUN: 'true' } : {}, (target, g, opts) => sweepCommand(target, g, opts as SweepCliOptions, io, screen));
    });

  program
    .command('reconcile')
    .description('reconcile the multi-Region key family of one key (a key id, mrk- id or key ARN)')
    .showHelpAfterError('(see kms-replicas reconcile --help)')
    .requiredOption('--key <id|arn>', 'the key: key id, multi-Region key id (mrk-...) or key ARN')
    .option('--region <region>', "the key's Region (default: the ARN's, else AWS_REGION, else us-east-1 with --embedded)")
    .option('--dry-run', 'observe and plan only, write nothing (DRY_RUN=true)')
    .action(async (o: { dryRun?: boolean }, command: Command) => {
      code = await withTarget(command, o.dryRun ? { DRY_RUN: 'true' } : {}, (target, g, opts) => reconcileCommand(target, g, opts as unknown as ReconcileCliOptions, io));
    });

  program.addHelpText(
    'after',
    '\nExamples:\n  npx kms-replicas --embedded status\n  npx kms-replicas --embedded --seed 200 sweep      # about 16 s: the embedded KMS enforces the quotas\n' +
      '  npx kms-replicas --embedded report --html fleet.html   # one HTML page: every key family against every Region\n' +
      '  npx kms-replicas plan --region us-east-1 eu-west-1 --json\n  npx kms-replicas reconcile --key arn:aws:kms:us-east-1:111122223333:key/mrk-...\n',
  );

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; an unknown option, a missing argument, a bad value: usage.
      return error.exitCode === 0 ? 0 : EXIT_CODES.usage;
    }
    io.stderr.write(`kms-replicas: ${(error as Error).message}\n`);
    return EXIT_CODES.error;
  }

  async function withTarget(
    command: Command,
    overrides: Record<string, string>,
    run: (target: Target, global: GlobalOptions, options: Record<string, unknown>) => Promise<number>,
  ): Promise<number> {
    const global = command.optsWithGlobals<GlobalOptions>();
    const usage = (message: string): number => {
      io.stderr.write(`kms-replicas: ${message}\n(see kms-replicas ${command.name()} --help)\n`);
      return EXIT_CODES.usage;
    };
    // --log-level wins; else LOG_LEVEL or POWERTOOLS_LOG_LEVEL (validated by loadConfig); else silent.
    const logLevel = localLogLevel(global.logLevel, io.env);
    let target: Target;
    try {
      target = await connectTarget(
        { embedded: global.embedded, ...(global.seed !== undefined ? { seed: global.seed } : {}), ...(global.endpoint !== undefined ? { endpoint: global.endpoint } : {}) },
        io.env,
        { ...(logLevel ? { LOG_LEVEL: logLevel } : {}), ...overrides },
        io.stderr,
      );
    } catch (error) {
      if (error instanceof ConfigError) {
        io.stderr.write(`kms-replicas: ${error.message}\n`);
        return EXIT_CODES.usage;
      }
      if (error instanceof TargetError || error instanceof RangeError) return usage(error.message);
      throw error;
    }
    try {
      return await run(target, global, command.opts());
    } catch (error) {
      if (error instanceof UsageError) return usage(error.message);
      if (io.signal?.aborted) {
        io.stderr.write(`kms-replicas: interrupted before anything could be reported (${(error as Error).message})\n`);
        if (global.json) io.stdout.write(`${JSON.stringify({ command: command.name(), interrupted: true, error: errorSummary(error) }, null, 2)}\n`);
        return EXIT_CODES.interrupted;
      }
      const kind = error instanceof RetryableError || error instanceof TerminalError ? ` (${(error as ReconcilerError).code})` : '';
      io.stderr.write(`kms-replicas: ${(error as Error).message}${kind}\n${hintFor(error, target)}`);
      // --json promises one document on stdout: the error that stopped the run.
      if (global.json) io.stdout.write(`${JSON.stringify({ command: command.name(), error: errorSummary(error) }, null, 2)}\n`);
      return EXIT_CODES.error;
    } finally {
      await target.close();
    }
  }
}

/** `{ name, message, retryable }` of an error that stopped a command (the sweep reports key errors so). */
function errorSummary(error: unknown): ErrorSummary {
  const code = (error as Partial<ReconcilerError>).code;
  return {
    name: typeof code === 'string' ? code : error instanceof Error ? error.name : 'Error',
    message: error instanceof Error ? error.message : String(error),
    retryable: error instanceof RetryableError,
  };
}

function isCredentialsError(error: unknown): boolean {
  const code = (error as Partial<ReconcilerError>).code ?? (error as Error).name;
  return code === 'CredentialsProviderError' || /Could not load credentials/.test((error as Error).message);
}

/** Network error codes that mean KMS could not be reached at all (nothing was sent). */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/** Whether an error means the command could not talk to KMS at all: no credentials, no connection. */
function isCouldNotRun(error: unknown): boolean {
  return isCredentialsError(error) || UNREACHABLE_CODES.has(String((error as Partial<ReconcilerError>).code));
}

/** A hint for an error that stops the run, or ''. */
function hintFor(error: unknown, target: Target): string {
  if (!isCredentialsError(error)) return '';
  return target.kind === 'endpoint'
    ? 'hint: a local KMS endpoint (LocalStack, the embedded KMS) accepts any credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to anything, e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test\n'
    : 'hint: give the AWS SDK credentials (AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); or try --embedded\n';
}

interface SweepCliOptions extends RegionOptions {
  readonly marker?: string;
  readonly maxKeys?: number;
}

interface ReconcileCliOptions {
  readonly key: string;
  readonly region?: string;
}

/** A bad command line found after parsing (e.g. no Region to work on). */
class UsageError extends Error {}

/**
 * Checks one `--region` value: a Region code (`REGION_CODE_PATTERN`) where KMS is available
 * (`lookupRegion`), or one listed in `ALLOWED_REGIONS` (a Region newer than the built-in table).
 */
function checkRegion(region: string, what: string, target: Target): string {
  if (!REGION_CODE_PATTERN.test(region)) {
    const lower = region.toLowerCase();
    const hint = lower !== region && REGION_CODE_PATTERN.test(lower) ? `Region codes are lower case: ${lower}` : 'expected a code such as us-east-1';
    throw new UsageError(`${what} '${region}' is not a Region code (${hint})`);
  }
  if (!lookupRegion(region) && target.runtime.config.allowedRegions?.has(region) !== true) {
    throw new UsageError(`${what} '${region}' is not a Region where AWS KMS is available (a Region newer than this tool can be listed in ALLOWED_REGIONS)`);
  }
  return region;
}

function regionsOf(target: Target, options: RegionOptions): readonly string[] {
  const given = options.region && options.region.length > 0;
  const regions = [...new Set(given ? options.region! : target.defaultRegions)];
  if (regions.length === 0) throw new UsageError('no Region: pass --region <region> or set AWS_REGION');
  for (const region of regions) checkRegion(region, given ? '--region' : 'AWS_REGION', target);
  const partitions = [...new Set(regions.map((r) => partitionOf(r) ?? 'aws'))];
  if (partitions.length > 1) {
    throw new UsageError(`--region ${regions.join(' ')}: Regions of different partitions (${partitions.join(', ')}) need different credentials; run once per partition`);
  }
  return regions;
}

function announce(target: Target, global: GlobalOptions, io: CliIo): void {
  if (!global.json) io.stderr.write(`Target: ${target.description}\n`);
}

/** One Region's sweep, with the managed keys' outcomes when collected. */
interface RegionRun {
  readonly result: SweepResult;
  readonly outcomes: ReconcileOutcome[];
}

/** Every Region's run; `notSwept`: the Regions not started because the run was interrupted. */
interface SweepRuns {
  readonly runs: RegionRun[];
  readonly notSwept: string[];
  readonly interrupted: boolean;
}

/**
 * Runs one sweep per Region with its progress line (on a TTY stderr, without --json, and when no
 * log lines go to stderr: they would break into it); collects the managed keys' outcomes.
 */
async function sweepAll(
  target: Target,
  global: GlobalOptions,
  options: SweepCliOptions,
  io: CliIo,
  screen: ProgressSlot,
  collect: boolean,
): Promise<SweepRuns> {
  const regions = regionsOf(target, options);
  if (options.marker !== undefined && regions.length > 1) {
    throw new UsageError(`--marker resumes the listing of one Region: give one --region, not ${regions.join(' ')}`);
  }
  announce(target, global, io);
  const runs: RegionRun[] = [];
  const notSwept: string[] = [];
  const showProgress = global.progress && !global.json && io.stderr.isTTY === true && target.runtime.config.logLevel === 'SILENT';
  const { logger, kms } = target.runtime;
  // ListKeys is not aborted: one page read is quick, and letting it finish lets an interrupted
  // sweep return its resume marker instead of throwing (sweepRegion throws when ListKeys fails).
  const deps: Runtime = { ...target.runtime, kms: { ...kms, listKeys: (region, page) => kms.listKeys(region, page) } };
  for (const region of regions) {
    if (io.signal?.aborted) {
      notSwept.push(region);
      continue;
    }
    const outcomes: ReconcileOutcome[] = [];
    // The CLI's own tally of finished keys: the report of a sweep whose ListKeys was interrupted.
    const tally = new GuardrailTally(region, target.runtime.settings.dryRun);
    let pages = 0;
    const progress = showProgress ? new SweepProgress(region, io.stderr) : undefined;
    screen.progress = progress;
    progress?.start();
    let result: SweepResult;
    try {
      result = await sweepRegion(
        {
          region,
          concurrency: options.concurrency ?? DEFAULT_SWEEP_CONCURRENCY,
          ...(options.marker !== undefined ? { marker: options.marker } : {}),
          // A page no bigger than --max-keys, so the resume marker always moves on.
          ...(options.maxKeys !== undefined ? { maxKeys: options.maxKeys, pageSize: Math.min(PAGE_SIZE, options.maxKeys) } : {}),
          ...(io.signal ? { signal: io.signal } : {}),
          onPage: (keys, more) => {
            pages += 1;
            progress?.listedPage(keys, more);
          },
          onKey: (key) => {
            tally.add(key);
            logKey(logger, region, key);
            if (key.kind === 'reconciled' && collect && isManaged(key.outcome)) outcomes.push(key.outcome);
            progress?.keyDone(key.kind === 'reconciled' ? key.outcome.writes : 0);
          },
        },
        deps,
      );
    } catch (error) {
      if (io.signal?.aborted) {
        // Interrupted and ListKeys failed: report the keys finished; resume where this run started.
        result = {
          region,
          complete: false,
          resume: options.marker !== undefined ? { marker: options.marker } : {},
          stoppedBy: 'aborted',
          pages,
          report: buildGuardrailReport(tally),
        };
      } else if (options.marker !== undefined && (error as Partial<ReconcilerError>).code === 'InvalidMarkerException') {
        throw new UsageError(
          `--marker '${options.marker}' is not a ListKeys marker of ${region}: pass the marker a stopped sweep of ${region} printed, or leave --marker out to start from the beginning`,
        );
      } else {
        throw error;
      }
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

function outcomeFields(region: string, outcome: ReconcileOutcome): Record<string, unknown> {
  return {
    region,
    keyId: outcome.keyId,
    result: outcome.result,
    writes: outcome.writes,
    regions: Object.fromEntries(outcome.regions.map((r) => [r.region, r.status])),
  };
}

function exitCodeOf(convergences: readonly Convergence[], incomplete: boolean): number {
  if (convergences.includes('failed')) return EXIT_CODES.failed;
  if (convergences.includes('blocked')) return EXIT_CODES.blocked;
  if (convergences.includes('drift')) return EXIT_CODES.drift;
  return incomplete ? EXIT_CODES.incomplete : EXIT_CODES.converged;
}

function exitCodeOfRuns({ runs, interrupted }: SweepRuns): number {
  if (interrupted) return EXIT_CODES.interrupted;
  return exitCodeOf(
    runs.map((r) => assessConvergence(r.result.report)),
    runs.some((r) => !r.result.complete),
  );
}

/** `interrupted` and `notSwept` of the JSON document, when the run was interrupted. */
function interruptionFields({ interrupted, notSwept }: SweepRuns): Record<string, unknown> {
  return interrupted ? { interrupted: true, ...(notSwept.length > 0 ? { notSwept } : {}) } : {};
}

function interruptionNote({ interrupted, notSwept }: SweepRuns): string {
  if (!interrupted) return '';
  return (
    '\nInterrupted: no key was started after the signal; the keys in flight were abandoned (reported failed or error with AbortError; ' +
    `the resume marker covers them)${notSwept.length > 0 ? `; not swept: ${notSwept.join(' ')}` : ''}.`
  );
}

/** The document `status --json` and `plan --json` print (and `report` draws). */
function listingDocument(command: 'plan' | 'status' | 'report', swept: SweepRuns): FleetStatus {
  const regions = swept.runs.map(({ result, outcomes }) => ({
    region: result.region,
    complete: result.complete,
    ...(result.stoppedBy ? { stoppedBy: result.stoppedBy } : {}),
    keys: outcomes,
    report: result.report,
  }));
  return { command, ...interruptionFields(swept), regions };
}

async function listing(command: 'plan' | 'status', target: Target, global: GlobalOptions, options: RegionOptions, io: CliIo, screen: ProgressSlot): Promise<number> {
  const swept = await sweepAll(target, global, options, io, screen, true);
  if (global.json) {
    io.stdout.write(`${JSON.stringify(listingDocument(command, swept), null, 2)}\n`);
  } else {
    const render = command === 'plan' ? renderPlan : renderStatus;
    io.stdout.write(`${swept.runs.map(({ result, outcomes }) => render(result.region, outcomes, result)).join('\n\n')}${interruptionNote(swept)}\n`);
  }
  return exitCodeOfRuns(swept);
}

async function sweepCommand(target: Target, global: GlobalOptions, options: SweepCliOptions, io: CliIo, screen: ProgressSlot): Promise<number> {
  const swept = await sweepAll(target, global, options, io, screen, false);
  if (global.json) {
    io.stdout.write(`${JSON.stringify({ command: 'sweep', ...interruptionFields(swept), regions: swept.runs.map((r) => r.result) }, null, 2)}\n`);
  } else {
    io.stdout.write(`${swept.runs.map((r) => renderSweep(r.result)).join('\n\n')}${interruptionNote(swept)}\n`);
  }
  return exitCodeOfRuns(swept);
}

interface ReportCliOptions extends RegionOptions {
  readonly html: string;
  readonly from?: string;
}

/** `report`: the status of the Region(s), drawn as one HTML page. Exit 0 once written (130 when interrupted). */
async function reportCommand(target: Target, global: GlobalOptions, options: ReportCliOptions, io: CliIo, screen: ProgressSlot): Promise<number> {
  const file = reportPath(options.html);
  const swept = await sweepAll(target, global, options, io, screen, true);
  const document = listingDocument('report', swept);
  const written = writeFleetReport(file, document, { generatedAt: new Date(), source: target.description });
  io.stdout.write(global.json ? `${JSON.stringify(document, null, 2)}\n` : `${describeWritten({ ...written, file: options.html })}${interruptionNote(swept)}\n`);
  return swept.interrupted ? EXIT_CODES.interrupted : EXIT_CODES.converged;
}

/** `report --from`: draws a saved document; no KMS call. Exit 0 once written. */
function reportFromFile(options: GlobalOptions & ReportCliOptions, name: string, io: CliIo): number {
  const given = { '--embedded': options.embedded, '--seed': options.seed !== undefined, '--endpoint': options.endpoint !== undefined, '--region': options.region !== undefined };
  const conflicting = Object.entries(given).flatMap(([flag, on]) => (on ? [flag] : []));
  const run = drawSavedStatus({ html: options.html, from: options.from!, json: options.json === true, conflicting }, io);
  if (run === 'usage') io.stderr.write(`(see kms-replicas ${name} --help)\n`);
  return { written: EXIT_CODES.converged, usage: EXIT_CODES.usage, error: EXIT_CODES.error }[run];
}

/** Checks `--html` before any KMS call; a bad path is a usage error. */
function reportPath(file: string): string {
  try {
    return checkHtmlPath(file);
  } catch (error) {
    if (error instanceof ReportUsageError) throw new UsageError(error.message);
    throw error;
  }
}

/** A key id: a UUID or a multi-Region key id (`mrk-` and 32 hex digits). */
const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
/** A key ARN: partition, Region, account, key id. */
const KEY_ARN = /^arn:([a-z-]+):kms:([^:]*):(\d{12}):key\/(.*)$/;

/** Checks `--key` (and `--region` against the ARN's Region); returns the key's Region, if named. */
function checkKey(key: string, region: string | undefined, target: Target): string | undefined {
  const expected =
    'expected a key id (1234abcd-12ab-34cd-56ef-1234567890ab), a multi-Region key id (mrk-1234abcd12ab34cd56ef1234567890ab) ' +
    'or a key ARN (arn:aws:kms:us-east-1:111122223333:key/mrk-...)';
  if (region !== undefined) checkRegion(region, '--region', target);
  const arn = KEY_ARN.exec(key);
  if (!arn) {
    if (!KEY_ID.test(key)) throw new UsageError(`--key '${key}' is not a key id or key ARN: ${expected}`);
    return region;
  }
  const [, partition, arnRegion = '', , id = ''] = arn;
  if (!KEY_ID.test(id)) throw new UsageError(`--key '${key}': '${id}' is not a key id: ${expected}`);
  checkRegion(arnRegion, `--key ARN's Region`, target);
  if (partitionOf(arnRegion) !== partition) {
    throw new UsageError(`--key '${key}': Region ${arnRegion} is not in partition ${partition}`);
  }
  if (region !== undefined && region !== arnRegion) {
    throw new UsageError(`--region ${region} conflicts with the key ARN's Region ${arnRegion}: leave --region out (a key ARN names its Region)`);
  }
  return arnRegion;
}

async function reconcileCommand(target: Target, global: GlobalOptions, options: ReconcileCliOptions, io: CliIo): Promise<number> {
  const keyRegion = checkKey(options.key, options.region, target);
  const region = keyRegion ?? target.defaultRegions[0];
  if (!region) throw new UsageError(`no Region for ${options.key}: pass --region, give the key ARN, or set AWS_REGION`);
  if (keyRegion === undefined) checkRegion(region, 'AWS_REGION', target);
  announce(target, global, io);
  const { logger } = target.runtime;
  let outcome: ReconcileOutcome;
  try {
    outcome = await reconcileKey({ keyId: options.key, region, eventName: 'Manual', eventId: `kms-replicas:${Date.now()}` }, target.runtime, io.signal);
  } catch (error) {
    // reconcileKey throws only the two classified kinds; anything else is a bug (exit 70).
    if (!(error instanceof RetryableError || error instanceof TerminalError)) throw error;
    return reconcileFailed(error, options.key, region, target, global, io);
  }
  if (outcome.result === 'unmanaged' || outcome.result === 'key-not-found') {
    logger.debug(`key ${outcome.result === 'unmanaged' ? 'unmanaged' : 'not found'}`, { region, keyId: outcome.keyId });
  } else {
    logger.info('key reconciled', outcomeFields(region, outcome));
  }
  io.stdout.write(global.json ? `${JSON.stringify({ command: 'reconcile', ...outcome }, null, 2)}\n` : `${renderFamily(outcome)}\n`);
  if (outcome.result === 'key-not-found') return EXIT_CODES.failed;
  const tally = new GuardrailTally(region, outcome.dryRun);
  tally.add({ kind: 'reconciled', keyId: outcome.keyId, arn: outcome.primaryArn ?? options.key, outcome });
  return exitCodeOf([assessConvergence(buildGuardrailReport(tally))], false);
}

/**
 * The result of a reconcile that threw (the family could not be read: throttling, the primary
 * Region changing, access denied...): printed like any other result, `result: "error"` with the
 * error, as the sweep reports a key that failed. Exit 3 (failed: the key's reconcile failed), 70
 * when KMS could not be reached at all (no credentials, no connection; with a hint), 130 when
 * interrupted.
 */
function reconcileFailed(error: ReconcilerError, keyId: string, region: string, target: Target, global: GlobalOptions, io: CliIo): number {
  const interrupted = io.signal?.aborted === true;
  const summary = errorSummary(error);
  target.runtime.logger.warn('key failed', { region, keyId, errorCode: summary.name, errorMessage: summary.message, retryable: summary.retryable });
  const result = {
    command: 'reconcile',
    ...(interrupted ? { interrupted: true } : {}),
    keyId,
    region,
    dryRun: target.runtime.settings.dryRun,
    result: 'error',
    regions: [],
    writes: 0,
    error: summary,
  };
  io.stdout.write(global.json ? `${JSON.stringify(result, null, 2)}\n` : `${renderReconcileError(keyId, region, summary)}\n`);
  io.stderr.write(hintFor(error, target));
  if (interrupted) return EXIT_CODES.interrupted;
  return isCouldNotRun(error) ? EXIT_CODES.error : EXIT_CODES.failed;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return n;
}
