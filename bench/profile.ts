/**
 * The two sizes of the benchmark: `full` (`npm run bench`, several minutes, writes the committed
 * `bench/REPORT.md`) and `quick` (`--quick`, a few seconds, what `npm test` runs). Both measure the
 * same things the same way; `quick` only has fewer cases, keys and repetitions.
 */

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
  /** Figure 2: also measure the deployed default `QUOTA_SHARE=0.5` (besides 1.0 and the naive). */
  readonly convergenceDefaultShare: boolean;
  /** Figure 3: keys listed in the swept Region (a multiple of the 100-key mix period). */
  readonly sweepKeys: number;
  /** Figure 3: the extra runs besides the headline one (concurrency 16, `QUOTA_SHARE=1`). */
  readonly sweepVariants: readonly SweepVariant[];
  /** Figure 3: how long the sequential naive sweep may run (it is measured on a prefix). */
  readonly naiveSweepBudgetMs: number;
  /** Figure 4: the two key counts whose peak RSS is compared (small, large). */
  readonly memoryKeys: readonly [number, number];
  /** Figure 5: fresh processes per measured loader. */
  readonly coldStartRuns: number;
}

/** One sweep configuration of figure 3. */
export interface SweepVariant {
  readonly label: string;
  readonly concurrency: number;
  readonly quotaShare: number;
}

/** The sweep of figure 3 as deployed (`sweepRegion`'s default concurrency) at the full quota. */
export const HEADLINE_SWEEP: SweepVariant = { label: 'reconciler, concurrency 16, QUOTA_SHARE=1', concurrency: 16, quotaShare: 1 };

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
    { label: 'reconciler, concurrency 16, QUOTA_SHARE=0.5 (deployed default)', concurrency: 16, quotaShare: 0.5 },
    { label: 'reconciler, concurrency 64, QUOTA_SHARE=1', concurrency: 64, quotaShare: 1 },
    {
      label: 'reconciler, concurrency 64, QUOTA_SHARE=0.99 (diagnostic: rates within 1 %, but a 20-token DescribeKey burst instead of 1)',
      concurrency: 64,
      quotaShare: 0.99,
    },
  ],
  naiveSweepBudgetMs: 15_000,
  memoryKeys: [10_000, 100_000],
  coldStartRuns: 15,
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
};
