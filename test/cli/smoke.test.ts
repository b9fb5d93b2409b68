/**
 * `npm run smoke` end to end against the embedded KMS (which also serves STS GetCallerIdentity and
 * CloudTrail LookupEvents): the same code a user runs against AWS, through `--endpoint`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runSmoke } from '../../src/cli/smoke/command.js';
import { SMOKE_EXIT_CODES } from '../../src/cli/smoke/report.js';
import { startEmbeddedKms, type EmbeddedKms, type EmbeddedKmsOptions } from '../../src/emulator/index.js';

const ACCOUNT = '444455556666';
const ACCESS_KEY = 'ASIASMOKETESTKEY0001';
const ROLE_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/SmokeTester/alice@example.com`;
const CREDENTIALS = { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: 'secret' };

let kms: EmbeddedKms | undefined;
afterEach(async () => {
  await kms?.close();
  kms = undefined;
});

async function startKms(options: EmbeddedKmsOptions = {}): Promise<EmbeddedKms> {
  kms = await startEmbeddedKms({
    account: ACCOUNT,
    replicaDelayMs: 300,
    quotas: true,
    callerIdentities: { [ACCESS_KEY]: { type: 'AssumedRole', principalId: 'AROASMOKETESTROLE0001:alice@example.com', arn: ROLE_ARN } },
    ...options,
  });
  return kms;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm run smoke -- <args>` in-process against `target`, with test credentials. */
async function smoke(
  target: EmbeddedKms,
  args: string[],
  io: { env?: Record<string, string>; signal?: AbortSignal; abandon?: AbortSignal; onStderr?: (text: string) => void } = {},
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runSmoke(['--endpoint', target.endpoint, '--poll-interval', '50ms', ...args], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: {
      write: (s: string) => {
        stderr += s;
        io.onStderr?.(stderr);
      },
    },
    env: { ...CREDENTIALS, ...io.env },
    ...(io.signal ? { signal: io.signal } : {}),
    ...(io.abandon ? { abandon: io.abandon } : {}),
  });
  return { code, stdout, stderr };
}

/** Makes the embedded KMS refuse `operation` (in `region`, or everywhere) as AWS does without the IAM permission, through its fault layer. */
function deny(target: EmbeddedKms, operation: string, region?: string): void {
  target.setFaults({
    rules: [
      {
        operation,
        ...(region ? { region } : {}),
        error: {
          code: 'AccessDeniedException',
          message: `User: ${ROLE_ARN} is not authorized to perform: kms:${operation} on resource: arn:aws:kms:${region ?? 'us-east-1'}:${ACCOUNT}:key/* because no identity-based policy allows the kms:${operation} action`,
        },
      },
    ],
  });
}

const stepsOf = (summary: { steps: { name: string; status: string }[] }): [string, string][] => summary.steps.map((s) => [s.name, s.status]);
const dataOf = (summary: { steps: { name: string; data?: Record<string, unknown> }[] }, name: string): Record<string, unknown> | undefined =>
  summary.steps.find((s) => s.name === name)?.data;

describe('npm run smoke against the embedded KMS', () => {
  it('passes every step and leaves every key it made scheduled for deletion, with a scrubbed record of every KMS call and CloudTrail record', async () => {
    // Prepare
    const target = await startKms();
    const dir = join(mkdtempSync(join(tmpdir(), 'smoke-record-')), 'out');

    // Act
    const run = await smoke(target, ['--regions', 'us-east-1 us-west-2 eu-west-1', '--yes', '--json', '--record', dir, '--cloudtrail', '--cloudtrail-timeout', '20s']);

    // Assess
    const summary = JSON.parse(run.stdout);
    expect(run.code, run.stderr).toBe(SMOKE_EXIT_CODES.passed);
    expect(summary).toMatchObject({ result: 'passed', exitCode: 0, account: ACCOUNT, caller: ROLE_ARN, primaryRegion: 'us-east-1', replicaRegions: ['us-west-2', 'eu-west-1'], cleanupComplete: true });
    expect(stepsOf(summary)).toEqual([
      ['create-primary', 'passed'],
      ['reconcile', 'passed'],
      ['wait-replicas', 'passed'],
      ['reconcile-again', 'passed'],
      ['already-exists', 'passed'],
      ['blocked-pending-deletion', 'passed'],
      ['cleanup', 'passed'],
      ['cloudtrail', 'passed'],
    ]);
    expect(dataOf(summary, 'reconcile')).toMatchObject({ result: 'reconciled', regions: { 'us-west-2': 'created', 'eu-west-1': 'created' }, writes: 2, metrics: { Reconciles: 1, ReplicasCreated: 2 } });
    expect(dataOf(summary, 'reconcile-again')).toMatchObject({ regions: { 'us-west-2': 'present', 'eu-west-1': 'present' }, writes: 0, writeCalls: 0 });
    expect(dataOf(summary, 'already-exists')).toMatchObject({ region: 'us-west-2', regions: { 'us-west-2': 'already-exists', 'eu-west-1': 'present' }, writes: 1, replicateKeyCalls: 1, httpStatus: 400, errorType: 'AlreadyExistsException' });
    expect(dataOf(summary, 'blocked-pending-deletion')).toMatchObject({ region: 'eu-west-1', regions: { 'us-west-2': 'present', 'eu-west-1': 'blocked-pending-deletion' }, writes: 0, writeCalls: 0 });
    expect(summary.replicas.map((r: { region: string; finalState: string }) => [r.region, r.finalState])).toEqual([
      ['us-west-2', 'Enabled'],
      ['eu-west-1', 'Enabled'],
    ]);
    for (const replica of summary.replicas as { creatingMs: number }[]) expect(replica.creatingMs).toBeGreaterThanOrEqual(300);
    const keyId = summary.keyId as string;
    expect(summary.cleanup.map((e: { region: string; role: string; action: string; keyState: string }) => [e.region, e.role, e.action, e.keyState])).toEqual([
      ['us-west-2', 'replica', 'scheduled', 'PendingDeletion'],
      ['eu-west-1', 'replica', 'already-scheduled', 'PendingDeletion'],
      ['us-east-1', 'primary', 'scheduled', 'PendingReplicaDeletion'],
    ]);
    expect([target.describe('us-east-1', keyId)?.KeyState, target.describe('us-west-2', keyId)?.KeyState, target.describe('eu-west-1', keyId)?.KeyState]).toEqual([
      'PendingReplicaDeletion',
      'PendingDeletion',
      'PendingDeletion',
    ]);
    expect(target.describe('us-east-1', keyId)?.PendingDeletionWindowInDays).toBe(7);
    expect(target.tags('us-east-1', keyId)).toEqual({ 'kms-replicas-smoke': summary.runId, 'replica-regions': 'us-west-2 eu-west-1' });
    expect(target.tags('us-west-2', keyId)).toEqual({ 'kms-replicas-smoke': summary.runId, 'replica-regions': 'us-west-2 eu-west-1' });
    expect(summary.cloudTrail.missing).toEqual([]);
    expect(summary.cloudTrail.found.map((f: { label: string }) => f.label).sort()).toEqual([
      'eu-west-1 CreateKey (replica, caused by ReplicateKey)',
      'eu-west-1 ScheduleKeyDeletion',
      'us-east-1 CreateKey',
      'us-east-1 ReplicateKey',
      'us-east-1 ReplicateKey',
      'us-east-1 ReplicateKey (AlreadyExistsException)',
      'us-east-1 ScheduleKeyDeletion',
      'us-west-2 CreateKey (replica, caused by ReplicateKey)',
      'us-west-2 ScheduleKeyDeletion',
    ]);
    const kmsFiles = readdirSync(join(dir, 'kms'));
    expect(kmsFiles).toHaveLength(summary.kmsCalls);
    expect(kmsFiles[0]).toBe('0001-us-east-1-CreateKey.json');
    expect(kmsFiles.filter((f) => f.includes('AlreadyExistsException'))).toHaveLength(1);
    expect(readdirSync(join(dir, 'cloudtrail'))).toHaveLength(9);
    expect(existsSync(join(dir, 'summary.json'))).toBe(true);
    for (const file of [...kmsFiles.map((f) => join(dir, 'kms', f)), ...readdirSync(join(dir, 'cloudtrail')).map((f) => join(dir, 'cloudtrail', f)), join(dir, 'summary.json')]) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toContain(ACCOUNT);
      expect(text, file).not.toContain(ACCESS_KEY);
      expect(text, file).not.toContain('alice@example.com');
      expect(text, file).not.toContain('SmokeTester');
      expect(text, file).not.toContain('AROASMOKETESTROLE0001');
    }
    const createKey = JSON.parse(readFileSync(join(dir, 'kms', kmsFiles[0] as string), 'utf8'));
    expect(createKey).toMatchObject({ operation: 'CreateKey', region: 'us-east-1', httpStatus: 200, request: { MultiRegion: true }, response: { KeyMetadata: { AWSAccountId: '111122223333', KeyId: keyId } } });
    const replicaRecord = readdirSync(join(dir, 'cloudtrail')).find((f) => f.endsWith('us-west-2-CreateKey.json')) as string;
    const event = JSON.parse(readFileSync(join(dir, 'cloudtrail', replicaRecord), 'utf8'));
    expect(event).toMatchObject({
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.kms',
      account: '111122223333',
      region: 'us-west-2',
      detail: {
        eventName: 'CreateKey',
        awsRegion: 'us-west-2',
        userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/smoke-role-1/smoke-session-1', accessKeyId: 'ASIAEXAMPLE001' },
        responseElements: { keyMetadata: { multiRegionConfiguration: { multiRegionKeyType: 'REPLICA' } } },
      },
    });
  });

  it('fails the run when ReplicateKey is denied after the primary was created, names the permission, and still schedules the primary for deletion', async () => {
    // Prepare
    const target = await startKms();
    deny(target, 'ReplicateKey');

    // Act
    const run = await smoke(target, ['--regions', 'us-east-1 us-west-2', '--yes', '--json']);

    // Assess
    const summary = JSON.parse(run.stdout);
    expect(run.code).toBe(SMOKE_EXIT_CODES.failed);
    expect(stepsOf(summary)).toEqual([
      ['create-primary', 'passed'],
      ['reconcile', 'failed'],
      ['wait-replicas', 'skipped'],
      ['reconcile-again', 'skipped'],
      ['already-exists', 'skipped'],
      ['blocked-pending-deletion', 'skipped'],
      ['cleanup', 'passed'],
      ['cloudtrail', 'skipped'],
    ]);
    expect(summary.steps[1].detail).toContain('access denied: the caller lacks kms:ReplicateKey');
    expect(summary.cleanup.map((e: { region: string; action: string; keyState?: string }) => [e.region, e.action, e.keyState])).toEqual([
      ['us-west-2', 'absent', undefined],
      ['us-east-1', 'scheduled', 'PendingDeletion'],
    ]);
    expect(target.describe('us-east-1', summary.keyId)?.KeyState).toBe('PendingDeletion');
    expect(target.describe('us-west-2', summary.keyId)).toBeUndefined();
  });

  it('names every key it could not schedule for deletion with the command that does it, and exits 2', async () => {
    // Prepare
    const target = await startKms();
    deny(target, 'ScheduleKeyDeletion');

    // Act
    const run = await smoke(target, ['--regions', 'us-east-1 us-west-2', '--yes', '--json']);

    // Assess
    const summary = JSON.parse(run.stdout);
    expect(run.code).toBe(SMOKE_EXIT_CODES.needsPerson);
    expect(summary).toMatchObject({ result: 'needs-a-person', cleanupComplete: false });
    expect(stepsOf(summary).slice(4)).toEqual([
      ['already-exists', 'passed'],
      ['blocked-pending-deletion', 'failed'],
      ['cleanup', 'failed'],
      ['cloudtrail', 'skipped'],
    ]);
    const keyId = summary.keyId as string;
    expect(run.stderr).toContain(`aws kms schedule-key-deletion --region us-west-2 --key-id arn:aws:kms:us-west-2:${ACCOUNT}:key/${keyId} --pending-window-in-days 7`);
    expect(run.stderr).toContain(`aws kms schedule-key-deletion --region us-east-1 --key-id arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId} --pending-window-in-days 7`);
    expect(run.stderr).toContain('npm run smoke -- --regions "us-east-1 us-west-2" --cleanup-only --yes');
    expect(target.describe('us-east-1', keyId)?.KeyState).toBe('Enabled');
  });

  it('fails at the first step, having created nothing, when CreateKey is denied', async () => {
    // Prepare
    const target = await startKms();
    deny(target, 'CreateKey');

    // Act
    const run = await smoke(target, ['--regions', 'us-east-1 us-west-2', '--yes', '--json']);

    // Assess
    const summary = JSON.parse(run.stdout);
    expect(run.code).toBe(SMOKE_EXIT_CODES.failed);
    expect(stepsOf(summary).slice(0, 2)).toEqual([
      ['create-primary', 'failed'],
      ['reconcile', 'skipped'],
    ]);
    expect(summary.steps[0].detail).toContain('CreateKey of the primary key in us-east-1: access denied: the caller lacks kms:CreateKey');
    expect(summary.steps.find((s: { name: string }) => s.name === 'cleanup')).toMatchObject({ status: 'passed', detail: 'nothing was created' });
    expect(summary.keyId).toBeNull();
  });

  it('fails the wait when the replicas stay Creating past --replica-timeout, and cleans up', async () => {
    // Prepare
    const target = await startKms({ replicaDelayMs: 3_600_000 });

    // Act
    const run = await smoke(target, ['--regions', 'us-east-1 us-west-2', '--yes', '--json', '--replica-timeout', '300ms']);

    // Assess
    const summary = JSON.parse(run.stdout);
    expect(run.code).toBe(SMOKE_EXIT_CODES.failed);
    expect(stepsOf(summary)[2]).toEqual(['wait-replicas', 'failed']);
    expect(summary.steps[2].detail).toMatch(/^us-west-2: the replica is still Creating after \d+ ms \(--replica-timeout 300 ms\)$/);
    expect(summary.cleanupComplete).toBe(true);
    expect(target.describe('us-west-2', summary.keyId)?.KeyState).toBe('PendingDeletion');
  });

  it('keeps trying a replica KMS said exists while its Region still answers NotFoundException (eventual consistency)', async () => {
    // Prepare
    const target = await startKms({ replicaDelayMs: 3_600_000 });
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;

    // Act
    const run = await smoke(target, ['--regions', 'us-east-1 us-west-2', '--yes', '--json'], {
      signal: controller.signal,
      onStderr: (text) => {
        if (controller.signal.aborted || !text.includes('us-west-2: Creating after')) return;
        target.setFaults({ rules: [{ operation: 'ScheduleKeyDeletion', region: 'us-west-2', error: { code: 'NotFoundException', message: 'Key does not exist' } }] });
        timer = setTimeout(() => target.setFaults(undefined), 250);
        controller.abort();
      },
    });
    clearTimeout(timer);

    // Assess
    const summary = JSON.parse(run.stdout);
    expect(run.code).toBe(SMOKE_EXIT_CODES.interrupted);
    expect(run.stderr).toContain(`us-west-2: arn:aws:kms:us-west-2:${ACCOUNT}:key/${summary.keyId} not visible there yet; trying again in 50 ms`);
    expect(summary.cleanup.map((e: { region: string; action: string; keyState: string }) => [e.region, e.action, e.keyState])).toEqual([
      ['us-west-2', 'scheduled', 'PendingDeletion'],
      ['us-east-1', 'scheduled', 'PendingReplicaDeletion'],
    ]);
  });

  it('abandons the cleanup at the second Ctrl-C and names the keys left, with exit 2', async () => {
    // Prepare
    const target = await startKms({ replicaDelayMs: 3_600_000 });
    const stop = new AbortController();
    const abandon = new AbortController();

    // Act
    const run = await smoke(target, ['--regions', 'us-east-1 us-west-2', '--yes', '--json'], {
      signal: stop.signal,
      abandon: abandon.signal,
      onStderr: (text) => {
        if (text.includes('us-west-2: Creating after')) stop.abort();
        if (text.includes('cleanup ...')) abandon.abort();
      },
    });

    // Assess
    const summary = JSON.parse(run.stdout);
    expect(run.code).toBe(SMOKE_EXIT_CODES.needsPerson);
    expect(summary.cleanup.map((e: { region: string; action: string }) => [e.region, e.action])).toEqual([
      ['us-west-2', 'abandoned'],
      ['us-east-1', 'abandoned'],
    ]);
    expect(run.stderr).toContain('smoke: 2 key(s) the run made are NOT scheduled for deletion');
    expect(target.describe('us-east-1', summary.keyId)?.KeyState).toBe('Enabled');
  });

  it('states the cost and creates nothing without --yes', async () => {
    // Prepare
    const target = await startKms();

    // Act
    const run = await smoke(target, ['--regions', 'us-east-1 us-west-2 eu-west-1']);

    // Assess
    expect(run.code).toBe(SMOKE_EXIT_CODES.usage);
    expect(run.stderr).toContain('Cost: 3 KMS keys (1 multi-Region primary + 2 replicas)');
    expect(run.stderr).toContain('about 3 key-hours: $0.0041');
    expect(run.stderr).toContain('smoke: nothing was created: add --yes');
    expect(target.calls().filter((c) => c.operation === 'CreateKey')).toEqual([]);
  });

  it('stops before creating anything when a Region answers as an opt-in Region not enabled for the account does', async () => {
    // Prepare
    const target = await startKms();
    // What AWS answers in an opt-in Region the account has not enabled (OBS, docs/SMOKE.md).
    target.setFaults({ rules: [{ region: 'ap-east-1', error: { code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' } }] });

    // Act
    const run = await smoke(target, ['--regions', 'us-east-1 ap-east-1', '--yes']);

    // Assess
    expect(run.code).toBe(SMOKE_EXIT_CODES.couldNotRun);
    expect(run.stderr).toContain('ListKeys in ap-east-1: the credentials are not valid there (UnrecognizedClientException');
    expect(run.stderr).toContain('ap-east-1 is probably an opt-in Region not enabled for the account');
    expect(run.stderr).toContain('smoke: nothing was created');
    expect(target.calls().filter((c) => c.operation === 'CreateKey')).toEqual([]);
  });

  it('reports the CloudTrail records that did not appear in time with exit 4, after a run that otherwise passed', async () => {
    // Prepare: every CloudTrail record is held back, as by a slow delivery.
    const target = await startKms({ faults: { events: { delayEvents: true } } });

    // Act
    const run = await smoke(target, ['--regions', 'us-east-1 us-west-2', '--yes', '--json', '--cloudtrail', '--cloudtrail-timeout', '300ms']);

    // Assess
    const summary = JSON.parse(run.stdout);
    expect(run.code).toBe(SMOKE_EXIT_CODES.recordingIncomplete);
    expect(stepsOf(summary).at(-1)).toEqual(['cloudtrail', 'failed']);
    expect(summary.cloudTrail.found).toEqual([]);
    expect(summary.cloudTrail.missing.sort()).toEqual([
      'us-east-1 CreateKey',
      'us-east-1 ReplicateKey',
      'us-east-1 ReplicateKey (AlreadyExistsException)',
      'us-east-1 ScheduleKeyDeletion',
      'us-west-2 CreateKey (replica, caused by ReplicateKey)',
      'us-west-2 ScheduleKeyDeletion',
    ]);
    expect(summary.cleanupComplete).toBe(true);
  });

  it('stops at the first Ctrl-C while waiting for the replicas and schedules every key it made for deletion', async () => {
    // Prepare: the replicas never leave Creating.
    const target = await startKms({ replicaDelayMs: 3_600_000 });
    const controller = new AbortController();

    // Act
    const run = await smoke(target, ['--regions', 'us-east-1 us-west-2', '--yes', '--json'], {
      signal: controller.signal,
      onStderr: (text) => {
        if (text.includes('us-west-2: Creating after')) controller.abort();
      },
    });

    // Assess
    const summary = JSON.parse(run.stdout);
    expect(run.code).toBe(SMOKE_EXIT_CODES.interrupted);
    expect(stepsOf(summary)).toEqual([
      ['create-primary', 'passed'],
      ['reconcile', 'passed'],
      ['wait-replicas', 'interrupted'],
      ['reconcile-again', 'skipped'],
      ['already-exists', 'skipped'],
      ['blocked-pending-deletion', 'skipped'],
      ['cleanup', 'passed'],
      ['cloudtrail', 'skipped'],
    ]);
    expect(target.describe('us-west-2', summary.keyId)?.KeyState).toBe('PendingDeletion');
    expect(target.describe('us-east-1', summary.keyId)?.KeyState).toBe('PendingReplicaDeletion');
  });

  it('is a usage error to name a Region that is not a KMS Region, and suggests the nearest', async () => {
    // Prepare
    const target = await startKms();

    // Act
    const run = await smoke(target, ['--regions', 'us-east-1 us-wst-2', '--yes']);

    // Assess
    expect(run.code).toBe(SMOKE_EXIT_CODES.usage);
    expect(run.stderr).toContain("smoke: 'us-wst-2' is not a Region where AWS KMS is available (codes are lower case, e.g. us-east-1); did you mean us-west-2?");
    expect(target.calls()).toEqual([]);
  });
});

describe('npm run smoke -- --embedded', () => {
  it('runs the documented offline command against an embedded KMS it starts, signing with its own fake credentials', { timeout: 30_000 }, async () => {
    // Prepare
    let stdout = '';
    let stderr = '';
    const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: { ...CREDENTIALS } };

    // Act
    const code = await runSmoke(['--regions', 'us-east-1 us-west-2', '--embedded', '--yes', '--json'], io);
    const both = await runSmoke(['--regions', 'us-east-1 us-west-2', '--embedded', '--endpoint', 'http://127.0.0.1:9', '--yes'], io);

    // Assess
    const summary = JSON.parse(stdout);
    expect(code, stderr).toBe(SMOKE_EXIT_CODES.passed);
    expect(summary).toMatchObject({ result: 'passed', account: '111122223333', caller: 'arn:aws:iam::111122223333:user/AKIAKMSREPLICASSMOKE', cleanupComplete: true });
    expect(summary.replicas[0].creatingMs).toBeGreaterThanOrEqual(5_000);
    expect(stderr).toContain('On AWS this would cost (here, against the embedded KMS, nothing):');
    expect(both).toBe(SMOKE_EXIT_CODES.usage);
    expect(stderr).toContain('smoke: --embedded and --endpoint cannot be used together');
  });
});

describe('npm run smoke -- --record', () => {
  it('refuses a directory that is not empty, and one it cannot create, before anything is called', async () => {
    // Prepare
    const target = await startKms();
    const used = mkdtempSync(join(tmpdir(), 'smoke-used-'));
    writeFileSync(join(used, 'previous-run.json'), '{}');

    // Act
    const notEmpty = await smoke(target, ['--regions', 'us-east-1 us-west-2', '--yes', '--record', used]);
    const underAFile = join(used, 'previous-run.json', 'out');
    const impossible = await smoke(target, ['--regions', 'us-east-1 us-west-2', '--yes', '--record', underAFile]);

    // Assess
    expect(notEmpty.code).toBe(SMOKE_EXIT_CODES.usage);
    expect(notEmpty.stderr).toContain(`smoke: --record ${used}: the directory is not empty`);
    expect(impossible.code).toBe(SMOKE_EXIT_CODES.usage);
    expect(impossible.stderr).toContain(`smoke: --record ${underAFile}: cannot create the directory (ENOTDIR`);
    expect(target.calls()).toEqual([]);
  });
});

describe('npm run smoke -- --cleanup-only', () => {
  it('finds the keys tagged kms-replicas-smoke and their replicas, lists them without --yes, and schedules them replicas first with --yes', async () => {
    // Prepare
    const target = await startKms();
    const leftover = target.seedKey({ region: 'us-east-1', multiRegion: true, tags: { 'kms-replicas-smoke': 'smoke-old-run', 'replica-regions': 'us-west-2' } });
    target.seedReplica(leftover.KeyId, 'us-east-1', 'us-west-2'); // untagged, as with COPY_TAGS=false
    const scheduledBefore = target.seedKey({ region: 'us-west-2', multiRegion: true, keyState: 'PendingDeletion', tags: { 'kms-replicas-smoke': 'smoke-older-run' } });
    const unrelated = target.seedKey({ region: 'us-east-1', multiRegion: true, tags: { team: 'payments' } });
    const singleRegion = target.seedKey({ region: 'us-east-1', tags: { 'kms-replicas-smoke': 'not-ours' } });

    // Act
    const listing = await smoke(target, ['--regions', 'us-east-1 us-west-2', '--cleanup-only', '--json']);
    const statesAfterListing = target.describe('us-east-1', leftover.KeyId)?.KeyState;
    target.resetCalls();
    const cleaning = await smoke(target, ['--regions', 'us-east-1 us-west-2', '--cleanup-only', '--yes', '--json']);

    // Assess
    const listed = JSON.parse(listing.stdout);
    expect(listing.code).toBe(SMOKE_EXIT_CODES.usage);
    expect(listed.leftovers.map((k: { region: string; role: string; runId?: string }) => [k.region, k.role, k.runId])).toEqual([
      ['us-east-1', 'primary', 'smoke-old-run'],
      ['us-west-2', 'replica', undefined],
    ]);
    expect(listed.alreadyScheduled).toBe(1);
    expect(statesAfterListing).toBe('Enabled');
    const cleaned = JSON.parse(cleaning.stdout);
    expect(cleaning.code).toBe(SMOKE_EXIT_CODES.passed);
    expect(cleaned.cleanup.map((e: { region: string; role: string; action: string; keyState: string }) => [e.region, e.role, e.action, e.keyState])).toEqual([
      ['us-west-2', 'replica', 'scheduled', 'PendingDeletion'],
      ['us-east-1', 'primary', 'scheduled', 'PendingReplicaDeletion'],
    ]);
    expect(target.calls().filter((c) => c.operation === 'ScheduleKeyDeletion').map((c) => c.region)).toEqual(['us-west-2', 'us-east-1']);
    expect(target.describe('us-west-2', scheduledBefore.KeyId)?.KeyState).toBe('PendingDeletion');
    expect(target.describe('us-east-1', unrelated.KeyId)?.KeyState).toBe('Enabled');
    expect(target.describe('us-east-1', singleRegion.KeyId)?.KeyState).toBe('Enabled');
  });
});

describe('scripts/smoke.ts as a process', () => {
  /** A child's environment with no AWS settings, no credentials files and no instance metadata: only 127.0.0.1 is contacted. */
  function isolatedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const home = mkdtempSync(join(tmpdir(), 'smoke-home-'));
    return {
      PATH: process.env.PATH,
      HOME: home,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(home, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
      ...extra,
    };
  }

  function spawnSmoke(args: string[], env: NodeJS.ProcessEnv, ready?: (stderr: string) => boolean): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/smoke.ts', ...args], { env });
      let stdout = '';
      let stderr = '';
      let sent = false;
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (ready && !sent && ready(stderr)) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  it('exits 70 with a hint when no credentials are found, before anything is created', async () => {
    // Prepare
    const target = await startKms();

    // Act
    const run = await spawnSmoke(['--regions', 'us-east-1 us-west-2', '--endpoint', target.endpoint, '--yes'], isolatedEnv());

    // Assess
    expect(run.code).toBe(SMOKE_EXIT_CODES.couldNotRun);
    expect(run.stderr).toContain('no AWS credentials found');
    expect(run.stderr).toContain(`with --endpoint ${target.endpoint} any credentials work`);
    expect(target.calls()).toEqual([]);
  }, 30_000);

  it('turns SIGINT during the wait into a cleanup and exit 130', async () => {
    // Prepare
    const target = await startKms({ replicaDelayMs: 3_600_000 });

    // Act
    const run = await spawnSmoke(
      ['--regions', 'us-east-1 us-west-2', '--endpoint', target.endpoint, '--yes', '--json', '--poll-interval', '50ms'],
      isolatedEnv(CREDENTIALS),
      (stderr) => stderr.includes('us-west-2: Creating after'),
    );

    // Assess
    const summary = JSON.parse(run.stdout);
    expect(run.code).toBe(SMOKE_EXIT_CODES.interrupted);
    expect(run.stderr).toContain('smoke: SIGINT: stopping; scheduling every key the run made for deletion first');
    expect(summary.cleanup.map((e: { region: string; action: string }) => [e.region, e.action])).toEqual([
      ['us-west-2', 'scheduled'],
      ['us-east-1', 'scheduled'],
    ]);
    expect(target.describe('us-west-2', summary.keyId)?.KeyState).toBe('PendingDeletion');
  }, 30_000);
});
