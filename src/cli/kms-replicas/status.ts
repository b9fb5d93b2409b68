/** `kms-replicas status`: the managed keys of the Region(s), desired vs actual Regions (read only). */
import type { Command } from 'commander';
import { concurrencyOption, regionOption, type RegionOptions } from '../options.js';
import type { CommandHost } from './context.js';
import { listing } from './sweep-regions.js';

/** Adds `status` to the program. Exit code: the worst finding (`exitCodeOfRuns`). */
export function defineStatus(program: Command, host: CommandHost): void {
  program
    .command('status')
    .description('a table of managed keys: desired vs actual Regions and their statuses (read only)')
    .showHelpAfterError('(see kms-replicas status --help)')
    .addOption(regionOption())
    .addOption(concurrencyOption())
    .action(async (_o: RegionOptions, command: Command) => {
      await host.run(command, { DRY_RUN: 'true' }, (target, g, o) => listing('status', target, g, o as RegionOptions, host));
    });
}
