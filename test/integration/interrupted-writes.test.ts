/**
 * Write counts of an interrupted run (issue 11, item 15): a write aborted while it waited for its
 * pacing token was never sent, so it is not a write. Real SDK, embedded KMS over HTTP; the pacing
 * is a limiter that hands out a fixed number of ReplicateKey tokens, so the interleaving is exact.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { KmsRateLimiter } from '../../src/pacing/paced-gateway.js';
import { loadConfig } from '../../src/lambda/config.js';
import { startEmbeddedKms, type EmbeddedKms } from '../../src/emulator/index.js';
import { RetryableError } from '../../src/reconcile/errors.js';
import type { PacedOperation } from '../../src/pacing/kms-quotas.js';
import { reconcile } from '../../src/reconcile/reconcile.js';
import { createRuntime, type Runtime } from '../../src/lambda/runtime.js';
import { sweepRegion } from '../../src/sweep/sweep-region.js';

let kms: EmbeddedKms | undefined;
afterEach(async () => {
  await kms?.close();
  kms = undefined;
});

/**
 * Pacing that grants every call at once except `ReplicateKey`, of which it grants `granted`;
 * later ones wait until their signal aborts (then reject as the real limiter does).
 */
function limiterGranting(granted: number): KmsRateLimiter {
  let left = granted;
  return {
    async acquire(operation: PacedOperation, _region: string, _count = 1, signal?: AbortSignal): Promise<void> {
      if (operation !== 'ReplicateKey') return;
      if (left > 0) {
        left -= 1;
        return;
      }
      await new Promise<void>((_resolve, reject) => {
        const aborted = (): void => reject(new RetryableError(`aborted while waiting for a ${operation} request slot`, 'AbortError', { unsent: true }));
        if (signal?.aborted) aborted();
        else signal?.addEventListener('abort', aborted, { once: true });
      });
    },
    rateOf: () => 1,
    estimateWaitMs: () => 0,
  };
}

async function start(granted: number): Promise<{ kms: EmbeddedKms; runtime: Runtime }> {
  kms = await startEmbeddedKms();
  const config = loadConfig({ AWS_ENDPOINT_URL_KMS: kms.endpoint, AWS_REGION: 'us-east-1', LOG_LEVEL: 'SILENT' });
  const runtime = createRuntime(config, {
    credentials: { accessKeyId: 'AKIATESTSWEEP0000001', secretAccessKey: 'test' },
    maxAttempts: 1,
    rateLimiter: limiterGranting(granted),
  });
  return { kms, runtime };
}

const replicateKeyCalls = (k: EmbeddedKms): number => k.calls().filter((c) => c.operation === 'ReplicateKey').length;

describe('writes of an interrupted run', () => {
  it('a sweep interrupted while ReplicateKey calls wait for tokens counts only the calls sent', async () => {
    const { kms: k, runtime } = await start(3);
    for (let i = 0; i < 10; i += 1) {
      k.seedKey({ region: 'us-east-1', keyId: `mrk-${i.toString(16).padStart(32, '0')}`, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    }
    const controller = new AbortController();
    let finished = 0;

    const result = await sweepRegion(
      {
        region: 'us-east-1',
        signal: controller.signal,
        onKey: () => {
          finished += 1;
          if (finished === 3) controller.abort();
        },
      },
      runtime,
    );

    expect(replicateKeyCalls(k)).toBe(3);
    expect(result.complete).toBe(false);
    expect(result.report.writes).toBe(3);
    expect(result.report.statuses).toMatchObject({ created: 3, failed: 0 });
  });

  it('a reconcile whose only write was aborted before it was sent has no outcome and a retry verdict (AbortError), reporting no write', async () => {
    const { kms: k, runtime } = await start(0);
    k.seedKey({ region: 'us-east-1', keyId: `mrk-${'0'.repeat(32)}`, multiRegion: true, tags: { 'replica-regions': 'us-west-2 eu-west-1' } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);

    const reconciled = await reconcile(
      { keyId: `mrk-${'0'.repeat(32)}`, region: 'us-east-1', eventName: 'Manual', eventId: 'manual-1' },
      runtime,
      controller.signal,
    );

    expect(reconciled.outcome).toBeUndefined();
    expect(reconciled.verdict).toMatchObject({ kind: 'retry', regions: [] });
    expect(reconciled.verdict.kind === 'done' ? undefined : reconciled.verdict.error).toBeInstanceOf(RetryableError);
    expect(reconciled.verdict).toMatchObject({ error: { code: 'AbortError' } });
    expect(replicateKeyCalls(k)).toBe(0);
  });
});
