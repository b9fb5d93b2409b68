/**
 * What the reconciler's pacing allows, observed on `createKmsRateLimiter` itself rather than
 * restated from `src/pacing/paced-gateway.ts`: the figures' pacing bounds then follow the product when its
 * rule changes.
 *
 * - **rate**: `limiter.rateOf(operation)` (requests per second).
 * - **burst**: the largest single `acquire(operation, region, count)` a fresh limiter (an idle
 *   container) grants at once, found by bisection over `count` on fresh limiters. "At once" =
 *   settled within a bounded number of microtask hops, so no timer of the limiter (whose waits are
 *   at least 1 ms) can have run: the tokens came from what the bucket held, not from its refill.
 *
 * With a bucket that starts holding `burst` and refills at `rate`, the k-th of k requests queued
 * at once is granted after `max(0, k − burst) / rate` seconds (the pacing bound of figures 2, 3).
 */
import { createKmsRateLimiter, type KmsRateLimiter } from '../src/pacing/paced-gateway.js';
import type { KmsRequestQuotas, PacedOperation } from '../src/pacing/kms-quotas.js';
import { round } from './stats.js';

/** One (operation, `QUOTA_SHARE`) of the pacing, as observed. */
export interface PacingShape {
  readonly operation: PacedOperation;
  readonly quotaShare: number;
  /** `rateOf`: tokens per second. */
  readonly ratePerSecond: number;
  /** Tokens a fresh limiter grants at once (3 decimals). */
  readonly burst: number;
}

/** Microtask hops `acquire` may take and still count as "at once" (it needs fewer than 10). */
const MICROTASK_HOPS = 200;
const PROBE_REGION = 'us-east-1';

/** Whether `promise` fulfils within {@link MICROTASK_HOPS} microtask hops (no timer can run meanwhile). */
async function settlesAtOnce(promise: Promise<unknown>): Promise<boolean> {
  const state = { settled: false, fulfilled: false };
  promise.then(
    () => Object.assign(state, { settled: true, fulfilled: true }),
    () => Object.assign(state, { settled: true }),
  );
  for (let i = 0; i < MICROTASK_HOPS && !state.settled; i += 1) await Promise.resolve();
  return state.fulfilled;
}

type LimiterFactory = () => KmsRateLimiter;

async function grantsAtOnce(fresh: LimiterFactory, operation: PacedOperation, count: number): Promise<boolean> {
  // A request that is not granted at once is abandoned: the abort rejects it here, and no tokens
  // of a fresh limiter are ever used again. A full bucket lets one request larger than itself
  // through on credit (src/pacing/paced-gateway.ts), so "granted at once" also asks that the bucket is not
  // in debt afterwards: a sliver more is granted at once too. The burst is then what the bucket holds.
  const abandon = new AbortController();
  const limiter = fresh();
  const granted =
    (await settlesAtOnce(limiter.acquire(operation, PROBE_REGION, count, abandon.signal))) &&
    (await settlesAtOnce(limiter.acquire(operation, PROBE_REGION, 1e-9, abandon.signal)));
  abandon.abort();
  return granted;
}

/**
 * Observes the rate and burst of `operation` at `quotaShare`.
 * @param quotas - raised quotas (`KMS_REQUEST_QUOTAS`), as the runtime would pass them.
 */
export async function observePacing(operation: PacedOperation, quotaShare: number, quotas?: Partial<KmsRequestQuotas>): Promise<PacingShape> {
  const fresh: LimiterFactory = () => createKmsRateLimiter({ quotaShare, ...(quotas ? { quotas } : {}) });
  const ratePerSecond = fresh().rateOf(operation);
  // Bracket the burst: lo is granted at once, hi is not.
  let lo = 0;
  let hi = 1;
  while (await grantsAtOnce(fresh, operation, hi)) {
    lo = hi;
    hi *= 2;
    if (hi > 1e12) throw new Error(`${operation}: a fresh limiter grants more than 1e12 tokens at once`);
  }
  while (hi - lo > 1e-4) {
    const mid = (lo + hi) / 2;
    if (await grantsAtOnce(fresh, operation, mid)) lo = mid;
    else hi = mid;
  }
  return { operation, quotaShare, ratePerSecond, burst: round(lo, 3) };
}

/** Seconds until the last of `requests` tokens, asked for at once from a fresh limiter, is granted. */
export function pacedSeconds(shape: PacingShape, requests: number): number {
  return Math.max(0, requests - shape.burst) / shape.ratePerSecond;
}
