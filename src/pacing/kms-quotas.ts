/**
 * KMS request quotas: the documented defaults and the `KMS_REQUEST_QUOTAS` override syntax.
 * Pure data and parsing; the pacing that uses them is `src/pacing/paced-gateway.ts`.
 */

/**
 * Documented request quotas (requests per second, per account and Region) of the KMS operations
 * the reconciler calls. Source: AWS KMS Developer Guide, "Request quotas"
 * (requests-per-second.md), `kms-facts.md` §3 [S5][S1]. Every value is adjustable per account
 * (Service Quotas), hence `KMS_REQUEST_QUOTAS`.
 *
 * `ReplicateKey` is counted as 1 `ReplicateKey` in the primary's Region plus 2 `CreateKey` in the
 * replica's Region, which is why `CreateKey` is listed although the reconciler never calls it.
 * `TagResource` / `UntagResource` write and remove the restore marker on a primary
 * (`ON_PENDING_DELETION=restore`).
 */
export const KMS_REQUEST_QUOTAS = {
  CreateKey: 5,
  ReplicateKey: 5,
  DescribeKey: 2000,
  ListResourceTags: 2000,
  ListKeys: 500,
  GetKeyPolicy: 1000,
  CancelKeyDeletion: 5,
  EnableKey: 5,
  TagResource: 10,
  UntagResource: 5,
} as const satisfies Record<string, number>;

/** A KMS operation whose request quota the reconciler paces. */
export type PacedOperation = keyof typeof KMS_REQUEST_QUOTAS;

/** Requests per second per operation (a full table, or overrides of it). */
export type KmsRequestQuotas = Readonly<Record<PacedOperation, number>>;

const OPERATIONS = Object.keys(KMS_REQUEST_QUOTAS) as PacedOperation[];

/**
 * Parses a `KMS_REQUEST_QUOTAS` value: `Operation=rps` pairs separated by spaces or commas, e.g.
 * `ReplicateKey=20 CreateKey=40` for an account whose quotas were raised. Operation names are
 * spelled as the KMS API spells them (case-insensitive here).
 *
 * @param value - the raw setting.
 * @returns the overrides only (merge them over {@link KMS_REQUEST_QUOTAS}).
 * @throws {Error} naming the first malformed pair, unknown operation or non-positive rate.
 */
export function parseKmsRequestQuotas(value: string): Partial<KmsRequestQuotas> {
  const overrides: Partial<Record<PacedOperation, number>> = {};
  for (const pair of value.split(/[\s,;]+/).filter((p) => p !== '')) {
    const match = /^([A-Za-z]+)=(.+)$/.exec(pair);
    if (!match) throw new Error(`'${pair}' is not Operation=requests-per-second`);
    const [, name = '', rate = ''] = match;
    const operation = OPERATIONS.find((op) => op.toLowerCase() === name.toLowerCase());
    if (!operation) throw new Error(`'${name}' is not a paced KMS operation (one of ${OPERATIONS.join(', ')})`);
    const rps = Number(rate);
    if (!Number.isFinite(rps) || rps <= 0) throw new Error(`${operation}=${rate}: the quota must be a positive number of requests per second`);
    overrides[operation] = rps;
  }
  return overrides;
}
