/** `kms-replicas sweep`: reconciles every managed primary key of the Region(s) and prints the guardrail report. */
import type { Command } from 'commander';
import { concurrencyOption, parseCount, regionOption } from '../options.js';
import { renderSweep } from '../render.js';
import type { Target } from '../target.js';
import type { CliIo, CommandHost, GlobalOptions, ProgressSlot } from './context.js';
import { PAGE_SIZE, exitCodeOfRuns, interruptionFields, interruptionNote, sweepRegions, type SweepCliOptions } from './sweep-regions.js';

/** Adds `sweep` to the program. Exit code: the worst finding, `incomplete` when stopped by `--max-keys`. */
export function defineSweep(program: Command, host: CommandHost): void {
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
      await host.run(command, o.dryRun ? { DRY_RUN: 'true' } : {}, (target, g, opts) => sweepCommand(target, g, opts as SweepCliOptions, host));
    });
}

async function sweepCommand(target: Target, global: GlobalOptions, options: SweepCliOptions, host: { readonly io: CliIo; readonly screen: ProgressSlot }): Promise<number> {
  const { io } = host;
  const swept = await sweepRegions(target, global, options, host, false);
  if (global.json) {
    io.stdout.write(`${JSON.stringify({ command: 'sweep', ...interruptionFields(swept), regions: swept.runs.map((r) => r.result) }, null, 2)}\n`);
  } else {
    io.stdout.write(`${swept.runs.map((r) => renderSweep(r.result)).join('\n\n')}${interruptionNote(swept)}\n`);
  }
  return exitCodeOfRuns(swept);
}
