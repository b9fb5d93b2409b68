/**
 * The edge where an EventBridge "AWS API Call via CloudTrail" event from KMS becomes a
 * reconcile request, a skip with a reason, or a clear complaint. Nothing in the event is
 * trusted as current state (design §2): only which key, in which Region, and why.
 *
 * Shapes: `kms-facts.md` §5 ([S1 ct-*.md], [S9], [S10 eb-events.md], [S14]).
 */
import * as z from 'zod/mini';
import { parseKeyRef } from './key-ref.js';
import { REGION_CODE_PATTERN } from './regions.js';
import type { ReconcileRequest } from './types.js';

/**
 * The CloudTrail `eventName`s that can change what a key family should look like (design §3).
 * The EventBridge rule in `serverless.yml` lists the same names. `ImportKeyMaterial`: an EXTERNAL
 * primary leaves `PendingImport` when its material arrives [S2 ImportKeyMaterial], so it is
 * replicated then, not at the next sweep; in a replica it changes what the outcome reports of the
 * family's key material.
 */
export const TRIGGER_EVENT_NAMES = [
  'CreateKey',
  'ReplicateKey',
  'TagResource',
  'UntagResource',
  'UpdatePrimaryRegion',
  'ScheduleKeyDeletion',
  'CancelKeyDeletion',
  'EnableKey',
  'ImportKeyMaterial',
] as const;

/** One of `TRIGGER_EVENT_NAMES`. */
export type TriggerEventName = (typeof TRIGGER_EVENT_NAMES)[number];

/** The EventBridge `source` and `detail-type` of KMS API calls recorded by CloudTrail [S9]. */
export const KMS_SOURCE = 'aws.kms';
export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
/** The CloudTrail `eventSource` of KMS calls (fact sheet §5.1, [S14 record-contents]). */
export const KMS_EVENT_SOURCE = 'kms.amazonaws.com';

/** The outcome of reading one event. */
export type TriggerParse =
  | { readonly kind: 'request'; readonly request: ReconcileRequest }
  /** A well-formed event that asks for nothing (failed call, other event, our own echo). */
  | { readonly kind: 'skip'; readonly reason: string; readonly eventId?: string }
  /** An event that cannot be read; `problem` names what is wrong. */
  | { readonly kind: 'invalid'; readonly problem: string; readonly eventId?: string };

/** What the reader needs besides the event. */
export interface TriggerContext {
  /** `RECONCILER_PRINCIPAL_ARN`: events made by this principal are skipped as our own echoes. */
  readonly reconcilerPrincipalArn?: string;
  /**
   * `ACCOUNT_ID`: the account the reconciler works for. When set, an event delivered in another
   * account (`account`, `detail.recipientAccountId`) or naming another account's key ARN is
   * skipped. Unset: nothing is skipped by account.
   */
  readonly accountId?: string;
}

const optionalObject = z.nullish(z.record(z.string(), z.unknown()));

const envelopeSchema = z.object({
  id: z.optional(z.string()),
  account: z.optional(z.unknown()),
  'detail-type': z.string({ error: "the field 'detail-type' is missing or not a string" }),
  source: z.string({ error: "the field 'source' is missing or not a string" }),
  region: z.optional(z.string()),
  detail: z.record(z.string(), z.unknown(), { error: "the field 'detail' is missing or not an object" }),
}, { error: (issue) => `expected a JSON object, got ${describeValue(issue.input)}` });

const detailSchema = z.object({
  eventName: z.string({ error: 'detail.eventName is missing or not a string' }),
  eventID: z.optional(z.string()),
  eventTime: z.optional(z.string()),
  awsRegion: z.string({ error: 'detail.awsRegion is missing or not a string' }),
  errorCode: z.optional(z.string()),
  userIdentity: optionalObject,
  requestParameters: optionalObject,
  responseElements: optionalObject,
  resources: z.nullish(z.array(z.looseObject({ ARN: z.optional(z.string()), type: z.optional(z.string()) }))),
});

/**
 * Reads an EventBridge event.
 *
 * Skips: another `source` or `detail-type`, a `detail.eventSource` other than
 * `kms.amazonaws.com`, a failed call (`detail.errorCode`, [S14]), an `eventName` outside
 * `TRIGGER_EVENT_NAMES`, an event made by the reconciler's own principal, and, when
 * `context.accountId` is set, an event of another account: its `account` (the account whose
 * default bus received it [S10 eb-events.md]) or `detail.recipientAccountId` (the account whose
 * trail recorded it [S14 record-contents]) differs, or the key ARN it names is another account's.
 * Who made the call (`detail.userIdentity.accountId`) is not checked: the key's account decides.
 * A cross-account call is recorded in both the caller's and the key owner's account
 * (KMS developer guide, `logging-using-cloudtrail`), so the caller's copy names the other
 * account's key and is skipped by its ARN; and none of the trigger operations accepts a key of
 * another account anyway ("Cross-account use: No" in the KMS API reference of each) [S2].
 *
 * The key is taken from `detail.resources[].ARN`, `responseElements.keyMetadata.arn`,
 * `responseElements.keyId` or `requestParameters.keyId`, in that order, since the top-level
 * `resources` is empty for CloudTrail events and `detail.resources` can be absent (the new-primary
 * record of `UpdatePrimaryRegion`) [S1][S10]. The Region is the ARN's, else `detail.awsRegion`.
 *
 * @param event - anything (the raw Lambda input).
 * @param context - the reconciler's own principal (echo suppression) and account.
 * @returns a request, a skip or an invalid verdict. Never throws.
 */
export function parseTrigger(event: unknown, context: TriggerContext = {}): TriggerParse {
  const envelope = envelopeSchema.safeParse(event);
  if (!envelope.success) return { kind: 'invalid', problem: `not an EventBridge event: ${firstIssue(envelope.error)}` };
  const { source, detail: rawDetail } = envelope.data;
  const detailType = envelope.data['detail-type'];
  if (source !== KMS_SOURCE) return { kind: 'skip', reason: `source '${truncate(source)}' is not ${KMS_SOURCE}` };
  if (detailType !== CLOUDTRAIL_DETAIL_TYPE) {
    return { kind: 'skip', reason: `detail-type '${truncate(detailType)}' is not a CloudTrail API call` };
  }

  const eventIdGuess = (typeof rawDetail.eventID === 'string' ? rawDetail.eventID : envelope.data.id)?.slice(0, 256);
  const withId = eventIdGuess ? { eventId: eventIdGuess } : {};
  // Before the record is validated: another service's or another account's event is not ours to
  // reject (EventsRejected alarms), however it is shaped.
  if (rawDetail.eventSource !== KMS_EVENT_SOURCE) {
    return { kind: 'skip', reason: `detail.eventSource ${shown(rawDetail.eventSource)} is not ${KMS_EVENT_SOURCE}`, ...withId };
  }
  const { accountId } = context;
  if (accountId !== undefined) {
    if (envelope.data.account !== accountId) {
      return { kind: 'skip', reason: `account ${shown(envelope.data.account)} is not this reconciler's account (${accountId})`, ...withId };
    }
    const recipient = rawDetail.recipientAccountId;
    if (recipient !== undefined && recipient !== accountId) {
      return { kind: 'skip', reason: `detail.recipientAccountId ${shown(recipient)} is not this reconciler's account (${accountId})`, ...withId };
    }
  }

  const parsed = detailSchema.safeParse(rawDetail);
  if (!parsed.success) return { kind: 'invalid', problem: `malformed CloudTrail record: ${firstIssue(parsed.error)}`, ...withId };
  const detail = parsed.data;

  if (detail.errorCode !== undefined) {
    return {
      kind: 'skip',
      reason: `${truncate(detail.eventName)} failed with ${truncate(detail.errorCode)}; failed calls change nothing`,
      ...withId,
    };
  }
  if (!(TRIGGER_EVENT_NAMES as readonly string[]).includes(detail.eventName)) {
    return { kind: 'skip', reason: `${truncate(detail.eventName)} is not a trigger event`, ...withId };
  }
  if (context.reconcilerPrincipalArn && madeBy(detail.userIdentity, context.reconcilerPrincipalArn)) {
    return { kind: 'skip', reason: `${detail.eventName} was made by the reconciler itself`, ...withId };
  }
  if (!REGION_CODE_PATTERN.test(detail.awsRegion)) {
    return { kind: 'invalid', problem: `detail.awsRegion '${truncate(detail.awsRegion)}' is not a Region code`, ...withId };
  }

  const keyRef = findKeyReference(detail);
  if (keyRef === undefined) {
    return { kind: 'invalid', problem: `${detail.eventName} record names no KMS key (no resources ARN, keyMetadata or keyId)`, ...withId };
  }
  const ref = parseKeyRef(keyRef);
  if (!ref) {
    return { kind: 'invalid', problem: `key reference '${truncate(keyRef)}' is neither a key ARN nor a key id`, ...withId };
  }
  const { arn } = ref;
  if (arn && accountId !== undefined && arn.account !== accountId) {
    return { kind: 'skip', reason: `${detail.eventName} names a key of account ${arn.account}, not of this reconciler's account (${accountId})`, ...withId };
  }
  const region = arn?.region ?? detail.awsRegion;
  if (!REGION_CODE_PATTERN.test(region)) {
    return { kind: 'invalid', problem: `key ARN '${truncate(keyRef)}' names no valid Region`, ...withId };
  }

  const eventTime = detail.eventTime ? new Date(detail.eventTime) : undefined;
  // A successful ReplicateKey names a primary key [S2]; a CreateKey says what it created.
  const keyTypeHint = detail.eventName === 'ReplicateKey' ? 'PRIMARY' : keyTypeOf(detail.responseElements);
  return {
    kind: 'request',
    request: {
      keyId: keyRef,
      region,
      eventName: detail.eventName,
      eventId: (detail.eventID ?? envelope.data.id ?? 'unknown').slice(0, 256),
      ...(eventTime && !Number.isNaN(eventTime.getTime()) ? { eventTime } : {}),
      ...(keyTypeHint ? { keyTypeHint } : {}),
    },
  };
}

function findKeyReference(detail: z.infer<typeof detailSchema>): string | undefined {
  const fromResources = detail.resources?.find((r) => r.type === 'AWS::KMS::Key' && typeof r.ARN === 'string')?.ARN;
  const response = detail.responseElements ?? {};
  const keyMetadata = response.keyMetadata as { arn?: unknown; keyId?: unknown } | undefined;
  const candidates: unknown[] = [
    fromResources,
    keyMetadata?.arn,
    response.keyId,
    detail.requestParameters?.keyId,
    keyMetadata?.keyId,
  ];
  return candidates.find((c): c is string => typeof c === 'string' && c.trim() !== '')?.trim();
}

function keyTypeOf(response: Record<string, unknown> | null | undefined): 'PRIMARY' | 'REPLICA' | undefined {
  const keyMetadata = response?.keyMetadata as { multiRegionConfiguration?: { multiRegionKeyType?: unknown } } | undefined;
  const type = keyMetadata?.multiRegionConfiguration?.multiRegionKeyType;
  return type === 'PRIMARY' || type === 'REPLICA' ? type : undefined;
}

/**
 * Whether `userIdentity` is the given principal: the same ARN, a session of that role
 * (`sessionContext.sessionIssuer.arn`), or its STS form `arn:<p>:sts::<acct>:assumed-role/<name>/<session>`
 * for a role ARN `arn:<p>:iam::<acct>:role/<path/><name>` [S14 userIdentity].
 */
function madeBy(identity: Record<string, unknown> | null | undefined, principalArn: string): boolean {
  if (!identity) return false;
  if (identity.arn === principalArn) return true;
  const issuer = (identity.sessionContext as { sessionIssuer?: { arn?: unknown } } | undefined)?.sessionIssuer;
  if (issuer?.arn === principalArn) return true;
  const role = /^arn:([a-z-]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(principalArn);
  if (!role || typeof identity.arn !== 'string') return false;
  const [, partition, account, name] = role;
  return identity.arn.startsWith(`arn:${partition}:sts::${account}:assumed-role/${name}/`);
}

/** A field's value for a skip reason: a string quoted (and truncated), anything else described. */
function shown(value: unknown): string {
  if (value === undefined) return '(missing)';
  return typeof value === 'string' ? `'${truncate(value)}'` : `(${describeValue(value)})`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `a string (${JSON.stringify(truncate(value))})` : typeof value;
}

function firstIssue(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'unknown problem';
  const path = issue.path.length > 0 ? ` (at ${issue.path.join('.')})` : '';
  return `${issue.message}${path}`;
}

function truncate(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * Whatever can be read of an event's identity, for reporting an event that could not be
 * processed: `detail.eventID` (else the envelope `id`), `detail.eventName`, `detail.awsRegion`.
 *
 * @param event - anything.
 * @returns the fields that are strings; never throws.
 */
export function describeTrigger(event: unknown): { eventId?: string; eventName?: string; region?: string } {
  const envelope = (event !== null && typeof event === 'object' ? event : {}) as { id?: unknown; detail?: unknown };
  const detail = (envelope.detail !== null && typeof envelope.detail === 'object' ? envelope.detail : {}) as Record<string, unknown>;
  const pick = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value.slice(0, 256) : undefined);
  const eventId = pick(detail.eventID) ?? pick(envelope.id);
  const eventName = pick(detail.eventName);
  const region = pick(detail.awsRegion);
  return { ...(eventId ? { eventId } : {}), ...(eventName ? { eventName } : {}), ...(region ? { region } : {}) };
}
