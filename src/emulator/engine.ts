import { buildCloudTrailEvent, buildDeleteKeyEvent } from './cloudtrail.js';
import {
  KmsApiError,
  injectedInternalError,
  internalError,
  invalidRegionScopeError,
  serializationError,
  throttlingError,
  unknownOperationError,
  wrongServiceScopeError,
} from './errors.js';
import { EVENTS_TARGET_PREFIX, putEvents, type PublishedEventStore } from './eventbridge.js';
import { FaultInjector, type CallFaultDecision } from './faults.js';
import { REGION_PATTERN, newRequestId } from './ids.js';
import type { OperationContext, OperationDefinition, SideRecord } from './operations.js';
import { QuotaLimiter, type QuotaCharge } from './quotas.js';
import type { KeyStore } from './store.js';
import type { CallRecord, CloudTrailEventBridgeEvent, CloudTrailUserIdentity } from './types.js';
import type { RequestInput } from './validation.js';

/** The SigV4 facts the emulator uses: who called, in which Region, for which service. */
export interface CallerCredentials {
  accessKeyId: string;
  region: string;
  /** The credential scope's service (`kms`, `events`); absent when the transport did not say. */
  service?: string;
}

/** One API request, already taken apart by the transport (see `server.ts`). */
export interface ApiRequest {
  /** The raw `X-Amz-Target` header, e.g. `TrentService.DescribeKey`; `''` when absent. */
  target: string;
  /** The caller, or the authentication error that stops the request. */
  caller: CallerCredentials | KmsApiError;
  /** The raw JSON body. */
  body: string;
  sourceIPAddress: string;
  userAgent: string;
}

/**
 * The answer to an {@link ApiRequest}: status, JSON body and, on failure, the error code; plus how
 * the transport must deliver it (`delayMs` of real time first; `drop` = destroy the connection
 * instead of answering).
 */
export interface ApiResponse {
  statusCode: number;
  requestId: string;
  body: string;
  errorCode?: string;
  /** Real-time delay (ms) before the answer (global latency plus fault latency); 0 = none. */
  delayMs?: number;
  /** Destroy the socket without answering (fault injection). */
  drop?: boolean;
  /** `Content-Type` of the body; default `application/x-amz-json-1.1` (STS answers `text/xml`). */
  contentType?: string;
}

/** How the engine names a caller in CloudTrail; see {@link EngineOptions.callerIdentities}. */
export type CallerIdentityOverride = Partial<Omit<CloudTrailUserIdentity, 'accessKeyId' | 'accountId'>>;

/** Settings of a {@link KmsEngine}. */
export interface EngineOptions {
  account: string;
  replicaDelayMs: number;
  /** How long UpdatePrimaryRegion keeps both keys `Updating` (ms); default 0. */
  primaryUpdateDelayMs?: number;
  /** Keys per Region before `LimitExceededException`; default 100,000. */
  maxKeysPerRegion?: number;
  /** Regions not enabled for the account (see `EmbeddedKmsOptions.disabledRegions`). */
  disabledRegions?: ReadonlySet<string>;
  now: () => number;
  store: KeyStore;
  operations: ReadonlyMap<string, OperationDefinition>;
  /** Per access key id, how CloudTrail's `userIdentity` names the caller (default: an IAM user). */
  callerIdentities?: Readonly<Record<string, CallerIdentityOverride>>;
  /** Request quotas; omitted = none. */
  quotas?: QuotaLimiter;
  /** Fault injection; omitted = none. */
  faults?: FaultInjector;
  /** Where accepted EventBridge PutEvents entries go; omitted = PutEvents is unknown. */
  published?: PublishedEventStore;
  /** Real-time delay (ms) added to every answer; default 0. */
  latencyMs?: number;
}

const TARGET_PREFIX = 'TrentService.';

type Service = 'kms' | 'events';

/**
 * The transport-independent core: dispatches one request to its operation, records the call,
 * emits CloudTrail events for mutating operations (successful or failed) and serializes the
 * answer. Around each call: the lazy deletion sweep, then fault injection, then quotas.
 */
export class KmsEngine {
  private readonly callLog: CallRecord[] = [];
  private readonly queue: CloudTrailEventBridgeEvent[] = [];
  private readonly held: CloudTrailEventBridgeEvent[] = [];
  private readonly listeners = new Set<(event: CloudTrailEventBridgeEvent) => void>();
  private throttled = 0;

  constructor(private readonly options: EngineOptions) {}

  /** Serves one request. Never throws: every failure becomes an error response. */
  invoke(request: ApiRequest): ApiResponse {
    const requestId = newRequestId();
    const at = this.options.now();
    this.sweepDeletions();
    const service: Service | undefined = request.target.startsWith(TARGET_PREFIX)
      ? 'kms'
      : request.target.startsWith(EVENTS_TARGET_PREFIX) && this.options.published
        ? 'events'
        : undefined;
    const operation =
      service === 'kms'
        ? request.target.slice(TARGET_PREFIX.length)
        : service === 'events'
          ? request.target.slice(EVENTS_TARGET_PREFIX.length)
          : request.target;
    const latency = this.options.latencyMs ?? 0;
    const answer = (response: ApiResponse, extraDelayMs = 0): ApiResponse => {
      const delayMs = latency + extraDelayMs;
      return delayMs > 0 ? { ...response, delayMs } : response;
    };
    if (request.caller instanceof KmsApiError) {
      this.record({ operation, region: '', errorCode: request.caller.code, at });
      return answer(errorResponse(request.caller, requestId));
    }
    const caller = request.caller;
    if (!REGION_PATTERN.test(caller.region)) {
      // Before the operation is looked at: AWS refuses the signature first.
      const error = invalidRegionScopeError(caller.region);
      this.record({ operation, region: caller.region, errorCode: error.code, at });
      return answer(errorResponse(error, requestId));
    }
    const known = service === 'kms' ? this.options.operations.has(operation) : service === 'events' && operation === 'PutEvents';
    if (!service || !known) {
      const error = unknownOperationError(request.target);
      this.record({ operation, region: caller.region, errorCode: error.code, at });
      return answer(errorResponse(error, requestId));
    }
    if (caller.service !== undefined && caller.service !== service) {
      const error = wrongServiceScopeError(service);
      this.record({ operation, region: caller.region, errorCode: error.code, at });
      return answer(errorResponse(error, requestId));
    }
    let input: RequestInput;
    try {
      input = parseBody(request.body);
    } catch (error) {
      const apiError = toApiError(error);
      this.record({ operation, region: caller.region, errorCode: apiError.code, at });
      return answer(errorResponse(apiError, requestId));
    }

    const definition = service === 'kms' ? this.options.operations.get(operation) : undefined;
    const mutating = definition?.mutating ?? false;
    const keyIdSent = typeof input['KeyId'] === 'string' ? input['KeyId'] : undefined;
    const fault: CallFaultDecision = this.options.faults?.decide(operation, caller.region) ?? {
      kind: 'none',
      dropAfterEffect: false,
      latencyMs: 0,
    };
    const rejectWith = (error: KmsApiError, callFault?: CallRecord['fault']): ApiResponse => {
      if (error.code === 'ThrottlingException') this.throttled += 1;
      if (mutating) this.emitRecord(operation, caller.region, requestId, at, request, input, [], null, error);
      this.record({ operation, region: caller.region, keyId: keyIdSent, errorCode: error.code, at, fault: callFault });
      return answer(errorResponse(error, requestId), fault.latencyMs);
    };
    if (fault.kind === 'throttle') return rejectWith(throttlingError(service), 'throttle');
    if (fault.kind === 'internalError') return rejectWith(injectedInternalError(service), 'internalError');
    if (fault.kind === 'error' && fault.error) {
      return rejectWith(new KmsApiError(fault.error.code, fault.error.message, fault.error.httpStatus), 'error');
    }
    if (fault.kind === 'dropConnection' && !fault.dropAfterEffect) {
      this.record({ operation, region: caller.region, keyId: keyIdSent, at, fault: 'dropConnection' });
      return answer({ statusCode: 0, requestId, body: '', drop: true }, fault.latencyMs);
    }
    // INF: a call throttled by a quota has no effect and still leaves a CloudTrail record.
    if (this.options.quotas && !this.options.quotas.tryTake(quotaCharges(operation, caller.region, input))) {
      return rejectWith(throttlingError(service));
    }

    const dropped = fault.kind === 'dropConnection';
    const response =
      service === 'events'
        ? this.runPutEvents(caller, requestId, at, input, dropped)
        : this.runKms(definition as OperationDefinition, operation, caller, requestId, at, request, input, keyIdSent, dropped);
    return answer(dropped ? { ...response, drop: true } : response, fault.latencyMs);
  }

  private runKms(
    definition: OperationDefinition,
    operation: string,
    caller: CallerCredentials,
    requestId: string,
    at: number,
    request: ApiRequest,
    input: RequestInput,
    keyIdSent: string | undefined,
    dropped: boolean,
  ): ApiResponse {
    const ctx: OperationContext = {
      region: caller.region,
      account: this.options.account,
      requestId,
      at,
      store: this.options.store,
      replicaDelayMs: this.options.replicaDelayMs,
      primaryUpdateDelayMs: this.options.primaryUpdateDelayMs ?? 0,
      ...(this.options.maxKeysPerRegion === undefined ? {} : { maxKeysPerRegion: this.options.maxKeysPerRegion }),
      ...(this.options.disabledRegions ? { disabledRegions: this.options.disabledRegions } : {}),
      resourceArns: [],
      sideRecords: [],
    };
    const fault: CallRecord['fault'] = dropped ? 'dropConnection' : undefined;
    try {
      const result = definition.run(ctx, input);
      if (definition.mutating) {
        this.emitRecord(operation, ctx.region, requestId, at, request, input, ctx.resourceArns.slice(0, 1), result.responseElements);
        for (const side of ctx.sideRecords) this.emitSideRecord(side, ctx, request);
      }
      this.record({ operation, region: caller.region, keyId: ctx.resolvedKeyId ?? keyIdSent, at, fault });
      return { statusCode: 200, requestId, body: JSON.stringify(toWire(result.output)) };
    } catch (error) {
      const apiError = toApiError(error);
      if (definition.mutating) {
        this.emitRecord(operation, ctx.region, requestId, at, request, input, ctx.resourceArns.slice(0, 1), null, apiError);
      }
      this.record({ operation, region: caller.region, keyId: ctx.resolvedKeyId ?? keyIdSent, errorCode: apiError.code, at, fault });
      return errorResponse(apiError, requestId);
    }
  }

  private runPutEvents(caller: CallerCredentials, requestId: string, at: number, input: RequestInput, dropped: boolean): ApiResponse {
    const fault: CallRecord['fault'] = dropped ? 'dropConnection' : undefined;
    const published = this.options.published as PublishedEventStore;
    try {
      const output = putEvents({ region: caller.region, account: this.options.account, at, published }, input);
      this.record({ operation: 'PutEvents', region: caller.region, at, fault });
      return { statusCode: 200, requestId, body: JSON.stringify(output) };
    } catch (error) {
      const apiError = toApiError(error);
      this.record({ operation: 'PutEvents', region: caller.region, errorCode: apiError.code, at, fault });
      return errorResponse(apiError, requestId);
    }
  }

  /**
   * Deletes keys whose waiting period has ended (see `KeyStore.sweepDeletions`) and emits a
   * DeleteKey service event for each, in deletion order. Returns how many keys were deleted.
   */
  sweepDeletions(): number {
    const deleted = this.options.store.sweepDeletions(this.options.now());
    for (const { record, at } of deleted) {
      this.emit(buildDeleteKeyEvent({ region: record.region, account: this.options.account, keyId: record.keyId, keyArn: record.arn, at }));
    }
    return deleted.length;
  }

  /** Every call served so far, in order. */
  calls(): readonly CallRecord[] {
    return this.callLog;
  }

  /** Forgets the call log. */
  resetCalls(): void {
    this.callLog.length = 0;
  }

  /** Calls answered `ThrottlingException` since start (quotas and injected faults), kept across `resetCalls`. */
  throttledCount(): number {
    return this.throttled;
  }

  /** Registers a listener for every event emitted from now on; returns its unsubscribe function. */
  subscribe(listener: (event: CloudTrailEventBridgeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Removes and returns every queued event, oldest first (shuffled within windows under an event reorder fault). */
  takeEvents(): CloudTrailEventBridgeEvent[] {
    const batch = this.queue.splice(0, this.queue.length);
    return this.options.faults ? this.options.faults.reorder(batch) : batch;
  }

  /** Number of queued events. */
  pendingEvents(): number {
    return this.queue.length;
  }

  /** Number of events held back by an event delay fault. */
  delayedEvents(): number {
    return this.held.length;
  }

  /** Queues (and hands to listeners) every held-back event, in emission order; returns how many. */
  releaseDelayedEvents(): number {
    const released = this.held.splice(0, this.held.length);
    for (const event of released) this.deliver(event);
    return released.length;
  }

  /** The CloudTrail `userIdentity` of the caller with `accessKeyId`. */
  userIdentity(accessKeyId: string): CloudTrailUserIdentity {
    const { account } = this.options;
    const override = this.options.callerIdentities?.[accessKeyId];
    const base = {
      type: 'IAMUser',
      principalId: accessKeyId,
      arn: `arn:aws:iam::${account}:user/${accessKeyId}`,
    };
    // INF: without a configured identity the caller is an IAM user named after its access key.
    if (!override) return { ...base, accountId: account, accessKeyId, userName: accessKeyId };
    return { ...base, ...override, accountId: account, accessKeyId };
  }

  private emitRecord(
    eventName: string,
    region: string,
    requestId: string,
    at: number,
    request: ApiRequest,
    input: RequestInput,
    resourceArns: readonly string[],
    responseElements: Record<string, unknown> | null,
    error?: KmsApiError,
  ): void {
    const caller = request.caller as CallerCredentials;
    this.emit(
      buildCloudTrailEvent({
        eventName,
        region,
        account: this.options.account,
        userIdentity: this.userIdentity(caller.accessKeyId),
        sourceIPAddress: request.sourceIPAddress,
        userAgent: request.userAgent,
        requestId,
        at,
        requestParameters: Object.keys(input).length === 0 ? null : { ...input },
        responseElements,
        resourceArns,
        ...(error ? { error: { code: error.code, message: error.message } } : {}),
      }),
    );
  }

  private emitSideRecord(side: SideRecord, ctx: OperationContext, request: ApiRequest): void {
    const caller = request.caller as CallerCredentials;
    const userIdentity = this.userIdentity(caller.accessKeyId);
    if (side.invokedBy !== undefined) userIdentity.invokedBy = side.invokedBy;
    const serviceSource = side.callerSource ? undefined : side.invokedBy;
    this.emit(
      buildCloudTrailEvent({
        eventName: side.eventName,
        region: side.region,
        account: ctx.account,
        userIdentity,
        sourceIPAddress: serviceSource ?? request.sourceIPAddress,
        userAgent: serviceSource ?? request.userAgent,
        requestId: ctx.requestId,
        at: ctx.at,
        requestParameters: side.requestParameters,
        responseElements: side.responseElements,
        resourceArns: side.resourceArns,
      }),
    );
  }

  /** Puts an event through the event faults (drop, duplicate, delay), then queues it. */
  private emit(event: CloudTrailEventBridgeEvent): void {
    const fate = this.options.faults?.decideEvent() ?? { copies: 1, delayed: false };
    const copies: CloudTrailEventBridgeEvent[] = [];
    if (fate.copies >= 1) copies.push(event);
    if (fate.copies >= 2) copies.push(structuredClone(event));
    for (const copy of copies) {
      if (fate.delayed) this.held.push(copy);
      else this.deliver(copy);
    }
  }

  private deliver(event: CloudTrailEventBridgeEvent): void {
    this.queue.push(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A subscriber's failure must not fail the API call that produced the event.
      }
    }
  }

  private record(call: CallRecord): void {
    const entry: CallRecord = { operation: call.operation, region: call.region, at: call.at };
    if (call.keyId !== undefined) entry.keyId = call.keyId;
    if (call.errorCode !== undefined) entry.errorCode = call.errorCode;
    if (call.fault !== undefined) entry.fault = call.fault;
    this.callLog.push(entry);
  }
}

/**
 * The quota charges of one call [fact sheet §3]: 1 request of the operation in the caller's
 * Region; ReplicateKey also 2 CreateKey requests in the replica's Region (one is a dry run);
 * UpdatePrimaryRegion also 1 UpdatePrimaryRegion request in the new primary's Region. A malformed
 * `ReplicaRegion`/`PrimaryRegion` charges only the caller's Region.
 */
export function quotaCharges(operation: string, region: string, input: RequestInput): QuotaCharge[] {
  const charges: QuotaCharge[] = [{ operation, region, tokens: 1 }];
  const other = operation === 'ReplicateKey' ? input['ReplicaRegion'] : operation === 'UpdatePrimaryRegion' ? input['PrimaryRegion'] : undefined;
  if (typeof other !== 'string' || !REGION_PATTERN.test(other)) return charges;
  if (operation === 'ReplicateKey') charges.push({ operation: 'CreateKey', region: other, tokens: 2 });
  else if (other !== region) charges.push({ operation, region: other, tokens: 1 });
  return charges;
}

/** @throws KmsApiError `SerializationException` unless the body is a JSON object (empty means `{}`). */
function parseBody(body: string): RequestInput {
  if (body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw serializationError('The request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw serializationError('The request body must be a JSON object');
  }
  return parsed as RequestInput;
}

function toApiError(error: unknown): KmsApiError {
  if (error instanceof KmsApiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return internalError(`The embedded KMS failed: ${message}`);
}

function errorResponse(error: KmsApiError, requestId: string): ApiResponse {
  return {
    statusCode: error.statusCode,
    requestId,
    errorCode: error.code,
    body: JSON.stringify({ __type: error.code, message: error.message }),
  };
}

/** API-shaped value → JSON 1.1 wire value: `Date` → epoch seconds (a number) [S2 timestampFormat]. */
export function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === 'object' && value !== null) {
    const wire: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      if (member !== undefined) wire[key] = toWire(member);
    }
    return wire;
  }
  return value;
}
