/**
 * A small reliability harness: the embedded KMS with the chaos run's ReplicateKey ledger, the real
 * key-event handler on a one-container Lambda fleet (Lambda's two retries, then the dead-letter
 * list), an SDK client for the account's users, and the sweep of a Region.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaFleet } from '../../chaos/lambda-fleet.js';
import { installReplicateLedger, type ReplicateLedger } from '../../chaos/replicate-ledger.js';
import { requestHandlerOptions } from '../../src/aws/clients.js';
import { matchesKeyEventRule } from '../../src/local/key-event-rule.js';
import { loadConfig } from '../../src/lambda/config.js';
import { ManualClock, startEmbeddedKms, type EmbeddedKms, type EmbeddedKmsOptions } from '../../src/emulator/index.js';
import type { SweepKeyResult } from '../../src/sweep/guardrail.js';
import { createKeyEventHandler } from '../../src/lambda/key-event-handler.js';
import type { OutcomeEvent } from '../../src/lambda/outcome.js';
import { createRuntime, type Runtime } from '../../src/lambda/runtime.js';
import { sweepRegion } from '../../src/sweep/sweep-region.js';

export const RECONCILER_KEY_ID = 'AKIARELIABILITYTEST1';
export const USER_KEY_ID = 'AKIARELIABILITYUSER1';
/** Rounds of simulated time between a failure and Lambda's retries (1 round = 30 s). */
export const ROUND_MS = 30_000;

export interface ReliabilityHarness {
  readonly kms: EmbeddedKms;
  readonly clock: ManualClock;
  readonly runtime: Runtime;
  readonly ledger: ReplicateLedger;
  readonly fleet: LambdaFleet;
  readonly outcomes: OutcomeEvent[];
  /** An SDK client of the account's users in `region` (no retries). */
  user(region: string): KMSClient;
  /** Queues every CloudTrail event the rule matches for delivery in `round`; returns how many. */
  enqueueEvents(round: number): number;
  /** Advances the clock to `round` and runs the attempts due then. */
  runRound(round: number): Promise<number>;
  /** Sweeps `region` and returns every key's result. */
  sweep(region: string): Promise<SweepKeyResult[]>;
  close(): Promise<void>;
}

export interface ReliabilityHarnessOptions {
  readonly kms?: EmbeddedKmsOptions;
  readonly env?: Record<string, string>;
  /** SDK attempts per call; default 1 (the fault under test is not hidden by the SDK's retries). */
  readonly maxAttempts?: number;
}

/** Starts the harness; replicas leave `Creating` at once unless `kms.replicaDelayMs` says otherwise. */
export async function startReliabilityHarness(options: ReliabilityHarnessOptions = {}): Promise<ReliabilityHarness> {
  const clock = new ManualClock();
  const kms = await startEmbeddedKms({ now: clock.now, ...options.kms });
  const delay = options.kms?.replicaDelayMs ?? 0;
  const ledger = installReplicateLedger(kms, { seed: 1, minCreatingMs: delay, maxCreatingMs: delay });
  const config = loadConfig({ AWS_ENDPOINT_URL_KMS: kms.endpoint, LOG_LEVEL: 'SILENT', ...options.env });
  const outcomes: OutcomeEvent[] = [];
  const runtime = createRuntime(config, {
    credentials: { accessKeyId: RECONCILER_KEY_ID, secretAccessKey: 'test' },
    maxAttempts: options.maxAttempts ?? 1,
    now: () => new Date(clock.now()),
    publisher: { publish: async (event) => void outcomes.push(event) },
  });
  // The key-event queue as deployed, in simulated time: redelivered after 60 s (2 rounds), redriven after 3 receives.
  const fleet = new LambdaFleet({
    sqs: kms.sqs,
    region: 'us-east-1',
    queueName: 'key-events',
    visibilityTimeoutSeconds: 60,
    maxReceiveCount: 3,
    containers: [(onResult) => createKeyEventHandler(runtime, { onResult })],
  });
  const users: KMSClient[] = [];
  const start = clock.now();
  return {
    kms,
    clock,
    runtime,
    ledger,
    fleet,
    outcomes,
    user(region) {
      const client = new KMSClient({ region, endpoint: kms.endpoint, credentials: { accessKeyId: USER_KEY_ID, secretAccessKey: 'test' }, maxAttempts: 1, requestHandler: requestHandlerOptions() });
      users.push(client);
      return client;
    },
    enqueueEvents(round) {
      const events = kms.takeEvents().filter(matchesKeyEventRule);
      for (const event of events) fleet.enqueue(event, round);
      return events.length;
    },
    async runRound(round) {
      clock.set(start + round * ROUND_MS);
      return fleet.runRound(round);
    },
    async sweep(region) {
      const results: SweepKeyResult[] = [];
      await sweepRegion({ region, onKey: (key) => results.push(key) }, runtime);
      return results;
    },
    async close() {
      for (const client of users) client.destroy();
      await kms.close();
    },
  };
}
