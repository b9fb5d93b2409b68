/**
 * The embedded KMS in a process of its own, for the sweep figures: its CPU and memory (the store,
 * the call log) then stay out of the measured process. Started by `emulator-child.ts` with an IPC
 * channel; answers `{ id, result }` or `{ id, error }` to each `{ id, method, params }`:
 *
 * - `start { latencyMs, quotas }` → `{ endpoint }` (127.0.0.1, a free port)
 * - `seedMix { count }` → the {@link MixSummary} of `seedKeyMix`
 * - `callStats {}` → {@link EmulatorCallStats}: calls served per "Operation Region", throttled
 *   ones per bucket, and when each bucket's last call arrived
 * - `close {}` → `{}`, then the process exits
 *
 * It exits by itself when the parent goes away.
 */
import { startEmbeddedKms, type EmbeddedKms, type QuotaOption } from '../src/emulator/index.js';
import { bucketOf, seedKeyMix, type CallsByBucket } from './key-mix.js';

/** A request from the parent. */
export interface EmulatorRequest {
  readonly id: number;
  readonly method: 'start' | 'seedMix' | 'callStats' | 'close';
  readonly params: Record<string, unknown>;
}

/** The answer to `callStats`. */
export interface EmulatorCallStats {
  /** Every call received, throttled ones included. */
  readonly byBucket: CallsByBucket;
  /** Calls answered `ThrottlingException`, per bucket. */
  readonly throttledByBucket: CallsByBucket;
  /** Per bucket: ms from the first call received (any bucket) to this bucket's last one (`Date.now` resolution). */
  readonly lastCallMsByBucket: CallsByBucket;
  /** Calls answered `ThrottlingException` since start. */
  readonly throttled: number;
  readonly calls: number;
}

let kms: EmbeddedKms | undefined;

async function handle(request: EmulatorRequest): Promise<unknown> {
  switch (request.method) {
    case 'start': {
      kms = await startEmbeddedKms({
        latencyMs: request.params.latencyMs as number,
        quotas: request.params.quotas as QuotaOption,
      });
      return { endpoint: kms.endpoint };
    }
    case 'seedMix':
      return seedKeyMix(running(), request.params.count as number);
    case 'callStats': {
      const byBucket: CallsByBucket = {};
      const throttledByBucket: CallsByBucket = {};
      const lastCallMsByBucket: CallsByBucket = {};
      const calls = running().calls();
      const first = calls.reduce((min, call) => Math.min(min, call.at), Number.POSITIVE_INFINITY);
      for (const call of calls) {
        const bucket = bucketOf(call.operation, call.region);
        byBucket[bucket] = (byBucket[bucket] ?? 0) + 1;
        if (call.errorCode === 'ThrottlingException') throttledByBucket[bucket] = (throttledByBucket[bucket] ?? 0) + 1;
        lastCallMsByBucket[bucket] = Math.max(lastCallMsByBucket[bucket] ?? 0, call.at - first);
      }
      const stats: EmulatorCallStats = { byBucket, throttledByBucket, lastCallMsByBucket, throttled: running().throttledCount(), calls: calls.length };
      return stats;
    }
    case 'close':
      await kms?.close();
      kms = undefined;
      setImmediate(() => process.exit(0));
      return {};
  }
}

function running(): EmbeddedKms {
  if (!kms) throw new Error('the embedded KMS is not started');
  return kms;
}

process.on('message', (message: EmulatorRequest) => {
  handle(message).then(
    (result) => process.send?.({ id: message.id, result }),
    (error: unknown) => process.send?.({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => {
  void kms?.close().finally(() => process.exit(0));
  if (!kms) process.exit(0);
});
