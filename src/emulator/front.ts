/**
 * What the HTTP server hands each request to: STS (`GetCallerIdentity`, the awsQuery protocol,
 * which the JSON 1.1 dispatcher does not speak) goes to its stand-in, everything else to the
 * dispatcher. STS calls are not in the call log and see no faults, quotas or latency. Security
 * Hub speaks REST-JSON (no `X-Amz-Target`: the operation is the method and path): its route is
 * turned into the dispatcher's target `SecurityHubAPIService.<Operation>`, so its calls go through
 * the same pipeline (call log, faults, quotas, latency) as the JSON 1.1 services.
 */
import type { ApiRequest, ApiResponse } from './dispatcher.js';
import { invalidRegionScopeError, KmsApiError } from './errors.js';
import { newRequestId, REGION_PATTERN } from './ids.js';
import type { RequestHandler } from './server.js';
import { SECURITY_HUB_SIGNING_NAME, SECURITY_HUB_TARGET_PREFIX, securityHubOperationOf } from './securityhub.js';
import { serveSts, STS_SERVICE, type StsContext } from './sts.js';

/**
 * Routes a request whose SigV4 scope service is `sts` to the STS stand-in, anything else (and a
 * request without valid credentials) to `dispatcher`.
 *
 * @param dispatcher - the JSON 1.1 pipeline (KMS, EventBridge, CloudTrail).
 * @param identityOf - how CloudTrail names the caller of an access key id.
 */
export function createApiFront(dispatcher: RequestHandler, identityOf: StsContext['identityOf']): RequestHandler {
  return {
    invoke(request: ApiRequest): ApiResponse {
      const caller = request.caller;
      if (!(caller instanceof KmsApiError) && caller.service === SECURITY_HUB_SIGNING_NAME) {
        // An unknown route keeps its path as the target: the dispatcher answers UnknownOperationException.
        const operation = securityHubOperationOf(request.method ?? 'POST', request.path ?? '/');
        return dispatcher.invoke({ ...request, target: operation ? `${SECURITY_HUB_TARGET_PREFIX}${operation}` : `${request.method ?? 'POST'} ${request.path ?? '/'}` });
      }
      if (caller instanceof KmsApiError || caller.service !== STS_SERVICE) return dispatcher.invoke(request);
      const requestId = newRequestId();
      if (!REGION_PATTERN.test(caller.region)) {
        const error = invalidRegionScopeError(caller.region);
        return { statusCode: error.statusCode, requestId, errorCode: error.code, body: JSON.stringify({ __type: error.code, message: error.message }) };
      }
      return serveSts(caller, request.body, { requestId, identityOf });
    },
  };
}
