/**
 * Pooled connections are closed before the server closes them (`requestHandlerOptions` in
 * `src/aws/clients.ts`). The embedded KMS is Node's HTTP server: it announces
 * `Keep-Alive: timeout=5` and closes an idle connection at 5 s + 1 s. A client that keeps the
 * connection longer sends its next request into the server's close and fails with `ECONNRESET`:
 * with one attempt (the sweep test's `maxAttempts: 1`), that was a replica's `DescribeKey` read as
 * a `failed` Region, about 1 sweep in 5 when the first sweep of the 2,000-key test lasted about the
 * server's 6 s. These tests read the idle timeout each pooled connection was given when its answer
 * came back, so they need no waiting and no clock.
 */
import { createServer, type Agent, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { IDLE_CONNECTION_MS, createKmsClientFactory } from '../../src/aws/clients.js';
import { startEmbeddedKms, type EmbeddedKms } from '../../src/emulator/index.js';

const CREDENTIALS = { accessKeyId: 'AKIAIDLECONNECTIONS1', secretAccessKey: 'test' };
const REGION = 'us-east-1';

let kms: EmbeddedKms | undefined;
let plain: Server | undefined;
const clients: KMSClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await kms?.close();
  kms = undefined;
  await new Promise<void>((resolve) => (plain ? plain.close(() => resolve()) : resolve()));
  plain = undefined;
});

/** The connections waiting in the client's pool for the next request (its plain-HTTP agent). */
function pooledConnections(client: KMSClient): Socket[] {
  // `httpHandlerConfigs()` is the handler's public view of its resolved settings (`HttpHandler`).
  const handler = client.config.requestHandler as unknown as { httpHandlerConfigs(): { httpAgent?: Agent } };
  const agent = handler.httpHandlerConfigs().httpAgent;
  if (!agent) throw new Error('the client has made no plain-HTTP request yet');
  return Object.values(agent.freeSockets).flatMap((sockets) => sockets ?? []);
}

/** One request, then the pool once the connection is back in it. */
async function oneRequestThenPool(client: KMSClient): Promise<Socket[]> {
  clients.push(client);
  await client.send(new ListKeysCommand({}));
  await new Promise((resolve) => setImmediate(resolve)); // the agent takes the socket back on the response's end
  return pooledConnections(client);
}

/** A KMS-shaped server on 127.0.0.1 that announces no keep-alive timeout (Node's `keepAliveTimeout` 0). */
async function startServerWithoutKeepAliveHint(): Promise<string> {
  plain = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'idle-test' });
      response.end(JSON.stringify({ Keys: [], Truncated: false }));
    });
  });
  plain.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => plain!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
}

describe('idle connections of our SDK clients', () => {
  it('the embedded KMS announces Keep-Alive: timeout=5 on its answers', async () => {
    kms = await startEmbeddedKms();

    const response = await fetch(`${kms.endpoint}/`, {
      method: 'POST',
      headers: { 'x-amz-target': 'TrentService.ListKeys', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    await response.text();

    expect(response.headers.get('keep-alive')).toBe('timeout=5');
  });

  it('closes a connection idle for 4 s, 1 s before the 5 s the embedded KMS announced', async () => {
    kms = await startEmbeddedKms();
    const client = createKmsClientFactory({ endpoint: kms.endpoint, credentials: CREDENTIALS, maxAttempts: 1 })(REGION);

    const pool = await oneRequestThenPool(client);

    expect(pool.map((socket) => socket.timeout)).toEqual([4_000]);
  });

  it('closes a connection idle for IDLE_CONNECTION_MS when the server announces no timeout', async () => {
    const endpoint = await startServerWithoutKeepAliveHint();
    const client = createKmsClientFactory({ endpoint, credentials: CREDENTIALS, maxAttempts: 1 })(REGION);

    const pool = await oneRequestThenPool(client);

    expect(pool.map((socket) => socket.timeout)).toEqual([IDLE_CONNECTION_MS]);
    expect(IDLE_CONNECTION_MS).toBe(300_000);
  });

  it('an SDK client with the default handler never closes an idle connection, whatever the server announced (the cause)', async () => {
    kms = await startEmbeddedKms();
    const client = new KMSClient({ region: REGION, endpoint: kms.endpoint, credentials: CREDENTIALS, maxAttempts: 1 });

    const pool = await oneRequestThenPool(client);

    // 0 = no timeout: Node's agent drops the server's hint when the agent has no `timeout` of its own.
    expect(pool.map((socket) => socket.timeout)).toEqual([0]);
  });
});
