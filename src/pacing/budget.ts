/**
 * One account-wide budget (design §5): how the stack's share of each KMS request quota
 * (`QUOTA_SHARE` × the quota, per operation and Region) is divided between its parts, so that
 * no burst, however many key-event containers run, spends more than the share. Pure arithmetic;
 * `src/pacing/paced-gateway.ts` turns each rate into a paced bucket.
 *
 * The split (README, "The budget"):
 * - **Stacks** (`STACK_REGIONS`, S Regions with a stack): a family's writes are made only by the
 *   stack of its primary's Region (other stacks forward the request to that Region's queue), so
 *   `ReplicateKey`, `GetKeyPolicy` (the primary's policy), `TagResource`/`UntagResource` (the
 *   restore marker on the primary) and `ListKeys` (the sweep's own Region) are spent in the home
 *   Region only, by one stack: the whole share. Operations every stack may
 *   spend in one Region (`DescribeKey` and `ListResourceTags` of replicas and of primaries
 *   followed from a replica; `CreateKey`, which `ReplicateKey` charges in the replica's Region;
 *   `CancelKeyDeletion`, `EnableKey` on replicas) get share ÷ S in every Region.
 * - **Inside a stack**: writes (`ReplicateKey`, `CreateKey`, `CancelKeyDeletion`, `EnableKey`,
 *   and `GetKeyPolicy`) belong to the key-event containers only, each 1/M of them (M = the event
 *   source mapping's `MaximumConcurrency`); the sweep makes none (it queues repairs). Reads are
 *   split: {@link SWEEP_READ_FRACTION} to the sweep, the rest to the containers, each 1/M.
 *   `ListKeys` is the sweep's alone.
 * - **Direct** (the `kms-replicas` CLI, local tools, a stack without a queue): one process holds
 *   the whole share of everything.
 */
import { KMS_REQUEST_QUOTAS, type KmsRequestQuotas, type PacedOperation } from './kms-quotas.js';

/** Share of the stack's read budget (`DescribeKey`, `ListResourceTags`) the sweep gets. */
export const SWEEP_READ_FRACTION = 0.5;

/** Which part of a deployment a process is. */
export type BudgetRole = 'direct' | 'key-event' | 'sweep';

/** What the split depends on. */
export interface BudgetOptions {
  /** `QUOTA_SHARE`, in (0, 1]. */
  readonly quotaShare: number;
  /** Raised quotas (`KMS_REQUEST_QUOTAS`), merged over the documented ones. */
  readonly quotas?: Partial<KmsRequestQuotas>;
  /** Default `direct`. */
  readonly role?: BudgetRole;
  /** M: the key-event mapping's `MaximumConcurrency` (role `key-event`). Default 1. */
  readonly maxConcurrency?: number;
  /** The stack's Region (`AWS_REGION`); home-only operations are refused elsewhere (roles other than `direct`). */
  readonly homeRegion?: string;
  /** S: how many Regions run a stack (`STACK_REGIONS`). Default 1. */
  readonly stackCount?: number;
}

/** Operations spent only in the stack's own Region, by that stack alone. */
const HOME_ONLY: ReadonlySet<PacedOperation> = new Set<PacedOperation>(['ReplicateKey', 'GetKeyPolicy', 'ListKeys', 'TagResource', 'UntagResource']);
/** Operations that write (or, for `GetKeyPolicy`, are made only on the way to a write). */
const WRITE_PATH: ReadonlySet<PacedOperation> = new Set<PacedOperation>([
  'ReplicateKey',
  'CreateKey',
  'CancelKeyDeletion',
  'EnableKey',
  'GetKeyPolicy',
  'TagResource',
  'UntagResource',
]);

/**
 * The paced rate (requests per second) one process of `role` may spend on `operation` in `region`.
 *
 * @returns a rate ≥ 0; 0 means this part never makes that call there (e.g. the sweep's
 *   `ReplicateKey` when it queues repairs, a container's `ListKeys`, `ReplicateKey` outside the home Region).
 * @throws {RangeError} on a share outside (0, 1], a quota that is not positive, M or S below 1.
 */
export function budgetRate(operation: PacedOperation, region: string, options: BudgetOptions): number {
  const { quotaShare } = options;
  if (!(quotaShare > 0 && quotaShare <= 1)) throw new RangeError(`quotaShare must be in (0, 1], got ${quotaShare}`);
  const quota = ({ ...KMS_REQUEST_QUOTAS, ...options.quotas } as KmsRequestQuotas)[operation];
  if (!(quota > 0)) throw new RangeError(`the ${operation} quota must be a positive number of requests per second, got ${quota}`);
  const role = options.role ?? 'direct';
  const share = quota * quotaShare;
  if (role === 'direct') return share;
  const m = options.maxConcurrency ?? 1;
  const s = options.stackCount ?? 1;
  if (!(Number.isInteger(m) && m >= 1)) throw new RangeError(`maxConcurrency must be a whole number ≥ 1, got ${m}`);
  if (!(Number.isInteger(s) && s >= 1)) throw new RangeError(`stackCount must be a whole number ≥ 1, got ${s}`);

  const stackShare = HOME_ONLY.has(operation) ? (options.homeRegion === undefined || region === options.homeRegion ? share : 0) : share / s;
  if (operation === 'ListKeys') return role === 'sweep' ? stackShare : 0;
  if (WRITE_PATH.has(operation)) return role === 'key-event' ? stackShare / m : 0;
  return role === 'sweep' ? stackShare * SWEEP_READ_FRACTION : (stackShare * (1 - SWEEP_READ_FRACTION)) / m;
}
