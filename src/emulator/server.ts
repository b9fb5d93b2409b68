import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiRequest, ApiResponse, CallerCredentials } from './dispatcher.js';
import { bodyTooLargeError, incompleteSignatureError, missingAuthenticationError, type KmsApiError } from './errors.js';
import { newRequestId } from './ids.js';

/** What the server hands each request to (the dispatcher); it promises never to throw. */
export interface RequestHandler {
  invoke(request: ApiRequest): ApiResponse;
}

/** The JSON 1.1 content type of every request and response [S2 protocol awsJson1_1]. */
export const AMZ_JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';

/**
 * Bodies beyond this many bytes are answered `RequestEntityTooLargeException` (413). AWS documents
 * no request size for KMS (INF); the largest valid request here is well below it: a 131,072-char
 * policy (at most 2 UTF-8 bytes a char, so 256 KiB) plus an 8,192-char description and tags.
 */
export const MAX_BODY_BYTES = 1024 * 1024;

const CREDENTIAL_PATTERN = /Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request/;

/**
 * Reads the caller from a SigV4 `Authorization` header:
 * `AWS4-HMAC-SHA256 Credential=AKID/20261130/us-west-2/kms/aws4_request, SignedHeaders=…, Signature=…`.
 * The signature is not verified. The scope's service (`kms`, `events`) is returned so the dispatcher
 * can check it against the target. Returns the error to answer with when the header is missing or
 * carries no credential scope.
 */
export function parseAuthorization(header: string | undefined): CallerCredentials | KmsApiError {
  if (header === undefined || header.trim() === '') return missingAuthenticationError();
  if (!header.startsWith('AWS4-HMAC-SHA256 ')) return incompleteSignatureError();
  const match = CREDENTIAL_PATTERN.exec(header);
  if (!match || !match[1] || !match[3]) return incompleteSignatureError();
  return match[4] ? { accessKeyId: match[1], region: match[3], service: match[4] } : { accessKeyId: match[1], region: match[3] };
}

/** A listening HTTP front end for the dispatcher. */
export interface KmsHttpServer {
  /** `http://<host>:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** Stops listening, clears pending delayed answers and drops every connection; idempotent. */
  close(): Promise<void>;
}

/**
 * Serves the JSON 1.1 protocol for `dispatcher`: POST with `X-Amz-Target: TrentService.<Op>` (KMS),
 * `AWSEvents.PutEvents` (EventBridge) or `CloudTrail_20131101.<Op>` (CloudTrail), JSON body (and STS
 * query bodies through the front, `front.ts`); answers with the response's `Content-Type` (default
 * `application/x-amz-json-1.1`), an `x-amzn-RequestId` header and, on failure,
 * `x-amzn-ErrorType` and `{"__type","message"}`. An answer with `delayMs` is sent after that much
 * real time (an unref'd timer, cleared by `close()`); one with `drop` destroys the socket instead.
 * @throws Error when the port cannot be bound.
 */
export async function startHttpServer(dispatcher: RequestHandler, host: string, port: number): Promise<KmsHttpServer> {
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((request, response) => {
    serve(dispatcher, request, response, timers);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    endpoint: `http://${shownHost}:${address.port}`,
    port: address.port,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function serve(dispatcher: RequestHandler, request: IncomingMessage, response: ServerResponse, timers: Set<NodeJS.Timeout>): void {
  const chunks: Buffer[] = [];
  let size = 0;
  request.on('data', (chunk: Buffer) => {
    size += chunk.length;
    // Past the limit the rest is read and dropped: memory stays bounded whatever the client sends.
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  });
  request.on('end', () => {
    try {
      const answer = dispatcher.invoke({
        target: headerValue(request, 'x-amz-target') ?? '',
        caller: parseAuthorization(headerValue(request, 'authorization')),
        body: size > MAX_BODY_BYTES ? '' : Buffer.concat(chunks),
        ...(size > MAX_BODY_BYTES ? { bodyRefusal: bodyTooLargeError(MAX_BODY_BYTES) } : {}),
        sourceIPAddress: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headerValue(request, 'user-agent') ?? '',
        method: request.method ?? 'POST',
        path: request.url ?? '/',
      });
      const deliver = (): void => {
        try {
          if (answer.drop) request.socket.destroy();
          else send(response, answer.statusCode, answer.requestId, answer.body, answer.errorCode, answer.contentType);
        } catch (error) {
          answerInternalFailure(response, error);
        }
      };
      if (answer.delayMs === undefined || answer.delayMs <= 0) {
        deliver();
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        deliver();
      }, answer.delayMs);
      timer.unref();
      timers.add(timer);
    } catch (error) {
      answerInternalFailure(response, error);
    }
  });
  request.on('error', () => {
    response.destroy();
  });
}

/**
 * The last resort: whatever escapes the dispatcher (which promises never to throw) is answered
 * `InternalFailure` (500), the error every AWS API lists among its common errors, and the server
 * keeps serving. When even that cannot be sent (headers already out), the connection is dropped.
 */
function answerInternalFailure(response: ServerResponse, error: unknown): void {
  let detail: string;
  try {
    detail = error instanceof Error ? error.message : String(error);
  } catch {
    detail = '(an unprintable error)';
  }
  try {
    const body = JSON.stringify({ __type: 'InternalFailure', message: `The embedded KMS failed: ${detail}` });
    send(response, 500, newRequestId(), body, 'InternalFailure');
  } catch {
    response.destroy();
  }
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function send(response: ServerResponse, status: number, requestId: string, body: string, errorCode?: string, contentType = AMZ_JSON_CONTENT_TYPE): void {
  const headers: Record<string, string | number> = {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': requestId,
  };
  if (errorCode !== undefined) headers['x-amzn-ErrorType'] = errorCode;
  response.writeHead(status, headers);
  response.end(body);
}
