/**
 * Pacing to KMS request quotas (design §5): a paced bucket per (KMS operation, Region) at this
 * process's slice of the budget (`src/pacing/budget.ts`: `QUOTA_SHARE` × the quota, divided between
 * stacks, the sweep and the key-event containers), applied as a `KmsGateway` decorator so that
 * every caller (the key-event handler, the sweep, the CLI) is paced the same way. A burst then
 * converges at the quota's rate instead of bouncing off `ThrottlingException`; the SDK's retries
 * stay as a backstop.
 *
 * The buckets are our own (`PacedBucket` below) rather than `limiter`'s `TokenBucket`: a
 * container's slice can be smaller than one request per second and smaller than one call's cost
 * (`ReplicateKey` charges 2 `CreateKey`), which `TokenBucket` refuses (a request larger than its
 * bucket throws); and the sweep needs to know how long a request would wait before it starts a key
 * (`estimateWaitMs`), which it cannot tell.
 */
import { setMaxListeners } from 'node:events';
import { budgetRate, type BudgetRole } from './budget.js';
import { RetryableError, TerminalError } from '../reconcile/errors.js';
import type { KmsGateway } from '../reconcile/kms-gateway.js';
import type { KmsRequestQuotas, PacedOperation } from './kms-quotas.js';
import { RESTORE_STEPS, type ReplicationAction } from '../reconcile/plan.js';

/** Tokens of one operation in one Region. */
export interface QuotaCharge {
  readonly operation: PacedOperation;
  readonly region: string;
  readonly count: number;
}

/** Hands out permission to call KMS operations at a paced rate. */
export interface KmsRateLimiter {
  /**
   * Resolves when `count` requests of `operation` in `region` may be made (FIFO per bucket). A
   * waiter that aborts leaves the queue without spending its tokens.
   * @throws {RetryableError} `AbortError` when `signal` aborts while waiting.
   * @throws {TerminalError} `NoBudget` when this process's slice of that quota is 0 (a call this
   *   part of the deployment never makes, e.g. `ReplicateKey` from a sweep that queues repairs).
   */
  acquire(operation: PacedOperation, region: string, count?: number, signal?: AbortSignal): Promise<void>;
  /** The paced rate (requests per second) of `operation` in `region` (default: any Region but for home-only operations). */
  rateOf(operation: PacedOperation, region?: string): number;
  /**
   * How long (ms) the given charges would wait if asked for now, behind every request already
   * waiting: the largest wait over their buckets (charges of one bucket added up). Infinity when a
   * charge has no budget.
   */
  estimateWaitMs(charges: readonly QuotaCharge[]): number;
}

/** Settings of {@link createKmsRateLimiter}. */
export interface KmsRateLimiterOptions {
  /** `QUOTA_SHARE`: share (0 < x ≤ 1) of each quota to use. */
  readonly quotaShare: number;
  /** Raised quotas of this account (`KMS_REQUEST_QUOTAS`), merged over the documented ones. */
  readonly quotas?: Partial<KmsRequestQuotas>;
  /** Which part of the deployment this process is (default `direct`: the whole share). */
  readonly role?: BudgetRole;
  /** M, for role `key-event`. */
  readonly maxConcurrency?: number;
  /** The stack's Region. */
  readonly homeRegion?: string;
  /** S, the Regions with a stack. */
  readonly stackCount?: number;
}

/**
 * Creates the per-(operation, Region) paced buckets, lazily.
 *
 * Each bucket refills at `rate` (from `budgetRate`) per second, holds one second of that rate and
 * starts full: the quota's own shape scaled by the slice. A request of `count` tokens goes when
 * the bucket holds `min(count, capacity)` and takes all `count` (the balance may go below zero:
 * a 2-token `CreateKey` charge on a 0.5/s bucket waits, then leaves the bucket 2 tokens in debt,
 * so the next waits 4 s; no deadlock, no burst). Hence over any window of W seconds one bucket
 * grants at most `rate × W + max(capacity, largest request)` tokens, and M containers together at
 * most `share × quota × W + Σ max(capacity, 2)` (README, "The budget"). KMS counts requests per
 * second per account and Region [S5]; the rest of each quota is headroom for other principals and
 * clock skew.
 *
 * @throws {RangeError} when `quotaShare` is not in (0, 1] or a quota is not positive.
 */
export function createKmsRateLimiter(options: KmsRateLimiterOptions): KmsRateLimiter {
  const rateFor = (operation: PacedOperation, region: string): number => budgetRate(operation, region, options);
  rateFor('DescribeKey', options.homeRegion ?? 'us-east-1'); // validates the settings at once
  const buckets = new Map<string, PacedBucket | null>();

  function bucketOf(operation: PacedOperation, region: string): PacedBucket | null {
    const id = `${operation}@${region}`;
    let bucket = buckets.get(id);
    if (bucket === undefined) {
      const rate = rateFor(operation, region);
      bucket = rate > 0 ? new PacedBucket(rate) : null;
      buckets.set(id, bucket);
    }
    return bucket;
  }

  return {
    async acquire(operation, region, count = 1, signal) {
      const bucket = bucketOf(operation, region);
      if (!bucket) {
        throw new TerminalError(`this part of the deployment (${options.role ?? 'direct'}) has no ${operation} budget in ${region}`, 'NoBudget');
      }
      await bucket.take(count, signal, `${operation} in ${region}`);
    },
    rateOf: (operation, region) => rateFor(operation, region ?? options.homeRegion ?? 'us-east-1'),
    estimateWaitMs(charges) {
      const byBucket = new Map<string, { bucket: PacedBucket | null; count: number }>();
      for (const charge of charges) {
        const id = `${charge.operation}@${charge.region}`;
        const entry = byBucket.get(id) ?? { bucket: bucketOf(charge.operation, charge.region), count: 0 };
        entry.count += charge.count;
        byBucket.set(id, entry);
      }
      let wait = 0;
      for (const { bucket, count } of byBucket.values()) wait = Math.max(wait, bucket ? bucket.waitMs(count) : Infinity);
      return wait;
    },
  };
}

/**
 * The quota charges of a plan's writes [S5]: `ReplicateKey` is 1 in the primary's Region and 2
 * `CreateKey` in the replica's; a restore is the marker's `TagResource` on the primary,
 * `CancelKeyDeletion` and `EnableKey` in the replica's Region and the marker's `UntagResource`
 * (from the step an interrupted restore resumes at); copying the primary's policy adds one `GetKeyPolicy`.
 */
export function chargesOf(actions: readonly ReplicationAction[]): QuotaCharge[] {
  const charges: QuotaCharge[] = [];
  let policy = false;
  for (const action of actions) {
    switch (action.kind) {
      case 'ReplicateKey':
        charges.push({ operation: 'ReplicateKey', region: action.primaryRegion, count: 1 });
        charges.push({ operation: 'CreateKey', region: action.replicaRegion, count: 2 });
        if (action.copyPolicy && !policy) {
          policy = true;
          charges.push({ operation: 'GetKeyPolicy', region: action.primaryRegion, count: 1 });
        }
        break;
      case 'RestoreReplica': {
        // From the step it resumes at: the marker on the primary, the replica's two calls, the marker off.
        const steps = RESTORE_STEPS.slice(RESTORE_STEPS.indexOf(action.from));
        for (const step of steps) {
          const onPrimary = step === 'TagResource' || step === 'UntagResource';
          charges.push({ operation: step, region: onPrimary ? action.primaryRegion : action.replicaRegion, count: 1 });
        }
        break;
      }
    }
  }
  return charges;
}

interface Waiter {
  readonly count: number;
  readonly resolve: () => void;
}

/**
 * A token bucket that lets a request larger than its capacity through once the bucket is full,
 * leaving it in debt (GCRA-like), with FIFO waiters and a wait estimate. Clock: `performance.now()`
 * and `setTimeout`, so tests drive it with fake timers.
 */
class PacedBucket {
  private readonly capacity: number;
  private tokens: number;
  private last = performance.now();
  private readonly queue: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly rate: number) {
    this.capacity = rate; // one second of the rate
    this.tokens = this.capacity; // start full
  }

  take(count: number, signal: AbortSignal | undefined, what: string): Promise<void> {
    // Many calls of one invocation wait on, and then send with, its one signal: not a leak.
    if (signal) allowManyListeners(signal);
    this.refill();
    if (this.queue.length === 0 && this.tokens >= this.need(count)) {
      this.tokens -= count;
      return Promise.resolve();
    }
    // Never sent: no effect, and not counted as a write (`unsent`).
    const aborted = (): RetryableError => new RetryableError(`aborted while waiting for a ${what} request slot`, 'AbortError', { unsent: true });
    if (signal?.aborted) return Promise.reject(aborted());
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        count,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const index = this.queue.indexOf(waiter);
        if (index >= 0) this.queue.splice(index, 1); // leaves without spending its tokens
        reject(aborted());
        this.schedule();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.schedule();
    });
  }

  /** Ms until `count` more tokens would be granted behind the current waiters. */
  waitMs(count: number): number {
    this.refill();
    const ahead = this.queue.reduce((n, w) => n + w.count, 0);
    const deficit = ahead + this.need(count) - this.tokens;
    return deficit <= 0 ? 0 : (deficit / this.rate) * 1000;
  }

  private need(count: number): number {
    return Math.min(count, this.capacity);
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const head = this.queue[0];
    if (!head) return;
    const ms = Math.max(0, ((this.need(head.count) - this.tokens) / this.rate) * 1000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      for (let next = this.queue[0]; next && this.tokens >= this.need(next.count) - 1e-9; next = this.queue[0]) {
        this.queue.shift();
        this.tokens -= next.count;
        next.resolve();
      }
      this.schedule();
    }, Math.ceil(ms)); // not unref'd: a waiter is work in progress, it must keep the process alive
  }
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
    // Not paced: the fact sheet has no ListKeyRotations quota [S5], and it is read only for
    // EXTERNAL families (one call, plus one per replica while a new material is being imported).
    listKeyMaterials: (region, keyId, signal) => gateway.listKeyMaterials(region, keyId, signal),
  };
}

const signalsWithoutListenerLimit = new WeakSet<AbortSignal>();

/** Many calls of one invocation wait on its one signal (16 Regions, a sweep page): not a leak. */
function allowManyListeners(signal: AbortSignal): void {
  if (signalsWithoutListenerLimit.has(signal)) return;
  setMaxListeners(0, signal);
  signalsWithoutListenerLimit.add(signal);
}
