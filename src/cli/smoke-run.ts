/**
 * The steps of the smoke run against a real (or any) KMS: create a tagged multi-Region primary,
 * reconcile it through the real key-event handler, wait for the replicas, reconcile again (no
 * writes), meet `AlreadyExistsException` and a replica pending deletion, then schedule every key
 * it made for deletion, whatever happened before. `--cleanup-only` finds leftovers by their tag.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { SdkCallRecord } from '../aws/call-recorder.js';
import type { CallerIdentity } from '../aws/caller-identity.js';
import type { EventHistoryReader } from '../aws/cloudtrail-lookup.js';
import type { CreatedKey, KmsLifecycle } from '../aws/kms-lifecycle.js';
import { RetryableError } from '../reconcile/errors.js';
import { createKeyEventHandler, type KeyEventResult } from '../lambda/key-event-handler.js';
import { sqsEventOf } from '../local/event-source-mapping.js';
import type { KmsGateway } from '../reconcile/kms-gateway.js';
import { METRICS_NAMESPACE } from '../lambda/metrics.js';
import type { Runtime } from '../lambda/runtime.js';
import type { KeyDescription, KeyState, ReconcileOutcome, RegionStatus, Tag } from '../reconcile/types.js';
import { createLocalLambdaContext } from '../local/lambda-context.js';
import { checkTrigger, expectedRecords, findRecords, formatDuration, WRITE_OPERATIONS, wrapAsEventBridgeEvent, type ExpectedRecord } from './smoke-cloudtrail.js';
import { errorCodeOf, explainFailure, isAccessDenied, isCredentialProblem } from './smoke-preflight.js';
import { EXAMPLE_ACCOUNT_ID, type Scrubber } from './smoke-scrub.js';

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
class StepFailure extends Error {
  override readonly name = 'StepFailure';
}

/** A new run id: `smoke-<UTC yyyymmdd-hhmmss>-<4 hex>`. */
export function newRunId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `smoke-${stamp}-${randomBytes(2).toString('hex')}`;
}

/**
 * Runs every step, then cleanup (always: after a failed step, and after the first Ctrl-C), then
 * with `--cloudtrail` the search for the records of the run's calls.
 */
export async function runSmokeSteps(session: SmokeSession): Promise<SmokeRunReport> {
  return new SmokeRun(session).run();
}

class SmokeRun {
  private readonly report: SmokeRunReport;
  private readonly made: MadeKey[] = [];
  /** ARNs already scheduled for deletion by a step. */
  private readonly scheduled = new Set<string>();
  private created?: CreatedKey;
  private event?: Record<string, unknown>;
  private readonly createdAt = new Map<string, number>();
  private readonly runStart: number;

  constructor(private readonly s: SmokeSession) {
    this.report = { runId: s.runId, steps: [], replicas: [], cleanup: [], cleanupComplete: true, kmsCalls: 0, kmsWrites: 0 };
    this.runStart = s.now();
  }

  async run(): Promise<SmokeRunReport> {
    const { s } = this;
    const steps: [StepName, () => Promise<string>][] = [
      ['create-primary', () => this.createPrimary()],
      ['reconcile', () => this.reconcileFirst()],
      ['wait-replicas', () => this.waitForReplicas()],
      ['reconcile-again', () => this.reconcileAgain()],
      ['already-exists', () => this.meetAlreadyExists()],
      ['blocked-pending-deletion', () => this.meetPendingDeletion()],
    ];
    s.calls.start();
    try {
      let going = true;
      for (const [name, body] of steps) {
        if (!going) {
          this.report.steps.push({ name, status: 'skipped', ms: 0, detail: 'skipped: an earlier step did not pass' });
          continue;
        }
        going = (await this.step(name, body)) === 'passed';
      }
    } finally {
      await this.step('cleanup', () => this.cleanup(), { abortable: false });
      s.calls.stop();
      this.report.kmsCalls = s.calls.calls.length;
      this.report.kmsWrites = s.calls.calls.filter((c) => WRITE_OPERATIONS.has(c.operation)).length;
    }
    if (s.history && this.created) {
      await this.step('cloudtrail', () => this.collectCloudTrail());
    } else {
      this.report.steps.push({ name: 'cloudtrail', status: 'skipped', ms: 0, detail: s.history ? 'skipped: no key was created' : 'skipped: no --cloudtrail' });
    }
    return this.report;
  }

  private async step(name: StepName, body: () => Promise<string>, options: { abortable?: boolean } = {}): Promise<StepStatus> {
    const { s } = this;
    const index = STEP_NAMES.indexOf(name) + 1;
    const report: StepReport = { name, status: 'passed', ms: 0, detail: '' };
    this.report.steps.push(report);
    const started = s.now();
    if (options.abortable !== false && s.signal.aborted) {
      report.status = 'interrupted';
      report.detail = 'not started: interrupted';
      return report.status;
    }
    s.progress(`[${index}/${STEP_NAMES.length}] ${name} ...`);
    try {
      report.detail = await body();
    } catch (error) {
      report.status = options.abortable !== false && s.signal.aborted ? 'interrupted' : 'failed';
      report.detail =
        error instanceof StepFailure
          ? error.message
          : report.status === 'interrupted'
            ? 'interrupted (Ctrl-C or SIGTERM)'
            : explainFailure(error, { action: name, ...(s.endpoint ? { endpoint: s.endpoint } : {}) });
    }
    report.ms = s.now() - started;
    s.progress(`[${index}/${STEP_NAMES.length}] ${name}: ${report.status} in ${formatDuration(report.ms)}: ${report.detail}`);
    return report.status;
  }

  private data(name: StepName, data: Record<string, unknown>): void {
    const report = this.report.steps.find((r) => r.name === name);
    if (report) report.data = { ...report.data, ...data };
  }

  private get replicaArns(): Map<string, string> {
    const primaryArn = this.created?.arn ?? '';
    return new Map(this.s.replicaRegions.map((region) => [region, primaryArn.replace(/^(arn:[^:]+:kms:)[^:]+/, `$1${region}`)]));
  }

  // Step 1 -------------------------------------------------------------------------------

  private async createPrimary(): Promise<string> {
    const { s } = this;
    const tags: Tag[] = [
      { key: SMOKE_TAG_KEY, value: s.runId },
      { key: s.runtime.config.tagKey, value: s.replicaRegions.join(' ') },
    ];
    const description = `kms-replicas smoke run ${s.runId}: acceptance test of kms-replica-reconciler; the run schedules this key for deletion`;
    let created: CreatedKey;
    try {
      created = await s.lifecycle.createMultiRegionPrimary(s.primaryRegion, { description, tags }, s.signal);
    } catch (error) {
      const why = explainFailure(error, { action: 'CreateKey of the primary key', region: s.primaryRegion, permission: 'kms:CreateKey and kms:TagResource (tags on create)', ...(s.endpoint ? { endpoint: s.endpoint } : {}) });
      // No answer is not no key: a CreateKey whose answer was lost may have made one, tagged.
      const maybeMade = !isAccessDenied(error) && !isCredentialProblem(error) && errorCodeOf(error) !== 'ValidationException';
      throw new StepFailure(maybeMade ? `${why}. If the call reached KMS, the key exists: npm run smoke -- --cleanup-only --regions "${s.primaryRegion}" --yes finds it by its tag` : why);
    }
    this.created = created;
    this.report.keyId = created.keyId;
    this.report.primaryArn = created.arn;
    this.made.push({ arn: created.arn, region: s.primaryRegion, role: 'primary' });
    const metadata = created.keyMetadata as { MultiRegion?: boolean; KeyState?: string; MultiRegionConfiguration?: { MultiRegionKeyType?: string } };
    this.event = buildCreateKeyEvent(created, s.caller, { description, tags }, new Date(s.now()));
    this.data('create-primary', { keyId: created.keyId, arn: created.arn, keyState: metadata.KeyState, multiRegionKeyType: metadata.MultiRegionConfiguration?.MultiRegionKeyType });
    if (metadata.MultiRegion !== true || metadata.MultiRegionConfiguration?.MultiRegionKeyType !== 'PRIMARY') {
      throw new StepFailure(`CreateKey answered MultiRegion ${String(metadata.MultiRegion)}, type ${metadata.MultiRegionConfiguration?.MultiRegionKeyType ?? '(none)'}; expected a multi-Region PRIMARY`);
    }
    if (metadata.KeyState !== 'Enabled') throw new StepFailure(`the new primary is ${metadata.KeyState ?? '(no state)'}, expected Enabled`);
    return `${created.keyId} in ${s.primaryRegion}, tagged ${SMOKE_TAG_KEY}=${s.runId} and ${s.runtime.config.tagKey}="${s.replicaRegions.join(' ')}"`;
  }

  // Step 2 -------------------------------------------------------------------------------

  private async reconcileFirst(): Promise<string> {
    const { s } = this;
    // Registered before the call: a replica made by a call whose answer is lost is still cleaned up.
    for (const [region, arn] of this.replicaArns) this.made.push({ arn, region, role: 'replica' });
    const { outcome, calls } = await this.invokeHandler(s.runtime);
    const replicateCalls = calls.filter((c) => c.operation === 'ReplicateKey');
    for (const call of replicateCalls) {
      const region = (call.request as { ReplicaRegion?: string }).ReplicaRegion;
      if (region && call.httpStatus === 200) this.createdAt.set(region, call.startedAt + call.ms);
    }
    this.data('reconcile', { result: outcome.result, regions: statusesOf(outcome), writes: outcome.writes, metrics: s.metrics.flushes.at(-1) });
    const failed = outcome.regions.filter((r) => r.status !== 'created');
    if (failed.length > 0) throw new StepFailure(`expected every replica Region created; got ${describeStatuses(failed)}`);
    expectEqual(outcome.writes, s.replicaRegions.length, 'writes');
    expectEqual(replicateCalls.length, s.replicaRegions.length, 'ReplicateKey calls');
    return `${describeStatuses(outcome.regions)} (${outcome.writes} write${outcome.writes === 1 ? '' : 's'})`;
  }

  // Step 3 -------------------------------------------------------------------------------

  private async waitForReplicas(): Promise<string> {
    const { s } = this;
    const started = s.now();
    const deadline = started + s.timing.replicaTimeoutMs;
    const settled = await Promise.allSettled([...this.replicaArns].map(([region, arn]) => this.waitForReplica(region, arn, deadline)));
    const problems = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
    const timings = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    this.report.replicas.push(...timings);
    this.data('wait-replicas', { replicas: timings });
    if (s.signal.aborted) throw new Error('interrupted');
    if (problems.length > 0) throw new StepFailure(problems.join('; '));
    await this.checkReplicaCopies();
    return timings.map((t) => `${t.region} Enabled after ${formatDuration(t.creatingMs)} (${t.polls} DescribeKey)`).join(', ');
  }

  private async waitForReplica(region: string, arn: string, deadline: number): Promise<ReplicaTiming> {
    const { s } = this;
    const from = this.createdAt.get(region) ?? s.now();
    let wait = s.timing.pollMs;
    let polls = 0;
    let last: string | undefined;
    let lastLine = s.now();
    for (;;) {
      let state: string;
      try {
        polls += 1;
        const described = await s.kms.describeKey(region, arn, s.signal);
        state = described?.keyState ?? 'not visible yet';
      } catch (error) {
        if (s.signal.aborted) throw error;
        // Throttling or a 5xx after the SDK's own retries: look again at the next poll.
        if ((error as { name?: string }).name !== 'RetryableError') throw new StepFailure(explainFailure(error, { action: 'DescribeKey of the replica', region, permission: 'kms:DescribeKey' }));
        state = last ?? 'not visible yet';
      }
      const elapsed = s.now() - from;
      if (state !== last || s.now() - lastLine >= 30_000) {
        s.progress(`  ${region}: ${state === last ? 'still ' : ''}${state} after ${formatDuration(elapsed)}`);
        last = state;
        lastLine = s.now();
      }
      if (state === 'Enabled') return { region, creatingMs: elapsed, polls, finalState: 'Enabled' };
      if (state !== 'Creating' && state !== 'not visible yet') throw new StepFailure(`${region}: the replica is ${state}, expected Creating then Enabled`);
      if (s.now() + wait > deadline) throw new StepFailure(`${region}: the replica is still ${state} after ${formatDuration(elapsed)} (--replica-timeout ${formatDuration(s.timing.replicaTimeoutMs)})`);
      await s.sleep(wait, s.signal);
      wait = Math.min(Math.round(wait * 1.5), s.timing.maxPollMs);
    }
  }

  /** The reconciler copies the primary's description and tags (COPY_DESCRIPTION, COPY_TAGS); tag-on-create needs kms:TagResource in the replica Region. */
  private async checkReplicaCopies(): Promise<void> {
    const { s } = this;
    const primaryTags = await s.kms.listResourceTags(s.primaryRegion, this.created?.arn ?? '', s.signal);
    const problems: string[] = [];
    for (const [region, arn] of this.replicaArns) {
      const [replica, tags] = await Promise.all([s.kms.describeKey(region, arn, s.signal), s.kms.listResourceTags(region, arn, s.signal)]);
      const wantTags = s.runtime.config.copyTags ? sortTags(primaryTags) : [];
      if (JSON.stringify(sortTags(tags)) !== JSON.stringify(wantTags)) {
        problems.push(`${region}: the replica's tags are ${JSON.stringify(sortTags(tags))}, expected ${JSON.stringify(wantTags)}`);
      }
      const wantDescription = s.runtime.config.copyDescription ? String((this.created?.keyMetadata as { Description?: string }).Description ?? '') : '';
      if (replica?.description !== wantDescription) problems.push(`${region}: the replica's description is '${replica?.description ?? '(none)'}', expected '${wantDescription}'`);
    }
    if (problems.length > 0) throw new StepFailure(problems.join('; '));
  }

  // Step 4 -------------------------------------------------------------------------------

  private async reconcileAgain(): Promise<string> {
    const { s } = this;
    const { outcome, calls } = await this.invokeHandler(s.runtime);
    const writes = calls.filter((c) => WRITE_OPERATIONS.has(c.operation));
    this.data('reconcile-again', { result: outcome.result, regions: statusesOf(outcome), writes: outcome.writes, writeCalls: writes.length, calls: calls.length });
    const notPresent = outcome.regions.filter((r) => r.status !== 'present');
    if (notPresent.length > 0) throw new StepFailure(`expected every replica Region present; got ${describeStatuses(notPresent)}`);
    expectEqual(outcome.writes, 0, 'writes reported');
    expectEqual(writes.length, 0, `write calls seen (${writes.map((c) => c.operation).join(', ')})`);
    return `${describeStatuses(outcome.regions)}; 0 writes (${calls.length} KMS calls, all reads)`;
  }

  // Step 5 -------------------------------------------------------------------------------

  private async meetAlreadyExists(): Promise<string> {
    const { s } = this;
    const region = s.replicaRegions[0] as string;
    // A concurrent reconcile that read the family before the replica existed: the same plan, now
    // answered by real KMS with AlreadyExistsException (design §2, status already-exists).
    const stale: Runtime = { ...s.runtime, kms: hideReplica(s.runtime.kms, this.created?.arn ?? '', region) };
    const { outcome, calls } = await this.invokeHandler(stale);
    const replicate = calls.filter((c) => c.operation === 'ReplicateKey');
    const answer = replicate[0];
    this.data('already-exists', {
      region,
      regions: statusesOf(outcome),
      writes: outcome.writes,
      replicateKeyCalls: replicate.length,
      ...(answer ? { httpStatus: answer.httpStatus, errorType: answer.errorType, message: (answer.response as { message?: string } | undefined)?.message } : {}),
    });
    const status = outcome.regions.find((r) => r.region === region);
    if (status?.status !== 'already-exists') throw new StepFailure(`${region}: expected already-exists, got ${status ? describeStatuses([status]) : '(no status)'}`);
    expectEqual(replicate.length, 1, 'ReplicateKey calls');
    expectEqual(answer?.errorType, 'AlreadyExistsException', 'the ReplicateKey error');
    return `${region}: ReplicateKey answered AlreadyExistsException (HTTP ${answer?.httpStatus}), reported already-exists`;
  }

  // Step 6 -------------------------------------------------------------------------------

  private async meetPendingDeletion(): Promise<string> {
    const { s } = this;
    const region = s.replicaRegions[s.replicaRegions.length - 1] as string;
    const arn = this.replicaArns.get(region) as string;
    let scheduled;
    try {
      scheduled = await s.lifecycle.scheduleKeyDeletion(region, arn, DELETION_WINDOW_DAYS, s.signal);
    } catch (error) {
      throw new StepFailure(explainFailure(error, { action: 'ScheduleKeyDeletion of a replica', region, permission: 'kms:ScheduleKeyDeletion' }));
    }
    this.scheduled.add(arn);
    if (scheduled.keyState !== 'PendingDeletion' || !scheduled.deletionDate) {
      throw new StepFailure(`${region}: ScheduleKeyDeletion answered ${scheduled.keyState ?? '(no state)'} without a deletion date; expected PendingDeletion with one`);
    }
    const { outcome, calls } = await this.invokeHandler(s.runtime);
    const writes = calls.filter((c) => WRITE_OPERATIONS.has(c.operation));
    const status = outcome.regions.find((r) => r.region === region);
    this.data('blocked-pending-deletion', {
      region,
      regions: statusesOf(outcome),
      writes: outcome.writes,
      writeCalls: writes.length,
      deletionDate: scheduled.deletionDate.toISOString(),
      reportedDeletionDate: status?.deletionDate,
    });
    if (status?.status !== 'blocked-pending-deletion') throw new StepFailure(`${region}: expected blocked-pending-deletion, got ${status ? describeStatuses([status]) : '(no status)'}`);
    expectEqual(status.deletionDate, scheduled.deletionDate.toISOString(), 'the reported deletion date');
    expectEqual(outcome.writes, 0, 'writes');
    expectEqual(writes.length, 0, 'write calls seen');
    return `${region}: replica scheduled for deletion (${scheduled.deletionDate.toISOString()}), reported blocked-pending-deletion, 0 writes`;
  }

  // Cleanup ------------------------------------------------------------------------------

  private async cleanup(): Promise<string> {
    const { s } = this;
    const keys = await this.keysToRetire();
    const entries: CleanupEntry[] = [];
    // Replicas first, then the primary: a primary with replicas only moves to
    // PendingReplicaDeletion, its waiting period starting when the last replica is gone [S2][fact sheet §2].
    for (const key of [...keys.filter((k) => k.role === 'replica'), ...keys.filter((k) => k.role === 'primary')]) {
      entries.push(await retireKey(s, key, this.scheduled.has(key.arn)));
    }
    const verified = await Promise.all(entries.map((e) => verifyRetired(s, e)));
    this.report.cleanup = verified;
    this.report.cleanupComplete = verified.every((e) => e.action !== 'failed' && e.action !== 'abandoned');
    this.data('cleanup', { keys: verified });
    const lines = verified.map((e) => `${e.region} ${e.role} ${e.action}${e.keyState ? ` (${e.keyState})` : ''}`);
    if (!this.report.cleanupComplete) {
      throw new StepFailure(`not every key is scheduled for deletion: ${verified.filter((e) => e.action === 'failed' || e.action === 'abandoned').map((e) => `${e.arn}: ${e.error ?? e.action}`).join('; ')}`);
    }
    return lines.length === 0 ? 'nothing was created' : lines.join(', ');
  }

  /** The keys the run made, plus any replica the primary lists (a replica made by a lost answer). */
  private async keysToRetire(): Promise<MadeKey[]> {
    const { s } = this;
    let listed: readonly { arn: string; region: string }[] = [];
    if (this.created && !s.abandon.aborted) {
      try {
        listed = (await s.kms.describeKey(s.primaryRegion, this.created.arn, s.abandon))?.replicaKeys ?? [];
      } catch {
        // The keys the run registered are retired anyway.
      }
    }
    const keys: MadeKey[] = this.made.map((k) => ({
      ...k,
      known: k.role === 'primary' || this.createdAt.has(k.region) || listed.some((r) => r.arn === k.arn),
    }));
    for (const ref of listed) {
      if (!keys.some((k) => k.arn === ref.arn)) keys.push({ arn: ref.arn, region: ref.region, role: 'replica', known: true });
    }
    return keys;
  }

  // CloudTrail ---------------------------------------------------------------------------

  private async collectCloudTrail(): Promise<string> {
    const { s } = this;
    const history = s.history as EventHistoryReader;
    const expected = expectedRecords(s.calls.calls, this.created?.keyId ?? '');
    s.progress(`  looking for ${expected.length} records in CloudTrail event history (up to ${formatDuration(s.timing.cloudTrailTimeoutMs)}; CloudTrail delivers in about 5 min on average [S22])`);
    const findings: CloudTrailFinding[] = [];
    let saved = 0;
    const search = await findRecords(expected, {
      history,
      since: this.runStart - 60_000,
      deadline: s.now() + s.timing.cloudTrailTimeoutMs,
      pollMs: s.timing.pollMs,
      maxPollMs: s.timing.cloudTrailMaxPollMs,
      now: s.now,
      sleep: s.sleep,
      progress: s.progress,
      signal: s.signal,
      onFound: ({ expected: want, record, foundAt, missingAt }) => {
        const shared = (s.scrubber ? s.scrubber.scrub(record) : record) as Record<string, unknown>;
        const event = wrapAsEventBridgeEvent(shared);
        const problem = checkTrigger(want, event, s.scrubber ? EXAMPLE_ACCOUNT_ID : s.caller.account);
        saved += 1;
        const file = s.saveCloudTrailRecord?.(`${String(saved).padStart(2, '0')}-${want.region}-${want.eventName}${want.errorCode ? `-${want.errorCode}` : ''}`, event);
        const window: [number, number] = [missingAt === undefined ? 0 : Math.max(0, missingAt - want.calledAt), foundAt - want.calledAt];
        findings.push({ label: want.label, appearedAfterMs: window, ...(file ? { file } : {}), ...(problem ? { problem } : {}) });
        const when = missingAt === undefined ? `there at the first look, ${formatDuration(window[1])} after the call` : `appeared ${formatDuration(window[0])} to ${formatDuration(window[1])} after the call`;
        s.progress(`  found ${want.label}: ${when}${problem ? `; ${problem}` : ''}`);
      },
    });
    this.report.cloudTrail = { found: findings, missing: search.missing.map((m) => m.label), lookups: search.lookups };
    this.data('cloudtrail', { expected: expected.length, found: findings.length, missing: search.missing.map((m) => m.label), lookups: search.lookups });
    if (search.interrupted) throw new Error('interrupted');
    const problems = findings.flatMap((f) => (f.problem ? [f.problem] : []));
    if (problems.length > 0) throw new StepFailure(problems.join('; '));
    if (search.missing.length > 0) {
      throw new StepFailure(`${search.missing.length} of ${expected.length} records did not appear within ${formatDuration(s.timing.cloudTrailTimeoutMs)}: ${search.missing.map((m) => m.label).join(', ')}`);
    }
    return `${findings.length} records found (${search.lookups} LookupEvents); the reconciler's parser reads each as expected`;
  }

  // Helpers ------------------------------------------------------------------------------

  /** Delivers the run's CreateKey event to the real key-event handler built on `runtime`. */
  private async invokeHandler(runtime: Runtime): Promise<{ outcome: ReconcileOutcome; calls: SdkCallRecord[] }> {
    const { s } = this;
    const from = s.calls.calls.length;
    // The event as the key-event queue's event source mapping hands it over: one SQS message.
    let delivered: KeyEventResult | RetryableError | undefined;
    const handler = createKeyEventHandler(runtime, { onResult: (_id, outcome) => (delivered = outcome) });
    let result: KeyEventResult;
    try {
      await handler(sqsEventOf([JSON.stringify(this.event)], s.primaryRegion), smokeLambdaContext());
      if (delivered === undefined) throw new Error('the handler reported no result for the message');
      if (delivered instanceof RetryableError) throw delivered;
      result = delivered;
    } catch (error) {
      throw new StepFailure(explainFailure(error, { action: 'the key-event handler', ...(s.endpoint ? { endpoint: s.endpoint } : {}) }));
    }
    const calls = s.calls.since(from);
    if (result.status !== 'reconciled') {
      const why = result.status === 'skipped' ? `skipped the event: ${result.reason}` : `rejected the event: ${JSON.stringify(result)}`;
      throw new StepFailure(`the key-event handler ${why}`);
    }
    if (result.outcome.result !== 'reconciled') throw new StepFailure(`the reconcile's result is ${result.outcome.result}: ${result.outcome.message ?? ''}`);
    const failed = result.outcome.regions.filter((r) => r.status === 'failed');
    if (failed.length > 0) {
      throw new StepFailure(
        failed
          .map((r) =>
            isAccessDenied({ code: r.error?.name })
              ? explainFailure({ code: r.error?.name, message: r.error?.message ?? '' }, { action: 'ReplicateKey', region: r.region, permission: `kms:ReplicateKey in ${s.primaryRegion}, and kms:CreateKey and kms:TagResource in ${r.region}` })
              : `${r.region}: ${r.error?.name ?? 'failed'}: ${r.error?.message ?? r.message ?? ''}`,
          )
          .join('; '),
      );
    }
    return { outcome: result.outcome, calls };
  }
}

function smokeLambdaContext(): Context {
  return createLocalLambdaContext(60_000, 'kms-replicas-smoke');
}

/** What retiring a key needs. */
type Retirer = Pick<SmokeSession, 'lifecycle' | 'abandon' | 'sleep' | 'now' | 'progress'> & {
  readonly timing: Pick<SmokeSession['timing'], 'pollMs' | 'notVisibleGraceMs'>;
};

/**
 * Schedules one key for deletion (or says why it need not or could not). A key KMS said exists
 * but whose Region answers `NotFoundException` (a replica right after `ReplicateKey`: KMS is
 * eventually consistent [S17]) is tried again, waits doubling from `pollMs`, for up to
 * `notVisibleGraceMs`; a key KMS never confirmed is `absent` at once.
 */
async function retireKey(s: Retirer, key: MadeKey, alreadyScheduled: boolean): Promise<CleanupEntry> {
  const base = { arn: key.arn, region: key.region, role: key.role };
  if (alreadyScheduled) return { ...base, action: 'already-scheduled' };
  const until = s.now() + s.timing.notVisibleGraceMs;
  let wait = s.timing.pollMs;
  for (;;) {
    if (s.abandon.aborted) return { ...base, action: 'abandoned', error: 'cleanup abandoned (second Ctrl-C)' };
    try {
      const out = await s.lifecycle.scheduleKeyDeletion(key.region, key.arn, DELETION_WINDOW_DAYS, s.abandon);
      return { ...base, action: 'scheduled', ...(out.keyState ? { keyState: out.keyState } : {}), ...(out.deletionDate ? { deletionDate: out.deletionDate.toISOString() } : {}) };
    } catch (error) {
      const code = errorCodeOf(error);
      if (code === 'NotFoundException' && key.known && s.now() + wait <= until) {
        s.progress(`  ${key.region}: ${key.arn} not visible there yet; trying again in ${formatDuration(wait)}`);
        try {
          await s.sleep(wait, s.abandon);
        } catch {
          return { ...base, action: 'abandoned', error: 'cleanup abandoned (second Ctrl-C)' };
        }
        wait *= 2;
        continue;
      }
      if (code === 'NotFoundException' && !key.known) return { ...base, action: 'absent' };
      if (code === 'KMSInvalidStateException' && /pending/i.test((error as Error).message)) return { ...base, action: 'already-scheduled' };
      if (s.abandon.aborted) return { ...base, action: 'abandoned', error: 'cleanup abandoned (second Ctrl-C)' };
      const why =
        code === 'NotFoundException'
          ? `KMS said this key exists, but ${key.region} still answers NotFoundException after ${formatDuration(s.timing.notVisibleGraceMs)}: run --cleanup-only later`
          : explainFailure(error, { action: 'ScheduleKeyDeletion', region: key.region, permission: 'kms:ScheduleKeyDeletion' });
      return { ...base, action: 'failed', error: why };
    }
  }
}

/** Reads the key's state after cleanup; a key that exists and is not pending deletion is a failure. */
async function verifyRetired(s: Pick<SmokeSession, 'kms' | 'abandon'>, entry: CleanupEntry): Promise<CleanupEntry> {
  if (entry.action === 'absent' || entry.action === 'abandoned' || s.abandon.aborted) return entry;
  let described: KeyDescription | undefined;
  try {
    described = await s.kms.describeKey(entry.region, entry.arn, s.abandon);
  } catch {
    return entry;
  }
  // Not visible (eventual consistency): what ScheduleKeyDeletion answered stands.
  if (!described) return entry;
  const pending = described.keyState === 'PendingDeletion' || described.keyState === 'PendingReplicaDeletion';
  const withState = { ...entry, keyState: described.keyState, ...(described.deletionDate ? { deletionDate: described.deletionDate.toISOString() } : {}) };
  if (pending || entry.action === 'failed') return withState;
  return { ...withState, action: 'failed', error: `still ${described.keyState} after ScheduleKeyDeletion` };
}

/**
 * The CloudTrail-shaped CreateKey event the run delivers to the handler, built from the real
 * `CreateKey` response (record fields as in [S1 ct-createkey.md][S14], envelope as in [S10]).
 * Marked as synthesized in `userAgent`; the real record is fetched with `--cloudtrail`.
 */
export function buildCreateKeyEvent(
  created: CreatedKey,
  caller: CallerIdentity,
  sent: { readonly description: string; readonly tags: readonly Tag[] },
  at: Date,
): Record<string, unknown> {
  const time = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.kms',
    account: caller.account,
    time,
    region: created.region,
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: userIdentityOf(caller),
      eventTime: time,
      eventSource: 'kms.amazonaws.com',
      eventName: 'CreateKey',
      awsRegion: created.region,
      sourceIPAddress: '192.0.2.1',
      userAgent: 'kms-replicas-smoke (event synthesized from the CreateKey response)',
      requestParameters: {
        description: sent.description,
        keyUsage: 'ENCRYPT_DECRYPT',
        keySpec: 'SYMMETRIC_DEFAULT',
        multiRegion: true,
        tags: sent.tags.map((t) => ({ tagKey: t.key, tagValue: t.value })),
      },
      responseElements: { keyMetadata: toCloudTrailShape(created.keyMetadata) },
      requestID: created.requestId ?? randomUUID(),
      eventID: randomUUID(),
      readOnly: false,
      resources: [{ accountId: caller.account, type: 'AWS::KMS::Key', ARN: created.arn }],
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: caller.account,
      eventCategory: 'Management',
    },
  };
}

/** CloudTrail's `userIdentity` for a caller, from its ARN [S14 userIdentity]. */
function userIdentityOf(caller: CallerIdentity): Record<string, unknown> {
  const base = { principalId: caller.userId, arn: caller.arn, accountId: caller.account, ...(caller.accessKeyId ? { accessKeyId: caller.accessKeyId } : {}) };
  const role = /^arn:([a-z-]+):sts::(\d{12}):assumed-role\/([^/]+)\//.exec(caller.arn);
  if (role) {
    return {
      type: 'AssumedRole',
      ...base,
      sessionContext: {
        sessionIssuer: { type: 'Role', principalId: caller.userId.split(':')[0], arn: `arn:${role[1]}:iam::${role[2]}:role/${role[3]}`, accountId: caller.account, userName: role[3] },
      },
    };
  }
  if (/:root$/.test(caller.arn)) return { type: 'Root', ...base };
  const user = /:user\/(?:.*\/)?([^/]+)$/.exec(caller.arn);
  if (user) return { type: 'IAMUser', ...base, userName: user[1] };
  return { type: 'FederatedUser', ...base };
}

/** SDK shape → CloudTrail shape: keys with a lower-case first letter, dates as CloudTrail prints them [fact sheet §5.1]. */
function toCloudTrailShape(value: unknown): unknown {
  if (value instanceof Date) return formatCloudTrailDate(value);
  if (Array.isArray(value)) return value.map(toCloudTrailShape);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), toCloudTrailShape(v)]),
    );
  }
  return value;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Nov 18, 2020, 1:29:18 AM` (UTC), as in KMS's CloudTrail payloads [S1 ct-replicate-key.md]. */
function formatCloudTrailDate(date: Date): string {
  const hours = date.getUTCHours();
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${date.getUTCFullYear()}, ${hours % 12 === 0 ? 12 : hours % 12}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${hours < 12 ? 'AM' : 'PM'}`;
}

/** The gateway as a reconcile that read the family before the replica in `region` existed sees it. */
function hideReplica(gateway: KmsGateway, primaryArn: string, region: string): KmsGateway {
  return {
    ...gateway,
    async describeKey(r, keyId, signal) {
      const described = await gateway.describeKey(r, keyId, signal);
      if (!described || described.arn !== primaryArn) return described;
      return { ...described, replicaKeys: described.replicaKeys.filter((k) => k.region !== region) };
    },
  };
}

function statusesOf(outcome: ReconcileOutcome): Record<string, string> {
  return Object.fromEntries(outcome.regions.map((r) => [r.region, r.status]));
}

function describeStatuses(regions: readonly RegionStatus[]): string {
  return regions.map((r) => `${r.region} ${r.status}${r.error ? ` (${r.error.name}: ${r.error.message})` : ''}`).join(', ');
}

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new StepFailure(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

function sortTags(tags: readonly Tag[]): Tag[] {
  return [...tags].sort((a, b) => a.key.localeCompare(b.key));
}

// --cleanup-only -------------------------------------------------------------------------

/** A leftover found by `--cleanup-only`. */
export interface Leftover {
  readonly arn: string;
  readonly region: string;
  readonly role: 'primary' | 'replica';
  /** The `kms-replicas-smoke` tag's value (the run id), when the key carries it. */
  readonly runId?: string;
  readonly keyState: KeyState;
}

/** What `--cleanup-only` found and did. */
export interface CleanupOnlyReport {
  /** Keys carrying the tag (or replicas of a tagged primary), not yet pending deletion. */
  readonly leftovers: Leftover[];
  /** Tagged keys already pending deletion (skipped). */
  readonly alreadyScheduled: number;
  /** Keys looked at (multi-Region keys of the Regions). */
  readonly examined: number;
  /** Filled when `schedule` was asked for. */
  readonly cleanup: CleanupEntry[];
  readonly complete: boolean;
}

/**
 * Finds the smoke run's leftovers in `regions`: every multi-Region key (`mrk-` id) whose tags
 * include `kms-replicas-smoke` (ListKeys, then ListResourceTags and DescribeKey of each), plus
 * the replicas a tagged primary lists (in any Region: a replica made with `COPY_TAGS=false` has
 * no tag). Keys in `PendingDeletion` or `PendingReplicaDeletion` are skipped. With `schedule`,
 * schedules the rest for deletion, replicas first.
 */
export async function cleanUpLeftovers(
  s: Retirer & Pick<SmokeSession, 'kms' | 'signal'>,
  regions: readonly string[],
  schedule: boolean,
): Promise<CleanupOnlyReport> {
  const found = new Map<string, Leftover>();
  let alreadyScheduled = 0;
  let examined = 0;
  const consider = (key: KeyDescription, runId: string | undefined): void => {
    if (found.has(key.arn)) return;
    if (key.keyState === 'PendingDeletion' || key.keyState === 'PendingReplicaDeletion') {
      alreadyScheduled += 1;
      return;
    }
    found.set(key.arn, { arn: key.arn, region: key.region, role: key.multiRegionKeyType === 'PRIMARY' ? 'primary' : 'replica', ...(runId ? { runId } : {}), keyState: key.keyState });
  };
  for (const region of regions) {
    let marker: string | undefined;
    do {
      const page = await s.kms.listKeys(region, { limit: 100, ...(marker ? { marker } : {}) }, s.signal);
      for (const { keyId, arn } of page.keys) {
        if (!keyId.startsWith('mrk-')) continue;
        examined += 1;
        const tags = await s.kms.listResourceTags(region, arn, s.signal);
        const runId = tags.find((t) => t.key === SMOKE_TAG_KEY)?.value;
        if (runId === undefined) continue;
        const key = await s.kms.describeKey(region, arn, s.signal);
        if (!key) continue;
        consider(key, runId);
        if (key.multiRegionKeyType === 'PRIMARY') {
          for (const ref of key.replicaKeys) {
            const replica = await s.kms.describeKey(ref.region, ref.arn, s.signal);
            if (replica) consider(replica, undefined);
          }
        }
      }
      marker = page.nextMarker;
    } while (marker);
    s.progress(`  ${region}: ${[...found.values()].filter((k) => k.region === region).length} leftover(s)`);
  }
  const leftovers = [...found.values()];
  if (!schedule) return { leftovers, alreadyScheduled, examined, cleanup: [], complete: leftovers.length === 0 };
  const cleanup: CleanupEntry[] = [];
  for (const key of [...leftovers.filter((k) => k.role === 'replica'), ...leftovers.filter((k) => k.role === 'primary')]) {
    const entry = await retireKey(s, key, false);
    cleanup.push(await verifyRetired(s, entry));
    s.progress(`  ${key.region} ${key.role} ${key.arn}: ${cleanup[cleanup.length - 1]?.action}`);
  }
  return { leftovers, alreadyScheduled, examined, cleanup, complete: cleanup.every((e) => e.action !== 'failed' && e.action !== 'abandoned') };
}
