/**
 * SDK clients, built once per container and one per Region: KMS is regional, and a request for
 * a key of Region B sent to Region A answers `NotFoundException` (`kms-facts.md` §8.1, [S7]).
 */
import type { AgentOptions } from 'node:http';
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

/**
 * Longest time (ms) a pooled connection may sit idle before the client closes it, when the server
 * announces no shorter `Keep-Alive: timeout`: under the 350 s after which a NAT gateway drops an
 * idle connection without telling either end (Amazon VPC User Guide, "Troubleshoot NAT gateways",
 * connection timeout; cited in aws/aws-sdk-js-v3#3624).
 */
export const IDLE_CONNECTION_MS = 300_000;

/**
 * The `requestHandler` options of every SDK client we build (a fresh object each call): the SDK's
 * `NodeHttpHandler` pools connections in a keep-alive agent (`keepAlive: true`, `maxSockets: 50`,
 * `@smithy/node-http-handler` 4.14.2, `resolveDefaultConfig`) that has no idle timeout, and Node's
 * agent honours a server's `Keep-Alive: timeout=N` (closing the idle connection 1 s before the N s
 * the server announced) only when the agent has a `timeout` of its own: `keepSocketAlive` in
 * Node 20's `lib/_http_agent.js` takes `min(N s − 1 s, timeout)` and keeps 0 (never) when `timeout`
 * is unset (same finding: microsoft/playwright#42698). Without it, a connection idle past the
 * server's own timeout is reused as the server closes it: the request fails with `ECONNRESET`
 * (a retry if any are left, else a failed call). With it, an idle connection is closed
 * `N s − 1 s` after its last answer (Node's server closes its side at `N s + 1 s`, `lib/_http_server.js`),
 * or after {@link IDLE_CONNECTION_MS} when the server announces nothing.
 */
export function requestHandlerOptions(): { httpAgent: AgentOptions; httpsAgent: AgentOptions } {
  return { httpAgent: { timeout: IDLE_CONNECTION_MS }, httpsAgent: { timeout: IDLE_CONNECTION_MS } };
}

/** A function that returns the KMS client of a Region, the same object for the same Region. */
export type KmsClientFor = (region: string) => KMSClient;

/**
 * Creates a per-Region KMS client cache. Every client retries with a
 * {@link QuotaAwareRetryStrategy} of `maxAttempts` attempts (the SDK's standard mode, without
 * retrying `LimitExceededException`) and closes idle connections before the server does
 * ({@link requestHandlerOptions}).
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
        requestHandler: requestHandlerOptions(),
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
      if (options.observe) observeSdkCalls(client, 'kms', region, options.observe);
      clients.set(region, client);
    }
    return client;
  };
}
