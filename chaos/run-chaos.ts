/**
 * `npm run chaos`: the full seeded chaos run (docs/RELIABILITY.md). Exits 0 when every invariant
 * holds, 1 otherwise, by itself: it never calls `process.exit`, so a handle left open would show
 * as a run that does not end.
 *
 *   npm run chaos -- [--seed N] [--families N] [--concurrency N] [--no-faults] [--setting NAME=value]
 *                    [--json FILE] [--quiet]
 */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';

// Before anything builds a client or a Metrics object: EMF lines and the SDK's Node 20 notice
// would drown the report.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const { NO_FAULT_PROFILE, runChaos } = await import('./chaos-run.js');
const { checkChaosRun } = await import('./invariants.js');
const { formatChaosReport } = await import('./chaos-report.js');

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

const program = new Command()
  .name('npm run chaos --')
  .description('Seeded chaos run: faults, duplicates, delays and bad luck against the real handler and sweep on the embedded KMS')
  .option('--seed <n>', 'seed of the scenario and of the fault streams', integer, DEFAULT_SEED)
  .option('--families <n>', 'key families', positiveInteger, DEFAULT_FAMILIES)
  .option('--concurrency <n>', 'Lambda containers delivering events at once', positiveInteger, 10)
  .option('--no-faults', 'inject nothing (the baseline cost of the minimum)')
  .option('--setting <NAME=value>', 'change a setting of the reconciler, e.g. RECONCILER_PRINCIPAL_ARN= (repeatable)', collectSetting, {})
  .option('--json <file>', 'also write the figures and violations as JSON')
  .option('--quiet', 'no progress lines')
  .parse();

const opts = program.opts<{ seed: number; families: number; concurrency: number; faults: boolean; setting: Record<string, string>; json?: string; quiet?: boolean }>();
const run = await runChaos({
  seed: opts.seed,
  families: opts.families,
  concurrency: opts.concurrency,
  ...(opts.faults ? {} : { faults: NO_FAULT_PROFILE }),
  environment: opts.setting,
  ...(opts.quiet ? {} : { log: (line: string) => process.stderr.write(`${line}\n`) }),
});
const verdict = checkChaosRun(run);
process.stdout.write(`${formatChaosReport(verdict)}\n`);
if (opts.json) writeFileSync(opts.json, `${JSON.stringify(verdict, null, 2)}\n`);
if (verdict.violations.length > 0) process.exitCode = 1;
