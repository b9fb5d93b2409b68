/**
 * The transport-free request pipeline of the embedded endpoint, shared by every emulated service:
 * caller and credential-scope checks → the service chosen by the `X-Amz-Target` prefix → body
 * (size, UTF-8, nesting, JSON object) → fault rule → quotas → the service → the call log → the
 * JSON 1.1 answer. It never throws. A service is one {@link EmulatedService} in
 * {@link DispatcherOptions.services}: KMS (`kms/service.ts`), EventBridge (`eventbridge.ts`).
 */
import { BoundedLog } from './bounded-log.js';
import {
  KmsApiError,
  internalError,
  invalidRegionScopeError,
  serializationError,
  unknownOperationError,
  wrongServiceScopeError,
} from './errors.js';
import type { FaultInjector } from './faults.js';
import { REGION_PATTERN, newRequestId } from './ids.js';
import type { QuotaCharge, QuotaLimiter } from './quotas.js';
import type { CallRecord } from './types.js';
import { exceedsNestingDepth, type RequestInput } from './validation.js';

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
  /** The raw body: bytes as received (decoded here as UTF-8), or a string. */
  body: Uint8Array | string;
  /** The transport's refusal of the body (e.g. too large); answered after the caller checks. */
  bodyRefusal?: KmsApiError;
  sourceIPAddress: string;
  userAgent: string;
  /** The HTTP method (`POST`); REST-JSON services (Security Hub) are routed by method and path. */
  method?: string;
  /** The request path with its query string (`/findings/import`). */
  path?: string;
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

/** One call as a service sees it, once the dispatcher has checked the caller and parsed the body. */
export interface ServiceCall {
  /** The name after the target prefix, e.g. `DescribeKey`. */
  readonly operation: string;
  readonly caller: CallerCredentials;
  readonly requestId: string;
  /** Epoch ms when the call arrived (the emulator's clock). */
  readonly at: number;
  readonly input: RequestInput;
  readonly sourceIPAddress: string;
  readonly userAgent: string;
}

/** What a service answers: the output (API-shaped, `Date`s allowed) or the error, and the key id for the call log. */
export type ServiceOutcome = { readonly output: unknown; readonly keyId?: string } | { readonly error: KmsApiError; readonly keyId?: string };

/**
 * An AWS service on the endpoint, chosen by its `X-Amz-Target` prefix (JSON 1.1 protocol). To
 * serve another one (e.g. SQS's `AmazonSQS.`), implement this and list it in
 * {@link DispatcherOptions.services}: the pipeline (credential scope, body limits, faults, quotas,
 * call log, latency) applies to it unchanged.
 */
export interface EmulatedService {
  /** The `X-Amz-Target` prefix, dot included: `TrentService.`, `AWSEvents.`. */
  readonly targetPrefix: string;
  /** The SigV4 signing name the credential scope must carry: `kms`, `events`. */
  readonly signingName: string;
  /** Whether the service serves `operation`; otherwise `UnknownOperationException`. */
  hasOperation(operation: string): boolean;
  /** The error an injected or quota throttle answers with. */
  throttlingError(): KmsApiError;
  /** The error an injected server fault answers with (HTTP 500). */
  injectedInternalError(): KmsApiError;
  /** The quota charges of one call; default one request of the operation in the caller's Region. */
  quotaCharges?(call: ServiceCall): QuotaCharge[];
  /** A call refused before it ran (injected fault, quota): leave what AWS leaves, e.g. a CloudTrail record. */
  refused?(call: ServiceCall, error: KmsApiError): void;
  /** Runs the call. A failure is an `error` outcome; a thrown error becomes `KMSInternalException`. */
  run(call: ServiceCall): ServiceOutcome;
}

/** Settings of a {@link Dispatcher}. */
export interface DispatcherOptions {
  /** The services on the endpoint; the first whose prefix matches the target serves it. */
  services: readonly EmulatedService[];
  /** The clock, epoch ms. */
  now: () => number;
  /** Runs first on every request, before any check (the KMS deletion sweep). */
  beforeEachCall?: () => void;
  /** Request quotas; omitted = none. */
  quotas?: QuotaLimiter;
  /** Call fault injection; omitted = none. */
  faults?: FaultInjector;
  /** Real-time delay (ms) added to every answer; default 0. */
  latencyMs?: number;
  /** How many call records to keep (oldest dropped first); default `Infinity`. */
  historyLimit?: number;
}

/**
 * Nesting limit of request bodies (objects and arrays, the body itself is level 1). KMS's model
 * nests at most 3 deep (`Tags[].TagKey`); AWS documents no limit for KMS. INF: 1,000, the default
 * `maxNestingDepth` of Jackson's `StreamReadConstraints` (jackson-core 2.15+), the JSON parser of
 * AWS's Java services; EventBridge documents a similar one for `Detail` (1,100, PutEvents API
 * reference).
 */
export const MAX_BODY_NESTING_DEPTH = 1000;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Serves requests for the services of one endpoint and keeps the call log. */
export class Dispatcher {
  private readonly callLog: BoundedLog<CallRecord>;
  private throttled = 0;

  constructor(private readonly options: DispatcherOptions) {
    this.callLog = new BoundedLog(options.historyLimit ?? Infinity);
  }

  /**
   * Serves one request. Never throws: every failure becomes an error response; one the emulator did
   * not foresee becomes `KMSInternalException` (500), recorded as a call like any other.
   */
  invoke(request: ApiRequest): ApiResponse {
    const requestId = newRequestId();
    const at = this.options.now();
    try {
      return this.serve(request, requestId, at);
    } catch (error) {
      const apiError = toApiError(error);
      const operation = request.target.slice(request.target.indexOf('.') + 1);
      const region = request.caller instanceof KmsApiError ? '' : request.caller.region;
      this.record({ operation, region, errorCode: apiError.code, at });
      return errorResponse(apiError, requestId);
    }
  }

  /** Every call served so far (the last `historyLimit` of them), in order. */
  calls(): readonly CallRecord[] {
    return this.callLog.list();
  }

  /** Forgets the call log. */
  resetCalls(): void {
    this.callLog.clear();
  }

  /** Calls answered `ThrottlingException` since start (quotas and injected faults), kept across `resetCalls`. */
  throttledCount(): number {
    return this.throttled;
  }

  private serve(request: ApiRequest, requestId: string, at: number): ApiResponse {
    this.options.beforeEachCall?.();
    const service = this.options.services.find((candidate) => request.target.startsWith(candidate.targetPrefix));
    const operation = service ? request.target.slice(service.targetPrefix.length) : request.target;
    const latency = this.options.latencyMs ?? 0;
    const answer = (response: ApiResponse, extraDelayMs = 0): ApiResponse => {
      const delayMs = latency + extraDelayMs;
      return delayMs > 0 ? { ...response, delayMs } : response;
    };
    const refuse = (error: KmsApiError, region: string): ApiResponse => {
      this.record({ operation, region, errorCode: error.code, at });
      return answer(errorResponse(error, requestId));
    };

    if (request.caller instanceof KmsApiError) return refuse(request.caller, '');
    const caller = request.caller;
    // Before the operation is looked at: AWS refuses the signature first.
    if (!REGION_PATTERN.test(caller.region)) return refuse(invalidRegionScopeError(caller.region), caller.region);
    if (!service || !service.hasOperation(operation)) return refuse(unknownOperationError(request.target), caller.region);
    if (caller.service !== undefined && caller.service !== service.signingName) {
      return refuse(wrongServiceScopeError(service.signingName), caller.region);
    }
    let input: RequestInput;
    try {
      if (request.bodyRefusal) throw request.bodyRefusal;
      input = parseBody(request.body);
    } catch (error) {
      return refuse(toApiError(error), caller.region);
    }

    const call: ServiceCall = {
      operation,
      caller,
      requestId,
      at,
      input,
      sourceIPAddress: request.sourceIPAddress,
      userAgent: request.userAgent,
    };
    const keyIdSent = typeof input['KeyId'] === 'string' ? input['KeyId'] : undefined;
    const fault = this.options.faults?.decide(operation, caller.region) ?? { kind: 'none', dropAfterEffect: false, latencyMs: 0 };
    const reject = (error: KmsApiError, callFault?: CallRecord['fault']): ApiResponse => {
      if (error.code === 'ThrottlingException') this.throttled += 1;
      service.refused?.(call, error);
      this.record({ operation, region: caller.region, keyId: keyIdSent, errorCode: error.code, at, fault: callFault });
      return answer(errorResponse(error, requestId), fault.latencyMs);
    };
    if (fault.kind === 'throttle') return reject(service.throttlingError(), 'throttle');
    if (fault.kind === 'internalError') return reject(service.injectedInternalError(), 'internalError');
    if (fault.kind === 'error' && fault.error) {
      return reject(new KmsApiError(fault.error.code, fault.error.message, fault.error.httpStatus), 'error');
    }
    if (fault.kind === 'dropConnection' && !fault.dropAfterEffect) {
      this.record({ operation, region: caller.region, keyId: keyIdSent, at, fault: 'dropConnection' });
      return answer({ statusCode: 0, requestId, body: '', drop: true }, fault.latencyMs);
    }
    // INF: a call throttled by a quota has no effect and still leaves what a refused call leaves.
    const charges = service.quotaCharges?.(call) ?? [{ operation, region: caller.region, tokens: 1 }];
    if (this.options.quotas && !this.options.quotas.tryTake(charges)) return reject(service.throttlingError());

    const dropped = fault.kind === 'dropConnection';
    const outcome = service.run(call);
    const callFault: CallRecord['fault'] = dropped ? 'dropConnection' : undefined;
    let response: ApiResponse;
    if ('error' in outcome) {
      this.record({ operation, region: caller.region, keyId: outcome.keyId, errorCode: outcome.error.code, at, fault: callFault });
      response = errorResponse(outcome.error, requestId);
    } else {
      const body = JSON.stringify(toWire(outcome.output));
      this.record({ operation, region: caller.region, keyId: outcome.keyId, at, fault: callFault });
      response = { statusCode: 200, requestId, body };
    }
    return answer(dropped ? { ...response, drop: true } : response, fault.latencyMs);
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
 * @throws KmsApiError `SerializationException` unless the body is valid UTF-8, nests at most
 *   {@link MAX_BODY_NESTING_DEPTH} levels and is a JSON object (empty means `{}`).
 */
function parseBody(raw: Uint8Array | string): RequestInput {
  let body: string;
  try {
    body = typeof raw === 'string' ? raw : UTF8.decode(raw);
  } catch {
    throw serializationError('The request body is not valid UTF-8.');
  }
  if (body.trim() === '') return {};
  if (exceedsNestingDepth(body, MAX_BODY_NESTING_DEPTH)) {
    throw serializationError(`The request body nests deeper than ${MAX_BODY_NESTING_DEPTH} levels of objects and arrays.`);
  }
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

/** Any thrown value as the error to answer: a `KmsApiError` as is, anything else `KMSInternalException` (500). */
export function toApiError(error: unknown): KmsApiError {
  if (error instanceof KmsApiError) return error;
  let message: string;
  try {
    message = error instanceof Error ? error.message : String(error);
  } catch {
    message = '(an unprintable error)';
  }
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

/**
 * API-shaped value → JSON 1.1 wire value: `Date` → epoch seconds (a number) [S2 timestampFormat];
 * bytes (a blob, e.g. `PublicKey`) → base64 [S2 protocol json].
 */
export function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
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
