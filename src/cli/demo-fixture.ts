/**
 * The fixture `npm start --fixture` starts from: a CloudTrail `CreateKey` event of a primary key,
 * as EventBridge delivers it (`events/create-key.json`). Checked before anything starts, so a bad
 * fixture is a usage error that names the file and every problem in it, not a failed delivery.
 *
 * Shapes: CloudTrail's lower camelCase `requestParameters` / `responseElements` [S1 ct-createkey];
 * multi-Region key ids begin with `mrk-` [S1 multi-region-keys-overview].
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod/mini';
import { isMultiRegionKeyId, isSingleRegionKeyId } from '../reconcile/key-ref.js';
import { REGION_CODE_PATTERN, lookupRegion, partitionOf } from '../reconcile/regions.js';
import { LOCAL_ACCOUNT_ID } from '../local/lambda-context.js';

/** The fixture's key, as `CreateKey` described it. */
export interface FixtureKey {
  readonly keyId: string;
  readonly region: string;
  readonly multiRegion: boolean;
  readonly description: string;
  readonly tags: Record<string, string>;
}

/** A fixture `npm start` cannot use; the message names the file and each problem. */
export class FixtureError extends Error {
  override readonly name = 'FixtureError';
  /**
   * @param path - the fixture as given.
   * @param problems - one line each, naming the field.
   */
  constructor(
    path: string,
    readonly problems: readonly string[],
  ) {
    super(`bad fixture ${path} (expected a CloudTrail CreateKey event of a primary key, like events/create-key.json):\n  - ${problems.join('\n  - ')}`);
  }
}

const ACCOUNT_ID = /^\d{12}$/;

const text = () => z.string({ error: 'missing or not a string' });

const fixtureSchema = z.object(
  {
    account: text(),
    detail: z.object(
      {
        eventName: z.literal('CreateKey', { error: (issue) => `eventName is ${quote(issue.input)}, not CreateKey` }),
        awsRegion: text(),
        errorCode: z.optional(z.never({ error: 'the call failed (errorCode is set): a failed CreateKey created no key' })),
        requestParameters: z.optional(
          z.object({
            tags: z.optional(
              z.array(
                z.object({ tagKey: text(), tagValue: text() }),
                { error: 'requestParameters.tags is not a list of { tagKey, tagValue }' },
              ),
            ),
          }),
        ),
        responseElements: z.object(
          {
            keyMetadata: z.object(
              {
                keyId: text(),
                arn: z.optional(text()),
                multiRegion: z.optional(z.boolean({ error: 'multiRegion is not true or false' })),
                description: z.optional(text()),
                multiRegionConfiguration: z.optional(z.object({ multiRegionKeyType: z.optional(z.string()) })),
              },
              { error: 'responseElements.keyMetadata is missing or not an object' },
            ),
          },
          { error: 'responseElements is missing or not an object (a successful CreateKey returns keyMetadata)' },
        ),
        resources: z.optional(z.array(z.looseObject({ ARN: z.optional(z.string()) }))),
      },
      { error: 'detail is missing or not an object' },
    ),
  },
  { error: 'not a JSON object' },
);

/**
 * Reads and checks a `CreateKey` fixture.
 *
 * Checks: valid JSON; `detail.eventName` is `CreateKey`, without `errorCode`; `detail.awsRegion`
 * is a Region where AWS KMS is available; `keyMetadata.keyId` is a multi-Region key id (`mrk-`
 * and 32 hex digits) when `multiRegion` is true, else a key id (UUID); the key is a primary
 * (a replica's `CreateKey` is caused by `ReplicateKey`); the event's `account` is the local
 * stack's (`LOCAL_ACCOUNT_ID`: the key-event rule sees its own account's events only); every key
 * ARN (`keyMetadata.arn`, `detail.resources[].ARN`) names that key, Region, account and partition.
 *
 * @param path - the fixture file (relative to the working directory).
 * @returns the event as read, and the key it describes.
 * @throws {FixtureError} naming the file and every problem found.
 */
export function readFixture(path: string): { event: Record<string, unknown>; key: FixtureKey } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(resolve(path), 'utf8'));
  } catch (error) {
    throw new FixtureError(path, [(error as Error).message]);
  }
  const parsed = fixtureSchema.safeParse(raw);
  if (!parsed.success) {
    throw new FixtureError(
      path,
      parsed.error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message)),
    );
  }
  const { account, detail } = parsed.data;
  const metadata = detail.responseElements.keyMetadata;
  const multiRegion = metadata.multiRegion === true;
  const problems: string[] = [];
  const region = detail.awsRegion;
  if (!REGION_CODE_PATTERN.test(region)) {
    problems.push(`detail.awsRegion: '${region}' is not a Region code (expected a code such as us-east-1)`);
  } else if (!lookupRegion(region)) {
    problems.push(`detail.awsRegion: '${region}' is not a Region where AWS KMS is available`);
  }
  if (!ACCOUNT_ID.test(account)) {
    problems.push(`account: '${account}' is not a 12-digit AWS account id`);
  } else if (account !== LOCAL_ACCOUNT_ID) {
    problems.push(
      `account: '${account}' is not the account of the local stack npm start plays, ${LOCAL_ACCOUNT_ID} ` +
        "(its EventBridge rule sees its own account's events only): use that account in the fixture",
    );
  }
  const keyIdPath = 'detail.responseElements.keyMetadata.keyId';
  if (multiRegion && !isMultiRegionKeyId(metadata.keyId)) {
    problems.push(`${keyIdPath}: '${metadata.keyId}' is not a multi-Region key id (mrk- and 32 hex digits), as multiRegion is true`);
  } else if (!multiRegion && !isSingleRegionKeyId(metadata.keyId)) {
    problems.push(
      isMultiRegionKeyId(metadata.keyId)
        ? `${keyIdPath}: '${metadata.keyId}' is a multi-Region key id, but multiRegion is not true`
        : `${keyIdPath}: '${metadata.keyId}' is not a key id (a UUID such as 1234abcd-12ab-34cd-56ef-1234567890ab)`,
    );
  }
  if (metadata.multiRegionConfiguration?.multiRegionKeyType === 'REPLICA') {
    problems.push(
      'detail.responseElements.keyMetadata.multiRegionConfiguration.multiRegionKeyType: REPLICA: this is the CreateKey of a replica key ' +
        '(made by ReplicateKey); start from the CreateKey of a primary key, e.g. events/create-key.json',
    );
  }
  if (problems.length === 0) {
    const expected = `arn:${partitionOf(region) ?? 'aws'}:kms:${region}:${account}:key/${metadata.keyId}`;
    const arns: Array<[string, string | undefined]> = [
      ['detail.responseElements.keyMetadata.arn', metadata.arn],
      ...(detail.resources ?? []).map((r, i): [string, string | undefined] => [`detail.resources.${i}.ARN`, r.ARN]),
    ];
    for (const [where, arn] of arns) {
      if (arn !== undefined && arn !== expected) problems.push(`${where}: '${arn}' is not the key the fixture creates (${expected})`);
    }
  }
  if (problems.length > 0) throw new FixtureError(path, problems);
  const tags = detail.requestParameters?.tags ?? [];
  return {
    event: raw as Record<string, unknown>,
    key: {
      keyId: metadata.keyId,
      region,
      multiRegion,
      description: metadata.description ?? '',
      tags: Object.fromEntries(tags.map((t) => [t.tagKey, t.tagValue])),
    },
  };
}

function quote(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value) ?? String(value);
}
