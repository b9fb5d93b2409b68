import { serializationError, tagError, validationError } from './errors.js';
import type { TagView } from './types.js';

/**
 * Request validation in the style of the KMS API model [S2]: wrong JSON types fail at once with
 * `SerializationException`; constraint violations (length, range, pattern, required) are
 * collected and reported together as one `ValidationException`, worded as AWS words them:
 * `1 validation error detected: Value 'x' at 'replicaRegion' failed to satisfy constraint: …` [S7 REC].
 */
export class ConstraintChecker {
  private readonly violations: string[] = [];

  /** Records one violation at `path` (the lower-camel member path, e.g. `tags.1.member.tagKey`). */
  violation(path: string, value: unknown, constraint: string): void {
    const shown = value === undefined || value === null ? 'null' : `'${String(value)}'`;
    this.violations.push(`Value ${shown} at '${path}' failed to satisfy constraint: ${constraint}`);
  }

  /** @throws KmsApiError `ValidationException` when any violation was recorded. */
  throwIfAny(): void {
    if (this.violations.length > 0) throw validationError(this.violations);
  }
}

/**
 * Whether JSON `text` nests objects and arrays more than `max` levels deep (the outermost value is
 * level 1). Counts brackets outside strings in one pass, without parsing, so a hostile body is
 * refused before any structure is built. On text that is not JSON the answer is meaningless (the
 * parser refuses it anyway).
 */
export function exceedsNestingDepth(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth -= 1;
    }
  }
  return false;
}

/** A request body after JSON parsing: a JSON object. */
export type RequestInput = Readonly<Record<string, unknown>>;

/** Constraints of a string member. `min`/`max` count UTF-16 code units, as the model does. */
export interface StringRule {
  required?: boolean;
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** The pattern as AWS prints it in the message; defaults to `pattern.source`. */
  patternText?: string;
  oneOf?: readonly string[];
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/**
 * Reads a string member. @throws KmsApiError `SerializationException` on a non-string value.
 */
export function readString(
  input: RequestInput,
  member: string,
  checker: ConstraintChecker,
  rule: StringRule = {},
): string | undefined {
  const value = input[member];
  const path = lowerFirst(member);
  if (value === undefined || value === null) {
    if (rule.required) checker.violation(path, undefined, 'Member must not be null');
    return undefined;
  }
  if (typeof value !== 'string') throw serializationError(`Expected ${member} to be a string`);
  checkString(value, path, checker, rule);
  return value;
}

function checkString(value: string, path: string, checker: ConstraintChecker, rule: StringRule): void {
  if (rule.min !== undefined && value.length < rule.min) {
    checker.violation(path, value, `Member must have length greater than or equal to ${rule.min}`);
  }
  if (rule.max !== undefined && value.length > rule.max) {
    checker.violation(path, value, `Member must have length less than or equal to ${rule.max}`);
  }
  if (rule.pattern && !rule.pattern.test(value)) {
    checker.violation(
      path,
      value,
      `Member must satisfy regular expression pattern: ${rule.patternText ?? rule.pattern.source}`,
    );
  }
  if (rule.oneOf && !rule.oneOf.includes(value)) {
    checker.violation(path, value, `Member must satisfy enum value set: [${rule.oneOf.join(', ')}]`);
  }
}

/** Reads an integer member within `[min, max]`. @throws KmsApiError `SerializationException`. */
export function readInteger(
  input: RequestInput,
  member: string,
  checker: ConstraintChecker,
  rule: { min?: number; max?: number } = {},
): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw serializationError(`Expected ${member} to be an integer`);
  }
  const path = lowerFirst(member);
  if (rule.min !== undefined && value < rule.min) {
    checker.violation(path, value, `Member must have value greater than or equal to ${rule.min}`);
  }
  if (rule.max !== undefined && value > rule.max) {
    checker.violation(path, value, `Member must have value less than or equal to ${rule.max}`);
  }
  return value;
}

/** Reads a boolean member. @throws KmsApiError `SerializationException`. */
export function readBoolean(input: RequestInput, member: string): boolean | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw serializationError(`Expected ${member} to be a boolean`);
  return value;
}

/** Tag key and value length limits of the model: key 1–128, value 0–256 [S2 Tag]. */
export const TAG_KEY_MAX = 128;
/** See {@link TAG_KEY_MAX}. */
export const TAG_VALUE_MAX = 256;
/** Maximum user tags on one KMS key [S1 tags-about.md]. */
export const MAX_TAGS_PER_KEY = 50;

/**
 * Reads a `Tags` list (`[{TagKey, TagValue}]`), checking model lengths into `checker`
 * (`ValidationException`, path `tags.N.member.tagKey|tagValue`, N from 1) [S7 REC].
 * @throws KmsApiError `SerializationException` on wrong JSON types.
 */
export function readTags(
  input: RequestInput,
  member: string,
  checker: ConstraintChecker,
  required = false,
): TagView[] | undefined {
  const value = input[member];
  const path = lowerFirst(member);
  if (value === undefined || value === null) {
    if (required) checker.violation(path, undefined, 'Member must not be null');
    return undefined;
  }
  if (!Array.isArray(value)) throw serializationError(`Expected ${member} to be a list`);
  return value.map((entry: unknown, index): TagView => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw serializationError(`Expected ${member}[${index}] to be a structure`);
    }
    const tag = entry as RequestInput;
    const base = `${path}.${index + 1}.member`;
    const key = tag['TagKey'];
    const tagValue = tag['TagValue'];
    if (key !== undefined && key !== null && typeof key !== 'string') {
      throw serializationError(`Expected TagKey to be a string`);
    }
    if (tagValue !== undefined && tagValue !== null && typeof tagValue !== 'string') {
      throw serializationError(`Expected TagValue to be a string`);
    }
    if (typeof key !== 'string') checker.violation(`${base}.tagKey`, undefined, 'Member must not be null');
    else checkString(key, `${base}.tagKey`, checker, { min: 1, max: TAG_KEY_MAX });
    if (typeof tagValue !== 'string') checker.violation(`${base}.tagValue`, undefined, 'Member must not be null');
    else checkString(tagValue, `${base}.tagValue`, checker, { max: TAG_VALUE_MAX });
    return { TagKey: typeof key === 'string' ? key : '', TagValue: typeof tagValue === 'string' ? tagValue : '' };
  });
}

/**
 * Reads a list of strings (e.g. `UntagResource.TagKeys`), each within `[min, max]` length.
 * @throws KmsApiError `SerializationException` on wrong JSON types.
 */
export function readStringList(
  input: RequestInput,
  member: string,
  checker: ConstraintChecker,
  rule: { required?: boolean; min?: number; max?: number } = {},
): string[] | undefined {
  const value = input[member];
  const path = lowerFirst(member);
  if (value === undefined || value === null) {
    if (rule.required) checker.violation(path, undefined, 'Member must not be null');
    return undefined;
  }
  if (!Array.isArray(value)) throw serializationError(`Expected ${member} to be a list`);
  return value.map((entry: unknown, index): string => {
    if (typeof entry !== 'string') throw serializationError(`Expected ${member}[${index}] to be a string`);
    const itemRule: StringRule = {};
    if (rule.min !== undefined) itemRule.min = rule.min;
    if (rule.max !== undefined) itemRule.max = rule.max;
    checkString(entry, `${path}.${index + 1}.member`, checker, itemRule);
    return entry;
  });
}

/** True when a tag key uses the reserved `aws:` prefix, in any case [S7 REC]. */
export function isReservedTagKey(key: string): boolean {
  return key.toLowerCase().startsWith('aws:');
}

/**
 * The semantic tag rules KMS checks after the model's: reserved `aws:` prefix (any case),
 * duplicate keys within one request, and more than 50 tags [S7 REC][fact sheet §4].
 * `existingCount` is the number of tags the key keeps that the request does not overwrite.
 * @throws KmsApiError `TagException`.
 */
export function checkTagRules(tags: readonly TagView[], existingKeys: ReadonlySet<string> = new Set()): void {
  if (tags.some((tag) => isReservedTagKey(tag.TagKey))) {
    throw tagError('Tags beginning with aws: are reserved');
  }
  const keys = new Set<string>();
  for (const tag of tags) {
    if (keys.has(tag.TagKey)) throw tagError('Duplicate tag keys');
    keys.add(tag.TagKey);
  }
  let total = existingKeys.size;
  for (const key of keys) if (!existingKeys.has(key)) total += 1;
  if (total > MAX_TAGS_PER_KEY) throw tagError('Too many tags');
}

/**
 * Reads a blob member: a base64 string on the JSON 1.1 wire [S2 protocol json], decoded, its byte
 * length checked into `checker` (`min`/`max` count bytes, as the model does).
 * @throws KmsApiError `SerializationException` on a non-string or non-base64 value.
 */
export function readBlob(
  input: RequestInput,
  member: string,
  checker: ConstraintChecker,
  rule: { required?: boolean; min?: number; max?: number } = {},
): Buffer | undefined {
  const value = input[member];
  const path = lowerFirst(member);
  if (value === undefined || value === null) {
    if (rule.required) checker.violation(path, undefined, 'Member must not be null');
    return undefined;
  }
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw serializationError(`Expected ${member} to be a base64-encoded blob`);
  }
  const bytes = Buffer.from(value, 'base64');
  // The message shows the length, not the (often secret) bytes.
  if (rule.min !== undefined && bytes.length < rule.min) {
    checker.violation(path, `(${bytes.length} bytes)`, `Member must have length greater than or equal to ${rule.min}`);
  }
  if (rule.max !== undefined && bytes.length > rule.max) {
    checker.violation(path, `(${bytes.length} bytes)`, `Member must have length less than or equal to ${rule.max}`);
  }
  return bytes;
}

/**
 * Reads a timestamp member: epoch seconds (a JSON number) on the JSON 1.1 wire [S2 timestampFormat].
 * @returns epoch ms.
 * @throws KmsApiError `SerializationException` on anything but a finite number.
 */
export function readTimestamp(input: RequestInput, member: string): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw serializationError(`Expected ${member} to be a timestamp (epoch seconds)`);
  return Math.round(value * 1000);
}
