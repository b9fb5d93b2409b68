/**
 * The two sizes of the benchmark: `full` (`npm run bench`, several minutes, writes the committed
 * `bench/REPORT.md`) and `quick` (`--quick`, a few seconds, what `npm test` runs). Both measure the
 * same things the same way; `quick` only has fewer cases, keys and repetitions.
 */
import { DEFAULT_SWEEP_CONCURRENCY } from '../src/sweep/sweep-region.js';
import { DEPLOYED_QUOTA_SHARE } from './harness.js';

/** Every knob the figures read. */
export interface BenchProfile {
  readonly name: 'full' | 'quick';
  /** Real per-call latency of the embedded KMS (ms), every figure but memory. */
  readonly latencyMs: number;
  /** Figure 1: which numbers of missing Regions to reconcile on a fresh primary. */
  readonly callsMissingRegions: readonly number[];
  /** Figure 2: numbers of missing Regions, and repetitions of each measurement (median taken). */
  readonly convergenceMissingRegions: readonly number[];
  readonly convergenceRepetitions: number;
  /** Figure 2: also measure the deployed default `QUOTA_SHARE` (0.5; besides 1 and the naive). */
  readonly convergenceDefaultShare: boolean;
  /** Figure 3: keys listed in the swept Region (a multiple of the 100-key mix period). */
  readonly sweepKeys: number;
  /** Figure 3: the extra runs besides the headline one ({@link HEADLINE_SWEEP}). */
  readonly sweepVariants: readonly SweepVariant[];
  /** Figure 3: how long the sequential naive sweep may run (it is measured on a prefix). */
  readonly naiveSweepBudgetMs: number;
  /** Figure 4: the two key counts whose peak RSS is compared (small, large). */
  readonly memoryKeys: readonly [number, number];
  /** Figure 5: fresh processes per measured loader. */
  readonly coldStartRuns: number;
  /** Figure 6: tagged primaries created at once (3 replica Regions each). */
  readonly stormKeys: number;
  /** Figure 6: factor on the ReplicateKey and CreateKey quotas (durations divided by it). */
  readonly intakeQuotaScale: number;
  /** Figure 7: tagged keys missing 2 replicas each, and its quota factor. */
  readonly backfillKeys: number;
  readonly backfillQuotaScale: number;
  /** Figures 6 and 7: how long one side may run before it counts as not converged (real ms). */
  readonly intakeCapMs: number;
}

/** One sweep configuration of figure 3. */
export interface SweepVariant {
  readonly label: string;
  readonly concurrency: number;
  readonly quotaShare: number;
}

/**
 * The sweep of figure 3 as deployed (`DEFAULT_SWEEP_CONCURRENCY`, what `createSweepHandler` uses)
 * at the whole quota (`QUOTA_SHARE=1`: the only setting that can reach a floor set by the quota).
 */
export const HEADLINE_SWEEP: SweepVariant = {
  label: `reconciler, concurrency ${DEFAULT_SWEEP_CONCURRENCY} (deployed default), QUOTA_SHARE=1`,
  concurrency: DEFAULT_SWEEP_CONCURRENCY,
  quotaShare: 1,
};

/** The higher-concurrency variant of figure 3 (twice the deployed default). */
const HIGH_CONCURRENCY = 2 * DEFAULT_SWEEP_CONCURRENCY;

/** `npm run bench`. */
export const FULL_PROFILE: BenchProfile = {
  name: 'full',
  latencyMs: 25,
  callsMissingRegions: [1, 5, 16],
  convergenceMissingRegions: [1, 5, 16],
  convergenceRepetitions: 3,
  convergenceDefaultShare: true,
  sweepKeys: 10_000,
  sweepVariants: [
    {
      label: `reconciler, concurrency ${DEFAULT_SWEEP_CONCURRENCY}, QUOTA_SHARE=${DEPLOYED_QUOTA_SHARE} (both deployed defaults)`,
      concurrency: DEFAULT_SWEEP_CONCURRENCY,
      quotaShare: DEPLOYED_QUOTA_SHARE,
    },
    { label: `reconciler, concurrency ${HIGH_CONCURRENCY}, QUOTA_SHARE=1`, concurrency: HIGH_CONCURRENCY, quotaShare: 1 },
    {
      label: `reconciler, concurrency ${HIGH_CONCURRENCY}, QUOTA_SHARE=0.99 (diagnostic: 1 % below the quota, so the embedded KMS's buckets stay ahead of the pacing's)`,
      concurrency: HIGH_CONCURRENCY,
      quotaShare: 0.99,
    },
  ],
  naiveSweepBudgetMs: 15_000,
  memoryKeys: [10_000, 100_000],
  coldStartRuns: 15,
  stormKeys: 1_000,
  intakeQuotaScale: 20,
  backfillKeys: 5_000,
  backfillQuotaScale: 20,
  intakeCapMs: 300_000,
};

/** `npm run bench -- --quick`: the CI-size run. */
export const QUICK_PROFILE: BenchProfile = {
  name: 'quick',
  latencyMs: 25,
  callsMissingRegions: [1, 2],
  convergenceMissingRegions: [1, 5],
  convergenceRepetitions: 1,
  convergenceDefaultShare: false,
  sweepKeys: 300,
  sweepVariants: [],
  naiveSweepBudgetMs: 500,
  memoryKeys: [200, 600],
  coldStartRuns: 3,
  stormKeys: 30,
  intakeQuotaScale: 20,
  backfillKeys: 60,
  backfillQuotaScale: 20,
  intakeCapMs: 60_000,
};
