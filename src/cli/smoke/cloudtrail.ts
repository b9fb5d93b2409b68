/**
 * The CloudTrail side of the smoke run (`--cloudtrail`): which records the run's write calls
 * must have left, finding them in event history (`LookupEvents`, waiting for them to appear:
 * CloudTrail delivers in about 5 minutes on average, sometimes 15 or more [S22]), and checking
 * that the reconciler's own event parser reads each real record as it should.
 */
import { randomUUID } from 'node:crypto';
import type { SdkCallRecord } from '../../aws/call-recorder.js';
import type { EventHistoryReader } from '../../aws/cloudtrail-lookup.js';
import { parseTrigger } from '../../reconcile/trigger.js';

/** KMS operations the smoke run calls that write (and so leave a record the rule may match). */
export const WRITE_OPERATIONS: ReadonlySet<string> = new Set(['CreateKey', 'ReplicateKey', 'ScheduleKeyDeletion', 'CancelKeyDeletion', 'EnableKey', 'TagResource', 'UntagResource', 'PutKeyPolicy', 'UpdatePrimaryRegion', 'DisableKey']);

/** A CloudTrail record the run expects to find. */
export interface ExpectedRecord {
  /** A short stable name, e.g. `us-east-1 ReplicateKey (AlreadyExistsException)`. */
  readonly label: string;
  readonly eventName: string;
  /** The Region whose event history holds it (`awsRegion`). */
  readonly region: string;
  /** The call's `x-amzn-RequestId` (CloudTrail `requestID`); absent for the replica-side CreateKey. */
  readonly requestId?: string;
  /** For the replica-side CreateKey: the multi-Region key id its record names. */
  readonly keyId?: string;
  /** The AWS error the call got, for a failed call (its record carries `errorCode`). */
  readonly errorCode?: string;
  /** When the call was answered (epoch ms). */
  readonly calledAt: number;
  /** What `parseTrigger` must make of the record. */
  readonly trigger: { readonly kind: 'request' | 'skip'; readonly region?: string; readonly keyTypeHint?: 'PRIMARY' | 'REPLICA' };
}

/**
 * The records a run's calls leave: one per write call that got an answer, in the Region it was
 * made in [S14], and for each successful `ReplicateKey` the `CreateKey` "in the replica's Region"
 * that AWS documents for it [S2][S1 ct-replicate-key.md] (its shape is unverified: fact sheet
 * §10; it is found by key id, not by request id).
 *
 * @param calls - the run's KMS calls (HTTP attempts), in order.
 * @param keyId - the run's multi-Region key id.
 */
export function expectedRecords(calls: readonly SdkCallRecord[], keyId: string): ExpectedRecord[] {
  const expected: ExpectedRecord[] = [];
  for (const call of calls) {
    if (!WRITE_OPERATIONS.has(call.operation) || call.httpStatus === undefined || !call.requestId) continue;
    // Throttled or 5xx answers: INF whether CloudTrail records them; not expected.
    if (call.errorType === 'ThrottlingException' || call.httpStatus >= 500) continue;
    const failed = call.httpStatus >= 300 ? call.errorType ?? `HTTP ${call.httpStatus}` : undefined;
    const calledAt = call.startedAt + call.ms;
    const trigger: ExpectedRecord['trigger'] = failed
      ? { kind: 'skip' }
      : call.operation === 'ScheduleKeyDeletion'
        ? { kind: 'request', region: call.region }
        : { kind: 'request', region: call.region, keyTypeHint: 'PRIMARY' };
    expected.push({
      label: `${call.region} ${call.operation}${failed ? ` (${failed})` : ''}`,
      eventName: call.operation,
      region: call.region,
      requestId: call.requestId,
      ...(failed ? { errorCode: failed } : {}),
      calledAt,
      trigger,
    });
    const replicaRegion = (call.request as { ReplicaRegion?: unknown } | undefined)?.ReplicaRegion;
    if (call.operation === 'ReplicateKey' && !failed && typeof replicaRegion === 'string') {
      expected.push({
        label: `${replicaRegion} CreateKey (replica, caused by ReplicateKey)`,
        eventName: 'CreateKey',
        region: replicaRegion,
        keyId,
        calledAt,
        trigger: { kind: 'request', region: replicaRegion },
      });
    }
  }
  return expected;
}

/** Whether a CloudTrail record (parsed) is the one `expected` describes. */
export function isExpectedRecord(expected: ExpectedRecord, record: Record<string, unknown>, recordText: string): boolean {
  if (record.eventName !== expected.eventName || record.awsRegion !== expected.region) return false;
  if (expected.requestId !== undefined) return record.requestID === expected.requestId;
  return expected.keyId !== undefined && recordText.includes(expected.keyId);
}

/**
 * Wraps a CloudTrail record in the EventBridge envelope it is delivered in ("AWS API Call via
 * CloudTrail", or "AWS Service Event via CloudTrail" for `AwsServiceEvent`; `source` `aws.kms`;
 * top-level `resources` empty) [S10 eb-events.md][S9]. The envelope's `id` is new; the record is
 * kept as it is.
 */
export function wrapAsEventBridgeEvent(record: Record<string, unknown>): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': record.eventType === 'AwsServiceEvent' ? 'AWS Service Event via CloudTrail' : 'AWS API Call via CloudTrail',
    source: 'aws.kms',
    account: record.recipientAccountId,
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}

/**
 * Checks what the reconciler's parser makes of a real record (wrapped as EventBridge delivers
 * it), for the stack's own account.
 * @returns a problem, or `undefined` when the verdict is the expected one.
 */
export function checkTrigger(expected: ExpectedRecord, event: Record<string, unknown>, accountId: string): string | undefined {
  const verdict = parseTrigger(event, { accountId });
  const want = expected.trigger;
  if (verdict.kind !== want.kind) {
    const why = verdict.kind === 'request' ? `a request for ${verdict.request.keyId}` : verdict.kind === 'skip' ? `skip: ${verdict.reason}` : `invalid: ${verdict.problem}`;
    return `parseTrigger read the ${expected.label} record as ${why}; expected ${want.kind}`;
  }
  if (verdict.kind === 'request') {
    if (want.region !== undefined && verdict.request.region !== want.region) {
      return `parseTrigger read the ${expected.label} record as a request in ${verdict.request.region}; expected ${want.region}`;
    }
    if (want.keyTypeHint !== undefined && verdict.request.keyTypeHint !== want.keyTypeHint) {
      return `parseTrigger read the ${expected.label} record with key type hint ${verdict.request.keyTypeHint ?? '(none)'}; expected ${want.keyTypeHint}`;
    }
  }
  return undefined;
}

/** A record found in event history. */
export interface FoundRecord {
  readonly expected: ExpectedRecord;
  readonly record: Record<string, unknown>;
  /** When the run first saw it (epoch ms). */
  readonly foundAt: number;
  /** When the round before (which did not see it) started; absent when the first look found it. */
  readonly missingAt?: number;
}

/** What {@link findRecords} gathered. */
export interface RecordSearch {
  readonly found: FoundRecord[];
  readonly missing: ExpectedRecord[];
  /** `LookupEvents` calls made. */
  readonly lookups: number;
  /** Whether the search stopped because `signal` aborted. */
  readonly interrupted: boolean;
}

/** How {@link findRecords} looks. */
export interface RecordSearchOptions {
  readonly history: EventHistoryReader;
  /** Look from this time on (epoch ms): the run's start, less a minute of clock skew. */
  readonly since: number;
  /** Give up at this time (epoch ms). */
  readonly deadline: number;
  /** First wait between rounds (ms); it grows 1.5 times per round up to `maxPollMs`. */
  readonly pollMs: number;
  readonly maxPollMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A line per round for the person watching. */
  readonly progress: (line: string) => void;
  /** Receives each record once, as it is found. */
  readonly onFound: (found: FoundRecord) => void;
  readonly signal?: AbortSignal;
}

/** Pages per (Region, event name) and round: 50 events each. */
const MAX_PAGES_PER_ROUND = 10;

/**
 * Looks the expected records up in event history, by event name per Region (one lookup
 * attribute is all `LookupEvents` takes), round after round until every record is found or the
 * deadline passes. Lookup errors other than throttling end the search (they are thrown).
 */
export async function findRecords(expected: readonly ExpectedRecord[], options: RecordSearchOptions): Promise<RecordSearch> {
  const outstanding = new Set(expected);
  const found: FoundRecord[] = [];
  let lookups = 0;
  let wait = options.pollMs;
  const started = options.now();
  let previousRound: number | undefined;
  for (let round = 1; ; round += 1) {
    if (options.signal?.aborted) return { found, missing: [...outstanding], lookups, interrupted: true };
    const roundStarted = options.now();
    // Regions in parallel (the lookup limit is per Region); a Region's event names one after another.
    const byRegion = new Map<string, Set<string>>();
    for (const e of outstanding) byRegion.set(e.region, (byRegion.get(e.region) ?? new Set()).add(e.eventName));
    await Promise.all([...byRegion].map(([region, eventNames]) => lookRegion(region, eventNames)));
    if (options.signal?.aborted) return { found, missing: [...outstanding], lookups, interrupted: true };
    if (outstanding.size === 0) return { found, missing: [], lookups, interrupted: false };
    const now = options.now();
    if (now + wait > options.deadline) return { found, missing: [...outstanding], lookups, interrupted: false };
    options.progress(
      `  ${found.length} of ${expected.length} records found after ${formatDuration(now - started)} (round ${round}); waiting ${formatDuration(wait)} for ${[...outstanding].map((e) => e.label).join(', ')}`,
    );
    previousRound = roundStarted;
    try {
      await options.sleep(wait, options.signal);
    } catch {
      return { found, missing: [...outstanding], lookups, interrupted: true };
    }
    wait = Math.min(Math.round(wait * 1.5), options.maxPollMs);

    async function lookRegion(region: string, eventNames: ReadonlySet<string>): Promise<void> {
      for (const eventName of eventNames) await lookUp(region, eventName);
    }

    async function lookUp(region: string, eventName: string): Promise<void> {
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES_PER_ROUND; page += 1) {
        let result;
        try {
          lookups += 1;
          result = await options.history.lookupEvents(
            region,
            { eventName, startTime: new Date(options.since), ...(nextToken ? { nextToken } : {}) },
            options.signal,
          );
        } catch (error) {
          if (options.signal?.aborted) return;
          if ((error as { code?: string }).code === 'ThrottlingException') return;
          throw error;
        }
        for (const event of result.events) {
          let record: Record<string, unknown>;
          try {
            record = JSON.parse(event.record) as Record<string, unknown>;
          } catch {
            continue;
          }
          for (const want of outstanding) {
            if (isExpectedRecord(want, record, event.record)) {
              outstanding.delete(want);
              const hit: FoundRecord = { expected: want, record, foundAt: options.now(), ...(previousRound === undefined ? {} : { missingAt: previousRound }) };
              found.push(hit);
              options.onFound(hit);
              break;
            }
          }
        }
        nextToken = result.nextToken;
        const stillHere = [...outstanding].some((e) => e.region === region && e.eventName === eventName);
        if (!nextToken || !stillHere) return;
      }
    }
  }
}

/** `950 ms`, `4.2 s`, `3 min 05 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
}
