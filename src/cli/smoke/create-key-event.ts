/**
 * The CloudTrail-shaped `CreateKey` event a smoke run delivers to the key-event handler, built
 * from the real `CreateKey` response.
 */
import { randomUUID } from 'node:crypto';
import type { CallerIdentity } from '../../aws/caller-identity.js';
import type { CreatedKey } from '../../aws/kms-lifecycle.js';
import type { Tag } from '../../reconcile/types.js';

/**
 * The CloudTrail-shaped CreateKey event the run delivers to the handler, built from the real
 * `CreateKey` response (record fields as in [S1 ct-createkey.md][S14], envelope as in [S10]).
 * Marked as synthesized in `userAgent`; the real record is fetched with `--cloudtrail`.
 */
export function buildCreateKeyEvent(
  created: CreatedKey,
  caller: CallerIdentity,
  sent: { readonly description: string; readonly tags: readonly Tag[] },
  at: Date,
): Record<string, unknown> {
  const time = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.kms',
    account: caller.account,
    time,
    region: created.region,
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: userIdentityOf(caller),
      eventTime: time,
      eventSource: 'kms.amazonaws.com',
      eventName: 'CreateKey',
      awsRegion: created.region,
      sourceIPAddress: '192.0.2.1',
      userAgent: 'kms-replicas-smoke (event synthesized from the CreateKey response)',
      requestParameters: {
        description: sent.description,
        keyUsage: 'ENCRYPT_DECRYPT',
        keySpec: 'SYMMETRIC_DEFAULT',
        multiRegion: true,
        tags: sent.tags.map((t) => ({ tagKey: t.key, tagValue: t.value })),
      },
      responseElements: { keyMetadata: toCloudTrailShape(created.keyMetadata) },
      requestID: created.requestId ?? randomUUID(),
      eventID: randomUUID(),
      readOnly: false,
      resources: [{ accountId: caller.account, type: 'AWS::KMS::Key', ARN: created.arn }],
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: caller.account,
      eventCategory: 'Management',
    },
  };
}

/** CloudTrail's `userIdentity` for a caller, from its ARN [S14 userIdentity]. */
function userIdentityOf(caller: CallerIdentity): Record<string, unknown> {
  const base = { principalId: caller.userId, arn: caller.arn, accountId: caller.account, ...(caller.accessKeyId ? { accessKeyId: caller.accessKeyId } : {}) };
  const role = /^arn:([a-z-]+):sts::(\d{12}):assumed-role\/([^/]+)\//.exec(caller.arn);
  if (role) {
    return {
      type: 'AssumedRole',
      ...base,
      sessionContext: {
        sessionIssuer: { type: 'Role', principalId: caller.userId.split(':')[0], arn: `arn:${role[1]}:iam::${role[2]}:role/${role[3]}`, accountId: caller.account, userName: role[3] },
      },
    };
  }
  if (/:root$/.test(caller.arn)) return { type: 'Root', ...base };
  const user = /:user\/(?:.*\/)?([^/]+)$/.exec(caller.arn);
  if (user) return { type: 'IAMUser', ...base, userName: user[1] };
  return { type: 'FederatedUser', ...base };
}

/** SDK shape → CloudTrail shape: keys with a lower-case first letter, dates as CloudTrail prints them [fact sheet §5.1]. */
function toCloudTrailShape(value: unknown): unknown {
  if (value instanceof Date) return formatCloudTrailDate(value);
  if (Array.isArray(value)) return value.map(toCloudTrailShape);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), toCloudTrailShape(v)]),
    );
  }
  return value;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Nov 18, 2020, 1:29:18 AM` (UTC), as in KMS's CloudTrail payloads [S1 ct-replicate-key.md]. */
function formatCloudTrailDate(date: Date): string {
  const hours = date.getUTCHours();
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${date.getUTCFullYear()}, ${hours % 12 === 0 ? 12 : hours % 12}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${hours < 12 ? 'AM' : 'PM'}`;
}
