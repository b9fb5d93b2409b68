import { buildCloudTrailEvent } from './cloudtrail.js';
import { KmsApiError, internalError, serializationError, unknownOperationError } from './errors.js';
import { newRequestId } from './ids.js';
import type { OperationContext, OperationDefinition, SideRecord } from './operations.js';
import type { KeyStore } from './store.js';
import type { CallRecord, CloudTrailEventBridgeEvent, CloudTrailUserIdentity } from './types.js';
import type { RequestInput } from './validation.js';

/** The SigV4 facts the emulator uses: who called and in which Region. */
export interface CallerCredentials {
  accessKeyId: string;
  region: string;
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

/** The answer to an {@link ApiRequest}: status, JSON body and, on failure, the error code. */
export interface ApiResponse {
  statusCode: number;
  requestId: string;
  body: string;
  errorCode?: string;
}

/** How the engine names a caller in CloudTrail; see {@link EngineOptions.callerIdentities}. */
export type CallerIdentityOverride = Partial<Omit<CloudTrailUserIdentity, 'accessKeyId' | 'accountId'>>;

/** Settings of a {@link KmsEngine}. */
export interface EngineOptions {
  account: string;
  replicaDelayMs: number;
  now: () => number;
  store: KeyStore;
  operations: ReadonlyMap<string, OperationDefinition>;
  /** Per access key id, how CloudTrail's `userIdentity` names the caller (default: an IAM user). */
  callerIdentities?: Readonly<Record<string, CallerIdentityOverride>>;
}

const TARGET_PREFIX = 'TrentService.';

/**
 * The transport-independent core: dispatches one request to its operation, records the call,
 * emits CloudTrail events for mutating operations (successful or failed) and serializes the
 * answer. Quotas and fault injection belong here, around {@link KmsEngine.invoke}.
 */
export class KmsEngine {
  private readonly callLog: CallRecord[] = [];
  private readonly queue: CloudTrailEventBridgeEvent[] = [];
  private readonly listeners = new Set<(event: CloudTrailEventBridgeEvent) => void>();

  constructor(private readonly options: EngineOptions) {}

  /** Serves one request. Never throws: every failure becomes an error response. */
  invoke(request: ApiRequest): ApiResponse {
    const requestId = newRequestId();
    const at = this.options.now();
    const operation = request.target.startsWith(TARGET_PREFIX) ? request.target.slice(TARGET_PREFIX.length) : request.target;
    if (request.caller instanceof KmsApiError) {
      this.record({ operation, region: '', errorCode: request.caller.code, at });
      return errorResponse(request.caller, requestId);
    }
    const caller = request.caller;
    const definition = request.target.startsWith(TARGET_PREFIX) ? this.options.operations.get(operation) : undefined;
    if (!definition) {
      const error = unknownOperationError(request.target);
      this.record({ operation, region: caller.region, errorCode: error.code, at });
      return errorResponse(error, requestId);
    }
    let input: RequestInput;
    try {
      input = parseBody(request.body);
    } catch (error) {
      const apiError = toApiError(error);
      this.record({ operation, region: caller.region, errorCode: apiError.code, at });
      return errorResponse(apiError, requestId);
    }

    const ctx: OperationContext = {
      region: caller.region,
      account: this.options.account,
      requestId,
      at,
      store: this.options.store,
      replicaDelayMs: this.options.replicaDelayMs,
      resourceArns: [],
      sideRecords: [],
    };
    const keyIdSent = typeof input['KeyId'] === 'string' ? input['KeyId'] : undefined;
    try {
      const result = definition.run(ctx, input);
      if (definition.mutating) {
        this.emitRecord(operation, ctx, request, input, result.responseElements);
        for (const side of ctx.sideRecords) this.emitSideRecord(side, ctx, request);
      }
      this.record({ operation, region: caller.region, keyId: ctx.resolvedKeyId ?? keyIdSent, at });
      return { statusCode: 200, requestId, body: JSON.stringify(toWire(result.output)) };
    } catch (error) {
      const apiError = toApiError(error);
      if (definition.mutating) {
        this.emitRecord(operation, ctx, request, input, null, apiError);
      }
      this.record({ operation, region: caller.region, keyId: ctx.resolvedKeyId ?? keyIdSent, errorCode: apiError.code, at });
      return errorResponse(apiError, requestId);
    }
  }

  /** Every call served so far, in order. */
  calls(): readonly CallRecord[] {
    return this.callLog;
  }

  /** Forgets the call log. */
  resetCalls(): void {
    this.callLog.length = 0;
  }

  /** Registers a listener for every event emitted from now on; returns its unsubscribe function. */
  subscribe(listener: (event: CloudTrailEventBridgeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Removes and returns every queued event, oldest first. */
  takeEvents(): CloudTrailEventBridgeEvent[] {
    return this.queue.splice(0, this.queue.length);
  }

  /** Number of queued events. */
  pendingEvents(): number {
    return this.queue.length;
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
    ctx: OperationContext,
    request: ApiRequest,
    input: RequestInput,
    responseElements: Record<string, unknown> | null,
    error?: KmsApiError,
  ): void {
    const caller = request.caller as CallerCredentials;
    this.emit(
      buildCloudTrailEvent({
        eventName,
        region: ctx.region,
        account: ctx.account,
        userIdentity: this.userIdentity(caller.accessKeyId),
        sourceIPAddress: request.sourceIPAddress,
        userAgent: request.userAgent,
        requestId: ctx.requestId,
        at: ctx.at,
        requestParameters: Object.keys(input).length === 0 ? null : { ...input },
        responseElements,
        resourceArns: ctx.resourceArns.slice(0, 1),
        ...(error ? { error: { code: error.code, message: error.message } } : {}),
      }),
    );
  }

  private emitSideRecord(side: SideRecord, ctx: OperationContext, request: ApiRequest): void {
    const caller = request.caller as CallerCredentials;
    const userIdentity = this.userIdentity(caller.accessKeyId);
    if (side.invokedBy !== undefined) userIdentity.invokedBy = side.invokedBy;
    this.emit(
      buildCloudTrailEvent({
        eventName: side.eventName,
        region: side.region,
        account: ctx.account,
        userIdentity,
        sourceIPAddress: side.invokedBy ?? request.sourceIPAddress,
        userAgent: side.invokedBy ?? request.userAgent,
        requestId: ctx.requestId,
        at: ctx.at,
        requestParameters: side.requestParameters,
        responseElements: side.responseElements,
        resourceArns: side.resourceArns,
      }),
    );
  }

  private emit(event: CloudTrailEventBridgeEvent): void {
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
    this.callLog.push(entry);
  }
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
