/**
 * Figure 3: throughput of the scheduled sweep over the realistic mix (`key-mix.ts`), with the
 * documented KMS quotas enforced and a real per-call latency.
 *
 * The embedded KMS runs in a child process (`emulator-process.ts`); the sweep runs here, through
 * the real sweep handler (`createSweepHandler`) on a runtime built as `handlers/sweep.ts` builds
 * it, with explicit credentials. Each run starts from a freshly seeded embedded KMS.
 *
 * Besides the floor (what the documented quotas allow), each run has a pacing bound: what the
 * reconciler's own pacing allows at its `QUOTA_SHARE`, from the rate and burst observed on
 * `createKmsRateLimiter` (`pacing-probe.ts`), not restated from `src/pacing/paced-gateway.ts`.
 */
import { createKmsRateLimiter } from '../src/pacing/paced-gateway.js';
import { createLocalLambdaContext } from '../src/local/lambda-context.js';
import { loadConfig } from '../src/lambda/config.js';
import { DOCUMENTED_QUOTAS } from '../src/emulator/index.js';
import { KMS_REQUEST_QUOTAS, type PacedOperation } from '../src/pacing/kms-quotas.js';
import { createRuntime } from '../src/lambda/runtime.js';
import { createSweepHandler } from '../src/lambda/sweep-handler.js';
import { startEmulatorProcess } from './emulator-child.js';
import { RECONCILER_CREDENTIALS } from './harness.js';
import { DEPLOYED_QUOTA_SHARE } from './harness.js';
import { MIX_REGION, floorCallsOfMix, type CallsByBucket, type MixSummary } from './key-mix.js';
import { createNaiveReconciler } from './naive.js';
import { observePacing, pacedSeconds, type PacingShape } from './pacing-probe.js';
import { HEADLINE_SWEEP, type BenchProfile, type SweepVariant } from './profile.js';
import { ratio, round } from './stats.js';

/** `sweepRegion`'s `ListKeys` page size (its default). */
const PAGE_SIZE = 100;

/** One measured sweep. */
export interface SweepRun {
  readonly label: string;
  readonly concurrency: number;
  readonly quotaShare: number;
  readonly durationMs: number;
  readonly keys: number;
  readonly keysPerSecond: number;
  readonly complete: boolean;
  readonly calls: number;
  readonly callsPerKey: number;
  /** Calls received per "Operation Region", throttled ones included. */
  readonly callsByBucket: CallsByBucket;
  /** Calls the embedded KMS answered `ThrottlingException` (the SDK retried them). */
  readonly throttledCalls: number;
  /** The same, per "Operation Region". */
  readonly throttledByBucket: CallsByBucket;
  /** Per bucket: ms from the sweep's first call to the bucket's last call, as the embedded KMS received them. */
  readonly lastCallMsByBucket: CallsByBucket;
  /** What the reconciler's pacing allows at this run's `QUOTA_SHARE` for the floor's calls. */
  readonly pacingBound: PacingBound;
  /** Keys whose reconcile failed, and Regions reported `failed` (throttling or otherwise). */
  readonly failures: number;
  readonly writes: number;
  /** floor time / measured time: the share of the quota-limited throughput reached. */
  readonly shareOfFloorThroughput: number | null;
}

/** The sequential naive strategy, measured on a prefix of the same listing. */
export interface NaiveSweepRun {
  readonly keys: number;
  readonly durationMs: number;
  readonly keysPerSecond: number;
  /** The time the whole listing would take at that rate (extrapolated, not measured). */
  readonly extrapolatedFullMs: number;
  readonly throttledCalls: number;
  readonly shareOfFloorThroughput: number | null;
}

/**
 * The least time the reconciler's pacing lets the sweep take: per bucket, the floor's quota
 * charges `n` need `max(0, n − burst) / rate` s with the observed rate and burst; the listing
 * chain (pages × latency) applies as well.
 */
export interface PacingBound {
  readonly quotaShare: number;
  readonly ms: number;
  /** The bucket (or `ListKeys chain`) that sets it. */
  readonly bindingBucket: string;
  readonly keysPerSecond: number;
  /** floor time / pacing bound time. */
  readonly shareOfFloorThroughput: number | null;
}

/**
 * How fast the reconciler's pacing (`createKmsRateLimiter`) hands out `DescribeKey` tokens once
 * its burst is spent, measured without any I/O: the pacing's own ceiling.
 */
export interface PacingCapacity {
  readonly quotaShare: number;
  /** The burst taken before measuring (observed). */
  readonly burst: number;
  /** quota × share. */
  readonly configuredPerSecond: number;
  readonly grantedPerSecond: number;
  /** granted / configured. */
  readonly ratio: number | null;
}

/** Figure 3 as reported. */
export interface SweepFigure {
  readonly latencyMs: number;
  readonly mix: MixSummary;
  readonly floor: {
    /** Calls the sweep must make, per "Operation Region" (quota charges: `ReplicateKey` also charges 2 `CreateKey` in the replica's Region). */
    readonly calls: CallsByBucket;
    readonly charges: CallsByBucket;
    readonly callsPerKey: number;
    /** Per bucket: `max(0, charges − quota) / quota` s (the quota's bucket holds one second and starts full). */
    readonly quotaTimeByBucketMs: Readonly<Record<string, number>>;
    readonly bindingBucket: string;
    readonly quotaLimitedMs: number;
    /** `ListKeys` pages are read one after the other: pages × latency. */
    readonly listingChainMs: number;
    /** max(quota-limited time, listing chain). */
    readonly floorMs: number;
    readonly keysPerSecond: number;
  };
  readonly headline: SweepRun;
  readonly variants: readonly SweepRun[];
  readonly naive: NaiveSweepRun;
  /** The observed pacing of each bucket's operation at each measured `QUOTA_SHARE`. */
  readonly pacing: readonly PacingShape[];
  readonly pacingCapacity: readonly PacingCapacity[];
  readonly target: number;
  /** Headline: ≥ 0.8 of the floor throughput, no throttling failure. */
  readonly met: boolean;
}

async function runSweep(profile: BenchProfile, variant: SweepVariant, floorMs: number, pacingBound: PacingBound): Promise<{ run: SweepRun; mix: MixSummary }> {
  const kms = await startEmulatorProcess({ latencyMs: profile.latencyMs, quotas: true });
  try {
    const mix = await kms.seedMix(profile.sweepKeys);
    const config = loadConfig({
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_REGION: MIX_REGION,
      LOG_LEVEL: 'SILENT',
      QUOTA_SHARE: String(variant.quotaShare),
    });
    const runtime = createRuntime(config, { credentials: RECONCILER_CREDENTIALS, maxAttempts: 3 });
    const handler = createSweepHandler(runtime, { concurrency: variant.concurrency, pageSize: PAGE_SIZE });
    const start = performance.now();
    const result = await handler({}, createLocalLambdaContext(900_000, 'kms-replica-reconciler-bench-sweep'));
    const durationMs = performance.now() - start;
    if (result.status !== 'swept') throw new Error(`the sweep was rejected: ${JSON.stringify(result)}`);
    const stats = await kms.callStats();
    const keys = result.report.keys;
    const run: SweepRun = {
      label: variant.label,
      concurrency: variant.concurrency,
      quotaShare: variant.quotaShare,
      durationMs: round(durationMs),
      keys,
      keysPerSecond: round(keys / (durationMs / 1000)),
      complete: result.complete,
      calls: stats.calls,
      callsPerKey: round(stats.calls / keys, 3),
      callsByBucket: stats.byBucket,
      throttledCalls: stats.throttled,
      throttledByBucket: stats.throttledByBucket,
      lastCallMsByBucket: stats.lastCallMsByBucket,
      pacingBound,
      failures: result.report.results.error + result.report.statuses.failed,
      writes: result.report.writes,
      shareOfFloorThroughput: ratio(floorMs, durationMs),
    };
    return { run, mix };
  } finally {
    await kms.close();
  }
}

async function runNaiveSweep(profile: BenchProfile, floorKeysPerSecond: number): Promise<NaiveSweepRun> {
  const kms = await startEmulatorProcess({ latencyMs: profile.latencyMs, quotas: true });
  const naive = createNaiveReconciler(kms, 'read-then-write');
  try {
    await kms.seedMix(profile.sweepKeys);
    const start = performance.now();
    let keys = 0;
    let marker: string | undefined;
    listing: do {
      const page = await naive.listKeys(MIX_REGION, marker);
      for (const arn of page.arns) {
        if (performance.now() - start >= profile.naiveSweepBudgetMs) break listing;
        await naive.reconcile(arn, MIX_REGION, true);
        keys += 1;
      }
      marker = page.nextMarker;
    } while (marker);
    const durationMs = performance.now() - start;
    const stats = await kms.callStats();
    const keysPerSecond = keys / (durationMs / 1000);
    return {
      keys,
      durationMs: round(durationMs),
      keysPerSecond: round(keysPerSecond),
      extrapolatedFullMs: round((profile.sweepKeys / keysPerSecond) * 1000),
      throttledCalls: stats.throttled,
      shareOfFloorThroughput: ratio(keysPerSecond, floorKeysPerSecond),
    };
  } finally {
    naive.destroy();
    await kms.close();
  }
}

async function measurePacingCapacity(quotaShare: number, seconds: number): Promise<PacingCapacity> {
  const { burst } = await observePacing('DescribeKey', quotaShare);
  const limiter = createKmsRateLimiter({ quotaShare });
  const rate = limiter.rateOf('DescribeKey');
  const take = (n: number): Promise<void[]> => Promise.all(Array.from({ length: n }, () => limiter.acquire('DescribeKey', MIX_REGION)));
  await take(Math.floor(burst)); // the burst the bucket starts with
  const tokens = Math.round(rate * seconds);
  const start = performance.now();
  await take(tokens);
  const granted = tokens / ((performance.now() - start) / 1000);
  return { quotaShare, burst, configuredPerSecond: rate, grantedPerSecond: round(granted), ratio: ratio(granted, rate) };
}

/** The operation of a "Operation Region" bucket name. */
function operationOf(bucket: string): PacedOperation {
  const operation = bucket.split(' ')[0] ?? '';
  if (!(operation in KMS_REQUEST_QUOTAS)) throw new Error(`${bucket}: not a paced operation`);
  return operation as PacedOperation;
}

async function observeSharePacing(charges: CallsByBucket, quotaShare: number): Promise<PacingShape[]> {
  const operations = [...new Set(Object.keys(charges).map(operationOf))];
  const shapes: PacingShape[] = [];
  for (const operation of operations) shapes.push(await observePacing(operation, quotaShare));
  return shapes;
}

function pacingBoundOf(
  shapes: readonly PacingShape[],
  charges: CallsByBucket,
  quotaShare: number,
  listingChainMs: number,
  keys: number,
  floorMs: number,
): PacingBound {
  let bindingBucket = 'ListKeys chain';
  let ms = listingChainMs;
  for (const [bucket, n] of Object.entries(charges)) {
    const shape = shapes.find((s) => s.quotaShare === quotaShare && s.operation === operationOf(bucket));
    if (!shape) throw new Error(`no observed pacing of ${bucket} at QUOTA_SHARE=${quotaShare}`);
    const bucketMs = round(pacedSeconds(shape, n) * 1000);
    if (bucketMs > ms) [bindingBucket, ms] = [bucket, bucketMs];
  }
  return { quotaShare, ms, bindingBucket, keysPerSecond: round(keys / (ms / 1000)), shareOfFloorThroughput: ratio(floorMs, ms) };
}

/**
 * Measures figure 3.
 * @param profile - key count, variants, the naive strategy's time budget, latency.
 */
export async function measureSweepThroughput(profile: BenchProfile): Promise<SweepFigure> {
  const { calls, charges } = floorCallsOfMix(profile.sweepKeys, PAGE_SIZE);
  const quotaTimeByBucketMs: Record<string, number> = {};
  for (const [bucket, n] of Object.entries(charges)) {
    const quota = DOCUMENTED_QUOTAS[bucket.split(' ')[0] ?? ''];
    if (quota === undefined) throw new Error(`no documented quota for ${bucket}`);
    quotaTimeByBucketMs[bucket] = round((Math.max(0, n - quota) / quota) * 1000);
  }
  const [bindingBucket, quotaLimitedMs] = Object.entries(quotaTimeByBucketMs).reduce((a, b) => (b[1] > a[1] ? b : a));
  const pages = calls[`ListKeys ${MIX_REGION}`] ?? 1;
  const listingChainMs = pages * profile.latencyMs;
  const floorMs = Math.max(quotaLimitedMs, listingChainMs);
  const floorCalls = Object.values(calls).reduce((a, b) => a + b, 0);
  const floorKeysPerSecond = profile.sweepKeys / (floorMs / 1000);

  const shares = [...new Set([HEADLINE_SWEEP, ...profile.sweepVariants].map((v) => v.quotaShare))];
  const pacing: PacingShape[] = [];
  for (const share of shares) pacing.push(...(await observeSharePacing(charges, share)));
  const boundOf = (variant: SweepVariant): PacingBound => pacingBoundOf(pacing, charges, variant.quotaShare, listingChainMs, profile.sweepKeys, floorMs);

  const { run: headline, mix } = await runSweep(profile, HEADLINE_SWEEP, floorMs, boundOf(HEADLINE_SWEEP));
  const variants: SweepRun[] = [];
  for (const variant of profile.sweepVariants) variants.push((await runSweep(profile, variant, floorMs, boundOf(variant))).run);
  const naive = await runNaiveSweep(profile, floorKeysPerSecond);
  const seconds = profile.name === 'full' ? 1 : 0.25;
  const pacingCapacity = [await measurePacingCapacity(1, seconds), await measurePacingCapacity(DEPLOYED_QUOTA_SHARE, seconds)];
  return {
    latencyMs: profile.latencyMs,
    mix,
    floor: {
      calls,
      charges,
      callsPerKey: round(floorCalls / profile.sweepKeys, 3),
      quotaTimeByBucketMs,
      bindingBucket,
      quotaLimitedMs,
      listingChainMs,
      floorMs,
      keysPerSecond: round(floorKeysPerSecond),
    },
    headline,
    variants,
    naive,
    pacing,
    pacingCapacity,
    target: 0.8,
    met: headline.complete && headline.failures === 0 && (headline.shareOfFloorThroughput ?? 0) >= 0.8,
  };
}
