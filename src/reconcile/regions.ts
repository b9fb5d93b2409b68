/**
 * AWS partitions and the Region codes where AWS KMS has an endpoint.
 *
 * Source: botocore `partitions.json` / `endpoints.json` (kms), 2026-08, as summarised in
 * `kms-facts.md` §7 [S3]; opt-in status per the Regions guide [S16]. Multi-Region replicas must
 * live in the primary key's partition (API_ReplicateKey [S2]).
 */

/** An AWS partition name, e.g. `aws`, `aws-cn`. */
export type Partition =
  | 'aws'
  | 'aws-cn'
  | 'aws-us-gov'
  | 'aws-eusc'
  | 'aws-iso'
  | 'aws-iso-b'
  | 'aws-iso-e'
  | 'aws-iso-f';

/** Whether a Region is enabled for every account by default or must be opted in. */
export type OptInStatus = 'default' | 'opt-in';

/** One Region of the built-in table. */
export interface RegionInfo {
  readonly code: string;
  readonly partition: Partition;
  readonly optIn: OptInStatus;
}

const COMMERCIAL_DEFAULT = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'sa-east-1',
  'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-north-1',
  'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2',
  'ap-south-1',
] as const;

const COMMERCIAL_OPT_IN = [
  'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-south-2', 'ap-southeast-3', 'ap-southeast-4',
  'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7', 'ca-west-1', 'eu-central-2',
  'eu-south-1', 'eu-south-2', 'il-central-1', 'me-central-1', 'me-south-1', 'mx-central-1',
] as const;

const OTHER_PARTITIONS: ReadonlyArray<readonly [Partition, readonly string[]]> = [
  ['aws-cn', ['cn-north-1', 'cn-northwest-1']],
  ['aws-us-gov', ['us-gov-east-1', 'us-gov-west-1']],
  ['aws-eusc', ['eusc-de-east-1']],
  ['aws-iso', ['us-iso-east-1', 'us-iso-west-1']],
  ['aws-iso-b', ['us-isob-east-1']],
  ['aws-iso-e', ['eu-isoe-west-1']],
  ['aws-iso-f', ['us-isof-south-1', 'us-isof-east-1']],
];

const REGION_TABLE: ReadonlyMap<string, RegionInfo> = new Map<string, RegionInfo>([
  ...COMMERCIAL_DEFAULT.map((code): [string, RegionInfo] => [code, { code, partition: 'aws', optIn: 'default' }]),
  ...COMMERCIAL_OPT_IN.map((code): [string, RegionInfo] => [code, { code, partition: 'aws', optIn: 'opt-in' }]),
  ...OTHER_PARTITIONS.flatMap(([partition, codes]) =>
    codes.map((code): [string, RegionInfo] => [code, { code, partition, optIn: 'default' }]),
  ),
]);

/**
 * The `ReplicaRegion` pattern of the KMS API model: `^([a-z]+-){2,3}\d+$` (API_ReplicateKey [S2]).
 * A string that fails it is answered by KMS with `ValidationException`.
 */
export const REGION_CODE_PATTERN = /^([a-z]+-){2,3}\d+$/;

/**
 * Looks a Region code up in the built-in table.
 *
 * @param code - a Region code such as `eu-west-1` (exact, lower case).
 * @returns the Region's partition and opt-in status, or `undefined` for a code KMS has no
 *   endpoint for in the table (a typo, a Region KMS does not serve, or one newer than the table).
 */
export function lookupRegion(code: string): RegionInfo | undefined {
  return REGION_TABLE.get(code);
}

/**
 * The partition a Region code belongs to, from the table, else from its prefix (the
 * botocore `regionRegex` rules [S3]), else `undefined`.
 *
 * @param code - a Region code such as `cn-north-1`.
 */
export function partitionOf(code: string): Partition | undefined {
  const known = REGION_TABLE.get(code);
  if (known) return known.partition;
  if (!REGION_CODE_PATTERN.test(code)) return undefined;
  if (code.startsWith('cn-')) return 'aws-cn';
  if (code.startsWith('us-gov-')) return 'aws-us-gov';
  if (code.startsWith('eusc-')) return 'aws-eusc';
  if (code.startsWith('us-isob-')) return 'aws-iso-b';
  if (code.startsWith('us-isof-')) return 'aws-iso-f';
  if (/^[a-z]+-isoe-/.test(code)) return 'aws-iso-e';
  if (code.startsWith('us-iso-')) return 'aws-iso';
  if (/^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/.test(code)) return 'aws';
  return undefined;
}

/**
 * Every Region code of a partition in the built-in table, in table order.
 *
 * @param partition - the partition, e.g. `aws`.
 */
export function regionsOfPartition(partition: Partition): string[] {
  return [...REGION_TABLE.values()].filter((r) => r.partition === partition).map((r) => r.code);
}

/**
 * The Region codes of the built-in table nearest to a code it does not hold, for a "did you mean":
 * those at the smallest edit distance (insertions, deletions, substitutions) when that distance
 * is at most 2, else none.
 *
 * @param code - a Region code the table does not hold, e.g. `eu-wset-1`.
 * @returns e.g. `['eu-west-1']`; `[]` when nothing is near.
 */
export function nearestKnownRegions(code: string): string[] {
  const known = [...REGION_TABLE.keys()];
  const distance = (candidate: string): number => editDistance(candidate, code.toLowerCase());
  const best = Math.min(...known.map(distance));
  return best <= 2 ? known.filter((candidate) => distance(candidate) === best) : [];
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
