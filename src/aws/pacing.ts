/**
 * Pacing to KMS request quotas (design §5): a token bucket per (KMS operation, Region) at a share
 * of the documented quota, applied as a `KmsGateway` decorator so that every caller (the
 * key-event handler, the sweep, the CLI) is paced the same way. A burst then converges at the
 * quota's rate instead of bouncing off `ThrottlingException`; the SDK's retries stay as a backstop.
 *
 * The buckets are `limiter`'s `TokenBucket` (monotonic `performance.now()` clock, FIFO waiters).
 */
import { setMaxListeners } from 'node:events';
import { TokenBucket } from 'limiter';
import { RetryableError } from '../errors.js';
import type { KmsGateway } from '../kms-gateway.js';
import { KMS_REQUEST_QUOTAS, type KmsRequestQuotas, type PacedOperation } from '../kms-quotas.js';

/** Hands out permission to call KMS operations at a paced rate. */
export interface KmsRateLimiter {
  /**
   * Resolves when `count` requests of `operation` in `region` may be made (FIFO per bucket).
   * @throws {RetryableError} `AbortError` when `signal` aborts while waiting.
   */
  acquire(operation: PacedOperation, region: string, count?: number, signal?: AbortSignal): Promise<void>;
  /** The paced rate (requests per second) of `operation` in any Region. */
  rateOf(operation: PacedOperation): number;
}

/** Settings of {@link createKmsRateLimiter}. */
export interface KmsRateLimiterOptions {
  /** `QUOTA_SHARE`: share (0 < x ≤ 1) of each quota to use. */
  readonly quotaShare: number;
  /** Raised quotas of this account (`KMS_REQUEST_QUOTAS`), merged over the documented ones. */
  readonly quotas?: Partial<KmsRequestQuotas>;
}

/** Tokens one call takes at most, per operation (`ReplicateKey` costs 2 `CreateKey` [S5]). */
const LARGEST_REQUEST: Partial<Record<PacedOperation, number>> = { CreateKey: 2 };

/**
 * Creates the per-(operation, Region) token buckets, lazily.
 *
 * Each bucket refills at `rate = quota × quotaShare` per second and holds one second of that
 * rate (at least the largest single request), starting full: the quota's own shape scaled by the
 * share. KMS counts requests per second per account and Region [S5]; modelled as a bucket that
 * holds one second of quota (as the embedded KMS does), a limiter taking `quotaShare` of the refill
 * and of the bucket leaves the rest as headroom for other principals, other containers and the
 * skew between our clock and KMS's. At `quotaShare` 1 there is none: a few calls can then meet
 * `ThrottlingException` (the SDK retries them); the default 0.5 saw none (bench/REPORT.md). (A
 * burst of one token, the strict "per sliding second" reading, made the first `ReplicateKey`
 * calls wait 200 ms each and starved fast operations on timer ticks.)
 *
 * @throws {RangeError} when `quotaShare` is not in (0, 1] or a quota is not positive.
 */
export function createKmsRateLimiter(options: KmsRateLimiterOptions): KmsRateLimiter {
  const { quotaShare } = options;
  if (!(quotaShare > 0 && quotaShare <= 1)) throw new RangeError(`quotaShare must be in (0, 1], got ${quotaShare}`);
  const quotas: KmsRequestQuotas = { ...KMS_REQUEST_QUOTAS, ...options.quotas };
  for (const [operation, quota] of Object.entries(quotas)) {
    if (!(quota > 0)) throw new RangeError(`the ${operation} quota must be a positive number of requests per second, got ${quota}`);
  }
  const buckets = new Map<string, TokenBucket>();

  function bucketOf(operation: PacedOperation, region: string): TokenBucket {
    const id = `${operation}@${region}`;
    let bucket = buckets.get(id);
    if (!bucket) {
      const quota = quotas[operation];
      const rate = quota * quotaShare;
      const burst = Math.max(LARGEST_REQUEST[operation] ?? 1, rate);
      bucket = new TokenBucket({ bucketSize: burst, tokensPerInterval: rate, interval: 1000 });
      bucket.content = burst; // start full: a warm burst below the quota is allowed
      buckets.set(id, bucket);
    }
    return bucket;
  }

  return {
    async acquire(operation, region, count = 1, signal) {
      // removeTokens answers at once when tokens are there and no one waits before us (FIFO).
      await untilAborted(bucketOf(operation, region).removeTokens(count), signal, `${operation} in ${region}`);
    },
    rateOf: (operation) => quotas[operation] * quotaShare,
  };
}

/**
 * Wraps a gateway so that every call first takes its tokens: one of its own operation in the
 * Region it is made in; `ReplicateKey` also takes two `CreateKey` tokens in the replica's Region
 * (KMS counts it so [S5]). A paged `ListResourceTags` takes one token per method call (keys carry
 * at most 50 tags, one page with the default `Limit`).
 *
 * @param gateway - the gateway making the calls (normally the SDK one).
 * @param limiter - from {@link createKmsRateLimiter}; shared by every gateway of a container.
 */
export function createPacedGateway(gateway: KmsGateway, limiter: KmsRateLimiter): KmsGateway {
  return {
    async describeKey(region, keyId, signal) {
      await limiter.acquire('DescribeKey', region, 1, signal);
      return gateway.describeKey(region, keyId, signal);
    },
    async listResourceTags(region, keyId, signal) {
      await limiter.acquire('ListResourceTags', region, 1, signal);
      return gateway.listResourceTags(region, keyId, signal);
    },
    async getKeyPolicy(region, keyId, signal) {
      await limiter.acquire('GetKeyPolicy', region, 1, signal);
      return gateway.getKeyPolicy(region, keyId, signal);
    },
    async replicateKey(input, signal) {
      await limiter.acquire('ReplicateKey', input.primaryRegion, 1, signal);
      await limiter.acquire('CreateKey', input.replicaRegion, 2, signal);
      return gateway.replicateKey(input, signal);
    },
    async cancelKeyDeletion(region, keyId, signal) {
      await limiter.acquire('CancelKeyDeletion', region, 1, signal);
      return gateway.cancelKeyDeletion(region, keyId, signal);
    },
    async enableKey(region, keyId, signal) {
      await limiter.acquire('EnableKey', region, 1, signal);
      return gateway.enableKey(region, keyId, signal);
    },
    async tagResource(region, keyId, tags, signal) {
      await limiter.acquire('TagResource', region, 1, signal);
      return gateway.tagResource(region, keyId, tags, signal);
    },
    async untagResource(region, keyId, tagKeys, signal) {
      await limiter.acquire('UntagResource', region, 1, signal);
      return gateway.untagResource(region, keyId, tagKeys, signal);
    },
    async listKeys(region, page, signal) {
      await limiter.acquire('ListKeys', region, 1, signal);
      return gateway.listKeys(region, page, signal);
    },
  };
}

const signalsWithoutListenerLimit = new WeakSet<AbortSignal>();

/** Waits for `waiting`, unless `signal` aborts first (the tokens are still spent when they come). */
function untilAborted(waiting: Promise<unknown>, signal: AbortSignal | undefined, what: string): Promise<void> {
  if (!signal) return waiting.then(() => undefined);
  // Many calls of one invocation wait on its one signal (16 Regions, a sweep page): not a leak.
  if (!signalsWithoutListenerLimit.has(signal)) {
    setMaxListeners(0, signal);
    signalsWithoutListenerLimit.add(signal);
  }
  // Never sent: no effect, and not counted as a write (`unsent`).
  const aborted = (): RetryableError => new RetryableError(`aborted while waiting for a ${what} request slot`, 'AbortError', { unsent: true });
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    waiting.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
