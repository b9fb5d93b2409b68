import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createKmsRateLimiter, createPacedGateway } from '../../src/pacing/paced-gateway.js';
import type { KmsGateway } from '../../src/reconcile/kms-gateway.js';
import { budgetRate } from '../../src/pacing/budget.js';
import { parseKmsRequestQuotas } from '../../src/pacing/kms-quotas.js';

// limiter's buckets read performance.now() and wait with setTimeout: vitest's fake timers are the
// injected clock, so no test sleeps for real.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

interface Call {
  readonly operation: string;
  readonly region: string;
  readonly at: number;
}

/** A gateway that records when (fake ms since the start) each call reached it. */
function recordingGateway(calls: Call[]): KmsGateway {
  const start = performance.now();
  const seen = (operation: string, region: string): void => {
    calls.push({ operation, region, at: Math.round(performance.now() - start) });
  };
  return {
    async describeKey(region) {
      seen('DescribeKey', region);
      return undefined;
    },
    async listResourceTags(region) {
      seen('ListResourceTags', region);
      return [];
    },
    async getKeyPolicy(region) {
      seen('GetKeyPolicy', region);
      return '{}';
    },
    async replicateKey(input) {
      seen('ReplicateKey', `${input.primaryRegion}->${input.replicaRegion}`);
      return { replicaArn: 'arn', keyState: 'Creating' };
    },
    async cancelKeyDeletion(region) {
      seen('CancelKeyDeletion', region);
    },
    async enableKey(region) {
      seen('EnableKey', region);
    },
    async tagResource(region) {
      seen('TagResource', region);
    },
    async untagResource(region) {
      seen('UntagResource', region);
    },
    async listKeys(region) {
      seen('ListKeys', region);
      return { keys: [] };
    },
    async listKeyMaterials(region) {
      seen('ListKeyRotations', region);
      return [];
    },
  };
}

const replicate = (gateway: KmsGateway, replicaRegion: string): Promise<unknown> =>
  gateway.replicateKey({ primaryArn: 'arn:aws:kms:us-east-1:111122223333:key/mrk-1', primaryRegion: 'us-east-1', replicaRegion });

describe('the paced KMS gateway', () => {
  it('lets ReplicateKey into one replica Region at half the CreateKey quota: 2 tokens of 2.5/s, one call per 800 ms', async () => {
    const calls: Call[] = [];
    const paced = createPacedGateway(recordingGateway(calls), createKmsRateLimiter({ quotaShare: 0.5 }));

    const all = Promise.all(Array.from({ length: 5 }, () => replicate(paced, 'us-west-2')));
    await vi.advanceTimersByTimeAsync(10_000);
    await all;

    // Burst of 2.5 CreateKey tokens: the first call at once (0.5 left), then 1.5 tokens to wait
    // for at 2.5/s (600 ms), then one call per 2 tokens = 800 ms.
    expect(calls.map((c) => c.at)).toEqual([0, 600, 1400, 2200, 3000]);
  });

  it('paces the CreateKey cost per replica Region, so ReplicateKey to two Regions is limited by the primary Region', async () => {
    const calls: Call[] = [];
    const paced = createPacedGateway(recordingGateway(calls), createKmsRateLimiter({ quotaShare: 0.5 }));

    const all = Promise.all(['us-west-2', 'eu-west-1', 'us-west-2', 'eu-west-1'].map((r) => replicate(paced, r)));
    await vi.advanceTimersByTimeAsync(10_000);
    await all;

    // ReplicateKey in us-east-1 (burst 2.5, 2.5/s) lets the third and fourth through by 400 ms;
    // each replica Region's CreateKey bucket (0.5 left after the first call) holds them to 600 ms.
    const byRegion = (region: string): number[] => calls.filter((c) => c.region === region).map((c) => c.at);
    expect([byRegion('us-east-1->us-west-2'), byRegion('us-east-1->eu-west-1')]).toEqual([
      [0, 600],
      [0, 600],
    ]);
  });

  it('keeps DescribeKey within half its 2000/s quota in every second, in each Region separately', async () => {
    const calls: Call[] = [];
    const paced = createPacedGateway(recordingGateway(calls), createKmsRateLimiter({ quotaShare: 0.5 }));

    const all = Promise.all(
      ['us-east-1', 'eu-west-1'].flatMap((region) => Array.from({ length: 3000 }, (_, i) => paced.describeKey(region, `k${i}`))),
    );
    await vi.advanceTimersByTimeAsync(10_000);
    await all;

    for (const region of ['us-east-1', 'eu-west-1']) {
      const times = calls.filter((c) => c.region === region).map((c) => c.at);
      // A full bucket of 1000 at once, then one per ms (1000/s): at most 2000 (the quota) in any second.
      expect(times.slice(0, 1000)).toEqual(Array.from({ length: 1000 }, () => 0));
      expect(times.slice(1000)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    }
  });

  it('at QUOTA_SHARE=1 lets one second of ReplicateKey quota go at once, then 5/s', async () => {
    const calls: Call[] = [];
    const paced = createPacedGateway(recordingGateway(calls), createKmsRateLimiter({ quotaShare: 1 }));
    const regions = ['us-west-2', 'eu-west-1', 'ap-south-1', 'ca-central-1', 'sa-east-1', 'eu-north-1', 'ap-northeast-1'];

    const all = Promise.all(regions.map((r) => replicate(paced, r)));
    await vi.advanceTimersByTimeAsync(10_000);
    await all;

    // The quota's shape: a bucket of 5 ReplicateKey (one second), refilled at 5/s.
    expect(calls.map((c) => c.at)).toEqual([0, 0, 0, 0, 0, 200, 400]);
  });

  it('waits on one abort signal from many calls without a listener-limit warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    const calls: Call[] = [];
    const paced = createPacedGateway(recordingGateway(calls), createKmsRateLimiter({ quotaShare: 0.5 }));
    const controller = new AbortController();

    const all = Promise.all(Array.from({ length: 16 }, () => paced.describeKey('us-east-1', 'k', controller.signal)));
    await vi.advanceTimersByTimeAsync(100);
    await all;
    await new Promise((resolve) => process.nextTick(resolve));
    process.off('warning', onWarning);

    expect(calls).toHaveLength(16);
    expect(warnings.map((w) => w.name)).toEqual([]);
  });

  it('uses raised quotas from KMS_REQUEST_QUOTAS', async () => {
    const calls: Call[] = [];
    const limiter = createKmsRateLimiter({ quotaShare: 0.5, quotas: parseKmsRequestQuotas('ReplicateKey=50 CreateKey=100') });
    const paced = createPacedGateway(recordingGateway(calls), limiter);

    const all = Promise.all(Array.from({ length: 30 }, () => replicate(paced, 'us-west-2')));
    await vi.advanceTimersByTimeAsync(10_000);
    await all;

    expect([limiter.rateOf('ReplicateKey'), limiter.rateOf('CreateKey')]).toEqual([25, 50]);
    // 25 in the burst, then one per 40 ms (ReplicateKey at 25/s is now the tighter bucket).
    expect(calls.map((c) => c.at).slice(23)).toEqual([0, 0, 40, 80, 120, 160, 200]);
  });

  it('rejects with a retryable AbortError marked unsent when the signal aborts while waiting for a slot', async () => {
    const calls: Call[] = [];
    const paced = createPacedGateway(recordingGateway(calls), createKmsRateLimiter({ quotaShare: 0.5 }));
    const controller = new AbortController();

    await replicate(paced, 'us-west-2');
    const waiting = paced.replicateKey(
      { primaryArn: 'arn:aws:kms:us-east-1:111122223333:key/mrk-1', primaryRegion: 'us-east-1', replicaRegion: 'us-west-2' },
      controller.signal,
    );
    const settled = waiting.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100);
    controller.abort();

    expect(await settled).toMatchObject({ name: 'RetryableError', code: 'AbortError', unsent: true });
    expect(calls).toHaveLength(1);
  });

  it('refuses a quota share outside (0, 1]', () => {
    expect(() => createKmsRateLimiter({ quotaShare: 0 })).toThrow('quotaShare must be in (0, 1], got 0');
    expect(() => createKmsRateLimiter({ quotaShare: 1.5 })).toThrow('quotaShare must be in (0, 1], got 1.5');
  });
});

describe('one container of M (a slice below one request per second)', () => {
  it('grants a 2-token CreateKey charge on a 0.5/s slice once its bucket is full, then spaces the next 4 s apart: no deadlock, no burst', async () => {
    const calls: Call[] = [];
    // 5/s × 0.5 ÷ 5 containers = 0.5 CreateKey per second in each replica Region.
    const limiter = createKmsRateLimiter({ quotaShare: 0.5, role: 'key-event', maxConcurrency: 5, homeRegion: 'us-east-1' });
    const paced = createPacedGateway(recordingGateway(calls), limiter);

    const all = Promise.all(Array.from({ length: 4 }, () => replicate(paced, 'us-west-2')));
    await vi.advanceTimersByTimeAsync(20_000);
    await all;

    expect(limiter.rateOf('CreateKey', 'us-west-2')).toBe(0.5);
    // The bucket holds 0.5 (one second); each call needs it full and leaves it 1.5 in debt: 4 s apart.
    expect(calls.map((c) => c.at)).toEqual([0, 4000, 8000, 12000]);
  });

  it('estimates the wait of a request behind the ones already waiting, and an aborted waiter spends nothing', async () => {
    const calls: Call[] = [];
    const limiter = createKmsRateLimiter({ quotaShare: 0.5 });
    const paced = createPacedGateway(recordingGateway(calls), limiter);
    const controller = new AbortController();

    await replicate(paced, 'us-west-2'); // 0.5 CreateKey tokens left of 2.5
    const first = paced.replicateKey({ primaryArn: 'arn:aws:kms:us-east-1:111122223333:key/mrk-1', primaryRegion: 'us-east-1', replicaRegion: 'us-west-2' }, controller.signal);
    const aborted = first.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(0); // its ReplicateKey token taken, it now waits for CreateKey
    const waitBehindOne = limiter.estimateWaitMs([{ operation: 'CreateKey', region: 'us-west-2', count: 2 }]);
    controller.abort();
    await aborted;
    const waitAlone = limiter.estimateWaitMs([{ operation: 'CreateKey', region: 'us-west-2', count: 2 }]);
    const second = replicate(paced, 'us-west-2');
    await vi.advanceTimersByTimeAsync(1_000);
    await second;

    // Behind a 2-token waiter: (2 + 2 − 0.5) / 2.5 s; alone: (2 − 0.5) / 2.5 s.
    expect([Math.round(waitBehindOne), Math.round(waitAlone)]).toEqual([1400, 600]);
    expect(calls.map((c) => c.at)).toEqual([0, 600]);
  });
});

describe('the budget split (src/pacing/budget.ts)', () => {
  const stack = { quotaShare: 0.5, homeRegion: 'us-east-1', maxConcurrency: 2, stackCount: 3 } as const;

  it('gives the key-event containers every write, each 1/M, and the sweep none', () => {
    expect(budgetRate('ReplicateKey', 'us-east-1', { ...stack, role: 'key-event' })).toBe(1.25);
    expect(budgetRate('ReplicateKey', 'us-east-1', { ...stack, role: 'sweep' })).toBe(0);
    // CreateKey in a replica Region is charged by every stack's ReplicateKey: share ÷ S ÷ M.
    expect(budgetRate('CreateKey', 'eu-west-1', { ...stack, role: 'key-event' })).toBeCloseTo(2.5 / 3 / 2, 10);
  });

  it('splits reads half to the sweep, half over the M containers, and shares them with the other S − 1 stacks', () => {
    expect(budgetRate('DescribeKey', 'us-east-1', { ...stack, role: 'sweep' })).toBeCloseTo(1000 / 3 / 2, 10);
    expect(budgetRate('DescribeKey', 'eu-west-1', { ...stack, role: 'key-event' })).toBeCloseTo(1000 / 3 / 2 / 2, 10);
    expect(budgetRate('ListKeys', 'us-east-1', { ...stack, role: 'sweep' })).toBe(250);
    expect(budgetRate('ListKeys', 'us-east-1', { ...stack, role: 'key-event' })).toBe(0);
  });

  it('refuses ReplicateKey outside the home Region (the primary Region stack writes) and gives a direct process the whole share', () => {
    expect(budgetRate('ReplicateKey', 'eu-west-1', { ...stack, role: 'key-event' })).toBe(0);
    expect(budgetRate('ReplicateKey', 'eu-west-1', { quotaShare: 0.5 })).toBe(2.5);
  });
});

describe('KMS_REQUEST_QUOTAS', () => {
  it('reads Operation=rps pairs separated by spaces or commas, operation names case-insensitive', () => {
    expect(parseKmsRequestQuotas('ReplicateKey=20, createkey=40 DescribeKey=5500')).toEqual({ ReplicateKey: 20, CreateKey: 40, DescribeKey: 5500 });
  });

  it.each([
    ['ReplicateKey:20', "'ReplicateKey:20' is not Operation=requests-per-second"],
    ['Encrypt=100', "'Encrypt' is not a paced KMS operation (one of CreateKey, ReplicateKey, DescribeKey, ListResourceTags, ListKeys, GetKeyPolicy, CancelKeyDeletion, EnableKey, TagResource, UntagResource)"],
    ['ReplicateKey=0', 'ReplicateKey=0: the quota must be a positive number of requests per second'],
    ['ReplicateKey=fast', 'ReplicateKey=fast: the quota must be a positive number of requests per second'],
  ])('names the problem in %s', (value, message) => {
    expect(() => parseKmsRequestQuotas(value)).toThrow(message);
  });
});
