/**
 * Reads that fail for part of a key family (issue 11, items 1 and 2): one Region's unreadable
 * replica is that Region's status, and a key the triggering call just created gets the
 * eventual-consistency grace on every read. Real handler, real SDK, embedded KMS over HTTP; the
 * failures come from the embedded KMS's fault rules.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RetryableError } from '../../src/reconcile/errors.js';
import type { FaultRule } from '../../src/emulator/index.js';
import { sweepRegion } from '../../src/sweep/sweep-region.js';
import type { ReconcileOutcome } from '../../src/reconcile/types.js';
import { FIXTURE_KEY_ID, loadFixture } from '../helpers/fixtures.js';
import { startHarness, type Harness, type HarnessOptions } from '../helpers/harness.js';

const PRIMARY_ARN = `arn:aws:kms:us-east-1:111122223333:key/${FIXTURE_KEY_ID}`;
/** What an SCP with a Deny on `aws:RequestedRegion` = ap-southeast-2 makes KMS answer there. */
const SCP_DENIAL =
  'User: arn:aws:sts::111122223333:assumed-role/kms-replica-reconciler-test/keyEvent is not authorized to perform: kms:DescribeKey on resource: ' +
  `arn:aws:kms:ap-southeast-2:111122223333:key/${FIXTURE_KEY_ID} with an explicit deny in a service control policy`;
const DENY_AP_SOUTHEAST_2: FaultRule = { region: 'ap-southeast-2', error: { code: 'AccessDeniedException', message: SCP_DENIAL } };

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

/** A family tagged for us-west-2 and eu-west-1, with an extra replica in ap-southeast-2. */
function seedFamilyWithExtraReplica(h: Harness): void {
  h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2 eu-west-1' } });
  h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'ap-southeast-2');
}

/** A CloudTrail event of the fixture, as if the call had just happened. */
function justNow(name: 'create-key' | 'tag-resource'): Record<string, any> {
  const event = loadFixture(name);
  event.detail.eventTime = new Date().toISOString();
  return event;
}

const UNREADABLE_REPLICA = {
  region: 'ap-southeast-2',
  status: 'failed',
  message: `DescribeKey of the replica in ap-southeast-2 failed, so its state is unknown (a replica in a Region the replica-regions tag does not name): ${SCP_DENIAL}`,
  error: { name: 'AccessDeniedException', message: SCP_DENIAL, retryable: false },
};

describe('a replica that cannot be read in its Region', () => {
  it('is that Region\'s failed status while the desired Regions are still created (key event)', async () => {
    const h = await start({ kms: { faults: { rules: [DENY_AP_SOUTHEAST_2] } } });
    seedFamilyWithExtraReplica(h);

    const result = await h.invoke(loadFixture('tag-resource'));

    expect(result.status).toBe('reconciled');
    const outcome = (result as { outcome: ReconcileOutcome }).outcome;
    expect(outcome).toMatchObject({ result: 'reconciled', primaryArn: PRIMARY_ARN, writes: 2 });
    expect(outcome.regions).toEqual([
      UNREADABLE_REPLICA,
      { region: 'eu-west-1', status: 'created', keyState: 'Creating' },
      { region: 'us-west-2', status: 'created', keyState: 'Creating' },
    ]);
    expect(h.kms.describe('eu-west-1', FIXTURE_KEY_ID)?.KeyState).toBe('Enabled');
    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.KeyState).toBe('Enabled');
    expect(h.outcomes.map((o) => o.detail)).toMatchObject([{ result: 'reconciled', counts: { failed: 1, created: 2 } }]);
  });

  it('is that Region\'s failed status in the sweep too, and the sweep creates the desired Regions', async () => {
    const h = await start({ kms: { faults: { rules: [DENY_AP_SOUTHEAST_2] } } });
    seedFamilyWithExtraReplica(h);

    const swept = await sweepRegion({ region: 'us-east-1' }, h.runtime);

    expect(swept.report.results).toMatchObject({ reconciled: 1, error: 0 });
    expect(swept.report.statuses).toMatchObject({ created: 2, failed: 1 });
    expect(swept.report.attention.failed).toEqual({
      count: 1,
      keys: [{ keyId: FIXTURE_KEY_ID, region: 'ap-southeast-2', message: `AccessDeniedException: ${SCP_DENIAL}` }],
    });
    expect(h.count('ReplicateKey')).toBe(2);
  });

  it('is retried as a whole when the read failure may pass (throttling), after the other Regions are written', async () => {
    const h = await start({ kms: { faults: { rules: [{ region: 'ap-southeast-2', operation: 'DescribeKey', throttleRate: 1 }] } } });
    seedFamilyWithExtraReplica(h);

    const failure = await h.invoke(loadFixture('tag-resource')).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(RetryableError);
    expect(failure).toMatchObject({ code: 'ThrottlingException' });
    expect(h.count('ReplicateKey')).toBe(2);
    expect(h.outcomes.map((o) => o.detail)).toMatchObject([{ counts: { failed: 1, created: 2 } }]);
  });
});

describe('reads of a key the triggering call just created (KMS eventual consistency)', () => {
  const notYetVisible = (operation: string): FaultRule => ({
    operation,
    region: 'us-east-1',
    error: { code: 'NotFoundException', message: `Key '${PRIMARY_ARN}' does not exist` },
  });

  it('retries a CreateKey whose ListResourceTags answers NotFoundException, then converges once the key is visible', async () => {
    const h = await start({ kms: { faults: { rules: [notYetVisible('ListResourceTags')] } } });
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    const event = justNow('create-key');

    const first = await h.invoke(event).then(
      (result) => result,
      (error: unknown) => error,
    );
    h.kms.setFaults(undefined);
    const second = await h.invoke(event);

    expect(first).toBeInstanceOf(RetryableError);
    expect(first).toMatchObject({ code: 'NotFoundException' });
    expect(second).toMatchObject({ status: 'reconciled', outcome: { result: 'reconciled', writes: 1 } });
    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
    expect(h.outcomes.filter((o) => o.detail.result === 'rejected')).toEqual([]);
  });

  it("retries a CreateKey whose primary's GetKeyPolicy answers NotFoundException (REPLICA_POLICY=primary), instead of a terminal failure", async () => {
    const h = await start({ env: { REPLICA_POLICY: 'primary' }, kms: { faults: { rules: [notYetVisible('GetKeyPolicy')] } } });
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });

    const failure = await h.invoke(justNow('create-key')).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(RetryableError);
    expect(failure).toMatchObject({ code: 'NotFoundException' });
    expect(h.outcomes.map((o) => o.detail)).toMatchObject([
      { regions: [{ region: 'us-west-2', status: 'failed', error: { name: 'NotFoundException', retryable: true } }] },
    ]);
  });

  it('still rejects a ListResourceTags NotFoundException long after the triggering call', async () => {
    const h = await start({ kms: { faults: { rules: [notYetVisible('ListResourceTags')] } } });
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    const event = loadFixture('create-key');
    event.detail.eventTime = new Date(Date.now() - 60 * 60_000).toISOString();

    const result = await h.invoke(event);

    expect(result).toEqual({ status: 'rejected', error: { code: 'NotFoundException', message: `Key '${PRIMARY_ARN}' does not exist` } });
  });
});
