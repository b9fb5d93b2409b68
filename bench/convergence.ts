/**
 * Figure 2: convergence time of one key with k missing Regions, at a real per-call latency and
 * the documented quotas, from the `CreateKey` event's delivery to the last replica existing.
 *
 * Each measurement starts from a fresh embedded KMS (every quota bucket full) and a fresh
 * reconciler (fresh pacing buckets), warmed up by one reconcile of an untagged key so that the
 * SDK client and its connection exist, as in a warm Lambda container. The naive strategy is
 * warmed up the same way.
 *
 * The reconciler's pacing bound is not restated here: the rate and burst of its `ReplicateKey`
 * and `CreateKey` buckets are observed on `createKmsRateLimiter` (`pacing-probe.ts`).
 */
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { parseTrigger } from '../src/reconcile/trigger.js';
import type { EmbeddedKms } from '../src/emulator/index.js';
import {
  ADMIN_CREDENTIALS,
  DEPLOYED_QUOTA_SHARE,
  PRIMARY_REGION,
  REPLICA_REGIONS,
  createKmsClient,
  createReconciler,
  regionsHolding,
  startBenchKms,
  takeRuleEvents,
} from './harness.js';
import { createNaiveReconciler } from './naive.js';
import { observePacing, pacedSeconds, type PacingShape } from './pacing-probe.js';
import type { BenchProfile } from './profile.js';
import { median, ratio, round } from './stats.js';

/** The documented `ReplicateKey` quota (requests per second, primary's Region) [kms-facts §3]. */
export const REPLICATE_KEY_QUOTA = 5;
/**
 * The embedded KMS's quota bucket holds one second of quota and starts full (`quotas.ts`): an
 * idle account may make this many `ReplicateKey` calls at once.
 */
export const REPLICATE_KEY_BURST = REPLICATE_KEY_QUOTA;
/** `CreateKey` tokens one `ReplicateKey` takes in the replica's Region (KMS counts it so [S5]). */
const CREATE_KEY_CHARGE = 2;

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
  /**
   * Reconciler only: median time from the event's delivery until the embedded KMS received the
   * first call (one of the observe step's reads; its call log, `Date.now` resolution).
   */
  readonly firstCallMs?: number;
  /** Reconciler only: the same for the first `ReplicateKey` call. */
  readonly firstReplicateKeyMs?: number;
  /** Reconciler only: the same for the last `ReplicateKey` call (its answer takes one latency). */
  readonly lastReplicateKeyMs?: number;
}

/** The reconciler's pacing at one `QUOTA_SHARE`, as observed on `createKmsRateLimiter`. */
export interface ConvergencePacing {
  readonly quotaShare: number;
  /** The `ReplicateKey` bucket of the primary's Region. */
  readonly replicateKey: PacingShape;
  /** The `CreateKey` bucket of each replica's Region (2 tokens per `ReplicateKey`). */
  readonly createKey: PacingShape;
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
   * What the reconciler's own pacing allows at `QUOTA_SHARE=1`: `2 × latency` plus the time its
   * `ReplicateKey` bucket (and each replica Region's `CreateKey` bucket, 2 tokens) takes to grant
   * k requests queued at once, `max(0, k − burst) / rate` with the observed rate and burst.
   */
  readonly pacingBoundMs: number;
  readonly reconciler: ConvergenceRun;
  /** The same bound at the deployed default `QUOTA_SHARE` (when measured). */
  readonly pacingBoundDefaultShareMs?: number;
  /** The deployed default `QUOTA_SHARE` (0.5). */
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
  /** The `QUOTA_SHARE` of the headline column (1: the whole quota). */
  readonly quotaShare: number;
  /** The deployed default `QUOTA_SHARE`, measured for reference when the profile says so. */
  readonly defaultQuotaShare?: number;
  /** The reconciler's pacing at each measured share (observed, `pacing-probe.ts`). */
  readonly pacing: readonly ConvergencePacing[];
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

interface ReconcilerSample {
  readonly ms: number;
  readonly throttled: number;
  readonly converged: boolean;
  readonly firstCallMs: number;
  readonly firstReplicateKeyMs: number;
  readonly lastReplicateKeyMs: number;
}

async function timeReconciler(k: number, latencyMs: number, quotaShare: number): Promise<ReconcilerSample> {
  const { kms, event, keyId, regions } = await prepare(k, latencyMs);
  try {
    const reconciler = createReconciler(kms, { quotaShare });
    await reconciler.invoke(untaggedEvent(event)); // warm: the us-east-1 client and its connection
    kms.resetCalls();
    const before = kms.throttledCount();
    const deliveredAt = Date.now(); // the embedded KMS stamps its call log with Date.now
    const start = performance.now();
    const result = await reconciler.invoke(event);
    const ms = performance.now() - start;
    const converged = result.status === 'reconciled' && regionsHolding(kms, keyId, regions).length === regions.length;
    const calls = kms.calls();
    const firstCallMs = calls.length > 0 ? Math.min(...calls.map((c) => c.at)) - deliveredAt : 0;
    const replicateKeyAt = calls.filter((c) => c.operation === 'ReplicateKey').map((c) => c.at);
    const firstReplicateKeyMs = replicateKeyAt.length > 0 ? Math.min(...replicateKeyAt) - deliveredAt : 0;
    const lastReplicateKeyMs = replicateKeyAt.length > 0 ? Math.max(...replicateKeyAt) - deliveredAt : 0;
    return { ms, throttled: kms.throttledCount() - before, converged, firstCallMs, firstReplicateKeyMs, lastReplicateKeyMs };
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

function summarize(
  runs: readonly {
    ms: number;
    throttled: number;
    converged: boolean;
    passes?: number;
    firstCallMs?: number;
    firstReplicateKeyMs?: number;
    lastReplicateKeyMs?: number;
  }[],
): ConvergenceRun {
  const medianOf = (pick: (run: (typeof runs)[number]) => number | undefined): number | undefined => {
    const values = runs.map(pick).filter((v): v is number => v !== undefined);
    return values.length > 0 ? round(median(values)) : undefined;
  };
  const firstCallMs = medianOf((r) => r.firstCallMs);
  const firstReplicateKeyMs = medianOf((r) => r.firstReplicateKeyMs);
  const lastReplicateKeyMs = medianOf((r) => r.lastReplicateKeyMs);
  const passes = runs.map((r) => r.passes).filter((p): p is number => p !== undefined);
  return {
    medianMs: round(median(runs.map((r) => r.ms))),
    runsMs: runs.map((r) => round(r.ms)),
    throttled: runs.reduce((sum, r) => sum + r.throttled, 0),
    converged: runs.every((r) => r.converged),
    ...(passes.length > 0 ? { passes } : {}),
    ...(firstCallMs !== undefined ? { firstCallMs } : {}),
    ...(firstReplicateKeyMs !== undefined ? { firstReplicateKeyMs } : {}),
    ...(lastReplicateKeyMs !== undefined ? { lastReplicateKeyMs } : {}),
  };
}

async function observeConvergencePacing(quotaShare: number): Promise<ConvergencePacing> {
  return { quotaShare, replicateKey: await observePacing('ReplicateKey', quotaShare), createKey: await observePacing('CreateKey', quotaShare) };
}

/** `2 × latency` + the time the pacing takes to grant k `ReplicateKey` (one per replica Region). */
function pacingBound(pacing: ConvergencePacing, k: number, latencyMs: number): number {
  const seconds = Math.max(pacedSeconds(pacing.replicateKey, k), pacedSeconds(pacing.createKey, CREATE_KEY_CHARGE));
  return round(2 * latencyMs + seconds * 1000);
}

/**
 * Measures figure 2.
 * @param profile - k values, repetitions, latency, whether to include the deployed `QUOTA_SHARE`.
 */
export async function measureConvergence(profile: BenchProfile): Promise<ConvergenceFigure> {
  const latency = profile.latencyMs;
  const fullPacing = await observeConvergencePacing(1);
  const defaultPacing = profile.convergenceDefaultShare ? await observeConvergencePacing(DEPLOYED_QUOTA_SHARE) : undefined;
  const rows: ConvergenceRow[] = [];
  for (const k of profile.convergenceMissingRegions) {
    const full: Awaited<ReturnType<typeof timeReconciler>>[] = [];
    const half: Awaited<ReturnType<typeof timeReconciler>>[] = [];
    const naive: Awaited<ReturnType<typeof timeNaive>>[] = [];
    // Interleaved, so that a noisy moment hurts every strategy alike.
    for (let i = 0; i < profile.convergenceRepetitions; i += 1) {
      full.push(await timeReconciler(k, latency, fullPacing.quotaShare));
      if (defaultPacing) half.push(await timeReconciler(k, latency, defaultPacing.quotaShare));
      naive.push(await timeNaive(k, latency));
    }
    const floorMs = 2 * latency + (Math.max(0, k - REPLICATE_KEY_BURST) / REPLICATE_KEY_QUOTA) * 1000;
    const reconciler = summarize(full);
    const naiveRun = summarize(naive);
    rows.push({
      missingRegions: k,
      floorMs,
      windowFloorMs: 2 * latency + Math.floor((k - 1) / REPLICATE_KEY_QUOTA) * 1000,
      pacingBoundMs: pacingBound(fullPacing, k, latency),
      reconciler,
      ...(defaultPacing ? { pacingBoundDefaultShareMs: pacingBound(defaultPacing, k, latency), reconcilerDefaultShare: summarize(half) } : {}),
      naive: naiveRun,
      ratioToFloor: ratio(reconciler.medianMs, floorMs),
      naiveToReconciler: ratio(naiveRun.medianMs, reconciler.medianMs),
      met: reconciler.converged && reconciler.medianMs <= 1.2 * floorMs,
    });
  }
  return {
    latencyMs: latency,
    quotaShare: fullPacing.quotaShare,
    ...(defaultPacing ? { defaultQuotaShare: defaultPacing.quotaShare } : {}),
    pacing: defaultPacing ? [fullPacing, defaultPacing] : [fullPacing],
    repetitions: profile.convergenceRepetitions,
    target: 1.2,
    rows,
    met: rows.every((r) => r.met),
  };
}
