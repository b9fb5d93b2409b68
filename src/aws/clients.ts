/**
 * SDK clients, built once per container and one per Region: KMS is regional, and a request for
 * a key of Region B sent to Region A answers `NotFoundException` (`kms-facts.md` §8.1, [S7]).
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { StandardRetryStrategy } from '@smithy/core/retry';
import { observeSdkCalls, type SdkCallObserver } from './call-recorder.js';

/** Static AWS credentials (for the embedded KMS, or tests). */
export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** How to build clients; everything optional falls back to the SDK defaults. */
export interface ClientOptions {
  /** A KMS-compatible endpoint (the embedded KMS, LocalStack); unset = the real AWS endpoint. */
  readonly endpoint?: string;
  /** Static credentials; unset = the SDK's default credential chain. */
  readonly credentials?: StaticCredentials;
  /** Total attempts per call including the first (SDK standard retry mode). Default 3 [S12]. */
  readonly maxAttempts?: number;
  /** Receives every HTTP exchange of every client (the smoke run's `--record`); default none. */
  readonly observe?: SdkCallObserver;
}

/**
 * AWS error names the SDK's standard retry strategy would retry but which no retry can fix.
 * `LimitExceededException` is in the SDK's `THROTTLING_ERROR_CODES`
 * (`@smithy/core` 3.41.1, `dist-es/submodules/retry/service-error-classification/constants.js`;
 * `isThrottlingError` in `service-error-classification.js` matches on `error.name`) [S12], yet
 * KMS answers it when a resource quota is full, e.g. 100,000 KMS keys in the replica's Region
 * (API_ReplicateKey [S2], resource-limits [S1]).
 */
export const NOT_RETRIED_BY_SDK: ReadonlySet<string> = new Set(['LimitExceededException']);

/**
 * The SDK's standard retry strategy (`StandardRetryStrategy` of `@smithy/core/retry`: attempts,
 * backoff, retry quota), except that it never retries an error named in
 * {@link NOT_RETRIED_BY_SDK}. The SDK's retry middleware asks `refreshRetryTokenForRetry` after each
 * failed attempt and, when it throws, gives up and throws the attempt's own error
 * (`retryMiddleware.js`, same package), so the caller sees the `LimitExceededException` at once.
 */
export class QuotaAwareRetryStrategy extends StandardRetryStrategy {
  override async refreshRetryTokenForRetry(
    ...[token, errorInfo]: Parameters<StandardRetryStrategy['refreshRetryTokenForRetry']>
  ): ReturnType<StandardRetryStrategy['refreshRetryTokenForRetry']> {
    const name = (errorInfo.error as { name?: unknown } | undefined)?.name;
    if (typeof name === 'string' && NOT_RETRIED_BY_SDK.has(name)) {
      throw new Error(`${name} is a resource quota, not throttling: not retried`);
    }
    return super.refreshRetryTokenForRetry(token, errorInfo);
  }
}

/** A function that returns the KMS client of a Region, the same object for the same Region. */
export type KmsClientFor = (region: string) => KMSClient;

/**
 * Creates a per-Region KMS client cache. Every client retries with a
 * {@link QuotaAwareRetryStrategy} of `maxAttempts` attempts (the SDK's standard mode, without
 * retrying `LimitExceededException`).
 *
 * @param options - endpoint, credentials, retry attempts and call observer shared by every Region's client.
 * @returns `clientFor(region)`, which builds a client on first use and reuses it after.
 */
export function createKmsClientFactory(options: ClientOptions = {}): KmsClientFor {
  const clients = new Map<string, KMSClient>();
  return function kmsClientFor(region: string): KMSClient {
    let client = clients.get(region);
    if (!client) {
      const maxAttempts = options.maxAttempts ?? 3;
      client = new KMSClient({
        region,
        maxAttempts,
        // Same backoff and retry quota as the SDK's default standard strategy (its constructor's defaults).
        retryStrategy: new QuotaAwareRetryStrategy(maxAttempts),
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
      if (options.observe) observeSdkCalls(client, 'kms', region, options.observe);
      clients.set(region, client);
    }
    return client;
  };
}
