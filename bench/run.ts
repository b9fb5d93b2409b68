/**
 * `npm run bench [-- --quick] [--out <dir>]`: measures the five figures of the benchmark issue
 * against the embedded KMS (real per-call latency, documented quotas) and writes `REPORT.md` and
 * `report.json`: by default the committed `bench/REPORT.md`; with `--quick` (the CI-size run) a
 * fresh temporary folder unless `--out` names one. Progress goes to stderr; the paths of the
 * report and one line per figure to stdout. Exits 0 when the run completed (whether or not the
 * targets were met: the report says), 1 when a measurement failed, 64 (EX_USAGE) on a usage error.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { EX_USAGE } from '../src/cli/exit-codes.js';
import { measureCallsPerReconcile } from './calls-per-reconcile.js';
import { measureColdStart } from './cold-start.js';
import { measureConvergence } from './convergence.js';
import { describeMachine } from './machine.js';
import { FULL_PROFILE, QUICK_PROFILE } from './profile.js';
import { renderMarkdown, type BenchReport } from './report.js';
import { round } from './stats.js';
import { measureSweepMemory } from './sweep-memory.js';
import { measureSweepThroughput } from './sweep-throughput.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Parsed options. */
interface RunOptions {
  readonly quick: boolean;
  readonly out?: string;
}

function parseOptions(argv: readonly string[]): RunOptions {
  const program = new Command()
    .name('npm run bench --')
    .description('Benchmarks the reconciler against the embedded KMS and writes REPORT.md and report.json.')
    .option('--quick', 'the small, fast run (what npm test runs); writes to a temporary folder unless --out is given', false)
    .option('--out <dir>', 'where to write REPORT.md and report.json (default: bench/, or a temporary folder with --quick)')
    .addHelpText('after', '\nExit codes: 0 the run completed (met or not: the report says), 1 a measurement failed, 64 usage error.\n')
    .exitOverride();
  program.parse([...argv], { from: 'user' });
  return program.opts<RunOptions>();
}

/** The command as a person would type it again. */
function commandLine(argv: readonly string[]): string {
  const args = argv.length > 0 ? ` -- ${argv.join(' ')}` : '';
  return process.env.npm_lifecycle_event === 'bench' ? `npm run bench${args}` : `tsx bench/run.ts${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`;
}

async function main(argv: readonly string[]): Promise<number> {
  let options: RunOptions;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.code === 'commander.helpDisplayed' ? 0 : EX_USAGE;
    throw error;
  }
  // Only for this process and the SDK clients it builds: the warning about Node 20 would drown
  // the progress lines, and EMF metric lines would flood stdout.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

  const profile = options.quick ? QUICK_PROFILE : FULL_PROFILE;
  const out = options.out ? path.resolve(options.out) : options.quick ? mkdtempSync(path.join(os.tmpdir(), 'kms-bench-')) : path.join(ROOT, 'bench');
  const started = performance.now();
  const step = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
    const at = performance.now();
    process.stderr.write(`bench (${profile.name}): ${label}...\n`);
    const result = await run();
    process.stderr.write(`bench (${profile.name}): ${label} done in ${round((performance.now() - at) / 1000, 1)} s\n`);
    return result;
  };

  const callsPerReconcile = await step('1/5 KMS calls per reconcile', () => measureCallsPerReconcile(profile));
  const convergence = await step('2/5 convergence time', () => measureConvergence(profile));
  const sweepThroughput = await step('3/5 sweep throughput', () => measureSweepThroughput(profile));
  const sweepMemory = await step('4/5 sweep memory', () => measureSweepMemory(profile, ROOT));
  const coldStart = await step('5/5 cold start', () => measureColdStart(profile, ROOT));

  const report: BenchReport = {
    schemaVersion: 1,
    generatedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
    command: commandLine(argv),
    profile,
    machine: describeMachine(ROOT),
    figures: { callsPerReconcile, convergence, sweepThroughput, sweepMemory, coldStart },
  };
  mkdirSync(out, { recursive: true });
  const markdown = path.join(out, 'REPORT.md');
  const json = path.join(out, 'report.json');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(markdown, renderMarkdown(report));

  // A quick run is too small to judge the targets by: it checks that the bench runs, no more.
  const met = (value: boolean): string => (value ? 'met' : options.quick ? 'not met in this quick run (does not count)' : 'NOT met');
  process.stdout.write(
    [
      `wrote ${markdown}`,
      `wrote ${json}`,
      ...(options.quick
        ? ['Quick run (the CI size): its verdicts do not count; the targets are judged by the full run (npm run bench, bench/REPORT.md).']
        : []),
      `1. KMS calls per reconcile: ${met(callsPerReconcile.met)}`,
      `2. convergence time: ${met(convergence.met)}`,
      `3. sweep throughput: ${met(sweepThroughput.met)}`,
      `4. sweep memory: ${met(sweepMemory.met)}`,
      `5. bundle size: ${met(coldStart.met)}`,
      '',
    ].join('\n'),
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
