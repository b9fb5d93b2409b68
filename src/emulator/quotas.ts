/**
 * KMS request quotas (fact sheet §3): a token bucket per (operation, Region), refilled from the
 * injectable clock, so a test can count exactly how many calls pass in one second of clock time.
 */

/**
 * The documented requests-per-second quota of each KMS operation, per account and Region
 * [S5][S1 requests-per-second.md]. `DisableKey` is not in the fact sheet's table; it is given
 * EnableKey's 5 (INF). Operations absent here (e.g. EventBridge `PutEvents`) are not limited unless
 * a quota is set for them explicitly.
 */
export const DOCUMENTED_QUOTAS: Readonly<Record<string, number>> = {
  CreateKey: 5,
  ReplicateKey: 5,
  DescribeKey: 2000,
  ListResourceTags: 2000,
  ListKeys: 500,
  ListAliases: 500,
  TagResource: 10,
  UntagResource: 5,
  GetKeyPolicy: 1000,
  PutKeyPolicy: 15,
  CancelKeyDeletion: 5,
  EnableKey: 5,
  DisableKey: 5,
  UpdatePrimaryRegion: 5,
  ScheduleKeyDeletion: 15,
};

/**
 * The `quotas` option: `false`/omitted = no quotas, `true` = {@link DOCUMENTED_QUOTAS}, an object =
 * the documented quotas with these per-operation overrides (requests per second; `Infinity`
 * lifts an operation's quota, `0` throttles every call of it).
 */
export type QuotaOption = boolean | Readonly<Partial<Record<string, number>>>;

/** One quota charge: `tokens` requests of `operation`'s quota in `region`. */
export interface QuotaCharge {
  operation: string;
  region: string;
  tokens: number;
}

interface Bucket {
  tokens: number;
  /** Clock (ms) of the last refill. */
  at: number;
}

/** Tolerance for float refill arithmetic (e.g. 200 ms × 5/s = 1 token exactly). */
const EPSILON = 1e-9;

/** Resolves a {@link QuotaOption} to a table; `undefined` = quotas off. @throws TypeError on a negative or NaN rate. */
export function resolveQuotas(option: QuotaOption | undefined): Readonly<Record<string, number>> | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { ...DOCUMENTED_QUOTAS };
  const table: Record<string, number> = { ...DOCUMENTED_QUOTAS };
  for (const [operation, rps] of Object.entries(option)) {
    if (rps === undefined) continue;
    if (typeof rps !== 'number' || Number.isNaN(rps) || rps < 0) {
      throw new TypeError(`quota of ${operation} must be a non-negative number of requests per second, got ${String(rps)}`);
    }
    table[operation] = rps;
  }
  return table;
}

/**
 * Token buckets per (operation, Region). Each holds at most one second of its quota (capacity =
 * rps, so a burst of exactly rps calls passes at a frozen clock) and refills continuously at rps
 * tokens per second of clock time. A bucket starts full.
 */
export class QuotaLimiter {
  private table: Readonly<Record<string, number>> | undefined;
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    option: QuotaOption | undefined,
    private readonly now: () => number,
  ) {
    this.table = resolveQuotas(option);
  }

  /** Replaces the quotas and empties the bucket table (every bucket starts full again). */
  set(option: QuotaOption | undefined): void {
    this.table = resolveQuotas(option);
    this.buckets.clear();
  }

  /** Whether any quota is in force. */
  get enabled(): boolean {
    return this.table !== undefined;
  }

  /**
   * Takes every charge, or none: when any bucket lacks its tokens nothing is taken and `false` is
   * returned (the call is throttled). Charges of operations without a quota always pass.
   */
  tryTake(charges: readonly QuotaCharge[]): boolean {
    const table = this.table;
    if (!table) return true;
    const at = this.now();
    const limited: Array<{ bucket: Bucket; tokens: number }> = [];
    const needed = new Map<Bucket, number>();
    for (const charge of charges) {
      const rps = table[charge.operation];
      if (rps === undefined || rps === Infinity) continue;
      const bucket = this.bucket(charge.operation, charge.region, rps, at);
      const total = (needed.get(bucket) ?? 0) + charge.tokens;
      needed.set(bucket, total);
      limited.push({ bucket, tokens: charge.tokens });
    }
    for (const [bucket, tokens] of needed) {
      if (bucket.tokens + EPSILON < tokens) return false;
    }
    for (const { bucket, tokens } of limited) bucket.tokens -= tokens;
    return true;
  }

  private bucket(operation: string, region: string, rps: number, at: number): Bucket {
    const key = `${operation}\u0000${region}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: rps, at };
      this.buckets.set(key, bucket);
      return bucket;
    }
    if (at > bucket.at) {
      bucket.tokens = Math.min(rps, bucket.tokens + ((at - bucket.at) * rps) / 1000);
    }
    bucket.at = at;
    return bucket;
  }
}
