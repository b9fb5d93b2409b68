/**
 * Figures 6 and 7 (issue 10): the repair path when there is most to repair, measured side by side
 * with the first slice's design in the same run.
 *
 * - **Storm**: N tagged multi-Region primaries created within one second in one Region, 3 replica
 *   Regions each. New design: EventBridge rule → key-event queue (embedded SQS) → event source
 *   mapping with `MaximumConcurrency` M (the stack default) → the real batch handler, each
 *   container pacing to 1/M of the stack's budget. Baseline (the first slice): asynchronous
 *   invocation, one event per invocation, 50 containers each pacing to the whole `QUOTA_SHARE`,
 *   Lambda's two retries (1 and 2 minutes), then the on-failure queue.
 * - **Backfill**: a first deploy on an account with K tagged keys missing 2 replicas each, the
 *   sweep alone. New design: the stack's sweep (reads, queues repairs, continues itself by
 *   progress) and the key-event containers writing at the stack's write budget. Baseline: the
 *   first slice's sweep: it writes itself at the whole share, stops starting keys 30 s before its
 *   timeout and nothing else, is aborted at the timeout, and chains at most 10 runs.
 *
 * Scaling (so a run takes a minute, not half an hour): the `ReplicateKey` and `CreateKey` quotas
 * are multiplied by F (on both sides: the embedded KMS enforces them, `KMS_REQUEST_QUOTAS` tells
 * the reconciler), and the durations that are measured against the quota's clock are divided by
 * F: the sweep's timeout and margin, the queue's visibility timeout, Lambda's retry delays. The
 * key-event function's timeout is not (per-call latency and this machine are not scaled: 120 s ÷
 * 20 would leave a batch 6 s, which a loaded machine overruns; the first run did, see
 * bench/REPORT.md history). The floor is the scaled
 * quota's: (replicas to create − one second of the budget) ÷ (`QUOTA_SHARE` × scaled `ReplicateKey` quota),
 * as in figure 2 (the quota's bucket holds one second and starts full).
 */
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import type { Context, SQSBatchResponse } from 'aws-lambda';
import { createLocalLambdaContext } from '../src/local/lambda-context.js';
import { matchesKeyEventRule } from '../src/local/key-event-rule.js';
import { loadConfig } from '../src/lambda/config.js';
import { DOCUMENTED_QUOTAS, type EmbeddedKms } from '../src/emulator/index.js';
import { TIMEOUT_MARGIN_MS, createKeyEventHandler } from '../src/lambda/key-event-handler.js';
import { LocalEventSourceMapping, sqsEventOf, type BatchFunction } from '../src/local/event-source-mapping.js';
import { createRuntime } from '../src/lambda/runtime.js';
import { createSweepHandler } from '../src/lambda/sweep-handler.js';
import { sweepRegion } from '../src/sweep/sweep-region.js';
import { ADMIN_CREDENTIALS, DEPLOYED_QUOTA_SHARE, PRIMARY_REGION, RECONCILER_CREDENTIALS, RECONCILER_ROLE_ARN, createKmsClient, startBenchKms } from './harness.js';
import type { BenchProfile } from './profile.js';
import { ratio, round } from './stats.js';

/** Replica Regions of every storm and backfill key. */
const STORM_REGIONS = ['us-west-2', 'eu-west-1', 'ap-south-1'] as const;
const BACKFILL_REGIONS = ['us-west-2', 'eu-west-1'] as const;
/** Containers the account has free for the baseline's unbounded async invocations. */
export const BASELINE_CONTAINERS = 50;
/** The stack's defaults (serverless.yml). */
const KEY_EVENT_TIMEOUT_S = 120;
const VISIBILITY_TIMEOUT_S = 720;
const MAX_RECEIVE_COUNT = 5;
const SWEEP_TIMEOUT_S = 900;
const SWEEP_MARGIN_S = 30;
/** The first slice's async retries (Lambda waits about 1, then 2 minutes [S6]) and chain cap. */
const BASELINE_RETRY_DELAYS_S = [60, 120] as const;
const BASELINE_MAX_RUNS = 10;
/** The stack's MaximumConcurrency default (`keyEventMaxConcurrency`). */
export const DEFAULT_MAX_CONCURRENCY = 2;
const QUEUE = 'bench-key-events';
/** The documented quotas the scale multiplies (kms-facts §3). */
const REPLICATE_KEY_QUOTA = 5;
const CREATE_KEY_QUOTA = 5;

/** What one side of a figure measured. */
export interface IntakeRun {
  readonly design: 'buffered' | 'baseline';
  /** Real ms from the first event (or the sweep's start) to the last replica existing; null when it never converged within the cap. */
  readonly convergenceMs: number | null;
  /** convergence ÷ floor. */
  readonly ratioToFloor: number | null;
  /** Calls KMS answered ThrottlingException (quota beyond the scaled quotas). */
  readonly throttled: number;
  /** Replicas made of those needed. */
  readonly replicasMade: number;
  readonly replicasNeeded: number;
  /** Storm: messages in the dead-letter queue (buffered) or events in the on-failure queue (baseline). */
  readonly deadLettered?: number;
  /** Backfill: sweep invocations, and those that ran into their timeout (Lambda would have killed them). */
  readonly sweepRuns?: number;
  readonly sweepRunsTimedOut?: number;
  /** Most `ReplicateKey` calls KMS received in any 1 s and any 10 s (real time, the call log). */
  readonly maxReplicateKeyPer1s: number;
  readonly maxReplicateKeyPer10s: number;
  /** Most `CreateKey` tokens charged in one replica Region in any 1 s (2 per ReplicateKey). */
  readonly maxCreateKeyTokensPer1s: number;
}

/** Figure 6 or 7. */
export interface IntakeFigure {
  readonly keys: number;
  readonly replicaRegions: number;
  readonly quotaScale: number;
  /** Scaled quotas and the budget they give. */
  readonly replicateKeyQuota: number;
  readonly quotaShare: number;
  readonly maxConcurrency: number;
  /** Replicas ÷ (share × scaled ReplicateKey quota), ms. */
  readonly floorMs: number;
  /** The budget bound of `ReplicateKey` over 1 s and 10 s: share × quota × W + the containers' bursts. */
  readonly boundPer1s: number;
  readonly boundPer10s: number;
  readonly buffered: IntakeRun;
  readonly baseline: IntakeRun;
  /** Targets of issue 10: ≤ 1.1 × floor, 0 throttled, 0 dead-lettered / 0 timeouts, all converged. */
  readonly met: boolean;
}

function scaledQuotas(scale: number): { emulator: Record<string, number>; env: string; replicateKey: number } {
  const replicateKey = REPLICATE_KEY_QUOTA * scale;
  const createKey = CREATE_KEY_QUOTA * scale;
  return {
    // The administrator's own calls are not under test: they are not limited.
    emulator: { ...DOCUMENTED_QUOTAS, ReplicateKey: replicateKey, CreateKey: createKey, TagResource: Infinity },
    env: `ReplicateKey=${replicateKey} CreateKey=${createKey}`,
    replicateKey,
  };
}

function environment(kms: EmbeddedKms, quotasEnv: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: kms.endpoint,
    AWS_REGION: PRIMARY_REGION,
    LOG_LEVEL: 'SILENT',
    QUOTA_SHARE: String(DEPLOYED_QUOTA_SHARE),
    KMS_REQUEST_QUOTAS: quotasEnv,
    RECONCILER_PRINCIPAL_ARN: RECONCILER_ROLE_ARN,
    ...extra,
  };
}

/** The largest number of timestamps in any window of `windowMs` (sorted input). */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end += 1) {
    while ((times[end] as number) - (times[start] as number) >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

function callWindows(kms: EmbeddedKms, from: number): Pick<IntakeRun, 'maxReplicateKeyPer1s' | 'maxReplicateKeyPer10s' | 'maxCreateKeyTokensPer1s'> {
  const calls = kms.calls().slice(from).filter((c) => c.operation === 'ReplicateKey' && c.errorCode === undefined && c.fault === undefined);
  const times = calls.map((c) => c.at).sort((a, b) => a - b);
  return {
    maxReplicateKeyPer1s: maxInWindow(times, 1000),
    maxReplicateKeyPer10s: maxInWindow(times, 10_000),
    // Each replica Region receives one ReplicateKey per key: its CreateKey tokens are 2 × its calls.
    maxCreateKeyTokensPer1s: 2 * Math.ceil(maxInWindow(times, 1000) / STORM_REGIONS.length),
  };
}

function replicasExisting(kms: EmbeddedKms, keyIds: readonly string[], regions: readonly string[]): number {
  let made = 0;
  for (const keyId of keyIds) for (const region of regions) if (kms.describe(region, keyId)) made += 1;
  return made;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The storm's keys: one real `CreateKey` (for a CloudTrail record of the real shape), then N − 1
 * more seeded at once with their records cloned from it (N calls by the administrator within one
 * second would meet the scaled `CreateKey` quota, which is not what is measured).
 */
async function createStorm(kms: EmbeddedKms, keys: number): Promise<{ keyIds: string[]; events: unknown[] }> {
  const admin = createKmsClient(kms, PRIMARY_REGION, ADMIN_CREDENTIALS);
  const tag = [{ TagKey: 'replica-regions', TagValue: STORM_REGIONS.join(' ') }];
  try {
    const first = await admin.send(new CreateKeyCommand({ MultiRegion: true, Description: 'storm key', Tags: tag }));
    const template = kms.takeEvents().filter(matchesKeyEventRule)[0] as unknown as { detail: Record<string, unknown>; id: string };
    const firstId = first.KeyMetadata?.KeyId as string;
    const seeded = kms.seedKeys(keys - 1, () => ({ region: PRIMARY_REGION, multiRegion: true, description: 'storm key', tags: { 'replica-regions': STORM_REGIONS.join(' ') } }));
    const events = [template, ...seeded.map((keyId, i) => JSON.parse(JSON.stringify(template).replaceAll(firstId, keyId).replaceAll(template.id, `${template.id.slice(0, -6)}${String(i).padStart(6, '0')}`)) as unknown)];
    return { keyIds: [firstId, ...seeded], events };
  } finally {
    admin.destroy();
  }
}

async function stormBuffered(profile: BenchProfile): Promise<IntakeRun> {
  const scale = profile.intakeQuotaScale;
  const quotas = scaledQuotas(scale);
  const kms = await startBenchKms({ latencyMs: profile.latencyMs, quotas: quotas.emulator });
  try {
    const { keyIds, events } = await createStorm(kms, profile.stormKeys);
    kms.sqs.createQueue(PRIMARY_REGION, `${QUEUE}-dlq`);
    kms.sqs.createQueue(PRIMARY_REGION, QUEUE, { visibilityTimeoutSeconds: Math.ceil(VISIBILITY_TIMEOUT_S / scale), deadLetter: { queueName: `${QUEUE}-dlq`, maxReceiveCount: MAX_RECEIVE_COUNT } });
    const env = environment(kms, quotas.env, { KEY_EVENT_MAX_CONCURRENCY: String(DEFAULT_MAX_CONCURRENCY) });
    const containers: BatchFunction[] = Array.from({ length: DEFAULT_MAX_CONCURRENCY }, () =>
      createKeyEventHandler(createRuntime(loadConfig(env), { credentials: RECONCILER_CREDENTIALS, role: 'key-event' }), { timeoutMarginMs: TIMEOUT_MARGIN_MS }),
    );
    const mapping = new LocalEventSourceMapping({ sqs: kms.sqs, region: PRIMARY_REGION, queueName: QUEUE, containers, functionTimeoutMs: KEY_EVENT_TIMEOUT_S * 1000 });
    const needed = keyIds.length * STORM_REGIONS.length;
    const callsFrom = kms.calls().length;
    const throttledBefore = kms.throttledCount();
    const started = performance.now();
    for (const event of events) kms.sqs.send(PRIMARY_REGION, QUEUE, JSON.stringify(event)); // the rule's target
    let converged: number | null = null;
    const cap = started + profile.intakeCapMs;
    while (performance.now() < cap) {
      for (const event of kms.takeEvents().filter(matchesKeyEventRule)) kms.sqs.send(PRIMARY_REGION, QUEUE, JSON.stringify(event));
      const invocations = await mapping.drainVisible();
      if (replicasExisting(kms, keyIds, STORM_REGIONS) === needed) {
        converged = performance.now() - started;
        break;
      }
      if (invocations === 0) await sleep(20);
    }
    const made = replicasExisting(kms, keyIds, STORM_REGIONS);
    return {
      design: 'buffered',
      convergenceMs: converged === null ? null : round(converged),
      ratioToFloor: null,
      throttled: kms.throttledCount() - throttledBefore,
      replicasMade: made,
      replicasNeeded: needed,
      deadLettered: kms.sqs.counts(PRIMARY_REGION, `${QUEUE}-dlq`).visible,
      ...callWindows(kms, callsFrom),
    };
  } finally {
    await kms.close();
  }
}

async function stormBaseline(profile: BenchProfile): Promise<IntakeRun> {
  const scale = profile.intakeQuotaScale;
  const quotas = scaledQuotas(scale);
  const kms = await startBenchKms({ latencyMs: profile.latencyMs, quotas: quotas.emulator });
  try {
    const { keyIds, events } = await createStorm(kms, profile.stormKeys);
    const env = environment(kms, quotas.env);
    // Each container of the first slice paced itself at the whole QUOTA_SHARE.
    const containers = Array.from({ length: BASELINE_CONTAINERS }, () =>
      createKeyEventHandler(createRuntime(loadConfig(env), { credentials: RECONCILER_CREDENTIALS, role: 'direct' }), { timeoutMarginMs: TIMEOUT_MARGIN_MS }),
    );
    const needed = keyIds.length * STORM_REGIONS.length;
    const callsFrom = kms.calls().length;
    const throttledBefore = kms.throttledCount();
    const started = performance.now();
    interface Pending {
      readonly event: unknown;
      attempts: number;
      dueAt: number;
    }
    const queue: Pending[] = events.map((event) => ({ event, attempts: 0, dueAt: started }));
    const failed: unknown[] = [];
    let converged: number | null = null;
    const cap = started + profile.intakeCapMs;
    // One async invocation per event, one event per container at a time; a function error is retried after ~1 and ~2 minutes (scaled).
    const invoke = async (handler: (e: never, c: Context) => Promise<SQSBatchResponse>, item: Pending): Promise<void> => {
      // The first slice's key-event timeout was 60 s (not scaled, as for the buffered design).
      const response = await handler(sqsEventOf([JSON.stringify(item.event)]) as never, createLocalLambdaContext(60_000));
      if (response.batchItemFailures.length === 0) return;
      const delay = BASELINE_RETRY_DELAYS_S[item.attempts];
      item.attempts += 1;
      if (delay === undefined) failed.push(item.event);
      else queue.push({ ...item, dueAt: performance.now() + (delay * 1000) / scale });
    };
    await Promise.all(
      containers.map(async (handler) => {
        while (performance.now() < cap && converged === null) {
          for (const event of kms.takeEvents().filter(matchesKeyEventRule)) queue.push({ event, attempts: 0, dueAt: performance.now() });
          const index = queue.findIndex((p) => p.dueAt <= performance.now());
          if (index < 0) {
            if (replicasExisting(kms, keyIds, STORM_REGIONS) === needed) converged ??= performance.now() - started;
            else await sleep(20);
            continue;
          }
          const [item] = queue.splice(index, 1);
          await invoke(handler as never, item as Pending);
        }
      }),
    );
    const made = replicasExisting(kms, keyIds, STORM_REGIONS);
    if (converged === null && made === needed) converged = performance.now() - started;
    return {
      design: 'baseline',
      convergenceMs: converged === null ? null : round(converged),
      ratioToFloor: null,
      throttled: kms.throttledCount() - throttledBefore,
      replicasMade: made,
      replicasNeeded: needed,
      deadLettered: failed.length,
      ...callWindows(kms, callsFrom),
    };
  } finally {
    await kms.close();
  }
}

function seedBackfill(kms: EmbeddedKms, keys: number): string[] {
  return kms.seedKeys(keys, () => ({ region: PRIMARY_REGION, multiRegion: true, tags: { 'replica-regions': BACKFILL_REGIONS.join(' ') } }));
}

async function backfillBuffered(profile: BenchProfile): Promise<IntakeRun> {
  const scale = profile.backfillQuotaScale;
  const quotas = scaledQuotas(scale);
  const kms = await startBenchKms({ latencyMs: profile.latencyMs, quotas: quotas.emulator });
  try {
    const keyIds = seedBackfill(kms, profile.backfillKeys);
    kms.sqs.createQueue(PRIMARY_REGION, `${QUEUE}-dlq`);
    kms.sqs.createQueue(PRIMARY_REGION, QUEUE, { visibilityTimeoutSeconds: Math.ceil(VISIBILITY_TIMEOUT_S / scale), deadLetter: { queueName: `${QUEUE}-dlq`, maxReceiveCount: MAX_RECEIVE_COUNT } });
    const env = environment(kms, quotas.env, { KEY_EVENT_QUEUE: QUEUE, KEY_EVENT_MAX_CONCURRENCY: String(DEFAULT_MAX_CONCURRENCY) });
    const sweepRuntime = createRuntime(loadConfig(env), { credentials: RECONCILER_CREDENTIALS, role: 'sweep' });
    const containers: BatchFunction[] = Array.from({ length: DEFAULT_MAX_CONCURRENCY }, () =>
      createKeyEventHandler(createRuntime(loadConfig(env), { credentials: RECONCILER_CREDENTIALS, role: 'key-event' }), { timeoutMarginMs: TIMEOUT_MARGIN_MS }),
    );
    const mapping = new LocalEventSourceMapping({ sqs: kms.sqs, region: PRIMARY_REGION, queueName: QUEUE, containers, functionTimeoutMs: KEY_EVENT_TIMEOUT_S * 1000 });
    const needed = keyIds.length * BACKFILL_REGIONS.length;
    const callsFrom = kms.calls().length;
    const throttledBefore = kms.throttledCount();
    const started = performance.now();
    const timeoutMs = (SWEEP_TIMEOUT_S * 1000) / scale;
    let runs = 0;
    let timedOut = 0;
    let next: unknown = {};
    const sweep = createSweepHandler(sweepRuntime, {
      safetyMarginMs: (SWEEP_MARGIN_S * 1000) / scale,
      continueSweep: async (_arn, input) => {
        next = input;
      },
    });
    // The sweep chain (each run continues itself) and the containers work at the same time.
    const chain = (async () => {
      while (next !== undefined) {
        const input = next;
        next = undefined;
        runs += 1;
        const runStarted = performance.now();
        await sweep(input, createLocalLambdaContext(timeoutMs, 'bench-sweep'));
        if (performance.now() - runStarted > timeoutMs) timedOut += 1;
      }
    })();
    let converged: number | null = null;
    const cap = started + profile.intakeCapMs;
    let chainDone = false;
    void chain.then(() => (chainDone = true));
    while (performance.now() < cap) {
      for (const event of kms.takeEvents()) void event; // the reconciler's own echoes: skipped by principal, no need to deliver
      const invocations = await mapping.drainVisible();
      if (replicasExisting(kms, keyIds, BACKFILL_REGIONS) === needed) {
        converged = performance.now() - started;
        break;
      }
      if (invocations === 0) await sleep(chainDone ? 20 : 5);
    }
    await chain;
    return {
      design: 'buffered',
      convergenceMs: converged === null ? null : round(converged),
      ratioToFloor: null,
      throttled: kms.throttledCount() - throttledBefore,
      replicasMade: replicasExisting(kms, keyIds, BACKFILL_REGIONS),
      replicasNeeded: needed,
      sweepRuns: runs,
      sweepRunsTimedOut: timedOut,
      ...callWindows(kms, callsFrom),
    };
  } finally {
    await kms.close();
  }
}

async function backfillBaseline(profile: BenchProfile): Promise<IntakeRun> {
  const scale = profile.backfillQuotaScale;
  const quotas = scaledQuotas(scale);
  const kms = await startBenchKms({ latencyMs: profile.latencyMs, quotas: quotas.emulator });
  try {
    const keyIds = seedBackfill(kms, profile.backfillKeys);
    const runtime = createRuntime(loadConfig(environment(kms, quotas.env)), { credentials: RECONCILER_CREDENTIALS, role: 'direct' });
    const needed = keyIds.length * BACKFILL_REGIONS.length;
    const callsFrom = kms.calls().length;
    const throttledBefore = kms.throttledCount();
    const started = performance.now();
    const timeoutMs = (SWEEP_TIMEOUT_S * 1000) / scale;
    let runs = 0;
    let timedOut = 0;
    let marker: string | undefined;
    let first = true;
    // The first slice: stop starting keys 30 s (scaled) before the timeout and nothing more; the
    // runtime aborts at the timeout; at most 10 runs, each from the first page not finished.
    while ((first || marker !== undefined) && runs < BASELINE_MAX_RUNS && performance.now() < started + profile.intakeCapMs) {
      first = false;
      runs += 1;
      const abort = new AbortController();
      const deadline = performance.now() + timeoutMs;
      const timer = setTimeout(() => abort.abort(), timeoutMs);
      const result = await sweepRegion(
        { region: PRIMARY_REGION, ...(marker !== undefined ? { marker } : {}), remainingTimeMs: () => deadline - performance.now(), safetyMarginMs: (SWEEP_MARGIN_S * 1000) / scale, signal: abort.signal },
        runtime,
      ).catch(() => undefined);
      clearTimeout(timer);
      if (abort.signal.aborted) timedOut += 1;
      marker = result && !result.complete ? (result.resume?.marker ?? '') : undefined;
      if (marker === '') marker = undefined;
      if (result && !result.complete && result.resume?.marker === undefined && !abort.signal.aborted) break;
    }
    const made = replicasExisting(kms, keyIds, BACKFILL_REGIONS);
    return {
      design: 'baseline',
      convergenceMs: made === needed ? round(performance.now() - started) : null,
      ratioToFloor: null,
      throttled: kms.throttledCount() - throttledBefore,
      replicasMade: made,
      replicasNeeded: needed,
      sweepRuns: runs,
      sweepRunsTimedOut: timedOut,
      ...callWindows(kms, callsFrom),
    };
  } finally {
    await kms.close();
  }
}

function figure(keys: number, regions: number, scale: number, buffered: IntakeRun, baseline: IntakeRun, storm: boolean): IntakeFigure {
  const quota = REPLICATE_KEY_QUOTA * scale;
  const rate = DEPLOYED_QUOTA_SHARE * quota;
  // As figure 2's floor: the quota's bucket holds one second of it, so the first second's worth goes at once.
  const floorMs = (Math.max(0, keys * regions - rate) / rate) * 1000;
  const withRatio = (run: IntakeRun): IntakeRun => ({ ...run, ratioToFloor: run.convergenceMs === null ? null : ratio(run.convergenceMs, floorMs) });
  const b = withRatio(buffered);
  // Each container's bucket holds one second of its slice: together one second of the stack's rate.
  const burst = rate;
  const met =
    b.convergenceMs !== null &&
    (b.ratioToFloor ?? Infinity) <= 1.1 &&
    b.throttled === 0 &&
    b.replicasMade === b.replicasNeeded &&
    (storm ? b.deadLettered === 0 : b.sweepRunsTimedOut === 0);
  return {
    keys,
    replicaRegions: regions,
    quotaScale: scale,
    replicateKeyQuota: quota,
    quotaShare: DEPLOYED_QUOTA_SHARE,
    maxConcurrency: DEFAULT_MAX_CONCURRENCY,
    floorMs: round(floorMs),
    boundPer1s: round(rate * 1 + burst),
    boundPer10s: round(rate * 10 + burst),
    buffered: b,
    baseline: withRatio(baseline),
    met,
  };
}

/** Figure 6: the storm, buffered beside the baseline. */
export async function measureStorm(profile: BenchProfile): Promise<IntakeFigure> {
  const buffered = await stormBuffered(profile);
  const baseline = await stormBaseline(profile);
  return figure(profile.stormKeys, STORM_REGIONS.length, profile.intakeQuotaScale, buffered, baseline, true);
}

/** Figure 7: the backfill, buffered beside the baseline. */
export async function measureBackfill(profile: BenchProfile): Promise<IntakeFigure> {
  const buffered = await backfillBuffered(profile);
  const baseline = await backfillBaseline(profile);
  return figure(profile.backfillKeys, BACKFILL_REGIONS.length, profile.backfillQuotaScale, buffered, baseline, false);
}

