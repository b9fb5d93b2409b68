/**
 * `kms-replicas`: the operators' command line (`plan`, `reconcile`, `sweep`, `status`). The same
 * code paths as the Lambda functions (`reconcileKey`, `sweepRegion`, the paced gateway) against
 * real AWS, any KMS endpoint, or the embedded KMS. Documented in `docs/CLI.md`.
 */
import { SingleBar } from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../config.js';
import { RetryableError, TerminalError, type ReconcilerError } from '../errors.js';
import { GuardrailTally, assessConvergence, buildGuardrailReport, type Convergence } from '../guardrail.js';
import { reconcileKey } from '../reconcile.js';
import { DEFAULT_SWEEP_CONCURRENCY, sweepRegion, type SweepResult } from '../sweep.js';
import type { ReconcileOutcome } from '../types.js';
import { isManaged, renderFamily, renderPlan, renderStatus, renderSweep } from './cli-render.js';
import { TargetError, connectTarget, type Target, type TargetOptions } from './cli-target.js';

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
  /** Bad command line or bad setting. */
  usage: 64,
  /** Could not run at all: KMS unreachable, no credentials, ListKeys failed, a bug. */
  error: 70,
} as const;

/** What `runCli` writes to and reads from (the process's, or a test's). */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  /** The environment, passed to `loadConfig` only. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

interface GlobalOptions extends TargetOptions {
  readonly json?: boolean;
  readonly progress: boolean;
  readonly logLevel: string;
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
  let code: number = EXIT_CODES.converged;
  const program = new Command()
    .name('kms-replicas')
    .description(
      'Keeps AWS KMS multi-Region keys replicated to the Regions named by a tag on the primary key. ' +
        'Targets real AWS (default credential chain), any KMS endpoint (--endpoint, AWS_ENDPOINT_URL_KMS) ' +
        'or the embedded KMS (--embedded, seeded with --seed N demo keys). Every KMS call is paced to ' +
        'QUOTA_SHARE of the KMS request quotas.\n\nExit codes: 0 converged, 1 drift (replicas missing, dry run), ' +
        '2 blocked (needs a person), 3 failed, 4 incomplete, 64 usage error, 70 could not run. See docs/CLI.md.',
    )
    .option('--embedded', 'start the embedded KMS on 127.0.0.1 for this run (no AWS account needed)', false)
    .option('--seed <n>', 'with --embedded: seed this many demo keys in us-east-1 (default 40)', parseCount)
    .option('--endpoint <url>', 'a KMS-compatible endpoint (LocalStack...); overrides AWS_ENDPOINT_URL_KMS')
    .option('--json', 'print one JSON document instead of tables')
    .option('--no-progress', 'no progress bar (it is shown only on a TTY stderr anyway)')
    .addOption(new Option('--log-level <level>', 'reconciler log level (JSON lines on stdout)').choices(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('SILENT'))
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  const regionOption = (): Option => new Option('--region <region...>', 'Region(s) to cover (default: AWS_REGION; us-east-1 with --embedded)');
  const concurrencyOption = (): Option =>
    new Option('--concurrency <n>', 'keys reconciled at the same time').argParser(parseCount).default(DEFAULT_SWEEP_CONCURRENCY);

  program
    .command('plan')
    .description('dry run: what would be replicated, per key and Region (nothing is written)')
    .addOption(regionOption())
    .addOption(concurrencyOption())
    .action(async (_o: RegionOptions, command: Command) => {
      code = await withTarget(command, { DRY_RUN: 'true' }, (target, g, o) => listing('plan', target, g, o as RegionOptions, io));
    });

  program
    .command('status')
    .description('a table of managed keys: desired vs actual Regions and their statuses (read only)')
    .addOption(regionOption())
    .addOption(concurrencyOption())
    .action(async (_o: RegionOptions, command: Command) => {
      code = await withTarget(command, { DRY_RUN: 'true' }, (target, g, o) => listing('status', target, g, o as RegionOptions, io));
    });

  program
    .command('sweep')
    .description('reconcile every managed primary key of the Region(s), paced, and print the guardrail report')
    .addOption(regionOption())
    .addOption(concurrencyOption())
    .option('--marker <marker>', 'resume from this ListKeys marker (printed by a stopped sweep)')
    .option('--max-keys <n>', 'stop after this many keys (resume with the printed marker)', parseCount)
    .option('--dry-run', 'observe and plan only, write nothing (DRY_RUN=true)')
    .action(async (o: { dryRun?: boolean }, command: Command) => {
      code = await withTarget(command, o.dryRun ? { DRY_RUN: 'true' } : {}, (target, g, opts) => sweepCommand(target, g, opts as SweepCliOptions, io));
    });

  program
    .command('reconcile')
    .description('reconcile the multi-Region key family of one key (a key id, mrk- id or key ARN)')
    .requiredOption('--key <id|arn>', 'the key: key id, multi-Region key id (mrk-...) or key ARN')
    .option('--region <region>', "the key's Region (default: the ARN's, else AWS_REGION, else us-east-1 with --embedded)")
    .option('--dry-run', 'observe and plan only, write nothing (DRY_RUN=true)')
    .action(async (o: { dryRun?: boolean }, command: Command) => {
      code = await withTarget(command, o.dryRun ? { DRY_RUN: 'true' } : {}, (target, g, opts) => reconcileCommand(target, g, opts as unknown as ReconcileCliOptions, io));
    });

  program.addHelpText(
    'after',
    '\nExamples:\n  npx kms-replicas --embedded status\n  npx kms-replicas --embedded --seed 200 sweep\n' +
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
    let target: Target;
    try {
      target = await connectTarget(
        { embedded: global.embedded, ...(global.seed !== undefined ? { seed: global.seed } : {}), ...(global.endpoint ? { endpoint: global.endpoint } : {}) },
        io.env,
        { LOG_LEVEL: global.logLevel, ...overrides },
      );
    } catch (error) {
      if (error instanceof ConfigError || error instanceof TargetError || error instanceof RangeError) {
        io.stderr.write(`kms-replicas: ${error.message}\n`);
        return EXIT_CODES.usage;
      }
      throw error;
    }
    try {
      if (!global.json) io.stderr.write(`Target: ${target.description}\n`);
      return await run(target, global, command.opts());
    } catch (error) {
      if (error instanceof UsageError) {
        io.stderr.write(`kms-replicas: ${error.message}\n`);
        return EXIT_CODES.usage;
      }
      const kind = error instanceof RetryableError || error instanceof TerminalError ? ` (${(error as ReconcilerError).code})` : '';
      io.stderr.write(`kms-replicas: ${(error as Error).message}${kind}\n`);
      return EXIT_CODES.error;
    } finally {
      await target.close();
    }
  }
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

function regionsOf(target: Target, options: RegionOptions): readonly string[] {
  const regions = options.region && options.region.length > 0 ? options.region : target.defaultRegions;
  if (regions.length === 0) throw new UsageError('no Region: pass --region <region> or set AWS_REGION');
  return [...new Set(regions)];
}

/** Runs one sweep per Region with the progress bar; collects the managed keys' outcomes. */
async function sweepAll(
  target: Target,
  global: GlobalOptions,
  options: SweepCliOptions,
  io: CliIo,
  collect: boolean,
): Promise<Array<{ result: SweepResult; outcomes: ReconcileOutcome[] }>> {
  const runs: Array<{ result: SweepResult; outcomes: ReconcileOutcome[] }> = [];
  const showBar = global.progress && !global.json && io.stderr.isTTY === true;
  for (const region of regionsOf(target, options)) {
    const outcomes: ReconcileOutcome[] = [];
    let total = 0;
    let done = 0;
    let writes = 0;
    const bar = showBar
      ? new SingleBar(
          { format: `${region} [{bar}] {value}/{total} keys{more} | {writes} writes`, stream: io.stderr as NodeJS.WritableStream, hideCursor: true, clearOnComplete: true },
        )
      : undefined;
    bar?.start(0, 0, { more: '+', writes: 0 });
    const result = await sweepRegion(
      {
        region,
        concurrency: options.concurrency ?? DEFAULT_SWEEP_CONCURRENCY,
        ...(options.marker !== undefined ? { marker: options.marker } : {}),
        ...(options.maxKeys !== undefined ? { maxKeys: options.maxKeys } : {}),
        onPage: (keys, more) => {
          total += keys;
          bar?.setTotal(total);
          bar?.update(done, { more: more ? '+' : '', writes });
        },
        onKey: (key) => {
          done += 1;
          if (key.kind === 'reconciled') {
            writes += key.outcome.writes;
            if (collect && isManaged(key.outcome)) outcomes.push(key.outcome);
          }
          bar?.update(done, { writes });
        },
      },
      target.runtime,
    );
    bar?.stop();
    outcomes.sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
    runs.push({ result, outcomes });
  }
  return runs;
}

function exitCodeOf(convergences: readonly Convergence[], incomplete: boolean): number {
  if (convergences.includes('failed')) return EXIT_CODES.failed;
  if (convergences.includes('blocked')) return EXIT_CODES.blocked;
  if (convergences.includes('drift')) return EXIT_CODES.drift;
  return incomplete ? EXIT_CODES.incomplete : EXIT_CODES.converged;
}

async function listing(command: 'plan' | 'status', target: Target, global: GlobalOptions, options: RegionOptions, io: CliIo): Promise<number> {
  const runs = await sweepAll(target, global, options, io, true);
  if (global.json) {
    const regions = runs.map(({ result, outcomes }) => ({
      region: result.region,
      complete: result.complete,
      keys: outcomes,
      report: result.report,
    }));
    io.stdout.write(`${JSON.stringify({ command, regions }, null, 2)}\n`);
  } else {
    const render = command === 'plan' ? renderPlan : renderStatus;
    io.stdout.write(`${runs.map(({ result, outcomes }) => render(result.region, outcomes, result)).join('\n\n')}\n`);
  }
  return exitCodeOf(
    runs.map((r) => assessConvergence(r.result.report)),
    runs.some((r) => !r.result.complete),
  );
}

async function sweepCommand(target: Target, global: GlobalOptions, options: SweepCliOptions, io: CliIo): Promise<number> {
  const runs = await sweepAll(target, global, options, io, false);
  if (global.json) {
    io.stdout.write(`${JSON.stringify({ command: 'sweep', regions: runs.map((r) => r.result) }, null, 2)}\n`);
  } else {
    io.stdout.write(`${runs.map((r) => renderSweep(r.result)).join('\n\n')}\n`);
  }
  return exitCodeOf(
    runs.map((r) => assessConvergence(r.result.report)),
    runs.some((r) => !r.result.complete),
  );
}

async function reconcileCommand(target: Target, global: GlobalOptions, options: ReconcileCliOptions, io: CliIo): Promise<number> {
  const arnRegion = /^arn:[a-z-]+:kms:([a-z0-9-]+):/.exec(options.key)?.[1];
  const region = options.region ?? arnRegion ?? target.defaultRegions[0];
  if (!region) throw new UsageError(`no Region for ${options.key}: pass --region, give the key ARN, or set AWS_REGION`);
  const outcome = await reconcileKey(
    { keyId: options.key, region, eventName: 'Manual', eventId: `kms-replicas:${Date.now()}` },
    target.runtime,
  );
  io.stdout.write(global.json ? `${JSON.stringify(outcome, null, 2)}\n` : `${renderFamily(outcome)}\n`);
  if (outcome.result === 'key-not-found') return EXIT_CODES.failed;
  const tally = new GuardrailTally(region, outcome.dryRun);
  tally.add({ kind: 'reconciled', keyId: outcome.keyId, arn: outcome.primaryArn ?? options.key, outcome });
  return exitCodeOf([assessConvergence(buildGuardrailReport(tally))], false);
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return n;
}
