/**
 * Security Hub findings end to end (issue 14 item 3): the real key-event and sweep handlers, the
 * real SDK clients, the embedded KMS and Security Hub over HTTP on 127.0.0.1. Every finding the
 * reconciler emits is checked against the embedded Security Hub's ASFF rules (`asffProblem`), and
 * Security Hub must accept every one (no `FailedFindings`).
 */
import { createHash } from 'node:crypto';
import { CancelKeyDeletionCommand, EnableKeyCommand, KMSClient, UntagResourceCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEMO_REGION, seedDemoKeys, type DemoKeyKind } from '../../src/cli/demo-keys.js';
import { asffProblem, ManualClock, startEmbeddedKms, type EmbeddedKms, type StoredFinding } from '../../src/emulator/index.js';
import type { AsffFinding, FindingsImportResult } from '../../src/lambda/findings.js';
import { loadConfig } from '../../src/lambda/config.js';
import { createLocalLambdaContext } from '../../src/local/lambda-context.js';
import { createRuntime, type Runtime } from '../../src/lambda/runtime.js';
import { createSweepHandler, type SweepInvocationResult } from '../../src/lambda/sweep-handler.js';
import { FIXTURE_KEY_ID, loadFixture } from '../helpers/fixtures.js';
import { startHarness, type Harness } from '../helpers/harness.js';

const ACCOUNT = '111122223333';
const PRODUCT = `arn:aws:securityhub:us-east-1:${ACCOUNT}:product/${ACCOUNT}/default`;
const CREDENTIALS = { accessKeyId: 'AKIATESTSECURITYHUB1', secretAccessKey: 'test' };
const DAY_MS = 24 * 60 * 60 * 1000;

let kms: EmbeddedKms | undefined;
let harness: Harness | undefined;
afterEach(async () => {
  await kms?.close();
  await harness?.close();
  kms = undefined;
  harness = undefined;
  vi.restoreAllMocks();
});

/** What the reconciler sent to Security Hub and what Security Hub answered, per import. */
interface ImportLog {
  readonly sent: AsffFinding[][];
  readonly answers: FindingsImportResult[];
}

/** Records every `importFindings` of a runtime (the real SDK adapter still sends them). */
function recordImports(runtime: Runtime): ImportLog {
  const log: ImportLog = { sent: [], answers: [] };
  const store = runtime.findings!.store;
  const real = store.importFindings.bind(store);
  vi.spyOn(store, 'importFindings').mockImplementation(async (findings, signal) => {
    log.sent.push([...findings]);
    const answer = await real(findings, signal);
    log.answers.push(answer);
    return answer;
  });
  return log;
}

/** Every finding sent keeps the ASFF rules, and Security Hub took every one. */
function expectAllValidAndAccepted(log: ImportLog): void {
  expect(log.sent.flat().map((f) => [f.Id, asffProblem(f)]).filter(([, problem]) => problem !== undefined)).toEqual([]);
  expect(log.answers.flatMap((a) => a.failed)).toEqual([]);
}

/** A sweep runtime against the embedded world, with its own clock for finding timestamps. */
function sweepRuntime(k: EmbeddedKms, clock: { ms: number }, env: Record<string, string> = {}): Runtime {
  const config = loadConfig({
    AWS_ENDPOINT_URL_KMS: k.endpoint,
    AWS_ENDPOINT_URL_SECURITYHUB: k.endpoint,
    AWS_REGION: DEMO_REGION,
    ACCOUNT_ID: ACCOUNT,
    SECURITY_HUB_FINDINGS: 'on',
    LOG_LEVEL: 'SILENT',
    ...env,
  });
  return createRuntime(config, { credentials: CREDENTIALS, maxAttempts: 1, now: () => new Date(clock.ms) });
}

async function sweep(runtime: Runtime): Promise<SweepInvocationResult> {
  return (await createSweepHandler(runtime)({}, createLocalLambdaContext(900_000, 'kms-replica-reconciler-test-sweep'))) as SweepInvocationResult;
}

/** The demo's kinds by index (`seedDemoKeys`: key `i` is `PATTERN[i % 20]`), restated as the oracle. */
const PATTERN: readonly DemoKeyKind[] = [
  'converged', 'converged', 'converged', 'converged', 'converged', 'converged',
  'missing-one', 'missing-one', 'missing-all', 'pending-deletion', 'bad-token',
  'untagged-mrk', 'untagged-mrk', 'untagged-mrk-with-replica',
  'single-region', 'single-region', 'single-region', 'single-region-tagged',
  'disabled-primary', 'foreign-replica',
];

/** The key ids of the first `count` demo keys of `kinds` (derived as `seedDemoKeys` derives them). */
function demoFamilies(count: number, kinds: readonly DemoKeyKind[]): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const kind = PATTERN[i % PATTERN.length] as DemoKeyKind;
    if (!kinds.includes(kind)) continue;
    const hex = createHash('sha256').update(`kms-replicas-demo-${i}`).digest('hex');
    ids.push(kind.startsWith('single-region') ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}` : `mrk-${hex.slice(0, 32)}`);
  }
  return ids;
}

const idOf = (keyId: string): string => `kms-replica-reconciler/${ACCOUNT}/${keyId}`;
const active = (store: EmbeddedKms['securityHub']): StoredFinding[] => store.list({ recordState: 'ACTIVE' });

describe('Security Hub findings from the sweep', () => {
  it('keeps one active finding per family with a problem and none for converged ones, resolves what converged, and never duplicates', { timeout: 60_000 }, async () => {
    // Prepare: 100 demo keys (5 of each kind); a dry-run stack first sees the missing Regions as problems.
    kms = await startEmbeddedKms({ account: ACCOUNT });
    seedDemoKeys(kms, 100);
    const families = (kinds: readonly DemoKeyKind[]): string[] => demoFamilies(100, kinds);
    const clock = { ms: Date.UTC(2026, 11, 2, 10, 0, 0) };
    const dryRun = sweepRuntime(kms, clock, { DRY_RUN: 'true' });
    const dryLog = recordImports(dryRun);

    // Act 1: the dry-run sweep.
    await sweep(dryRun);

    // Assess 1: one active finding per family that needs attention (missing Regions included: nothing was written).
    const problemKinds: DemoKeyKind[] = ['pending-deletion', 'bad-token', 'single-region-tagged', 'disabled-primary'];
    const missingKinds: DemoKeyKind[] = ['missing-one', 'missing-all'];
    expect(active(kms.securityHub).map((f) => f.Id).sort()).toEqual(families([...problemKinds, ...missingKinds]).map(idOf).sort());
    expect(kms.securityHub.list()).toHaveLength(35);
    expectAllValidAndAccepted(dryLog);

    // Act 2: the writing stack sweeps an hour later (it creates the missing replicas).
    clock.ms += 60 * 60 * 1000;
    const writer = sweepRuntime(kms, clock);
    const log = recordImports(writer);
    await sweep(writer);

    // Assess 2: the 15 families that converged are resolved (archived, PASSED); the 20 others stay
    // active, updated in place (their facts changed: DryRun is now false); no new finding, no duplicate.
    const stored = kms.securityHub.list();
    expect(stored).toHaveLength(35);
    expect(active(kms.securityHub).map((f) => f.Id).sort()).toEqual(families(problemKinds).map(idOf).sort());
    const archived = kms.securityHub.list({ recordState: 'ARCHIVED' });
    expect(archived.map((f) => f.Id).sort()).toEqual(families(missingKinds).map(idOf).sort());
    expect(archived.every((f) => (f['Compliance'] as { Status: string }).Status === 'PASSED')).toBe(true);
    expect(log.sent.map((batch) => batch.length)).toEqual([35]);
    expectAllValidAndAccepted(log);

    // Act 3: the same sweep again: nothing changed, and every open finding is fresh.
    kms.resetCalls();
    await sweep(writer);

    // Assess 3: one read, no import.
    expect(kms.calls().filter((c) => c.operation === 'GetFindings' || c.operation === 'BatchImportFindings').map((c) => c.operation)).toEqual(['GetFindings']);

    // Act 4: eight days later the open findings are re-sent, so they never reach Security Hub's 90 days.
    const before = new Map(active(kms.securityHub).map((f) => [f.Id, f['CreatedAt']]));
    clock.ms += 8 * DAY_MS;
    await sweep(writer);

    // Assess 4: every active finding updated now, CreatedAt kept, still 35 findings.
    const refreshed = active(kms.securityHub);
    expect(refreshed).toHaveLength(20);
    expect(refreshed.every((f) => f['UpdatedAt'] === new Date(clock.ms).toISOString())).toBe(true);
    expect(refreshed.every((f) => f['CreatedAt'] === before.get(f.Id) && f['CreatedAt'] === '2026-12-02T10:00:00.000Z')).toBe(true);
    expect(kms.securityHub.list()).toHaveLength(35);
    expect(log.sent.map((batch) => batch.length)).toEqual([35, 20]);
    expectAllValidAndAccepted(log);
  });

  it('imports the findings of 1,000 families in exactly 10 BatchImportFindings calls', { timeout: 60_000 }, async () => {
    // Prepare: 1,000 single-Region keys carrying the Region tag (each a family that needs attention).
    kms = await startEmbeddedKms({ account: ACCOUNT });
    kms.seedKeys(1000, (i) => ({ region: DEMO_REGION, keyId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, tags: { 'replica-regions': 'us-west-2' } }));
    const clock = { ms: Date.UTC(2026, 11, 2, 10, 0, 0) };
    const runtime = sweepRuntime(kms, clock);
    const log = recordImports(runtime);

    // Act
    await sweep(runtime);

    // Assess
    const calls = kms.calls().filter((c) => c.operation === 'BatchImportFindings');
    expect(calls.map((c) => c.errorCode)).toEqual(Array.from({ length: 10 }, () => undefined));
    expect(log.sent.map((b) => b.length)).toEqual(Array.from({ length: 10 }, () => 100));
    expect(active(kms.securityHub)).toHaveLength(1000);
    expectAllValidAndAccepted(log);
  });

  it('leaves the sweep verdict unchanged when every import fails, and counts the findings not imported', { timeout: 60_000 }, async () => {
    // Prepare: the same 40 keys twice, one world with Security Hub denying every import.
    const clock = { ms: Date.UTC(2026, 11, 2, 10, 0, 0) };
    const healthyWorld = await startEmbeddedKms({ account: ACCOUNT, now: new ManualClock().now });
    seedDemoKeys(healthyWorld, 40);
    const healthy = await sweep(sweepRuntime(healthyWorld, clock));
    await healthyWorld.close();
    kms = await startEmbeddedKms({ account: ACCOUNT, now: new ManualClock().now, faults: { rules: [{ operation: 'BatchImportFindings', error: { code: 'AccessDeniedException', message: 'not authorized to perform securityhub:BatchImportFindings', httpStatus: 403 } }] } });
    seedDemoKeys(kms, 40);
    const runtime = sweepRuntime(kms, clock);
    const addMetric = vi.spyOn(runtime.metrics, 'addMetric');
    const warn = vi.spyOn(runtime.logger, 'warn');

    // Act
    const denied = await sweep(runtime);

    // Assess: the same result as the healthy run; 8 findings not imported, counted and logged.
    expect(denied).toEqual(healthy);
    expect(addMetric.mock.calls.filter(([name]) => String(name).startsWith('Findings')).map(([name, , value]) => [name, value])).toEqual([['FindingsNotImported', 8]]);
    expect(warn.mock.calls.filter(([message]) => message === 'findings not imported').map(([, a]) => [(a as Record<string, unknown>)['notImported'], (a as Record<string, unknown>)['errorCode']])).toEqual([[8, 'AccessDeniedException']]);
    expect(kms.securityHub.list()).toEqual([]);
  });
});

describe('Security Hub findings from key events', () => {
  it('raises one finding for a family with a problem, updates it in place, resolves it on convergence, and never touches Workflow', async () => {
    // Prepare: a primary whose eu-west-1 replica is scheduled for deletion and whose tag has a bad token.
    harness = await startHarness({ securityHub: true });
    const h = harness;
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2 eu-west-1 narnia-1' } });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'eu-west-1', { keyState: 'PendingDeletion' });
    const log = recordImports(h.runtime);

    // Act 1
    const first = await h.invoke(loadFixture('create-key'));

    // Assess 1: us-west-2 created; one ACTIVE finding, HIGH and FAILED, with the facts in ProductFields.
    expect(first).toMatchObject({ status: 'reconciled', outcome: { writes: 1 } });
    const [raised, ...others] = h.kms.securityHub.list();
    expect(others).toEqual([]);
    expect(raised).toMatchObject({
      Id: idOf(FIXTURE_KEY_ID),
      ProductArn: PRODUCT,
      RecordState: 'ACTIVE',
      Severity: { Label: 'HIGH' },
      Compliance: { Status: 'FAILED' },
      Workflow: { Status: 'NEW' },
      Resources: [{ Type: 'AwsKmsKey', Id: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${FIXTURE_KEY_ID}`, Region: 'us-east-1', Partition: 'aws' }],
      ProductFields: {
        'kms-replica-reconciler/FamilyKeyId': FIXTURE_KEY_ID,
        'kms-replica-reconciler/PrimaryRegion': 'us-east-1',
        'kms-replica-reconciler/PrimaryKeyState': 'Enabled',
        'kms-replica-reconciler/DesiredRegions': 'eu-west-1 narnia-1 us-west-2',
        'kms-replica-reconciler/PresentRegions': 'us-west-2',
        'kms-replica-reconciler/MissingRegions': '',
        'kms-replica-reconciler/BlockedRegions': 'eu-west-1',
        'kms-replica-reconciler/InvalidTagTokens': 'narnia-1',
      },
    });
    const createdAt = raised?.['CreatedAt'];
    // A person takes the finding in hand.
    h.kms.securityHub.setWorkflowStatus(PRODUCT, idOf(FIXTURE_KEY_ID), 'NOTIFIED');

    // Act 2: the person cancels the deletion, enables the replica and removes the bad token.
    const client = new KMSClient({ endpoint: h.kms.endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'AKIAPERSON', secretAccessKey: 'x' }, maxAttempts: 1 });
    await client.send(new CancelKeyDeletionCommand({ KeyId: FIXTURE_KEY_ID }));
    await client.send(new EnableKeyCommand({ KeyId: FIXTURE_KEY_ID }));
    const east = new KMSClient({ endpoint: h.kms.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIAPERSON', secretAccessKey: 'x' }, maxAttempts: 1 });
    await east.send(new UntagResourceCommand({ KeyId: FIXTURE_KEY_ID, TagKeys: ['replica-regions'] }));
    client.destroy();
    east.destroy();
    const second = await h.invoke(loadFixture('untag-resource'));

    // Assess 2: the family is now unmanaged: its one finding is resolved in place, Workflow untouched.
    expect(second).toMatchObject({ status: 'reconciled', outcome: { result: 'unmanaged' } });
    const stored = h.kms.securityHub.list();
    expect(stored.map((f) => [f.Id, f['RecordState'], (f['Compliance'] as { Status: string }).Status, f['CreatedAt'], f['Workflow']])).toEqual([
      [idOf(FIXTURE_KEY_ID), 'ARCHIVED', 'PASSED', createdAt, { Status: 'NOTIFIED' }],
    ]);
    expect(log.sent.flat().some((f) => 'Workflow' in f)).toBe(false);
    expectAllValidAndAccepted(log);
  });

  it('sends nothing for a healthy family (one shared read, no import)', async () => {
    harness = await startHarness({ securityHub: true });
    const h = harness;
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2');

    const result = await h.invoke(loadFixture('create-key'));

    expect(result).toMatchObject({ status: 'reconciled', outcome: { result: 'reconciled', writes: 0 } });
    expect(h.kms.calls().filter((c) => c.operation === 'GetFindings' || c.operation === 'BatchImportFindings').map((c) => c.operation)).toEqual(['GetFindings']);
    expect(h.kms.securityHub.list()).toEqual([]);
  });

  it.each([
    ['BatchImportFindings', 'AccessDeniedException', 403],
    ['BatchImportFindings', 'LimitExceededException', 429],
    ['GetFindings', 'InternalException', 500],
  ])('leaves the reconcile verdict unchanged when %s fails with %s, and counts the finding not imported', async (operation, code, httpStatus) => {
    // Prepare: a family with a blocked Region; Security Hub refuses.
    harness = await startHarness({ securityHub: true, kms: { faults: { rules: [{ operation, error: { code, message: `${code} injected`, httpStatus } }] } } });
    const h = harness;
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2 eu-west-1' } });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'eu-west-1', { keyState: 'PendingDeletion' });
    const addMetric = vi.spyOn(h.runtime.metrics, 'addMetric');
    const warn = vi.spyOn(h.runtime.logger, 'warn');

    // Act
    const { results, failures } = await h.invokeBatch([JSON.stringify(loadFixture('create-key'))]);

    // Assess: reconciled and written as without Security Hub; nothing retried; the failure counted and logged.
    expect(failures).toEqual([]);
    expect(results[0]).toMatchObject({ status: 'reconciled', outcome: { writes: 1 } });
    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.KeyState).toBe('Enabled');
    expect(addMetric.mock.calls.filter(([name]) => name === 'FindingsNotImported').map(([, , value]) => value)).toEqual([1]);
    expect(warn.mock.calls.filter(([message]) => message === 'findings not imported').map(([, a]) => (a as Record<string, unknown>)['errorCode'])).toEqual([code]);
    expect(h.kms.securityHub.list()).toEqual([]);
  });
});
