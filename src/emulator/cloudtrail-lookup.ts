/**
 * CloudTrail event history for the same HTTP endpoint: `LookupEvents` over the CloudTrail records
 * the embedded KMS writes, as the unmodified `@aws-sdk/client-cloudtrail` sends it (JSON 1.1,
 * `X-Amz-Target: CloudTrail_20131101.LookupEvents`; other SDKs send the long form
 * `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`, accepted too; SigV4 scope
 * service `cloudtrail`). Two {@link EmulatedService}s (one per target prefix) on the dispatcher's
 * pipeline, so the call log, faults and latency apply as to KMS.
 *
 * What AWS documents, and this models:
 * - Event history is on for every account without a trail: "a viewable, searchable, downloadable,
 *   and immutable record of the past 90 days of management events in an AWS Region", per Region
 *   (CloudTrail user guide, `view-cloudtrail-events`; API reference, `LookupEvents`).
 * - At most one lookup attribute (`EventId`, `EventName`, `ReadOnly`, `Username`, `ResourceType`,
 *   `ResourceName`, `EventSource`, `AccessKeyId`); `MaxResults` 1-50, default 50; the most recent
 *   event first; a `NextToken` works only with the parameters it came from; `StartTime` after
 *   `EndTime` is an error; without `EventCategory: insight` no Insights events (none are modelled).
 * - "The rate of lookup requests is limited to two per second, per account, per Region. If this
 *   limit is exceeded, a throttling error occurs." (API reference, `LookupEvents`).
 *
 * What it does not model (INF, documented in the emulator README): the history holds the records
 * the embedded KMS emits (its write calls, failed ones included, and DeleteKey service events),
 * not read-only calls; it is fed from the same stream as EventBridge, so the emulator's event
 * faults (drop, delay) apply to it too (duplicates are stored once, by `eventID`); records appear
 * at once, not after CloudTrail's delivery delay [S22]. Error messages are not AWS's wording.
 */
import type { EmulatedService } from './dispatcher.js';
import { KmsApiError, serializationError } from './errors.js';
import type { CloudTrailEventBridgeEvent } from './types.js';

/** The SigV4 scope service of CloudTrail requests. */
export const CLOUDTRAIL_SERVICE = 'cloudtrail';
/** `X-Amz-Target` prefixes of CloudTrail operations: the JS SDK's short form and the long form. */
export const CLOUDTRAIL_TARGET_PREFIXES = ['CloudTrail_20131101.', 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.'] as const;
/** How far back event history reaches (days). */
export const EVENT_HISTORY_DAYS = 90;
/** Lookups per second per account and Region; the bucket holds one second of them. */
export const LOOKUP_EVENTS_PER_SECOND = 2;

const LOOKUP_ATTRIBUTE_KEYS = ['EventId', 'EventName', 'ReadOnly', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'AccessKeyId'] as const;
type LookupAttributeKey = (typeof LOOKUP_ATTRIBUTE_KEYS)[number];
const MAX_RESULTS = 50;
const DAY_MS = 86_400_000;

/** One record of the history, with the fields lookups filter on. */
interface HistoryEntry {
  readonly region: string;
  /** `eventTime`, epoch ms. */
  readonly at: number;
  readonly seq: number;
  readonly attributes: Readonly<Record<LookupAttributeKey, readonly string[]>>;
  readonly accessKeyId?: string;
  readonly username?: string;
  readonly resources: readonly { ResourceType: string; ResourceName: string }[];
  /** The record as CloudTrail returns it in `CloudTrailEvent`: a JSON string. */
  readonly json: string;
}

/** The event history of one account: every Region's CloudTrail records, oldest first. */
export class EventHistory {
  private readonly entries: HistoryEntry[] = [];
  private readonly seen = new Set<string>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private seq = 0;

  /** @param now - the emulator's clock, epoch ms. */
  constructor(private readonly now: () => number) {}

  /** Stores a CloudTrail event's record (the EventBridge `detail`); a repeated `eventID` is ignored. */
  add(event: CloudTrailEventBridgeEvent): void {
    const record = event.detail;
    if (this.seen.has(record.eventID)) return;
    this.seen.add(record.eventID);
    const identity = record.userIdentity;
    const username = usernameOf(identity);
    const resources = (record.resources ?? []).map((r) => ({ ResourceType: r.type, ResourceName: r.ARN }));
    this.entries.push({
      region: record.awsRegion,
      at: Date.parse(record.eventTime),
      seq: (this.seq += 1),
      attributes: {
        EventId: [record.eventID],
        EventName: [record.eventName],
        ReadOnly: [String(record.readOnly)],
        Username: username === undefined ? [] : [username],
        ResourceType: resources.map((r) => r.ResourceType),
        ResourceName: resources.map((r) => r.ResourceName),
        EventSource: [record.eventSource],
        AccessKeyId: identity.accessKeyId === undefined ? [] : [identity.accessKeyId],
      },
      ...(identity.accessKeyId === undefined ? {} : { accessKeyId: identity.accessKeyId }),
      ...(username === undefined ? {} : { username }),
      resources,
      json: JSON.stringify(record),
    });
  }

  /** How many records the history holds, all Regions. */
  size(): number {
    return this.entries.length;
  }

  /**
   * `LookupEvents` in `region` (see the module comment for the rules).
   * @returns the JSON 1.1 output: `Events` (newest first) and `NextToken` when more match.
   * @throws KmsApiError `ThrottlingException`, `InvalidLookupAttributesException`,
   *   `InvalidMaxResultsException`, `InvalidTimeRangeException`, `InvalidEventCategoryException`,
   *   `InvalidNextTokenException`, `SerializationException`.
   */
  lookup(region: string, input: Record<string, unknown>): Record<string, unknown> {
    this.takeToken(region);
    const attribute = readAttribute(input['LookupAttributes']);
    const maxResults = readMaxResults(input['MaxResults']);
    const now = this.now();
    const start = readTime(input['StartTime'], 'StartTime') ?? now - EVENT_HISTORY_DAYS * DAY_MS;
    const end = readTime(input['EndTime'], 'EndTime') ?? now;
    if (start > end) throw new KmsApiError('InvalidTimeRangeException', 'Start time must be before end time.');
    const category = input['EventCategory'];
    if (category !== undefined && category !== null && category !== 'insight') {
      throw new KmsApiError('InvalidEventCategoryException', `Event category ${String(category)} is not valid.`);
    }
    const query = JSON.stringify([region, attribute, start, end, category ?? null]);
    const offset = readNextToken(input['NextToken'], query);
    const oldest = now - EVENT_HISTORY_DAYS * DAY_MS;
    const matching =
      category === 'insight'
        ? []
        : this.entries
            .filter((e) => e.region === region && e.at >= Math.max(start, oldest) && e.at <= end)
            .filter((e) => attribute === undefined || e.attributes[attribute.key].includes(attribute.value))
            .sort((a, b) => b.at - a.at || b.seq - a.seq);
    const page = matching.slice(offset, offset + maxResults);
    const next = offset + page.length < matching.length ? encodeNextToken(offset + page.length, query) : undefined;
    return {
      Events: page.map((e) => ({
        EventId: e.attributes.EventId[0],
        EventName: e.attributes.EventName[0],
        ReadOnly: e.attributes.ReadOnly[0],
        ...(e.accessKeyId === undefined ? {} : { AccessKeyId: e.accessKeyId }),
        EventTime: e.at / 1000,
        EventSource: e.attributes.EventSource[0],
        ...(e.username === undefined ? {} : { Username: e.username }),
        Resources: e.resources,
        CloudTrailEvent: e.json,
      })),
      ...(next === undefined ? {} : { NextToken: next }),
    };
  }

  private takeToken(region: string): void {
    const now = this.now();
    const bucket = this.buckets.get(region) ?? { tokens: LOOKUP_EVENTS_PER_SECOND, at: now };
    bucket.tokens = Math.min(LOOKUP_EVENTS_PER_SECOND, bucket.tokens + ((now - bucket.at) / 1000) * LOOKUP_EVENTS_PER_SECOND);
    bucket.at = now;
    this.buckets.set(region, bucket);
    if (bucket.tokens < 1) throw new KmsApiError('ThrottlingException', 'Rate exceeded');
    bucket.tokens -= 1;
  }
}

/**
 * The CloudTrail services of the endpoint: `LookupEvents` from `history`, under both target
 * prefixes. Injected faults answer `ThrottlingException` "Rate exceeded" and `InternalFailure`
 * (500), the common errors of every AWS API (INF for CloudTrail's wording).
 */
export function createCloudTrailServices(history: EventHistory): EmulatedService[] {
  return CLOUDTRAIL_TARGET_PREFIXES.map((targetPrefix) => ({
    targetPrefix,
    signingName: CLOUDTRAIL_SERVICE,
    hasOperation: (operation) => operation === 'LookupEvents',
    throttlingError: () => new KmsApiError('ThrottlingException', 'Rate exceeded'),
    injectedInternalError: () => new KmsApiError('InternalFailure', 'An internal error occurred (injected fault).', 500),
    run(call) {
      try {
        return { output: history.lookup(call.caller.region, call.input) };
      } catch (error) {
        return { error: error instanceof KmsApiError ? error : new KmsApiError('InternalFailure', String(error), 500) };
      }
    },
  }));
}

/**
 * The `Username` event history shows (INF): an IAM user's name, an assumed role's session name,
 * `root` for the root user; none for records KMS writes itself.
 */
function usernameOf(identity: CloudTrailEventBridgeEvent['detail']['userIdentity']): string | undefined {
  if (identity.type === 'IAMUser') return identity.userName ?? identity.arn?.split('/').pop();
  if (identity.type === 'AssumedRole') return identity.arn?.split('/').pop();
  if (identity.type === 'Root') return 'root';
  return undefined;
}

function readAttribute(value: unknown): { key: LookupAttributeKey; value: string } | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw serializationError('Expected LookupAttributes to be a list');
  if (value.length === 0) return undefined;
  if (value.length > 1) throw new KmsApiError('InvalidLookupAttributesException', 'You can only specify one lookup attribute.');
  const item = value[0] as { AttributeKey?: unknown; AttributeValue?: unknown } | null;
  const key = item?.AttributeKey;
  const attributeValue = item?.AttributeValue;
  if (typeof key !== 'string' || !(LOOKUP_ATTRIBUTE_KEYS as readonly string[]).includes(key)) {
    throw new KmsApiError('InvalidLookupAttributesException', `Lookup attribute key ${String(key)} is not valid.`);
  }
  if (typeof attributeValue !== 'string' || attributeValue.length < 1 || attributeValue.length > 2000) {
    throw new KmsApiError('InvalidLookupAttributesException', 'Lookup attribute value must be 1 to 2000 characters.');
  }
  return { key: key as LookupAttributeKey, value: attributeValue };
}

function readMaxResults(value: unknown): number {
  if (value === undefined || value === null) return MAX_RESULTS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_RESULTS) {
    throw new KmsApiError('InvalidMaxResultsException', `MaxResults must be from 1 to ${MAX_RESULTS}.`);
  }
  return value;
}

/** A JSON 1.1 timestamp (epoch seconds) → epoch ms. */
function readTime(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw serializationError(`Expected ${name} to be a timestamp in epoch seconds`);
  return value * 1000;
}

function encodeNextToken(offset: number, query: string): string {
  return Buffer.from(JSON.stringify({ offset, query })).toString('base64');
}

function readNextToken(value: unknown, query: string): number {
  if (value === undefined || value === null) return 0;
  try {
    const token = JSON.parse(Buffer.from(String(value), 'base64').toString('utf8')) as { offset?: unknown; query?: unknown };
    if (token.query === query && typeof token.offset === 'number' && Number.isInteger(token.offset) && token.offset >= 0) return token.offset;
  } catch {
    // reported below
  }
  throw new KmsApiError('InvalidNextTokenException', 'A token that is not valid, or a token that was previously used in a request with different parameters.');
}
