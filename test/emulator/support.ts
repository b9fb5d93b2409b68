import { constants, createPublicKey, publicEncrypt } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { startEmbeddedKms, type EmbeddedKms, type EmbeddedKmsOptions } from '../../src/emulator/index.js';

/** The emulator's clock helper (default start 2026-11-30T15:29:18Z). */
export { ManualClock } from '../../src/emulator/index.js';

/** A running emulator plus cached SDK clients, one per Region (and access key id). */
export interface KmsHarness {
  kms: EmbeddedKms;
  client(region: string, accessKeyId?: string): KMSClient;
  /** An EventBridge client for `region` pointed at the same endpoint (`maxAttempts: 1`). */
  events(region: string): EventBridgeClient;
  close(): Promise<void>;
}

/** Starts an embedded KMS and hands out unmodified SDK clients pointed at it over HTTP. */
export async function startHarness(options: EmbeddedKmsOptions = {}): Promise<KmsHarness> {
  const kms = await startEmbeddedKms(options);
  const clients = new Map<string, KMSClient>();
  const eventClients = new Map<string, EventBridgeClient>();
  return {
    kms,
    client(region, accessKeyId = 'AKIDEXAMPLE') {
      const cacheKey = `${region}/${accessKeyId}`;
      let client = clients.get(cacheKey);
      if (!client) {
        client = new KMSClient({
          endpoint: kms.endpoint,
          region,
          credentials: { accessKeyId, secretAccessKey: 'x' },
          maxAttempts: 1,
        });
        clients.set(cacheKey, client);
      }
      return client;
    },
    events(region) {
      let client = eventClients.get(region);
      if (!client) {
        client = new EventBridgeClient({
          endpoint: kms.endpoint,
          region,
          credentials: { accessKeyId: 'AKIDEVENTS', secretAccessKey: 'x' },
          maxAttempts: 1,
        });
        eventClients.set(region, client);
      }
      return client;
    },
    async close() {
      for (const client of clients.values()) client.destroy();
      for (const client of eventClients.values()) client.destroy();
      await kms.close();
    },
  };
}

/** The error a promise rejects with (name and message); fails the test if it resolves. */
export async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    return status === undefined ? { name: e.name, message: e.message } : { name: e.name, message: e.message, status };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** A raw JSON 1.1 POST, for what the SDK cannot send (bad JSON or bytes, unknown targets, no auth). */
export async function rawCall(
  endpoint: string,
  init: { target?: string; body?: string | Uint8Array; authorization?: string | null },
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/x-amz-json-1.1' };
  if (init.target !== undefined) headers['X-Amz-Target'] = init.target;
  const authorization =
    init.authorization === undefined
      ? 'AWS4-HMAC-SHA256 Credential=AKIDRAW/20261130/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00'
      : init.authorization;
  if (authorization !== null) headers['Authorization'] = authorization;
  const response = await fetch(endpoint, { method: 'POST', headers, body: init.body ?? '{}' });
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
}

/**
 * Wraps key material for ImportKeyMaterial the way the KMS guide tells a user to
 * (importing-keys-encrypt-key-material: RSAES_OAEP_SHA_256, the DER public key of
 * GetParametersForImport), with node:crypto and nothing of the emulator.
 */
export function wrapKeyMaterial(publicKeyDer: Uint8Array | undefined, material: Uint8Array, hash: 'sha256' | 'sha1' = 'sha256'): Buffer {
  if (!publicKeyDer) throw new Error('GetParametersForImport returned no PublicKey');
  const key = createPublicKey({ key: Buffer.from(publicKeyDer), format: 'der', type: 'spki' });
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, material);
}
