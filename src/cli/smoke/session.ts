/**
 * What a smoke run is made of: its steps and their reports, the KMS call log, the captured
 * metrics, and the session (clients, timing, signals) the steps (`steps.ts`) and the cleanup
 * (`cleanup.ts`) work with.
 */
import { randomBytes } from 'node:crypto';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SdkCallRecord } from '../../aws/call-recorder.js';
import type { CallerIdentity } from '../../aws/caller-identity.js';
import type { EventHistoryReader } from '../../aws/cloudtrail-lookup.js';
import type { KmsLifecycle } from '../../aws/kms-lifecycle.js';
import { METRICS_NAMESPACE } from '../../lambda/metrics.js';
import type { Runtime } from '../../lambda/runtime.js';
import type { KmsGateway } from '../../reconcile/kms-gateway.js';
import type { KeyState } from '../../reconcile/types.js';
import type { Scrubber } from './scrub.js';

/** The tag that marks every key the smoke run makes (its value is the run id). */
export const SMOKE_TAG_KEY = 'kms-replicas-smoke';
/** The shortest waiting period `ScheduleKeyDeletion` accepts, in days [S2]. */
export const DELETION_WINDOW_DAYS = 7;

/** The run's steps, in order. */
export const STEP_NAMES = [
  'create-primary',
  'reconcile',
  'wait-replicas',
  'reconcile-again',
  'already-exists',
  'blocked-pending-deletion',
  'cleanup',
  'cloudtrail',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** How a step ended. */
export type StepStatus = 'passed' | 'failed' | 'skipped' | 'interrupted';

/** One step of the report. */
export interface StepReport {
  readonly name: StepName;
  status: StepStatus;
  /** Wall time (ms). */
  ms: number;
  /** One line for a person. */
  detail: string;
  /** What the step observed (statuses, writes, times), for `--json` and tests. */
  data?: Record<string, unknown>;
}

/** A key the run made (or asked KMS to make). */
export interface MadeKey {
  readonly arn: string;
  readonly region: string;
  readonly role: 'primary' | 'replica';
  /**
   * KMS said the key exists (CreateKey or ReplicateKey answered, or the primary lists it): a
   * `NotFoundException` for it is then KMS's eventual consistency [S17], not an absent key.
   */
  readonly known?: boolean;
}

/** What cleanup did to one key. */
export interface CleanupEntry {
  readonly arn: string;
  readonly region: string;
  readonly role: 'primary' | 'replica';
  /**
   * `scheduled` now; `already-scheduled` earlier (a step, or a previous run); `absent` (KMS has no
   * such key: never created, or already deleted); `failed`; `abandoned` (second Ctrl-C).
   */
  readonly action: 'scheduled' | 'already-scheduled' | 'absent' | 'failed' | 'abandoned';
  /** The key state DescribeKey showed after cleanup. */
  readonly keyState?: KeyState;
  /** ISO deletion date, when KMS gave one (not for a `PendingReplicaDeletion` primary [S2]). */
  readonly deletionDate?: string;
  readonly error?: string;
}

/** How long one replica took to leave `Creating`. */
export interface ReplicaTiming {
  readonly region: string;
  /** From the `ReplicateKey` answer to the first `DescribeKey` that saw `Enabled` (ms). */
  readonly creatingMs: number;
  readonly polls: number;
  readonly finalState: KeyState;
}

/** A found CloudTrail record, as reported. */
export interface CloudTrailFinding {
  readonly label: string;
  /**
   * When the record appeared in event history, after the call's answer (ms): between
   * `appearedAfterMs[0]` (the last look that did not see it; 0 when the first look saw it) and
   * `appearedAfterMs[1]` (the look that saw it). Event history is first read after cleanup.
   */
  readonly appearedAfterMs: readonly [number, number];
  readonly file?: string;
  /** What the reconciler's parser made of it, when not what it should. */
  readonly problem?: string;
}

/** The report of a full run. */
export interface SmokeRunReport {
  readonly runId: string;
  keyId?: string;
  primaryArn?: string;
  readonly steps: StepReport[];
  readonly replicas: ReplicaTiming[];
  cleanup: CleanupEntry[];
  /** Every key the run made is scheduled for deletion (or was never created). */
  cleanupComplete: boolean;
  cloudTrail?: { found: CloudTrailFinding[]; missing: string[]; lookups: number };
  /** KMS HTTP exchanges the run made, and how many were writes. */
  kmsCalls: number;
  kmsWrites: number;
}

/** The KMS calls seen while the run records (every HTTP attempt, in order). */
export class CallLog {
  readonly calls: SdkCallRecord[] = [];
  private recording = false;

  /** @param onCall - receives each recorded call and its 1-based position (the `--record` writer). */
  constructor(private readonly onCall?: (call: SdkCallRecord, position: number) => void) {}

  /** The observer to install on the SDK clients. */
  readonly observe = (call: SdkCallRecord): void => {
    if (!this.recording) return;
    this.calls.push(call);
    this.onCall?.(call, this.calls.length);
  };

  start(): void {
    this.recording = true;
  }

  stop(): void {
    this.recording = false;
  }

  /** The calls recorded after the first `from` ones. */
  since(from: number): SdkCallRecord[] {
    return this.calls.slice(from);
  }
}

/** Powertools Metrics that never print (stdout is the report's): each flush is kept instead. */
export class CapturedMetrics extends Metrics {
  /** Metric values of each flush (one per handler invocation), e.g. `{ Reconciles: 1, ReplicasCreated: 1 }`. */
  readonly flushes: Record<string, number>[] = [];

  constructor() {
    super({ namespace: METRICS_NAMESPACE, serviceName: 'kms-replicas-smoke' });
  }

  override captureColdStartMetric(): void {
    // A cold start means nothing here, and its single metric would print on its own.
  }

  override publishStoredMetrics(): this {
    if (this.hasStoredMetrics()) {
      const emf = this.serializeMetrics() as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } };
      const names = emf._aws.CloudWatchMetrics.flatMap((m) => m.Metrics.map((d) => d.Name));
      this.flushes.push(Object.fromEntries(names.map((n) => [n, Number(emf[n])])));
    }
    this.clearMetrics();
    this.clearDimensions();
    this.clearMetadata();
    return this;
  }
}

/** Everything a run needs. */
export interface SmokeSession {
  readonly runId: string;
  readonly primaryRegion: string;
  readonly replicaRegions: readonly string[];
  readonly caller: CallerIdentity;
  /** The reconciler's runtime (paced, on the recording clients). */
  readonly runtime: Runtime;
  /** Unpaced reads for the run's own checks (same clients). */
  readonly kms: KmsGateway;
  readonly lifecycle: KmsLifecycle;
  /** Set with `--cloudtrail`. */
  readonly history?: EventHistoryReader;
  readonly calls: CallLog;
  readonly metrics: CapturedMetrics;
  readonly timing: {
    /** How long to wait for the replicas to leave `Creating` (ms). */
    readonly replicaTimeoutMs: number;
    /** First wait between polls (ms); it grows 1.5 times up to `maxPollMs`. */
    readonly pollMs: number;
    readonly maxPollMs: number;
    /** How long to wait for the CloudTrail records (ms). */
    readonly cloudTrailTimeoutMs: number;
    /** How long cleanup retries a key KMS said exists but its Region does not show yet (ms). */
    readonly notVisibleGraceMs: number;
    readonly cloudTrailMaxPollMs: number;
  };
  /** A progress line (stderr). */
  readonly progress: (line: string) => void;
  /** Stops the steps (first Ctrl-C); cleanup still runs. */
  readonly signal: AbortSignal;
  /** Stops the cleanup too (second Ctrl-C). */
  readonly abandon: AbortSignal;
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** With `--record`: scrubs and writes a CloudTrail record; returns the file's path. */
  readonly saveCloudTrailRecord?: (name: string, event: Record<string, unknown>) => string;
  /** With `--record`: the scrubber (CloudTrail records are scrubbed before they are parsed). */
  readonly scrubber?: Scrubber;
  /** The endpoint override (`--endpoint`), for explanations. */
  readonly endpoint?: string;
}

/** A check that did not hold: the step fails with this message. */
export class StepFailure extends Error {
  override readonly name = 'StepFailure';
}

/** A new run id: `smoke-<UTC yyyymmdd-hhmmss>-<4 hex>`. */
export function newRunId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `smoke-${stamp}-${randomBytes(2).toString('hex')}`;
}
