/**
 * `kms-replicas`: the operators' command line (`plan`, `reconcile`, `sweep`, `status`, `report`;
 * one file each in `kms-replicas/`). The same code paths as the Lambda functions (`reconcile`,
 * `sweepRegion`, the paced gateway) against real AWS, any KMS endpoint, or the embedded KMS.
 * This file is the program: global options, help, and how a command's target is connected and
 * what it throws becomes an exit code. Documented in `docs/CLI.md`.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../lambda/config.js';
import { RetryableError, TerminalError, type ReconcilerError } from '../reconcile/errors.js';
import { EXIT_CODES } from './exit-codes.js';
import { defineReconcile } from './kms-replicas/reconcile.js';
import { definePlan } from './kms-replicas/plan.js';
import { defineReport } from './kms-replicas/report.js';
import { defineStatus } from './kms-replicas/status.js';
import { defineSweep } from './kms-replicas/sweep.js';
import { Interruption, type CliIo, type CommandHost, type GlobalOptions, type ProgressSlot, type TargetRun } from './kms-replicas/context.js';
import { errorSummary, hintFor } from './kms-replicas/failures.js';
import { UsageError, parseCount } from './options.js';
import { TargetError, connectTarget, localLogLevel, parseLogLevelOption, type Target } from './target.js';

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

  const host: CommandHost = {
    io,
    screen,
    run: async (command, overrides, run) => {
      code = await withTarget(command, overrides, run);
    },
    exit: (exitCode) => {
      code = exitCode;
    },
  };
  definePlan(program, host);
  defineStatus(program, host);
  defineReport(program, host);
  defineSweep(program, host);
  defineReconcile(program, host);

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
    run: TargetRun,
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
