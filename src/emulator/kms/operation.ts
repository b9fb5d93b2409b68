/**
 * How a KMS operation is defined: {@link defineOperation} reads and validates the request once;
 * {@link defineKeyOperation} also resolves the key the request names and applies the key-state
 * table (`key-states.ts`) before the operation acts. The operations themselves live in
 * `operations/`, the registry in `registry.ts`.
 */
import { invalidArnError, invalidMarkerError, keyDoesNotExistError, limitExceededError, malformedPolicyError, notFoundError } from '../errors.js';
import { MULTI_REGION_KEY_ID_PATTERN, SINGLE_REGION_KEY_ID_PATTERN, keyArn, parseKmsArn, partitionOfRegion } from '../ids.js';
import { ConstraintChecker, readString, type RequestInput } from '../validation.js';
import type { KeyRecord } from './key-records.js';
import { checkKeyState, type KeyOperationName } from './key-states.js';
import type { KeyStore } from './store.js';

/**
 * A CloudTrail record a call causes in another Region (ReplicateKey's replica-side CreateKey,
 * UpdatePrimaryRegion's new-primary record). It keeps the caller's identity and `sourceIPAddress`
 * and adds `invokedBy`, as AWS's one published sample of such a record does (the new-primary
 * UpdatePrimaryRegion record [S23][fact sheet §10]).
 */
export interface SideRecord {
  eventName: string;
  region: string;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  resourceArns: string[];
  /** `userIdentity.invokedBy`: the service that made the record's call on the caller's behalf. */
  invokedBy: string;
  /** The record's `userAgent`: `AWS Internal`, as in the new-primary UpdatePrimaryRegion sample [S23]. */
  userAgent: string;
}

/** A service event an operation causes (see `buildServiceEvent` in `cloudtrail.ts`). */
export interface ServiceEventRecord {
  eventName: string;
  region: string;
  keyArn: string;
  serviceEventDetails: Record<string, string>;
}

/**
 * What an operation sees of one call. Operations read and write the store through it and leave
 * behind what CloudTrail needs (`resourceArns`, `sideRecords`) even when they throw.
 */
export interface OperationContext {
  /** The caller's Region, from the SigV4 credential scope. */
  readonly region: string;
  readonly account: string;
  readonly requestId: string;
  /** Epoch ms when the call arrived. */
  readonly at: number;
  readonly store: KeyStore;
  /** Delay (ms) of a new replica's `Creating` state. */
  readonly replicaDelayMs: number;
  /** How long (ms) UpdatePrimaryRegion keeps both keys `Updating`; default 0. */
  readonly primaryUpdateDelayMs?: number;
  /** Resource quota: keys per Region (primaries, replicas, single-Region keys); default 100,000. */
  readonly maxKeysPerRegion?: number;
  /** Regions that exist but are not enabled for the account. */
  readonly disabledRegions?: ReadonlySet<string>;
  /** ARNs of the keys the call resolved, in order (CloudTrail `resources`). */
  readonly resourceArns: string[];
  /** Records the call causes in other Regions, written only on success. */
  readonly sideRecords: SideRecord[];
  /**
   * Service events ("AWS Service Event via CloudTrail") the call makes KMS write, on success only:
   * e.g. the RotateKey records of a RotateKeyOnDemand [S26 ct-rotatekey].
   */
  readonly serviceEvents: ServiceEventRecord[];
  /** The bare key id the call resolved to (for the call log). */
  resolvedKeyId?: string;
}

/** What a successful operation returns. */
export interface OperationResult {
  /** The response body (PascalCase, `Date`s; the KMS service converts dates to epoch seconds). */
  output: Record<string, unknown>;
  /** CloudTrail `responseElements` before shaping; `null` where AWS logs null (e.g. TagResource). */
  responseElements: Record<string, unknown> | null;
}

/** One KMS operation, as the registry holds it: a function of the context and the parsed body. */
export interface OperationDefinition {
  /** Mutating operations are recorded in CloudTrail; reads (Describe/List/Get) are not [S8]. */
  readonly mutating: boolean;
  /**
   * The record's `requestParameters` (API-shaped, converted like the rest), when CloudTrail does not
   * log the request as sent: e.g. ImportKeyMaterial leaves out the import token and the wrapped
   * material [S23 ct-importkeymaterial]. Default: the request as sent.
   */
  readonly cloudTrailRequest?: (input: RequestInput) => Record<string, unknown> | null;
  /** Runs the operation. @throws KmsApiError for every modelled or unmodelled KMS error. */
  run(ctx: OperationContext, input: RequestInput): OperationResult;
}

/** A KMS operation that names no key (CreateKey, ListKeys). */
export interface OperationSpec<Request> {
  readonly mutating: boolean;
  /** See {@link OperationDefinition.cloudTrailRequest}. */
  readonly cloudTrailRequest?: (input: RequestInput) => Record<string, unknown> | null;
  /**
   * Reads the request's members: wrong JSON types throw `SerializationException` at once,
   * constraint violations go to `checker` and are answered together as one `ValidationException`.
   */
  readonly read: (input: RequestInput, checker: ConstraintChecker) => Request;
  readonly run: (ctx: OperationContext, request: Request) => OperationResult;
}

/** A KMS operation on the key its `KeyId` names. */
export interface KeyOperationSpec<Request> {
  /** Its row of the key-state table. */
  readonly name: KeyOperationName;
  readonly mutating: boolean;
  /** See {@link OperationDefinition.cloudTrailRequest}. */
  readonly cloudTrailRequest?: (input: RequestInput) => Record<string, unknown> | null;
  /** Reads the members besides `KeyId` (which is read first, as the model lists it); as {@link OperationSpec.read}. */
  readonly read?: (input: RequestInput, checker: ConstraintChecker) => Request;
  /**
   * Checks that KMS makes before the key-state rule, e.g. "is a multi-Region primary key"
   * (REC: replicating a replica answers UnsupportedOperationException whatever its state [S25]).
   */
  readonly before?: (ctx: OperationContext, key: KeyRecord, request: Request) => void;
  /** Acts on a key that the key-state table lets this operation act on. */
  readonly run: (ctx: OperationContext, key: KeyRecord, request: Request) => OperationResult;
}

/** `KeyId`: 1–2048 characters, required [S2]. */
const KEY_ID_RULE = { required: true, min: 1, max: 2048 } as const;

/**
 * Defines an operation that names no key: read and validate the request (one `ValidationException`
 * for every violation), then run.
 */
export function defineOperation<Request>(spec: OperationSpec<Request>): OperationDefinition {
  return {
    mutating: spec.mutating,
    ...(spec.cloudTrailRequest ? { cloudTrailRequest: spec.cloudTrailRequest } : {}),
    run(ctx, input) {
      const checker = new ConstraintChecker();
      const request = spec.read(input, checker);
      checker.throwIfAny();
      return spec.run(ctx, request);
    },
  };
}

/**
 * Defines an operation on one key. Every such operation opens the same way, here and only here:
 * read and validate `KeyId` and the other members → resolve the key in the caller's Region
 * ({@link resolveKey}) → `before` → the key-state table's rule for this operation in the key's
 * state (`DisabledException` / `KMSInvalidStateException`) → `run`.
 */
export function defineKeyOperation<Request = undefined>(spec: KeyOperationSpec<Request>): OperationDefinition {
  return defineOperation({
    mutating: spec.mutating,
    ...(spec.cloudTrailRequest ? { cloudTrailRequest: spec.cloudTrailRequest } : {}),
    read: (input, checker) => ({
      keyId: readString(input, 'KeyId', checker, KEY_ID_RULE) ?? '',
      request: (spec.read ? spec.read(input, checker) : undefined) as Request,
    }),
    run: (ctx, { keyId, request }) => {
      const key = resolveKey(ctx, keyId);
      spec.before?.(ctx, key, request);
      checkKeyState(spec.name, key);
      return spec.run(ctx, key, request);
    },
  });
}

/**
 * Resolves `KeyId` (bare id, `mrk-` id or key ARN) to a key in the caller's Region
 * [S2 DescribeKey KeyId][S7 test_get_key_in_different_region], and notes it on the context (call
 * log, CloudTrail `resources`):
 * - an ARN of another Region → `NotFoundException: Invalid arn <region>` (REC);
 * - an unknown id → `NotFoundException: Key '<arn>' does not exist` (REC);
 * - a string starting `arn:` that is not a KMS key/alias ARN, or whose partition does not match
 *   its Region → `InvalidArnException` (INF: the model lists InvalidArn for bad ARNs; no recording);
 * - a non-ARN that is neither a UUID nor an `mrk-` id → `NotFoundException: Invalid keyId '<value>'`,
 *   the id in single quotes as real KMS words it [fact sheet §10];
 * - an alias name or alias ARN → `NotFoundException` (aliases are not modelled by the emulator);
 * - a key ARN of another account → `NotFoundException` (INF: cross-account access is not modelled).
 */
export function resolveKey(ctx: OperationContext, keyIdInput: string): KeyRecord {
  let keyId = keyIdInput;
  if (keyIdInput.startsWith('arn:')) {
    const arn = parseKmsArn(keyIdInput);
    if (!arn || arn.partition !== partitionOfRegion(arn.region)) throw invalidArnError(keyIdInput);
    if (arn.region !== ctx.region) throw notFoundError(`Invalid arn ${arn.region}`);
    if (arn.resourceType === 'alias') throw notFoundError(`Alias ${keyIdInput} is not found.`);
    if (arn.account !== ctx.account) throw keyDoesNotExistError(keyIdInput);
    keyId = arn.resourceId;
  } else if (keyIdInput.startsWith('alias/')) {
    throw notFoundError(`Alias arn:${partitionOfRegion(ctx.region)}:kms:${ctx.region}:${ctx.account}:${keyIdInput} is not found.`);
  } else if (!MULTI_REGION_KEY_ID_PATTERN.test(keyId) && !SINGLE_REGION_KEY_ID_PATTERN.test(keyId)) {
    throw notFoundError(`Invalid keyId '${keyIdInput}'`);
  }
  const record = ctx.store.get(ctx.region, keyId);
  if (!record) throw keyDoesNotExistError(keyArn(ctx.region, ctx.account, keyId));
  ctx.resolvedKeyId = record.keyId;
  ctx.resourceArns.push(record.arn);
  return record;
}

// ---------------------------------------------------------------------------------------------
// Rules several operations share
// ---------------------------------------------------------------------------------------------

/** Customer managed keys per Region [S1 resource-limits.md][fact sheet §3]. */
export const DEFAULT_MAX_KEYS_PER_REGION = 100_000;
/**
 * `Policy`: 1–131,072 characters of `[\u0009\u000A\u000D\u0020-\u00FF]` [S2][fact sheet §1.1]. The
 * regular expression accepts `""` so that an empty policy reports its length only.
 */
export const POLICY_RULE = {
  min: 1,
  max: 131_072,
  pattern: /^[\u0009\u000A\u000D\u0020-\u00FF]*$/,
  patternText: '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+',
} as const;
/** `Description`: 0–8,192 characters [S2]. */
export const DESCRIPTION_RULE = { min: 0, max: 8192 } as const;
/** `Marker`: 1–320 characters of `[\u0020-\u00FF]` [S2]. */
export const MARKER_RULE = { min: 1, max: 320, pattern: /^[\u0020-\u00FF]*$/, patternText: '[\\u0020-\\u00FF]*' } as const;

/** Key policy size limit, not adjustable [S1 resource-limits.md][fact sheet §3][KMS guide key-policy-overview]. */
export const KEY_POLICY_MAX_BYTES = 32_768;

/**
 * The key policy rules of CreateKey, ReplicateKey and PutKeyPolicy alike.
 * @throws KmsApiError `MalformedPolicyDocumentException` unless `policy` is a JSON object;
 *   `LimitExceededException` beyond {@link KEY_POLICY_MAX_BYTES} UTF-8 bytes (INF: the wording).
 */
export function checkPolicy(policy: string | undefined): void {
  if (policy === undefined) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch {
    throw malformedPolicyError('The new key policy will not allow you to update the key policy in the future.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw malformedPolicyError('The key policy must be a JSON object.');
  }
  if (Buffer.byteLength(policy, 'utf8') > KEY_POLICY_MAX_BYTES) {
    throw limitExceededError(`The key policy exceeds the maximum size of ${KEY_POLICY_MAX_BYTES} bytes.`);
  }
}

/**
 * @throws KmsApiError `LimitExceededException` when `region` already holds the maximum number of
 * keys [S1 resource-limits.md: 100,000 customer managed keys per Region; primaries and replicas
 * each count]. INF: the message wording.
 */
export function checkKeyQuota(ctx: OperationContext, region: string): void {
  const max = ctx.maxKeysPerRegion ?? DEFAULT_MAX_KEYS_PER_REGION;
  if (ctx.store.count(region) >= max) {
    throw limitExceededError(`The request was rejected because the customer managed key quota of ${max} in ${region} was exceeded.`);
  }
}

/** A pagination marker: an opaque base64url string naming where the next page starts. */
export function encodeMarker(kind: string, scope: string, next: string): string {
  return Buffer.from(JSON.stringify([kind, scope, next]), 'utf8').toString('base64url');
}

/** The `next` of a marker {@link encodeMarker} made for `kind` and `scope`. @throws KmsApiError `InvalidMarkerException` otherwise. */
export function decodeMarker(marker: string, kind: string, scope: string): string {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8'));
  } catch {
    throw invalidMarkerError();
  }
  if (!Array.isArray(parts) || parts.length !== 3 || parts[0] !== kind || parts[1] !== scope || typeof parts[2] !== 'string') {
    throw invalidMarkerError();
  }
  return parts[2];
}
