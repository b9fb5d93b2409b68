/** `kms-replicas plan`: a dry run of the Region(s), what would be replicated per key and Region. */
import type { Command } from 'commander';
import { concurrencyOption, regionOption, type RegionOptions } from '../options.js';
import type { CommandHost } from './context.js';
import { listing } from './sweep-regions.js';

/** Adds `plan` to the program. Exit codes as `status`'s (a dry run: nothing is written). */
export function definePlan(program: Command, host: CommandHost): void {
  program
    .command('plan')
    .description('dry run: what would be replicated, per key and Region (nothing is written)')
    .showHelpAfterError('(see kms-replicas plan --help)')
    .addOption(regionOption())
    .addOption(concurrencyOption())
    .action(async (_o: RegionOptions, command: Command) => {
      await host.run(command, { DRY_RUN: 'true' }, (target, g, o) => listing('plan', target, g, o as RegionOptions, host));
    });
}
