/**
 * Observes the calls an SDK client makes, as they went over the wire: the JSON body sent and the
 * raw body received, per HTTP attempt. The smoke run (`npm run smoke -- --record DIR`) saves them
 * as fixtures; nothing in the Lambda handlers installs it.
 */
import type { Readable } from 'node:stream';

/** One HTTP exchange of an SDK call (a retried call is several). */
export interface SdkCallRecord {
  /** `kms`, `sts`, `cloudtrail`, ... (as given to {@link observeSdkCalls}). */
  readonly service: string;
  /** The operation, e.g. `CreateKey`. */
  readonly operation: string;
  /** The client's Region. */
  readonly region: string;
  /** When the attempt was sent (epoch ms). */
  readonly startedAt: number;
  /** How long the attempt took (ms). */
  readonly ms: number;
  /** The HTTP status; absent when no response came (network error, abort). */
  readonly httpStatus?: number;
  /** `x-amzn-RequestId` of the response. */
  readonly requestId?: string;
  /** The request body as sent: parsed JSON, or the raw text when it is not JSON. */
  readonly request: unknown;
  /** The response body as received: parsed JSON, or the raw text when it is not JSON. */
  readonly response?: unknown;
  /** The AWS error name of a failed response (`x-amzn-ErrorType`, else the body's `__type`). */
  readonly errorType?: string;
  /** What went wrong when no response came (e.g. `ECONNREFUSED`, `AbortError`). */
  readonly networkError?: string;
}

/** Receives each record; an observer's exception is swallowed (a side report never fails the call). */
export type SdkCallObserver = (call: SdkCallRecord) => void;

/** The part of an SDK client this needs (every `@aws-sdk/client-*` client has it). */
interface ClientWithMiddleware {
  readonly middlewareStack: {
    add(middleware: unknown, options: { step: 'deserialize'; name: string; priority: 'low' }): void;
  };
}

interface WireRequest {
  readonly body?: unknown;
}

interface WireResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | undefined>;
  body?: unknown;
}

/**
 * Installs a middleware in the `deserialize` step at low priority, so it runs inside the SDK's
 * retry loop and before its deserializer: it reads the raw response body and hands it on as
 * bytes (the SDK's `collectBody` accepts a `Uint8Array` as it is), then reports the exchange.
 *
 * @param client - any AWS SDK v3 client.
 * @param service - a name for the records, e.g. `kms`.
 * @param region - the client's Region.
 * @param observer - receives one record per HTTP attempt.
 */
export function observeSdkCalls(client: ClientWithMiddleware, service: string, region: string, observer: SdkCallObserver): void {
  const middleware =
    (next: (args: { request: WireRequest }) => Promise<{ response: WireResponse }>, context: { commandName?: string }) =>
    async (args: { request: WireRequest }): Promise<{ response: WireResponse }> => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const startedAt = Date.now();
      const request = parseBody(args.request.body);
      let result: { response: WireResponse };
      try {
        result = await next(args);
      } catch (error) {
        const failure = error as { code?: unknown; name?: unknown };
        const networkError = typeof failure.code === 'string' ? failure.code : typeof failure.name === 'string' ? failure.name : 'Error';
        report(observer, { service, operation, region, startedAt, ms: Date.now() - startedAt, request, networkError });
        throw error;
      }
      const response = result.response;
      const bytes = await readBody(response.body);
      response.body = bytes;
      const parsed = parseBody(utf8.decode(bytes));
      const headerType = response.headers['x-amzn-errortype']?.split(':')[0];
      const bodyType = typeof parsed === 'object' && parsed !== null ? (parsed as { __type?: unknown }).__type : undefined;
      const errorType = response.statusCode >= 300 ? (headerType ?? (typeof bodyType === 'string' ? bodyType.split('#').pop() : undefined)) : undefined;
      const requestId = response.headers['x-amzn-requestid'];
      report(observer, {
        service,
        operation,
        region,
        startedAt,
        ms: Date.now() - startedAt,
        httpStatus: response.statusCode,
        ...(requestId ? { requestId } : {}),
        request,
        response: parsed,
        ...(errorType ? { errorType } : {}),
      });
      return result;
    };
  client.middlewareStack.add(middleware, { step: 'deserialize', name: 'kmsReplicasCallRecorder', priority: 'low' });
}

function report(observer: SdkCallObserver, call: SdkCallRecord): void {
  try {
    observer(call);
  } catch {
    // A recorder's failure must not fail the call it records.
  }
}

async function readBody(body: unknown): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array();
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of body as Readable) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

const utf8 = new TextDecoder();

function parseBody(body: unknown): unknown {
  // The SDK's JSON bodies are Uint8Array subclasses that warn when used as strings: decode the bytes.
  const text = typeof body === 'string' ? body : body instanceof Uint8Array ? utf8.decode(body) : undefined;
  if (text === undefined || text === '') return text === '' ? '' : undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
