import { randomBytes, randomUUID } from 'node:crypto';

/** A multi-Region key id: `mrk-` and 32 lowercase hex digits [S1 concepts.md][fact sheet §7]. */
export const MULTI_REGION_KEY_ID_PATTERN = /^mrk-[0-9a-f]{32}$/;

/** A single-Region key id: a dashed, lowercase UUID [S1 concepts.md]. */
export const SINGLE_REGION_KEY_ID_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The `ReplicaRegion` pattern of the API model [S2 ReplicateKey]. */
export const REGION_PATTERN = /^([a-z]+-){2,3}\d+$/;

/** Returns a fresh key id: `mrk-<32 hex>` for a multi-Region key, a UUID otherwise. */
export function newKeyId(multiRegion: boolean): string {
  return multiRegion ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID();
}

/** Returns a fresh request id / event id (a UUID, as AWS uses). */
export function newRequestId(): string {
  return randomUUID();
}

/**
 * The partition a Region code belongs to, from its prefix [S3 partitions.json]:
 * `cn-` → `aws-cn`, `us-gov-` → `aws-us-gov`, `eusc-` → `aws-eusc`, `us-iso-` → `aws-iso`,
 * `us-isob-` → `aws-iso-b`, `eu-isoe-` → `aws-iso-e`, `us-isof-` → `aws-iso-f`, else `aws`.
 */
export function partitionOfRegion(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('eusc-')) return 'aws-eusc';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  return 'aws';
}

/** The key ARN `arn:<partition>:kms:<region>:<account>:key/<keyId>` [S1 concepts.md]. */
export function keyArn(region: string, account: string, keyId: string): string {
  return `arn:${partitionOfRegion(region)}:kms:${region}:${account}:key/${keyId}`;
}

/** The parts of a KMS ARN (`key/…` or `alias/…`). */
export interface ParsedKmsArn {
  partition: string;
  region: string;
  account: string;
  resourceType: 'key' | 'alias';
  resourceId: string;
}

const KMS_ARN_PATTERN = /^arn:([a-z-]+):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

/** Parses a KMS key or alias ARN; `undefined` when the string is not one. */
export function parseKmsArn(value: string): ParsedKmsArn | undefined {
  const match = KMS_ARN_PATTERN.exec(value);
  if (!match) return undefined;
  const [, partition, region, account, resourceType, resourceId] = match;
  if (!partition || !region || !account || !resourceId) return undefined;
  return { partition, region, account, resourceType: resourceType as 'key' | 'alias', resourceId };
}
