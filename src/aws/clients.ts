/**
 * SDK clients, built once per container and one per Region: KMS is regional, and a request for
 * a key of Region B sent to Region A answers `NotFoundException` (`kms-facts.md` §8.1, [S7]).
 */
import { KMSClient } from '@aws-sdk/client-kms';
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

/** A function that returns the KMS client of a Region, the same object for the same Region. */
export type KmsClientFor = (region: string) => KMSClient;

/**
 * Creates a per-Region KMS client cache.
 *
 * @param options - endpoint, credentials, retry attempts and call observer shared by every Region's client.
 * @returns `clientFor(region)`, which builds a client on first use and reuses it after.
 */
export function createKmsClientFactory(options: ClientOptions = {}): KmsClientFor {
  const clients = new Map<string, KMSClient>();
  return function kmsClientFor(region: string): KMSClient {
    let client = clients.get(region);
    if (!client) {
      client = new KMSClient({
        region,
        maxAttempts: options.maxAttempts ?? 3,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
      if (options.observe) observeSdkCalls(client, 'kms', region, options.observe);
      clients.set(region, client);
    }
    return client;
  };
}
