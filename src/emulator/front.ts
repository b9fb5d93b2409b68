/**
 * What the HTTP server hands each request to: STS (`GetCallerIdentity`) and CloudTrail
 * (`LookupEvents`) go to their stand-ins, everything else to the KMS engine (KMS and EventBridge).
 * STS and CloudTrail calls are not in the engine's call log and see no faults, quotas or latency.
 */
import { cloudTrailOperationOf, CLOUDTRAIL_SERVICE, serveCloudTrail, type EventHistory } from './cloudtrail-lookup.js';
import type { ApiRequest, ApiResponse, KmsEngine } from './engine.js';
import { invalidRegionScopeError, KmsApiError, wrongServiceScopeError } from './errors.js';
import { newRequestId, REGION_PATTERN } from './ids.js';
import { serveSts, STS_SERVICE } from './sts.js';

/** Serves one request; never throws. */
export interface ApiHandler {
  invoke(request: ApiRequest): ApiResponse;
}

/**
 * Routes a request by its SigV4 scope service (`sts`) or its `X-Amz-Target` (CloudTrail) to a
 * stand-in, else to `engine`. A request without valid credentials goes to the engine, which
 * answers the authentication error.
 *
 * @param engine - the KMS engine (also the source of CloudTrail identities).
 * @param history - the event history `LookupEvents` reads.
 */
export function createApiFront(engine: KmsEngine, history: EventHistory): ApiHandler {
  return {
    invoke(request: ApiRequest): ApiResponse {
      const caller = request.caller;
      if (caller instanceof KmsApiError) return engine.invoke(request);
      const cloudTrailOperation = cloudTrailOperationOf(request.target);
      const service = caller.service === STS_SERVICE ? STS_SERVICE : cloudTrailOperation !== undefined ? CLOUDTRAIL_SERVICE : undefined;
      if (service === undefined) return engine.invoke(request);
      const requestId = newRequestId();
      const refuse = (error: KmsApiError): ApiResponse => ({
        statusCode: error.statusCode,
        requestId,
        errorCode: error.code,
        body: JSON.stringify({ __type: error.code, message: error.message }),
      });
      if (!REGION_PATTERN.test(caller.region)) return refuse(invalidRegionScopeError(caller.region));
      if (service === STS_SERVICE) return serveSts(caller, request.body, { requestId, identityOf: (id) => engine.userIdentity(id) });
      if (caller.service !== undefined && caller.service !== CLOUDTRAIL_SERVICE) return refuse(wrongServiceScopeError(CLOUDTRAIL_SERVICE));
      return serveCloudTrail(caller, cloudTrailOperation as string, request.body, history, requestId);
    },
  };
}
