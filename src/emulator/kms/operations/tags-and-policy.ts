/**
 * A key's tags and its key policy: ListResourceTags, TagResource, UntagResource, GetKeyPolicy,
 * PutKeyPolicy. Which key states allow each is in `../key-states.ts`.
 */
import { invalidMarkerError, notFoundError, tagError } from '../../errors.js';
import {
  TAG_KEY_MAX,
  checkTagRules,
  isReservedTagKey,
  readBoolean,
  readInteger,
  readString,
  readStringList,
  readTags,
  type ConstraintChecker,
  type RequestInput,
} from '../../validation.js';
import { MARKER_RULE, POLICY_RULE, checkPolicy, decodeMarker, defineKeyOperation, encodeMarker } from '../operation.js';

/** `PolicyName`: 1–128 word characters [S2]. */
const POLICY_NAME_RULE = { min: 1, max: 128, pattern: /^[\w]+$/, patternText: '[\\w]+' } as const;

/** ListResourceTags [S2]: `Limit` 1–50 (default 50), `Marker`/`NextMarker`/`Truncated`. */
export const listResourceTags = defineKeyOperation({
  name: 'ListResourceTags',
  mutating: false,
  read: (input, checker) => ({
    limit: readInteger(input, 'Limit', checker, { min: 1, max: 50 }) ?? 50,
    marker: readString(input, 'Marker', checker, MARKER_RULE),
  }),
  run(ctx, key, { limit, marker }) {
    const tags = ctx.store.tagList(key);
    let start = 0;
    if (marker !== undefined) {
      const tagKey = decodeMarker(marker, 'tags', key.arn);
      start = tags.findIndex((tag) => tag.TagKey === tagKey);
      if (start < 0) throw invalidMarkerError();
    }
    const Tags = tags.slice(start, start + limit);
    const next = tags[start + limit];
    const output: Record<string, unknown> = { Tags, Truncated: next !== undefined };
    if (next !== undefined) output['NextMarker'] = encodeMarker('tags', key.arn, next.TagKey);
    return { output, responseElements: null };
  },
});

/**
 * TagResource [S2]: adds tags or replaces values of existing keys; `TagException` for `aws:` keys,
 * duplicates or more than 50 tags in total [S7].
 */
export const tagResource = defineKeyOperation({
  name: 'TagResource',
  mutating: true,
  read: (input, checker) => readTags(input, 'Tags', checker, true) ?? [],
  run(_ctx, key, tags) {
    checkTagRules(tags, new Set(key.tags.keys()));
    for (const tag of tags) key.tags.set(tag.TagKey, tag.TagValue);
    return { output: {}, responseElements: null };
  },
});

/**
 * UntagResource [S2]: removes tag keys; a key that is not there is ignored. INF: an `aws:` key
 * answers `TagException`, as for TagResource.
 */
export const untagResource = defineKeyOperation({
  name: 'UntagResource',
  mutating: true,
  read: (input, checker) => readStringList(input, 'TagKeys', checker, { required: true, min: 1, max: TAG_KEY_MAX }) ?? [],
  run(_ctx, key, tagKeys) {
    if (tagKeys.some(isReservedTagKey)) throw tagError('Tags beginning with aws: are reserved');
    for (const tagKey of tagKeys) key.tags.delete(tagKey);
    return { output: {}, responseElements: null };
  },
});

function readPolicyName(input: RequestInput, checker: ConstraintChecker): string | undefined {
  return readString(input, 'PolicyName', checker, POLICY_NAME_RULE);
}

/** @throws KmsApiError `NotFoundException` for a `PolicyName` other than `default` (INF). */
function checkPolicyName(policyName: string | undefined): void {
  if (policyName !== undefined && policyName !== 'default') throw notFoundError('No such policy exists');
}

/**
 * GetKeyPolicy [S2]: the key's policy; `PolicyName` may be omitted and otherwise must be
 * `default` (INF: any other name → `NotFoundException`).
 */
export const getKeyPolicy = defineKeyOperation({
  name: 'GetKeyPolicy',
  mutating: false,
  read: readPolicyName,
  run(_ctx, key, policyName) {
    checkPolicyName(policyName);
    return { output: { Policy: key.policy, PolicyName: 'default' }, responseElements: null };
  },
});

/**
 * PutKeyPolicy [S2 PutKeyPolicy][S1 ct-put-key-policy.md]: replaces the key's policy. `PolicyName`
 * may be omitted and otherwise must be `default` (INF: another name → `NotFoundException`, as for
 * GetKeyPolicy); `Policy` must be a JSON object (`MalformedPolicyDocumentException`; the lockout
 * check is not modelled, so `BypassPolicyLockoutSafetyCheck` is read and ignored) of at most 32 KB
 * (`LimitExceededException`, INF wording; see `checkPolicy`). CloudTrail: `requestParameters` as sent,
 * `responseElements: null`, `resources` [the key].
 */
export const putKeyPolicy = defineKeyOperation({
  name: 'PutKeyPolicy',
  mutating: true,
  read: (input, checker) => ({
    policyName: readPolicyName(input, checker),
    policy: readString(input, 'Policy', checker, { ...POLICY_RULE, required: true }) ?? '',
    bypassLockoutCheck: readBoolean(input, 'BypassPolicyLockoutSafetyCheck'),
  }),
  run(_ctx, key, { policyName, policy }) {
    checkPolicyName(policyName);
    checkPolicy(policy);
    key.policy = policy;
    return { output: {}, responseElements: null };
  },
});
