/**
 * One place that maps errors from the AWS SDK (and the network under it) onto the
 * reconciler's two error kinds (design §4).
 */
import { RetryableError, TerminalError, type ReconcilerError } from '../reconcile/errors.js';

/**
 * Error names that are worth retrying. `ThrottlingException` has no SDK class and is matched
 * by name ([S11]); `KMSInternalException` is a server fault ([S11]); `KMSInvalidStateException`
 * is usually a transitional state (`Creating`, `Updating`) and eventual consistency [S17].
 *
 * `LimitExceededException` is deliberately absent: in KMS it means a resource quota is full
 * (e.g. 100,000 KMS keys per Region; API_ReplicateKey [S2], resource-limits [S1]), which no retry
 * fixes, although the SDK's retry strategy counts it as throttling [S12] (see `clients.ts`).
 */
const RETRYABLE_NAMES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'KMSInternalException',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'KMSInvalidStateException',
  'DependencyTimeoutException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'AbortError',
]);

/** Node network error codes that mean "the request may not have reached KMS". */
const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

/**
 * Classifies any thrown value.
 *
 * - Already classified (`TerminalError` / `RetryableError`): returned as is.
 * - SDK service errors: by `name` (no `instanceof`: unmodelled errors have no class [S11]);
 *   any HTTP 5xx or 429 is retryable.
 * - Network errors (`code` such as `ECONNRESET`): retryable.
 * - Everything else (validation, access denied, unsupported operation, bad policy, a resource
 *   quota such as `LimitExceededException`, programming errors): terminal.
 *
 * @param error - anything caught.
 * @returns a `TerminalError` or `RetryableError` whose `code` is the AWS error name (or
 *   `UnknownError`) and whose `cause` is the original.
 */
export function classifyAwsError(error: unknown): ReconcilerError {
  if (error instanceof TerminalError || error instanceof RetryableError) return error;
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  const status = httpStatus(error);
  const networkCode = (error as { code?: unknown } | null)?.code;
  const retryable =
    RETRYABLE_NAMES.has(name) ||
    (status !== undefined && (status >= 500 || status === 429)) ||
    (typeof networkCode === 'string' && RETRYABLE_NETWORK_CODES.has(networkCode));
  const code = name === 'Error' && typeof networkCode === 'string' ? networkCode : name;
  return retryable
    ? new RetryableError(message, code, { cause: error })
    : new TerminalError(message, code, { cause: error });
}

/** The AWS error name of a caught value (`error.name`), or `UnknownError`. */
export function errorName(error: unknown): string {
  if (error !== null && typeof error === 'object' && 'name' in error && typeof error.name === 'string') {
    return error.name;
  }
  return 'UnknownError';
}

function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}
