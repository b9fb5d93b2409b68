/**
 * The steps of the smoke run against a real (or any) KMS: create a tagged multi-Region primary,
 * reconcile it through the real key-event handler, wait for the replicas, reconcile again (no
 * writes), meet `AlreadyExistsException` and a replica pending deletion, then schedule every key
 * it made for deletion (`cleanup.ts`), whatever happened before.
 */
import type { Context } from 'aws-lambda';
import type { SdkCallRecord } from '../../aws/call-recorder.js';
import type { EventHistoryReader } from '../../aws/cloudtrail-lookup.js';
import type { CreatedKey } from '../../aws/kms-lifecycle.js';
import { createKeyEventHandler, type KeyEventResult } from '../../lambda/key-event-handler.js';
import type { Runtime } from '../../lambda/runtime.js';
import { sqsEventOf } from '../../local/event-source-mapping.js';
import { createLocalLambdaContext } from '../../local/lambda-context.js';
import { RetryableError } from '../../reconcile/errors.js';
import type { KmsGateway } from '../../reconcile/kms-gateway.js';
import type { ReconcileOutcome, RegionStatus, Tag } from '../../reconcile/types.js';
import { retireKey, verifyRetired } from './cleanup.js';
import { checkTrigger, expectedRecords, findRecords, formatDuration, WRITE_OPERATIONS, wrapAsEventBridgeEvent } from './cloudtrail.js';
import { buildCreateKeyEvent } from './create-key-event.js';
import { errorCodeOf, explainFailure, isAccessDenied, isCredentialProblem } from './preflight.js';
import { EXAMPLE_ACCOUNT_ID } from './scrub.js';
import {
  DELETION_WINDOW_DAYS,
  SMOKE_TAG_KEY,
  STEP_NAMES,
  StepFailure,
  type CleanupEntry,
  type CloudTrailFinding,
  type MadeKey,
  type ReplicaTiming,
  type SmokeRunReport,
  type SmokeSession,
  type StepName,
  type StepReport,
  type StepStatus,
} from './session.js';

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
