/**
 * `npm run chaos`: the full seeded chaos run (docs/RELIABILITY.md). Exits 0 when every invariant
 * holds, 1 otherwise, 64 on a usage error (a bad option, a `--setting` the reconciler would refuse, a
 * `--json` file that cannot be written), reported in one line before anything runs. It never calls
 * `process.exit`, so a handle left open would show as a run that does not end.
 *
 *   npm run chaos -- [--seed N] [--families N] [--concurrency N] [--no-faults] [--setting NAME=value]
 *                    [--storm N] [--backlog N] [--sweep-run-ms MS] [--deny-reads REGION] [--restore] [--security-hub]
 *                    [--json FILE] [--quiet]
 */
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';

// Before anything builds a client or a Metrics object: EMF lines and the SDK's Node 20 notice
// would drown the report.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const { DEFAULT_FAULT_PROFILE, ENABLE_KEY_FAULTS, NO_FAULT_PROFILE, SECURITY_HUB_FAULTS, chaosEnvironment, runChaos } = await import('./chaos-run.js');
const { ConfigError, loadConfig } = await import('../src/lambda/config.js');
const { checkChaosRun } = await import('./invariants.js');
const { formatChaosReport } = await import('./chaos-report.js');
const { EX_USAGE } = await import('../src/cli/exit-codes.js');
const { stopWhenLauncherGone } = await import('../src/support/launcher.js');

// Started by npm: stop when npm goes away (it passes its signals only to the shell it runs us in).
stopWhenLauncherGone(process.env, 'npm run chaos');

/** The seed and size of the run whose figures docs/RELIABILITY.md shows. */
const DEFAULT_SEED = 7;
const DEFAULT_FAMILIES = 1_000;

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function collectSetting(pair: string, settings: Record<string, string>): Record<string, string> {
  const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(pair);
  if (!match) throw new InvalidArgumentError('expected NAME=value');
  return { ...settings, [match[1] as string]: match[2] as string };
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}

/** Exit code of a usage error (bad option, setting or output file): EX_USAGE, as every command here. */
const USAGE_ERROR = EX_USAGE;

/** Why the reconciler would refuse these settings in the chaos deployment, or undefined. */
function settingsProblem(settings: Record<string, string>): string | undefined {
  try {
    // The placeholder endpoint is replaced by the embedded KMS's own when the run starts.
    loadConfig({ ...chaosEnvironment('http://127.0.0.1:4566'), ...settings });
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return `invalid --setting: ${error.problems.join('; ')}`;
    throw error;
  }
}

/** Why `file` cannot be written (checked before the run, not after it), or undefined. */
function jsonTargetProblem(file: string): string | undefined {
  const directory = dirname(resolve(file));
  try {
    if (!statSync(directory).isDirectory()) return `--json ${file}: ${directory} is not a directory`;
    accessSync(directory, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `--json ${file}: directory ${directory} does not exist`;
    if (code === 'EACCES' || code === 'EPERM') return `--json ${file}: directory ${directory} is not writable`;
    return `--json ${file}: ${(error as Error).message}`;
  }
  try {
    if (statSync(file).isDirectory()) return `--json ${file}: is a directory`;
  } catch {
    // Does not exist yet: it will be created.
  }
  return undefined;
}

const program = new Command()
  .name('npm run chaos --')
  .description('Seeded chaos run: faults, duplicates, delays and bad luck against the real handler and sweep on the embedded KMS')
  .option('--seed <n>', 'seed of the scenario and of the fault streams', integer, DEFAULT_SEED)
  .option('--families <n>', 'key families', positiveInteger, DEFAULT_FAMILIES)
  .option('--concurrency <n>', 'Lambda containers delivering events at once', positiveInteger, 10)
  .option('--no-faults', 'inject nothing (the baseline cost of the minimum)')
  .option('--setting <NAME=value>', 'change a setting of the reconciler, e.g. RECONCILER_PRINCIPAL_ARN= (repeatable)', collectSetting, {})
  .option('--storm <n>', 'also create N tagged primaries in us-east-1 at once (3 replica Regions each)', positiveInteger)
  .option('--backlog <n>', 'also seed N tagged primaries missing every replica, with no event (the sweep repairs them)', positiveInteger)
  .option('--sweep-run-ms <ms>', 'real time each sweep run may take before its deadline (the chain continues it)', positiveInteger)
  .option('--deny-reads <region>', "deny the reconciler's DescribeKey and ListResourceTags in this Region (an SCP)")
  .option('--restore', 'ON_PENDING_DELETION=restore, with EnableKey failing after CancelKeyDeletion (throttled, 5xx, AccessDenied)')
  .option(
    '--security-hub',
    'SECURITY_HUB_FINDINGS=on, with BatchImportFindings and GetFindings failing (throttled, 5xx, AccessDenied) during events and the sweep; then a clean sweep',
  )
  .option('--json <file>', 'also write the figures and violations as JSON')
  .option('--quiet', 'no progress lines')
  .addHelpText('after', '\nExit codes: 0 every invariant holds, 1 an invariant is broken, 64 usage error (bad option, --setting or --json file).\n')
  // Commander prints its own one-line error; the override only turns its exit into a return.
  .exitOverride();

type Options = {
  seed: number;
  families: number;
  concurrency: number;
  faults: boolean;
  setting: Record<string, string>;
  storm?: number;
  backlog?: number;
  sweepRunMs?: number;
  denyReads?: string;
  restore?: boolean;
  securityHub?: boolean;
  json?: string;
  quiet?: boolean;
};

async function main(): Promise<number> {
  try {
    program.parse();
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_ERROR;
    throw error;
  }
  const opts = program.opts<Options>();
  const badRegion = opts.denyReads !== undefined && !/^([a-z]+-){2,3}\d+$/.test(opts.denyReads) ? `--deny-reads: '${opts.denyReads}' is not a Region code such as eu-west-1` : undefined;
  const problem = badRegion ?? settingsProblem(opts.setting) ?? (opts.json === undefined ? undefined : jsonTargetProblem(opts.json));
  if (problem) {
    process.stderr.write(`npm run chaos: ${problem}\n`);
    return USAGE_ERROR;
  }

  const faults = {
    ...(opts.faults ? DEFAULT_FAULT_PROFILE : NO_FAULT_PROFILE),
    ...(opts.denyReads ? { deniedReadRegion: opts.denyReads } : {}),
    ...(opts.restore && opts.faults ? { enableKey: ENABLE_KEY_FAULTS } : {}),
    ...(opts.securityHub && opts.faults ? { securityHub: SECURITY_HUB_FAULTS } : {}),
  };
  const run = await runChaos({
    seed: opts.seed,
    families: opts.families,
    concurrency: opts.concurrency,
    faults,
    ...(opts.storm ? { storm: opts.storm } : {}),
    ...(opts.backlog ? { backlog: opts.backlog } : {}),
    ...(opts.sweepRunMs ? { sweepRunMs: opts.sweepRunMs } : {}),
    ...(opts.securityHub ? { securityHub: true } : {}),
    environment: { ...(opts.restore ? { ON_PENDING_DELETION: 'restore' } : {}), ...opts.setting },
    ...(opts.quiet ? {} : { log: (line: string) => process.stderr.write(`${line}\n`) }),
  });
  const verdict = checkChaosRun(run);
  process.stdout.write(`${formatChaosReport(verdict)}\n`);
  if (opts.json) {
    try {
      writeFileSync(opts.json, `${JSON.stringify(verdict, null, 2)}\n`);
    } catch (error) {
      // Checked before the run; this is the directory removed or the disk full since.
      process.stderr.write(`npm run chaos: could not write --json ${opts.json}: ${(error as Error).message}\n`);
      return 1;
    }
  }
  return verdict.violations.length > 0 ? 1 : 0;
}

process.exitCode = await main();
