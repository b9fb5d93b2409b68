/**
 * One scheduled sweep in a process of its own, for figure 4: bundled by `sweep-memory.ts` with the
 * deployed esbuild options and run with plain `node`, so the measured process holds what the
 * sweep Lambda holds (the bundled product code and the SDK) and nothing else: the embedded KMS
 * runs in another process.
 *
 * The configuration comes from the environment the parent sets (as Lambda sets it); credentials
 * are given explicitly; the concurrency is the deployed default (`DEFAULT_SWEEP_CONCURRENCY`, what
 * `handlers/sweep.ts` gets by not setting one). Prints one JSON line: {@link SweepProcessResult}.
 */
import { createLocalLambdaContext } from '../src/local/lambda-context.js';
import { loadConfig } from '../src/lambda/config.js';
import { createRuntime } from '../src/lambda/runtime.js';
import { createSweepHandler } from '../src/lambda/sweep-handler.js';
import { DEFAULT_SWEEP_CONCURRENCY } from '../src/sweep/sweep-region.js';
import { RECONCILER_CREDENTIALS } from './credentials.js';

/** What the sweep process prints. */
export interface SweepProcessResult {
  /** `process.resourceUsage().maxRSS`: peak resident set size over the process's life (KiB). */
  readonly maxRssKiB: number;
  /** Resident set size once the handler was built, before the sweep (KiB). */
  readonly rssBeforeSweepKiB: number;
  /** Largest `heapUsed` seen, sampled every 20 ms (KiB). */
  readonly peakHeapUsedKiB: number;
  readonly durationMs: number;
  /** Keys reconciled at the same time. */
  readonly concurrency: number;
  readonly keys: number;
  readonly complete: boolean;
  readonly writes: number;
  readonly failures: number;
}

const runtime = createRuntime(loadConfig(process.env), { credentials: RECONCILER_CREDENTIALS, maxAttempts: 3 });
const handler = createSweepHandler(runtime, { concurrency: DEFAULT_SWEEP_CONCURRENCY });

let peakHeapUsed = process.memoryUsage().heapUsed;
const sampler = setInterval(() => {
  peakHeapUsed = Math.max(peakHeapUsed, process.memoryUsage().heapUsed);
}, 20);
const rssBeforeSweep = process.memoryUsage().rss;
const start = performance.now();
const result = await handler({}, createLocalLambdaContext(900_000, 'kms-replica-reconciler-bench-sweep'));
const durationMs = performance.now() - start;
clearInterval(sampler);
peakHeapUsed = Math.max(peakHeapUsed, process.memoryUsage().heapUsed);
if (result.status !== 'swept') {
  process.stderr.write(`sweep rejected: ${JSON.stringify(result)}\n`);
  process.exit(1);
}
const out: SweepProcessResult = {
  maxRssKiB: process.resourceUsage().maxRSS,
  rssBeforeSweepKiB: Math.round(rssBeforeSweep / 1024),
  peakHeapUsedKiB: Math.round(peakHeapUsed / 1024),
  durationMs: Math.round(durationMs),
  concurrency: DEFAULT_SWEEP_CONCURRENCY,
  keys: result.report.keys,
  complete: result.complete,
  writes: result.report.writes,
  failures: result.report.results.error + result.report.statuses.failed,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
