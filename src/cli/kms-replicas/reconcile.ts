/** `kms-replicas reconcile --key`: reconciles the multi-Region key family of one key. */
import type { Command } from 'commander';
import type { ReconcilerError } from '../../reconcile/errors.js';
import { reconcile } from '../../reconcile/reconcile.js';
import { GuardrailTally, assessConvergence, buildGuardrailReport } from '../../sweep/guardrail.js';
import { EXIT_CODES, exitCodeOf } from '../exit-codes.js';
import { UsageError, checkKey, checkRegion } from '../options.js';
import { renderFamily, renderReconcileError } from '../render.js';
import type { Target } from '../target.js';
import { announce, type CliIo, type CommandHost, type GlobalOptions } from './context.js';
import { errorSummary, hintFor, isCouldNotRun } from './failures.js';
import { outcomeFields } from './sweep-regions.js';

interface ReconcileCliOptions {
  readonly key: string;
  readonly region?: string;
}

/** Adds `reconcile` to the program. Exit code: the key's finding as one sweep's; 3 for a key not found or a failed read. */
export function defineReconcile(program: Command, host: CommandHost): void {
  program
    .command('reconcile')
    .description('reconcile the multi-Region key family of one key (a key id, mrk- id or key ARN)')
    .showHelpAfterError('(see kms-replicas reconcile --help)')
    .requiredOption('--key <id|arn>', 'the key: key id, multi-Region key id (mrk-...) or key ARN')
    .option('--region <region>', "the key's Region (default: the ARN's, else AWS_REGION, else us-east-1 with --embedded)")
    .option('--dry-run', 'observe and plan only, write nothing (DRY_RUN=true)')
    .action(async (o: { dryRun?: boolean }, command: Command) => {
      await host.run(command, o.dryRun ? { DRY_RUN: 'true' } : {}, (target, g, opts) => reconcileCommand(target, g, opts as unknown as ReconcileCliOptions, host.io));
    });
}

async function reconcileCommand(target: Target, global: GlobalOptions, options: ReconcileCliOptions, io: CliIo): Promise<number> {
  const keyRegion = checkKey(options.key, options.region, target);
  const region = keyRegion ?? target.defaultRegions[0];
  if (!region) throw new UsageError(`no Region for ${options.key}: pass --region, give the key ARN, or set AWS_REGION`);
  if (keyRegion === undefined) checkRegion(region, 'AWS_REGION', target);
  announce(target, global, io);
  const { logger } = target.runtime;
  // A programming error is thrown (exit 70); everything else is in the verdict.
  const { outcome, verdict } = await reconcile({ keyId: options.key, region, eventName: 'Manual', eventId: `kms-replicas:${Date.now()}` }, target.runtime, io.signal);
  // No outcome: the family could not be read. A retry verdict with an outcome (a Region failed for a
  // passing reason) is the outcome's finding, as the sweep reports it.
  if (!outcome) return reconcileFailed(verdict.error, options.key, region, target, global, io);
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
 * The result of a reconcile without an outcome (the family could not be read: throttling, the primary
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
