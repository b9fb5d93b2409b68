/**
 * A minimal EventBridge for the same HTTP endpoint: `PutEvents` only, as the unmodified
 * `@aws-sdk/client-eventbridge` sends it (JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`, SigV4
 * scope service `events`) [S13 events model]. Accepted events are stored per Region and bus for
 * tests to read; no rules or targets are modelled, and every bus name exists (INF).
 */
import { BoundedLog } from './bounded-log.js';
import { toApiError, type EmulatedService } from './dispatcher.js';
import { KmsApiError, injectedInternalError, serializationError, throttlingError } from './errors.js';
import { newRequestId } from './ids.js';
import { formatEventTime } from './clock.js';
import type { PublishedEvent } from './types.js';
import { exceedsNestingDepth, type RequestInput } from './validation.js';

/** The `X-Amz-Target` prefix of EventBridge operations [S13 events model `targetPrefix`]. */
export const EVENTS_TARGET_PREFIX = 'AWSEvents.';
/** Entries per PutEvents call [S13 PutEventsRequestEntryList: 1–10]. */
export const PUT_EVENTS_MAX_ENTRIES = 10;
/** Total entry size per PutEvents call, bytes [S13 PutEvents: 256 KB; size rule of eb-putevent-size]. */
export const PUT_EVENTS_MAX_BYTES = 262_144;
/** "PutEvents will only process nested JSON up to 1100 levels deep" [PutEvents API reference]. */
export const DETAIL_MAX_NESTING_DEPTH = 1100;

const BUS_ARN_PATTERN = /^arn:aws[\w-]*:events:([a-z0-9-]+):(\d{12}):event-bus\/([/.\-_A-Za-z0-9]+)$/;
const BUS_NAME_PATTERN = /^[/.\-_A-Za-z0-9]{1,256}$/;

/** Filter of {@link PublishedEventStore.list}; omitted members match anything. */
export interface PublishedEventFilter {
  /** Bus name (`default`) or bus ARN. */
  bus?: string;
  region?: string;
  source?: string;
}

/** Accepted PutEvents entries, in acceptance order (the last `limit` of them). */
export class PublishedEventStore {
  private readonly events: BoundedLog<PublishedEvent>;

  /** @param limit how many events to keep, oldest dropped first; default `Infinity`. @throws TypeError on an invalid limit. */
  constructor(limit: number = Infinity) {
    this.events = new BoundedLog(limit);
  }

  /** Appends an accepted event. */
  add(event: PublishedEvent): void {
    this.events.push(event);
  }

  /** Copies of the matching events, oldest first. A bus ARN filters by its Region and name. */
  list(filter: PublishedEventFilter = {}): PublishedEvent[] {
    let bus = filter.bus;
    let region = filter.region;
    const arn = bus === undefined ? undefined : BUS_ARN_PATTERN.exec(bus);
    if (arn) {
      region = arn[1];
      bus = arn[3];
    }
    return this.events
      .list()
      .filter((e) => (bus === undefined || e.bus === bus) && (region === undefined || e.region === region) && (filter.source === undefined || e.source === filter.source))
      .map((e) => ({ ...e, resources: [...e.resources], detail: structuredClone(e.detail) }));
  }

  /** Forgets every stored event. */
  clear(): void {
    this.events.clear();
  }
}

/** What PutEvents sees of one call. */
export interface PutEventsContext {
  readonly region: string;
  readonly account: string;
  /** Epoch ms of the call. */
  readonly at: number;
  readonly published: PublishedEventStore;
}

type ResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/**
 * PutEvents [S13 PutEvents, PutEventsRequestEntry, PutEventsResultEntry]:
 * - `Entries` missing, empty or longer than 10 → `ValidationException` (wording as moto/LocalStack
 *   record it, with `[PutEventsRequestEntry]` standing for the list; OBS);
 * - total size above 256 KB (UTF-8 bytes of Source, DetailType, Detail and Resources, plus 14 per
 *   `Time`) → `ValidationException` `Total size of the entries in the request is over the limit.` (INF wording);
 * - per entry, in order: no `Source`/`DetailType`/`Detail` → `InvalidArgument` `Parameter X is not
 *   valid. Reason: X is a required argument.`; `Detail` not a JSON object, or nested deeper than
 *   {@link DETAIL_MAX_NESTING_DEPTH} levels → `MalformedDetail`
 *   `Detail is malformed.` (OBS); a malformed `EventBusName` → `InvalidArgument` (INF);
 * - accepted entries get a fresh UUID `EventId` and are stored; the answer lists one result per
 *   entry in request order plus `FailedEntryCount`.
 * @throws KmsApiError `ValidationException` / `SerializationException` for request-level errors.
 */
export function putEvents(ctx: PutEventsContext, input: RequestInput): Record<string, unknown> {
  const entries = input['Entries'];
  if (entries !== undefined && entries !== null && !Array.isArray(entries)) throw serializationError('Expected Entries to be a list');
  const list = (entries ?? []) as unknown[];
  if (list.length === 0 || list.length > PUT_EVENTS_MAX_ENTRIES) {
    const constraint =
      entries === undefined || entries === null
        ? 'Member must not be null'
        : list.length === 0
          ? 'Member must have length greater than or equal to 1'
          : `Member must have length less than or equal to ${PUT_EVENTS_MAX_ENTRIES}`;
    const value = entries === undefined || entries === null ? 'null' : "'[PutEventsRequestEntry]'";
    throw new KmsApiError('ValidationException', `1 validation error detected: Value ${value} at 'entries' failed to satisfy constraint: ${constraint}`);
  }
  const parsed = list.map((entry, index) => readEntry(entry, index));
  const size = parsed.reduce((total, entry) => total + entrySize(entry), 0);
  if (size > PUT_EVENTS_MAX_BYTES) throw new KmsApiError('ValidationException', 'Total size of the entries in the request is over the limit.');

  let failed = 0;
  const results: ResultEntry[] = parsed.map((entry) => {
    const outcome = accept(ctx, entry);
    if ('ErrorCode' in outcome) failed += 1;
    return outcome;
  });
  return { FailedEntryCount: failed, Entries: results };
}

interface EntryInput {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  /** Epoch seconds on the wire (JSON 1.1 timestamp). */
  Time?: number;
}

function readEntry(entry: unknown, index: number): EntryInput {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw serializationError(`Expected Entries[${index}] to be an object`);
  const raw = entry as Record<string, unknown>;
  const result: EntryInput = {};
  for (const member of ['Source', 'DetailType', 'Detail', 'EventBusName'] as const) {
    const value = raw[member];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw serializationError(`Expected ${member} to be a string`);
    result[member] = value;
  }
  const resources = raw['Resources'];
  if (resources !== undefined && resources !== null) {
    if (!Array.isArray(resources) || resources.some((r) => typeof r !== 'string')) throw serializationError('Expected Resources to be a list of strings');
    result.Resources = resources as string[];
  }
  const time = raw['Time'];
  if (time !== undefined && time !== null) {
    if (typeof time !== 'number' || !Number.isFinite(time)) throw serializationError('Expected Time to be a timestamp in epoch seconds');
    result.Time = time;
  }
  return result;
}

/** Entry size per the EventBridge rule: bytes of the strings, 14 for a `Time` [S10 eb-putevent-size.md]. */
function entrySize(entry: EntryInput): number {
  let size = entry.Time === undefined ? 0 : 14;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (text !== undefined) size += Buffer.byteLength(text, 'utf8');
  }
  return size;
}

function accept(ctx: PutEventsContext, entry: EntryInput): ResultEntry {
  for (const member of ['Source', 'DetailType', 'Detail'] as const) {
    if (entry[member] === undefined) {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${member} is not valid. Reason: ${member} is a required argument.` };
    }
  }
  let detail: unknown;
  try {
    // INF: a Detail nested deeper than EventBridge processes is refused like any malformed one.
    detail = exceedsNestingDepth(entry.Detail as string, DETAIL_MAX_NESTING_DEPTH) ? undefined : JSON.parse(entry.Detail as string);
  } catch {
    detail = undefined;
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  let region = ctx.region;
  let bus = 'default';
  if (entry.EventBusName !== undefined) {
    const arn = BUS_ARN_PATTERN.exec(entry.EventBusName);
    if (arn && arn[1] && arn[3]) {
      region = arn[1];
      bus = arn[3];
    } else if (BUS_NAME_PATTERN.test(entry.EventBusName) && !entry.EventBusName.startsWith('arn:')) {
      bus = entry.EventBusName;
    } else {
      return { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter EventBusName is not valid. Reason: ${entry.EventBusName} is not a valid event bus name or ARN.` };
    }
  }
  const id = newRequestId();
  ctx.published.add({
    region,
    bus,
    id,
    source: entry.Source as string,
    detailType: entry.DetailType as string,
    detail: detail as Record<string, unknown>,
    resources: [...(entry.Resources ?? [])],
    time: formatEventTime(entry.Time === undefined ? ctx.at : entry.Time * 1000),
  });
  return { EventId: id };
}

/**
 * EventBridge on the embedded endpoint (`X-Amz-Target: AWSEvents.PutEvents`, SigV4 service
 * `events`). No quota unless one is set for `PutEvents`; injected faults answer `InternalException`
 * (500) / `ThrottlingException` `Rate exceeded` (INF).
 */
export function createEventBridgeService(options: { account: string; published: PublishedEventStore }): EmulatedService {
  return {
    targetPrefix: EVENTS_TARGET_PREFIX,
    signingName: 'events',
    hasOperation: (operation) => operation === 'PutEvents',
    throttlingError: () => throttlingError('events'),
    injectedInternalError: () => injectedInternalError('events'),
    run(call) {
      try {
        return { output: putEvents({ region: call.caller.region, account: options.account, at: call.at, published: options.published }, call.input) };
      } catch (error) {
        return { error: toApiError(error) };
      }
    },
  };
}
