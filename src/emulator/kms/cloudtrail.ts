import { formatEventTime } from '../clock.js';
import { newRequestId } from '../ids.js';
import {
  EMULATED_EVENT_VERSION,
  type CloudTrailApiCallEvent,
  type CloudTrailRecord,
  type CloudTrailServiceEvent,
  type CloudTrailTlsDetails,
  type CloudTrailUserIdentity,
} from '../types.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/**
 * Formats epoch ms as CloudTrail prints dates inside KMS payloads, in UTC:
 * `Nov 18, 2020, 1:29:18 AM` [S1 ct-replicate-key.md][fact sheet §5.1].
 */
export function formatCloudTrailDate(epochMs: number): string {
  const date = new Date(epochMs);
  const hours = date.getUTCHours();
  const hour12 = hours % 12 === 0 ? 12 : hours % 12;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${date.getUTCFullYear()}, ` +
    `${hour12}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${hours < 12 ? 'AM' : 'PM'}`
  );
}

/**
 * Converts an API-shaped value (PascalCase keys, `Date`s) to CloudTrail's shape: keys with a
 * lower-cased first letter (so `AWSAccountId` becomes `aWSAccountId`, as in AWS's own records)
 * and dates as display strings [fact sheet §5.1].
 */
export function toCloudTrailShape(value: unknown): unknown {
  if (value instanceof Date) return formatCloudTrailDate(value.getTime());
  if (Array.isArray(value)) return value.map(toCloudTrailShape);
  if (typeof value === 'object' && value !== null) {
    const shaped: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      if (member === undefined) continue;
      // defineProperty, not assignment: a member named `__proto__` (a caller may send one) stays data.
      Object.defineProperty(shaped, key.charAt(0).toLowerCase() + key.slice(1), {
        value: toCloudTrailShape(member),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return shaped;
  }
  return value;
}

/** Inputs of one CloudTrail record for a KMS API call. */
export interface ApiCallRecordInput {
  eventName: string;
  /** The Region where the call is recorded (`awsRegion`, envelope `region`). */
  region: string;
  account: string;
  userIdentity: CloudTrailUserIdentity;
  sourceIPAddress: string;
  userAgent: string;
  requestId: string;
  /** Epoch ms of the call. */
  at: number;
  /** API-shaped (PascalCase); converted with {@link toCloudTrailShape}. `null` when absent. */
  requestParameters: Record<string, unknown> | null;
  /** API-shaped (PascalCase); converted with {@link toCloudTrailShape}. `null` when absent. */
  responseElements: Record<string, unknown> | null;
  /** Key ARNs the call acted on; an empty list omits `resources`. */
  resourceArns: readonly string[];
  error?: { code: string; message: string };
  /** The client called KMS itself (over TLS): the record gets `tlsDetails` (see {@link tlsDetailsOf}). */
  clientCall?: boolean;
  /** The caller signed in to the console: `sessionCredentialFromConsole: "true"` [S24]. */
  fromConsole?: boolean;
}

/**
 * `tlsDetails` of a client's call to KMS in `region`, as a real record shows them [S24 (2024 DisableKey,
 * ScheduleKeyDeletion records)]: TLS 1.3, `TLS_AES_256_GCM_SHA384`, and the Regional endpoint as the
 * host the client asked for. INF: the emulator is reached over plain HTTP at 127.0.0.1; the record
 * names what a client of real KMS would have used, not the emulator's address.
 */
export function tlsDetailsOf(region: string): CloudTrailTlsDetails {
  return { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_256_GCM_SHA384', clientProvidedHostHeader: `kms.${region}.amazonaws.com` };
}

/** CloudTrail truncates `errorMessage` beyond 1 KB [S14 record-contents]. */
const ERROR_MESSAGE_MAX = 1024;

/**
 * Builds the EventBridge "AWS API Call via CloudTrail" event for one KMS API call, shaped as in
 * [S1 ct-createkey.md, ct-replicate-key.md][S10 eb-events.md][fact sheet §5, §10]: `eventVersion`
 * 1.11, envelope `resources: []`, `detail.resources` naming the key (omitted when no key was
 * resolved), for a failed call `errorCode`, `errorMessage` and `responseElements: null`, and for a
 * client's own call `tlsDetails` (and `sessionCredentialFromConsole` for a console caller) [S24].
 */
export function buildCloudTrailEvent(input: ApiCallRecordInput): CloudTrailApiCallEvent {
  const time = formatEventTime(input.at);
  const detail: CloudTrailRecord = {
    eventVersion: EMULATED_EVENT_VERSION,
    userIdentity: input.userIdentity,
    eventTime: time,
    eventSource: 'kms.amazonaws.com',
    eventName: input.eventName,
    awsRegion: input.region,
    sourceIPAddress: input.sourceIPAddress,
    userAgent: input.userAgent,
    requestParameters: shapeOrNull(input.requestParameters),
    responseElements: input.error ? null : shapeOrNull(input.responseElements),
    requestID: input.requestId,
    eventID: newRequestId(),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: input.account,
    eventCategory: 'Management',
  };
  if (input.error) {
    detail.errorCode = input.error.code;
    detail.errorMessage = input.error.message.slice(0, ERROR_MESSAGE_MAX);
  }
  if (input.resourceArns.length > 0) {
    detail.resources = input.resourceArns.map((ARN) => ({
      accountId: input.account,
      type: 'AWS::KMS::Key' as const,
      ARN,
    }));
  }
  if (input.clientCall) detail.tlsDetails = tlsDetailsOf(input.region);
  if (input.clientCall && input.fromConsole) detail.sessionCredentialFromConsole = 'true';
  return {
    version: '0',
    id: newRequestId(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.kms',
    account: input.account,
    time,
    region: input.region,
    resources: [],
    detail: orderDetail(detail),
  };
}

/** Inputs of one "AWS Service Event via CloudTrail" record of a key. */
export interface ServiceEventInput {
  eventName: string;
  region: string;
  account: string;
  keyArn: string;
  /** Epoch ms. */
  at: number;
  serviceEventDetails: Record<string, string>;
}

/**
 * An "AWS Service Event via CloudTrail" event of a key, as KMS writes them for what it does on its
 * own [S1 ct-delete-key.md][S26 ct-rotatekey][S9][fact sheet §5.2]: `userIdentity {accountId,
 * invokedBy: "AWS Internal"}`, `sourceIPAddress`/`userAgent` "AWS Internal", `requestParameters`
 * and `responseElements` null, no `requestID`, `resources` [the key], `serviceEventDetails`.
 */
export function buildServiceEvent(input: ServiceEventInput): CloudTrailServiceEvent {
  const time = formatEventTime(input.at);
  return {
    version: '0',
    id: newRequestId(),
    'detail-type': 'AWS Service Event via CloudTrail',
    source: 'aws.kms',
    account: input.account,
    time,
    region: input.region,
    resources: [],
    detail: {
      eventVersion: EMULATED_EVENT_VERSION,
      userIdentity: { accountId: input.account, invokedBy: 'AWS Internal' },
      eventTime: time,
      eventSource: 'kms.amazonaws.com',
      eventName: input.eventName,
      awsRegion: input.region,
      sourceIPAddress: 'AWS Internal',
      userAgent: 'AWS Internal',
      requestParameters: null,
      responseElements: null,
      eventID: newRequestId(),
      readOnly: false,
      resources: [{ accountId: input.account, type: 'AWS::KMS::Key', ARN: input.keyArn }],
      eventType: 'AwsServiceEvent',
      managementEvent: true,
      recipientAccountId: input.account,
      eventCategory: 'Management',
      serviceEventDetails: input.serviceEventDetails,
    },
  };
}

/**
 * The DeleteKey service event KMS records when a key's waiting period ends [S1 ct-delete-key.md]:
 * `serviceEventDetails.keyId` is the bare key id.
 * @param at epoch ms of the deletion (the key's `DeletionDate`).
 */
export function buildDeleteKeyEvent(input: { region: string; account: string; keyId: string; keyArn: string; at: number }): CloudTrailServiceEvent {
  return buildServiceEvent({ ...input, eventName: 'DeleteKey', serviceEventDetails: { keyId: input.keyId } });
}

function shapeOrNull(value: Record<string, unknown> | null): Record<string, unknown> | null {
  return value === null ? null : (toCloudTrailShape(value) as Record<string, unknown>);
}

/** Puts `errorCode`/`errorMessage` after `userAgent`, where CloudTrail prints them [S14]. */
function orderDetail(detail: CloudTrailRecord): CloudTrailRecord {
  const {
    eventVersion,
    userIdentity,
    eventTime,
    eventSource,
    eventName,
    awsRegion,
    sourceIPAddress,
    userAgent,
    errorCode,
    errorMessage,
    ...rest
  } = detail;
  // The rest keeps its order; tlsDetails and sessionCredentialFromConsole come last, as CloudTrail prints them [S24].
  const head = { eventVersion, userIdentity, eventTime, eventSource, eventName, awsRegion, sourceIPAddress, userAgent };
  const error = errorCode === undefined ? {} : { errorCode, errorMessage };
  return { ...head, ...error, ...rest };
}
