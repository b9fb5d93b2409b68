/**
 * Figure 4: peak RSS of the scheduled sweep over the realistic mix at two key counts (10,000 and
 * 100,000 in the full run), to show it stays under the Lambda's 256 MB and does not grow with
 * the number of keys.
 *
 * The sweep runs in a fresh Node process of its own (`sweep-process.ts`, bundled with the
 * deployed esbuild options, run with plain `node`), through the real sweep handler; the embedded
 * KMS runs in another process (`emulator-process.ts`), so neither the emulator's store nor
 * `tsx` is counted. The peak is `process.resourceUsage().maxRSS` read in the sweep process at
 * the end.
 *
 * Quotas: raised (`KMS_REQUEST_QUOTAS`, and the same in the embedded KMS) and no added latency,
 * for this figure only: at the documented quotas 100,000 keys take minutes of `DescribeKey`
 * alone, and how fast the sweep goes does not change what it holds. `QUOTA_SHARE` and the
 * sweep's concurrency stay at their deployed defaults (0.5; `DEFAULT_SWEEP_CONCURRENCY`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildBundles } from './bundles.js';
import { startEmulatorProcess } from './emulator-child.js';
import { DEPLOYED_QUOTA_SHARE } from './harness.js';
import { MIX_REGION } from './key-mix.js';
import type { BenchProfile } from './profile.js';
import { ratio, round } from './stats.js';
import type { SweepProcessResult } from './sweep-process.js';

/** The raised request quotas of this figure (requests per second). */
export const MEMORY_RAISED_QUOTAS = { DescribeKey: 100_000, ListResourceTags: 100_000, ListKeys: 10_000, ReplicateKey: 10_000, CreateKey: 20_000 } as const;

/** Lambda's memory setting for the sweep (`serverless.yml`, `provider.memorySize`), MiB. */
export const LAMBDA_MEMORY_MIB = 256;
/** "Flat": the larger sweep's peak RSS within this factor of the smaller one's (10× the keys). */
export const FLAT_FACTOR = 1.25;

/** One measured sweep process. */
export interface MemoryRun {
  readonly keys: number;
  readonly peakRssMiB: number;
  readonly rssBeforeSweepMiB: number;
  readonly peakHeapUsedMiB: number;
  readonly durationMs: number;
  /** Keys the sweep reconciled at the same time. */
  readonly concurrency: number;
  readonly complete: boolean;
  readonly failures: number;
}

/** Figure 4 as reported. */
export interface MemoryFigure {
  readonly quotas: string;
  readonly runs: readonly [MemoryRun, MemoryRun];
  /** large / small peak RSS. */
  readonly growth: number | null;
  readonly targetMiB: number;
  readonly flatFactor: number;
  readonly met: boolean;
}

function runSweepProcess(bundle: string, endpoint: string): Promise<SweepProcessResult> {
  const quotas = Object.entries(MEMORY_RAISED_QUOTAS).map(([operation, rps]) => `${operation}=${rps}`).join(' ');
  // Only what Lambda would set, plus the local endpoint: nothing inherited can point the SDK elsewhere.
  const env = {
    PATH: process.env.PATH ?? '',
    AWS_REGION: MIX_REGION,
    AWS_ENDPOINT_URL_KMS: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_METRICS_DISABLED: 'true',
    LOG_LEVEL: 'SILENT',
    QUOTA_SHARE: String(DEPLOYED_QUOTA_SHARE),
    KMS_REQUEST_QUOTAS: quotas,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`sweep process exited ${code}: ${stderr.trim() || stdout.trim()}`));
      else resolve(JSON.parse(line) as SweepProcessResult);
    });
  });
}

async function measureOne(bundle: string, keys: number): Promise<MemoryRun> {
  const kms = await startEmulatorProcess({ latencyMs: 0, quotas: MEMORY_RAISED_QUOTAS });
  try {
    await kms.seedMix(keys);
    const result = await runSweepProcess(bundle, kms.endpoint);
    if (result.keys !== keys) throw new Error(`the sweep looked at ${result.keys} keys, expected ${keys}`);
    return {
      keys,
      peakRssMiB: round(result.maxRssKiB / 1024),
      rssBeforeSweepMiB: round(result.rssBeforeSweepKiB / 1024),
      peakHeapUsedMiB: round(result.peakHeapUsedKiB / 1024),
      durationMs: result.durationMs,
      concurrency: result.concurrency,
      complete: result.complete,
      failures: result.failures,
    };
  } finally {
    await kms.close();
  }
}

/**
 * Measures figure 4.
 * @param root - the project directory (for `serverless.yml` and the sources).
 */
export async function measureSweepMemory(profile: BenchProfile, root: string): Promise<MemoryFigure> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kms-bench-sweep-'));
  try {
    const [bundle] = await buildBundles(root, ['bench/sweep-process.ts'], dir);
    if (!bundle) throw new Error('no sweep bundle');
    const small = await measureOne(bundle.file, profile.memoryKeys[0]);
    const large = await measureOne(bundle.file, profile.memoryKeys[1]);
    const growth = ratio(large.peakRssMiB, small.peakRssMiB);
    return {
      quotas: `raised for this figure only: ${Object.entries(MEMORY_RAISED_QUOTAS).map(([o, r]) => `${o}=${r}`).join(' ')} (embedded KMS and KMS_REQUEST_QUOTAS), QUOTA_SHARE=${DEPLOYED_QUOTA_SHARE} and concurrency ${small.concurrency} (the deployed defaults), no added latency`,
      runs: [small, large],
      growth,
      targetMiB: LAMBDA_MEMORY_MIB,
      flatFactor: FLAT_FACTOR,
      met: large.complete && small.complete && large.peakRssMiB <= LAMBDA_MEMORY_MIB && growth !== null && growth <= FLAT_FACTOR,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
