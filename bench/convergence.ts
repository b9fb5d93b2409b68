/**
 * Figure 2: convergence time of one key with k missing Regions, at a real per-call latency and
 * the documented quotas, from the `CreateKey` event's delivery to the last replica existing.
 *
 * Each measurement starts from a fresh embedded KMS (every quota bucket full) and a fresh
 * reconciler (fresh pacing buckets), warmed up by one reconcile of an untagged key so that the
 * SDK client and its connection exist, as in a warm Lambda container. The naive strategy is
 * warmed up the same way.
 */
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { parseTrigger } from '../src/cloudtrail.js';
import type { EmbeddedKms } from '../src/emulator/index.js';
import {
  ADMIN_CREDENTIALS,
  PRIMARY_REGION,
  REPLICA_REGIONS,
  createKmsClient,
  createReconciler,
  regionsHolding,
  startBenchKms,
  takeRuleEvents,
} from './harness.js';
import { createNaiveReconciler } from './naive.js';
import type { BenchProfile } from './profile.js';
import { median, ratio, round } from './stats.js';

/** The documented `ReplicateKey` quota (requests per second, primary's Region) [kms-facts §3]. */
export const REPLICATE_KEY_QUOTA = 5;
/**
 * The embedded KMS's quota bucket holds one second of quota and starts full (`quotas.ts`): an
 * idle account may make this many `ReplicateKey` calls at once.
 */
export const REPLICATE_KEY_BURST = REPLICATE_KEY_QUOTA;

/** Passes the naive strategy may make before it counts as not converged. */
const NAIVE_PASSES = 10;

/** One strategy's measurements for one k. */
export interface ConvergenceRun {
  /** Median wall time (ms) over the repetitions. */
  readonly medianMs: number;
  readonly runsMs: readonly number[];
  /** Calls answered `ThrottlingException`, summed over the repetitions. */
  readonly throttled: number;
  /** Every repetition ended with a replica in each desired Region. */
  readonly converged: boolean;
  /** Naive only: reconcile passes needed (a pass whose ReplicateKey failed after the SDK's retries is run again at once). */
  readonly passes?: readonly number[];
}

/** One row of figure 2. */
export interface ConvergenceRow {
  readonly missingRegions: number;
  /**
   * `2 × latency + max(0, k − 5) / 5 s`: one observe round trip, one ReplicateKey round trip,
   * and the wait the documented quota imposes beyond its one-second burst.
   */
  readonly floorMs: number;
  /** The same under a stricter reading of the quota (at most 5 calls in any one second): `2 × latency + ⌊(k − 1) / 5⌋ s`. */
  readonly windowFloorMs: number;
  /**
   * What the reconciler's own pacing allows at `QUOTA_SHARE=1` (`src/aws/pacing.ts`: rate = quota,
   * burst = max(1, min(rate, quota − rate)) = 1): `2 × latency + (k − 1) / 5 s`.
   */
  readonly pacingBoundMs: number;
  readonly reconciler: ConvergenceRun;
  /** The deployed default, `QUOTA_SHARE=0.5` (rate 2.5/s, burst 2.5). */
  readonly reconcilerDefaultShare?: ConvergenceRun;
  readonly naive: ConvergenceRun;
  /** reconciler / floor. */
  readonly ratioToFloor: number | null;
  /** naive / reconciler. */
  readonly naiveToReconciler: number | null;
  /** reconciler ≤ 1.2 × floor. */
  readonly met: boolean;
}

/** Figure 2 as reported. */
export interface ConvergenceFigure {
  readonly latencyMs: number;
  readonly repetitions: number;
  readonly target: number;
  readonly rows: readonly ConvergenceRow[];
  readonly met: boolean;
}

const UNTAGGED = 'mrk-00000000000000000000000000000c00';

interface Prepared {
  readonly kms: EmbeddedKms;
  readonly event: unknown;
  readonly keyId: string;
  readonly regions: readonly string[];
}

/** A fresh embedded KMS with an untagged key (for warming up) and the CreateKey event of a primary tagged with k Regions. */
async function prepare(k: number, latencyMs: number): Promise<Prepared> {
  const kms = await startBenchKms({ latencyMs, quotas: true });
  kms.seedKey({ region: PRIMARY_REGION, keyId: UNTAGGED, multiRegion: true });
  const regions = REPLICA_REGIONS.slice(0, k);
  const admin = createKmsClient(kms, PRIMARY_REGION, ADMIN_CREDENTIALS);
  try {
    const out = await admin.send(
      new CreateKeyCommand({ MultiRegion: true, Description: 'bench key', Tags: [{ TagKey: 'replica-regions', TagValue: regions.join(' ') }] }),
    );
    const events = takeRuleEvents(kms);
    const keyId = out.KeyMetadata?.KeyId;
    if (events.length !== 1 || !keyId) throw new Error('expected one CreateKey event');
    return { kms, event: events[0], keyId, regions };
  } finally {
    admin.destroy();
  }
}

function untaggedEvent(event: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(event)) as { detail: { resources?: unknown; responseElements?: unknown; requestParameters?: unknown } };
  const arn = `arn:aws:kms:${PRIMARY_REGION}:111122223333:key/${UNTAGGED}`;
  copy.detail.resources = [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: arn }];
  copy.detail.responseElements = null;
  copy.detail.requestParameters = { keyId: arn };
  return copy;
}

async function timeReconciler(k: number, latencyMs: number, quotaShare: number): Promise<{ ms: number; throttled: number; converged: boolean }> {
  const { kms, event, keyId, regions } = await prepare(k, latencyMs);
  try {
    const reconciler = createReconciler(kms, { quotaShare });
    await reconciler.invoke(untaggedEvent(event)); // warm: the us-east-1 client and its connection
    const before = kms.throttledCount();
    const start = performance.now();
    const result = await reconciler.invoke(event);
    const ms = performance.now() - start;
    const converged = result.status === 'reconciled' && regionsHolding(kms, keyId, regions).length === regions.length;
    return { ms, throttled: kms.throttledCount() - before, converged };
  } finally {
    await kms.close();
  }
}

async function timeNaive(k: number, latencyMs: number): Promise<{ ms: number; throttled: number; converged: boolean; passes: number }> {
  const { kms, event, keyId, regions } = await prepare(k, latencyMs);
  const naive = createNaiveReconciler(kms, 'read-then-write');
  try {
    const trigger = parseTrigger(event);
    if (trigger.kind !== 'request') throw new Error('the CreateKey event is not a trigger');
    await naive.reconcile(UNTAGGED, PRIMARY_REGION); // warm, as the reconciler
    const before = kms.throttledCount();
    const start = performance.now();
    let passes = 0;
    let converged = false;
    while (!converged && passes < NAIVE_PASSES) {
      passes += 1;
      const outcome = await naive.reconcile(trigger.request.keyId, trigger.request.region);
      converged = outcome.failed.length === 0 && regionsHolding(kms, keyId, regions).length === regions.length;
    }
    return { ms: performance.now() - start, throttled: kms.throttledCount() - before, converged, passes };
  } finally {
    naive.destroy();
    await kms.close();
  }
}

function summarize(runs: readonly { ms: number; throttled: number; converged: boolean; passes?: number }[]): ConvergenceRun {
  const passes = runs.map((r) => r.passes).filter((p): p is number => p !== undefined);
  return {
    medianMs: round(median(runs.map((r) => r.ms))),
    runsMs: runs.map((r) => round(r.ms)),
    throttled: runs.reduce((sum, r) => sum + r.throttled, 0),
    converged: runs.every((r) => r.converged),
    ...(passes.length > 0 ? { passes } : {}),
  };
}

/**
 * Measures figure 2.
 * @param profile - k values, repetitions, latency, whether to include `QUOTA_SHARE=0.5`.
 */
export async function measureConvergence(profile: BenchProfile): Promise<ConvergenceFigure> {
  const latency = profile.latencyMs;
  const rows: ConvergenceRow[] = [];
  for (const k of profile.convergenceMissingRegions) {
    const full: Awaited<ReturnType<typeof timeReconciler>>[] = [];
    const half: Awaited<ReturnType<typeof timeReconciler>>[] = [];
    const naive: Awaited<ReturnType<typeof timeNaive>>[] = [];
    // Interleaved, so that a noisy moment hurts every strategy alike.
    for (let i = 0; i < profile.convergenceRepetitions; i += 1) {
      full.push(await timeReconciler(k, latency, 1));
      if (profile.convergenceDefaultShare) half.push(await timeReconciler(k, latency, 0.5));
      naive.push(await timeNaive(k, latency));
    }
    const floorMs = 2 * latency + (Math.max(0, k - REPLICATE_KEY_BURST) / REPLICATE_KEY_QUOTA) * 1000;
    const reconciler = summarize(full);
    const naiveRun = summarize(naive);
    rows.push({
      missingRegions: k,
      floorMs,
      windowFloorMs: 2 * latency + Math.floor((k - 1) / REPLICATE_KEY_QUOTA) * 1000,
      pacingBoundMs: 2 * latency + ((k - 1) / REPLICATE_KEY_QUOTA) * 1000,
      reconciler,
      ...(half.length > 0 ? { reconcilerDefaultShare: summarize(half) } : {}),
      naive: naiveRun,
      ratioToFloor: ratio(reconciler.medianMs, floorMs),
      naiveToReconciler: ratio(naiveRun.medianMs, reconciler.medianMs),
      met: reconciler.converged && reconciler.medianMs <= 1.2 * floorMs,
    });
  }
  return { latencyMs: latency, repetitions: profile.convergenceRepetitions, target: 1.2, rows, met: rows.every((r) => r.met) };
}
