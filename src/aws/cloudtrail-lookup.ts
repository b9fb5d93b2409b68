/**
 * CloudTrail event history through `LookupEvents` (`@aws-sdk/client-cloudtrail`): the last 90
 * days of management events of a Region, with or without a trail (CloudTrail user guide,
 * `view-cloudtrail-events`). Paced to the documented limit: "two per second, per account, per
 * Region" (API reference, `LookupEvents`). Used by the smoke run to fetch the records of its own
 * calls.
 */
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { TokenBucket } from 'limiter';
import { RetryableError } from '../reconcile/errors.js';
import { classifyAwsError } from './classify.js';
import { requestHandlerOptions, type ClientOptions } from './clients.js';

/** Lookups per second per account and Region (API reference, `LookupEvents`). */
export const LOOKUP_EVENTS_PER_SECOND = 2;

/** One event of the history. */
export interface HistoryEvent {
  readonly eventId: string;
  readonly eventName: string;
  readonly eventTime?: Date;
  /** The CloudTrail record, as CloudTrail returns it: a JSON string. */
  readonly record: string;
}

/** One lookup: events of one name (or all) between two times, newest first. */
export interface HistoryQuery {
  /** `LookupAttributes: [{ AttributeKey: EventName, AttributeValue }]`; omitted = every event. */
  readonly eventName?: string;
  readonly startTime: Date;
  readonly endTime?: Date;
  /** 1-50 (default 50). */
  readonly maxResults?: number;
  /** The previous page's `nextToken` (with the same query). */
  readonly nextToken?: string;
}

/** Reads event history. */
export interface EventHistoryReader {
  /**
   * One page of `LookupEvents` in `region`, after waiting for a request slot (2/s per Region).
   * @throws {TerminalError} or {RetryableError} (see `classifyAwsError`), e.g. `AccessDeniedException`
   *   without `cloudtrail:LookupEvents`; `AbortError` when `signal` aborts while waiting.
   */
  lookupEvents(region: string, query: HistoryQuery, signal?: AbortSignal): Promise<{ events: HistoryEvent[]; nextToken?: string }>;
}

/**
 * Creates a reader with one client and one rate bucket per Region.
 * @param options - endpoint, credentials and retry attempts (default 3, the SDK's).
 */
export function createEventHistoryReader(options: ClientOptions = {}): EventHistoryReader {
  const clients = new Map<string, { client: CloudTrailClient; bucket: TokenBucket }>();
  const clientOf = (region: string): { client: CloudTrailClient; bucket: TokenBucket } => {
    let entry = clients.get(region);
    if (!entry) {
      const client = new CloudTrailClient({
        region,
        maxAttempts: options.maxAttempts ?? 3,
        requestHandler: requestHandlerOptions(),
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
      // A bucket of one: lookups are spread at 2/s, never bursted past the limit.
      entry = { client, bucket: new TokenBucket({ bucketSize: 1, tokensPerInterval: LOOKUP_EVENTS_PER_SECOND, interval: 1000 }) };
      entry.bucket.content = 1;
      clients.set(region, entry);
    }
    return entry;
  };
  return {
    async lookupEvents(region, query, signal) {
      const { client, bucket } = clientOf(region);
      await bucket.removeTokens(1);
      if (signal?.aborted) throw new RetryableError('aborted while waiting for a LookupEvents request slot', 'AbortError');
      try {
        const out = await client.send(
          new LookupEventsCommand({
            ...(query.eventName ? { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: query.eventName }] } : {}),
            StartTime: query.startTime,
            ...(query.endTime ? { EndTime: query.endTime } : {}),
            ...(query.maxResults ? { MaxResults: query.maxResults } : {}),
            ...(query.nextToken ? { NextToken: query.nextToken } : {}),
          }),
          signal ? { abortSignal: signal } : {},
        );
        const events = (out.Events ?? []).flatMap((e): HistoryEvent[] =>
          e.EventId && e.EventName && e.CloudTrailEvent
            ? [{ eventId: e.EventId, eventName: e.EventName, record: e.CloudTrailEvent, ...(e.EventTime ? { eventTime: e.EventTime } : {}) }]
            : [],
        );
        return { events, ...(out.NextToken ? { nextToken: out.NextToken } : {}) };
      } catch (error) {
        throw classifyAwsError(error);
      }
    },
  };
}
