/**
 * The one reader of key references (a key id or a key ARN) for every entry point: the trigger
 * (CloudTrail records), the key-event queue's reconcile requests, and `kms-replicas reconcile --key`.
 * Pure.
 *
 * A key id is a dashed UUID, or `mrk-` and 32 lower-case hex digits for a multi-Region key; the
 * id is shared by the whole family, only the ARN's Region differs [S1 concepts.md,
 * multi-region-keys-overview.md] (fact sheet §7). A key ARN is
 * `arn:<partition>:kms:<region>:<account>:key/<key id>`.
 */

/** A multi-Region key id: `mrk-` and 32 lower-case hex digits. */
export const MULTI_REGION_KEY_ID_PATTERN = /^mrk-[0-9a-f]{32}$/;

/** A single-Region key id: a dashed UUID. */
export const SINGLE_REGION_KEY_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The shape of a key ARN; the parts are checked by {@link parseKeyRef} (or, for messages, by the caller). */
const KEY_ARN_SHAPE = /^arn:([a-z-]+):kms:([^:]*):(\d{12}):key\/(.*)$/;

/** The parts of a key ARN. */
export interface KeyArnParts {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  /** What follows `key/`: a key id when the ARN is valid. */
  readonly keyId: string;
}

/** A valid key reference: the key id, and the ARN's parts when it was an ARN. */
export interface KeyRef {
  readonly keyId: string;
  readonly arn?: KeyArnParts;
}

/** Whether `value` is a key id of either form: `mrk-` + 32 hex digits (multi-Region), or a dashed UUID. */
export function isKeyId(value: string): boolean {
  return isMultiRegionKeyId(value) || isSingleRegionKeyId(value);
}

/** Whether `value` is a multi-Region key id ({@link MULTI_REGION_KEY_ID_PATTERN}). */
export function isMultiRegionKeyId(value: string): boolean {
  return MULTI_REGION_KEY_ID_PATTERN.test(value);
}

/** Whether `value` is a single-Region key id ({@link SINGLE_REGION_KEY_ID_PATTERN}). */
export function isSingleRegionKeyId(value: string): boolean {
  return SINGLE_REGION_KEY_ID_PATTERN.test(value);
}

/**
 * Splits a string of the key ARN shape (`arn:<partition>:kms:<region>:<12 digits>:key/<rest>`)
 * without judging the parts, so that a caller can say which part is wrong.
 *
 * @returns the parts, or undefined when `value` does not have the shape.
 */
export function splitKeyArn(value: string): KeyArnParts | undefined {
  const m = KEY_ARN_SHAPE.exec(value);
  if (!m) return undefined;
  const [, partition = '', region = '', account = '', keyId = ''] = m;
  return { partition, region, account, keyId };
}

/**
 * Reads a key reference: a key id, or a key ARN of an AWS partition (`aws`, `aws-cn`,
 * `aws-us-gov`...) with a Region-shaped Region (lower-case letters, digits, dashes; whether it is
 * a known Region is the caller's question), a 12-digit account and a valid key id.
 *
 * @returns the reference, or undefined when `value` is neither a key id nor such a key ARN.
 */
export function parseKeyRef(value: string): KeyRef | undefined {
  const arn = splitKeyArn(value);
  if (arn) {
    return /^aws[a-z-]*$/.test(arn.partition) && /^[a-z0-9-]+$/.test(arn.region) && isKeyId(arn.keyId) ? { keyId: arn.keyId, arn } : undefined;
  }
  return isKeyId(value) ? { keyId: value } : undefined;
}
