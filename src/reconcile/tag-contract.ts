/**
 * The tag contract (design §1): the value of the Region tag on a primary key, turned into the
 * set of Regions where replicas must exist plus a report of every token that cannot be used.
 */
import { REGION_CODE_PATTERN, lookupRegion, partitionOf } from './regions.js';

/** Separators accepted between Region codes: whitespace and `+ / : , ;` (design §1). */
const SEPARATORS = /[\s+/:,;]+/;

/** Why a tag token is not a usable Region. */
export interface RejectedToken {
  /** The token as the user typed it (trimmed). */
  readonly token: string;
  readonly status: 'invalid-region' | 'region-not-allowed';
  readonly message: string;
}

/** The desired Regions read from one tag value. */
export interface DesiredRegions {
  /** Regions that must hold a replica: lower case, unique, sorted, primary's Region removed. */
  readonly regions: readonly string[];
  /** Tokens that were not used, in the order typed (duplicates folded). */
  readonly rejected: readonly RejectedToken[];
  /** True when the value is empty or `none`: the owner wants no replicas. */
  readonly optOut: boolean;
}

/** What the parser needs to know about the key and the deployment. */
export interface TagContractContext {
  /** The primary key's Region; it is dropped from the list without complaint. */
  readonly primaryRegion: string;
  /**
   * `ALLOWED_REGIONS`, or `undefined` for "any Region of the primary's partition". A code
   * listed here that matches the KMS Region pattern is accepted even if the built-in table does
   * not know it yet (a newly launched Region).
   */
  readonly allowedRegions?: ReadonlySet<string>;
}

/**
 * Parses the value of the Region tag.
 *
 * Rules (design §1): tokens are separated by whitespace or `+ / : , ;`, trimmed, lower-cased
 * and de-duplicated; an empty value or the single word `none` opts out; the primary's own
 * Region is ignored; a token that is not a Region code of the primary's partition is
 * `invalid-region`; a Region outside `allowedRegions` is `region-not-allowed`. Replicas must
 * be in the primary's partition (API_ReplicateKey [S2]).
 *
 * @param value - the raw tag value (0–256 characters per the KMS model [S2]).
 * @param context - the primary's Region and the allow-list.
 * @returns desired Regions, rejected tokens and the opt-out flag. Never throws.
 */
export function parseReplicaRegionsTag(value: string, context: TagContractContext): DesiredRegions {
  const tokens = uniqueTokens(value);
  if (tokens.length === 0 || (tokens.length === 1 && tokens[0] === 'none')) {
    return { regions: [], rejected: [], optOut: true };
  }
  const primaryPartition = partitionOf(context.primaryRegion);
  const regions = new Set<string>();
  const rejected: RejectedToken[] = [];
  for (const token of tokens) {
    if (token === context.primaryRegion) continue;
    const problem = checkToken(token, primaryPartition, context);
    if (problem) rejected.push(problem);
    else regions.add(token);
  }
  return { regions: [...regions].sort(), rejected, optOut: false };
}

function uniqueTokens(value: string): string[] {
  const seen = new Set<string>();
  for (const raw of value.split(SEPARATORS)) {
    const token = raw.trim().toLowerCase();
    if (token !== '') seen.add(token);
  }
  return [...seen];
}

function checkToken(
  token: string,
  primaryPartition: string | undefined,
  context: TagContractContext,
): RejectedToken | undefined {
  const allowed = context.allowedRegions;
  const listedAsAllowed = allowed?.has(token) === true && REGION_CODE_PATTERN.test(token);
  if (!listedAsAllowed) {
    if (!REGION_CODE_PATTERN.test(token)) {
      return { token, status: 'invalid-region', message: `'${token}' is not a Region code (expected a code such as us-west-2)` };
    }
    if (!lookupRegion(token)) {
      return { token, status: 'invalid-region', message: `'${token}' is not a Region where AWS KMS is available` };
    }
  }
  const partition = partitionOf(token);
  if (primaryPartition !== undefined && partition !== undefined && partition !== primaryPartition) {
    return {
      token,
      status: 'invalid-region',
      message: `'${token}' is in partition ${partition}; replicas must be in the primary key's partition ${primaryPartition}`,
    };
  }
  if (allowed && !allowed.has(token)) {
    return { token, status: 'region-not-allowed', message: `'${token}' is not in ALLOWED_REGIONS` };
  }
  return undefined;
}
