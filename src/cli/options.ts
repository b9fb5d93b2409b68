/**
 * Option validation shared by the `kms-replicas` commands: counts, Regions (`--region`,
 * `AWS_REGION`) and key references (`--key`, read by the same `src/reconcile/key-ref.ts` as the
 * trigger and the queue's reconcile requests). A bad value is a {@link UsageError} (exit 64)
 * naming the option, what was given and what is expected.
 */
import { InvalidArgumentError, Option } from 'commander';
import { isKeyId, splitKeyArn } from '../reconcile/key-ref.js';
import { REGION_CODE_PATTERN, lookupRegion, partitionOf } from '../reconcile/regions.js';
import { DEFAULT_SWEEP_CONCURRENCY } from '../sweep/sweep-region.js';
import type { Target } from './target.js';

/** A bad command line found after parsing (e.g. no Region to work on): exit 64. */
export class UsageError extends Error {}

/** `--region` and `--concurrency` of the commands that sweep. */
export interface RegionOptions {
  readonly region?: string[];
  readonly concurrency?: number;
}

/** `--region <region...>`: the Regions a sweeping command covers. */
export function regionOption(): Option {
  return new Option('--region <region...>', 'Region(s) to cover (default: AWS_REGION; us-east-1 with --embedded)');
}

/** `--concurrency <n>`: keys reconciled at the same time (default: the sweep's). */
export function concurrencyOption(): Option {
  return new Option('--concurrency <n>', 'keys reconciled at the same time').argParser(parseCount).default(DEFAULT_SWEEP_CONCURRENCY);
}

/**
 * Reads a count option (`--seed`, `--concurrency`, `--max-keys`).
 * @throws {InvalidArgumentError} unless a whole number of 1 or more (commander reports it: exit 64).
 */
export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return n;
}

/**
 * Checks one `--region` value: a Region code (`REGION_CODE_PATTERN`) where KMS is available
 * (`lookupRegion`), or one listed in `ALLOWED_REGIONS` (a Region newer than the built-in table).
 *
 * @param what - how the message names the value (`--region`, `AWS_REGION`...).
 * @returns `region`.
 * @throws {UsageError} naming the value and what is expected.
 */
export function checkRegion(region: string, what: string, target: Target): string {
  if (!REGION_CODE_PATTERN.test(region)) {
    const lower = region.toLowerCase();
    const hint = lower !== region && REGION_CODE_PATTERN.test(lower) ? `Region codes are lower case: ${lower}` : 'expected a code such as us-east-1';
    throw new UsageError(`${what} '${region}' is not a Region code (${hint})`);
  }
  if (!lookupRegion(region) && target.runtime.config.allowedRegions?.has(region) !== true) {
    throw new UsageError(`${what} '${region}' is not a Region where AWS KMS is available (a Region newer than this tool can be listed in ALLOWED_REGIONS)`);
  }
  return region;
}

/**
 * The Regions a sweeping command covers: `--region`, else the target's default; each checked,
 * duplicates folded, all of one partition (one set of credentials).
 *
 * @throws {UsageError} no Region, a bad one, or Regions of different partitions.
 */
export function regionsOf(target: Target, options: RegionOptions): readonly string[] {
  const given = options.region && options.region.length > 0;
  const regions = [...new Set(given ? options.region! : target.defaultRegions)];
  if (regions.length === 0) throw new UsageError('no Region: pass --region <region> or set AWS_REGION');
  for (const region of regions) checkRegion(region, given ? '--region' : 'AWS_REGION', target);
  const partitions = [...new Set(regions.map((r) => partitionOf(r) ?? 'aws'))];
  if (partitions.length > 1) {
    throw new UsageError(`--region ${regions.join(' ')}: Regions of different partitions (${partitions.join(', ')}) need different credentials; run once per partition`);
  }
  return regions;
}

/**
 * Checks `--key` (and `--region` against the ARN's Region).
 *
 * @returns the key's Region when the key is an ARN (else `region`, possibly undefined).
 * @throws {UsageError} a value that is not a key id or key ARN, an ARN whose key id, Region or
 *   partition is wrong, or a `--region` that contradicts the ARN.
 */
export function checkKey(key: string, region: string | undefined, target: Target): string | undefined {
  const expected =
    'expected a key id (1234abcd-12ab-34cd-56ef-1234567890ab), a multi-Region key id (mrk-1234abcd12ab34cd56ef1234567890ab) ' +
    'or a key ARN (arn:aws:kms:us-east-1:111122223333:key/mrk-...)';
  if (region !== undefined) checkRegion(region, '--region', target);
  const arn = splitKeyArn(key);
  if (!arn) {
    if (!isKeyId(key)) throw new UsageError(`--key '${key}' is not a key id or key ARN: ${expected}`);
    return region;
  }
  if (!isKeyId(arn.keyId)) throw new UsageError(`--key '${key}': '${arn.keyId}' is not a key id: ${expected}`);
  checkRegion(arn.region, `--key ARN's Region`, target);
  if (partitionOf(arn.region) !== arn.partition) {
    throw new UsageError(`--key '${key}': Region ${arn.region} is not in partition ${arn.partition}`);
  }
  if (region !== undefined && region !== arn.region) {
    throw new UsageError(`--region ${region} conflicts with the key ARN's Region ${arn.region}: leave --region out (a key ARN names its Region)`);
  }
  return arn.region;
}
