/**
 * `ON_PENDING_DELETION=restore` (issue 11, items 3 and 16): a restore interrupted between
 * `CancelKeyDeletion` and `EnableKey` is completed by a later reconcile, thanks to the marker tag the
 * reconciler puts on the primary before cancelling; a replica a person disabled is never enabled;
 * a dry run shows the restores it would make. Real handler, real SDK, embedded KMS over HTTP.
 */
import { DisableKeyCommand, KMSClient, ScheduleKeyDeletionCommand, TagResourceCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { RetryableError } from '../../src/reconcile/errors.js';
import { sweepRegion } from '../../src/sweep/sweep-region.js';
import type { ReconcileOutcome } from '../../src/reconcile/types.js';
import { FIXTURE_KEY_ID, loadFixture } from '../helpers/fixtures.js';
import { startHarness, type Harness, type HarnessOptions } from '../helpers/harness.js';

const MARKER = 'kms-replica-reconciler:restoring:us-west-2';

let harness: Harness | undefined;
const clients: KMSClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await harness?.close();
  harness = undefined;
});

async function start(options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness({ ...options, env: { ON_PENDING_DELETION: 'restore', ...options.env } });
  return harness;
}

/** A key administrator's SDK client (another principal than the reconciler). */
function adminClient(h: Harness, region: string): KMSClient {
  const client = new KMSClient({ region, endpoint: h.kms.endpoint, credentials: { accessKeyId: 'AKIAKEYADMIN00000001', secretAccessKey: 'x' }, maxAttempts: 1 });
  clients.push(client);
  return client;
}

function outcomeOf(result: unknown): ReconcileOutcome {
  const reconciled = result as { status?: string; outcome?: ReconcileOutcome };
  if (reconciled.status !== 'reconciled' || !reconciled.outcome) throw new Error(`expected a reconcile, got ${JSON.stringify(result)}`);
  return reconciled.outcome;
}

/** A primary tagged for us-west-2 whose us-west-2 replica a person scheduled for deletion. */
async function seedReplicaPendingDeletion(h: Harness): Promise<string> {
  h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2', team: 'payments' } });
  const replica = h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2');
  await adminClient(h, 'us-west-2').send(new ScheduleKeyDeletionCommand({ KeyId: FIXTURE_KEY_ID, PendingWindowInDays: 7 }));
  h.kms.resetCalls();
  return replica.CreationDate.toISOString();
}

function writes(h: Harness): Array<[string, string, string | undefined]> {
  return h.kms
    .calls()
    .filter((c) => !['DescribeKey', 'ListResourceTags'].includes(c.operation))
    .map((c) => [c.operation, c.region, c.errorCode]);
}

describe('a restore of a replica scheduled for deletion', () => {
  it('marks the primary before CancelKeyDeletion and removes the mark after EnableKey', async () => {
    const h = await start();
    await seedReplicaPendingDeletion(h);

    const outcome = outcomeOf(await h.invoke(loadFixture('schedule-key-deletion')));

    expect(outcome.regions).toEqual([{ region: 'us-west-2', status: 'restored', keyState: 'Enabled', message: 'deletion cancelled and replica enabled' }]);
    expect(outcome.writes).toBe(4);
    expect(writes(h)).toEqual([
      ['TagResource', 'us-east-1', undefined],
      ['CancelKeyDeletion', 'us-west-2', undefined],
      ['EnableKey', 'us-west-2', undefined],
      ['UntagResource', 'us-east-1', undefined],
    ]);
    expect(h.kms.tags('us-east-1', FIXTURE_KEY_ID)).toEqual({ 'replica-regions': 'us-west-2', team: 'payments' });
    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.KeyState).toBe('Enabled');
  });

  it('interrupted between CancelKeyDeletion and EnableKey, is completed by the next reconcile', async () => {
    const h = await start({ kms: { faults: { rules: [{ operation: 'EnableKey', internalErrorRate: 1 }] } } });
    const creationDate = await seedReplicaPendingDeletion(h);

    const first = await h.invoke(loadFixture('schedule-key-deletion')).then(
      (result) => result,
      (error: unknown) => error,
    );

    expect(first).toBeInstanceOf(RetryableError);
    expect(first).toMatchObject({ code: 'KMSInternalException' });
    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.KeyState).toBe('Disabled');
    // The marker names the replica it is about by its creation date.
    expect(h.kms.tags('us-east-1', FIXTURE_KEY_ID)).toEqual({ 'replica-regions': 'us-west-2', team: 'payments', [MARKER]: creationDate });

    h.kms.setFaults(undefined);
    h.kms.resetCalls();
    const second = outcomeOf(await h.invoke(loadFixture('tag-resource')));

    expect(second.regions).toEqual([
      { region: 'us-west-2', status: 'restored', keyState: 'Enabled', message: 'an interrupted restore was completed: replica enabled' },
    ]);
    expect(writes(h)).toEqual([
      ['EnableKey', 'us-west-2', undefined],
      ['UntagResource', 'us-east-1', undefined],
    ]);
    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.KeyState).toBe('Enabled');
    expect(h.kms.tags('us-east-1', FIXTURE_KEY_ID)).toEqual({ 'replica-regions': 'us-west-2', team: 'payments' });

    const third = outcomeOf(await h.invoke(loadFixture('tag-resource')));
    expect(third).toMatchObject({ writes: 0, regions: [{ region: 'us-west-2', status: 'present', keyState: 'Enabled' }] });
  });

  it('interrupted after EnableKey (the marker could not be removed), removes the marker on the next sweep', async () => {
    const h = await start({ kms: { faults: { rules: [{ operation: 'UntagResource', internalErrorRate: 1 }] } } });
    await seedReplicaPendingDeletion(h);

    await expect(h.invoke(loadFixture('schedule-key-deletion'))).rejects.toMatchObject({ code: 'KMSInternalException' });
    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.KeyState).toBe('Enabled');
    h.kms.setFaults(undefined);

    const swept = await sweepRegion({ region: 'us-east-1' }, h.runtime);

    expect(swept.report.statuses).toMatchObject({ restored: 1, failed: 0 });
    expect(h.kms.tags('us-east-1', FIXTURE_KEY_ID)).toEqual({ 'replica-regions': 'us-west-2', team: 'payments' });
  });

  it('never copies its marker onto a new replica', async () => {
    const h = await start({ kms: { faults: { rules: [{ operation: 'EnableKey', internalErrorRate: 1 }] } } });
    await seedReplicaPendingDeletion(h);
    await expect(h.invoke(loadFixture('schedule-key-deletion'))).rejects.toBeInstanceOf(RetryableError);
    h.kms.setFaults(undefined);
    expect(Object.keys(h.kms.tags('us-east-1', FIXTURE_KEY_ID) ?? {})).toContain(MARKER);

    // A person adds eu-west-1 while the marker is still on the primary.
    await adminClient(h, 'us-east-1').send(
      new TagResourceCommand({ KeyId: FIXTURE_KEY_ID, Tags: [{ TagKey: 'replica-regions', TagValue: 'us-west-2 eu-west-1' }] }),
    );
    const outcome = outcomeOf(await h.invoke(loadFixture('tag-resource')));

    expect(outcome.regions.map((r) => [r.region, r.status])).toEqual([
      ['eu-west-1', 'created'],
      ['us-west-2', 'restored'],
    ]);
    expect(h.kms.tags('eu-west-1', FIXTURE_KEY_ID)).toEqual({ 'replica-regions': 'us-west-2 eu-west-1', team: 'payments' });
  });
});

describe('a restore under stress', () => {
  it("converges to silence: the reconciler's own TagResource, CancelKeyDeletion, EnableKey and UntagResource echoes plan nothing", async () => {
    const h = await start();
    await seedReplicaPendingDeletion(h); // the person's ScheduleKeyDeletion event is queued

    const deliveries = await h.deliverAll();

    expect(deliveries.map((d) => (d.event as { detail: { eventName: string } }).detail.eventName)).toEqual([
      'ScheduleKeyDeletion',
      'TagResource',
      'CancelKeyDeletion',
      'EnableKey',
      'UntagResource',
    ]);
    expect(deliveries.map((d) => (d.result as { outcome?: ReconcileOutcome } | undefined)?.outcome?.writes)).toEqual([4, 0, 0, 0, 0]);
    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.KeyState).toBe('Enabled');
  });

  it('two reconciles restoring the same replica at once: one cancels, the other is retried, and the family ends Enabled and unmarked', async () => {
    const h = await start();
    await seedReplicaPendingDeletion(h);

    const both = await Promise.all([h.invoke(loadFixture('schedule-key-deletion')), h.invoke(loadFixture('tag-resource'))].map((p) => p.then((r) => r, (e: unknown) => e)));
    // The loser's CancelKeyDeletion answers KMSInvalidState (retryable), unless it read the replica
    // after the winner cancelled it (then it completes the restore too). Whatever the interleaving,
    // two more reconciles finish the job (one if the loser re-added the marker after the winner removed it).
    for (let i = 0; i < 2; i += 1) await h.invoke(loadFixture('tag-resource'));
    const last = outcomeOf(await h.invoke(loadFixture('tag-resource')));

    expect(h.kms.calls().filter((c) => c.operation === 'CancelKeyDeletion' && c.errorCode === undefined)).toHaveLength(1);
    expect(both.filter((r) => !(r instanceof RetryableError) && (r as { status?: string }).status !== 'reconciled')).toEqual([]);
    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.KeyState).toBe('Enabled');
    expect(h.kms.tags('us-east-1', FIXTURE_KEY_ID)).toEqual({ 'replica-regions': 'us-west-2', team: 'payments' });
    expect(last).toMatchObject({ writes: 0, regions: [{ region: 'us-west-2', status: 'present' }] });
  });

  it('on a primary with no free tag slot, fails the Region at TagResource and leaves the replica untouched', async () => {
    const h = await start();
    const full = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`tag-${i}`, 'x']));
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2', ...full } });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2', { keyState: 'PendingDeletion' });

    const outcome = outcomeOf(await h.invoke(loadFixture('schedule-key-deletion')));

    expect(outcome.regions).toMatchObject([
      { region: 'us-west-2', status: 'failed', error: { name: 'TagException', retryable: false } },
    ]);
    expect(outcome.regions[0]?.message).toMatch(/^TagResource failed: .*; nothing was changed$/);
    expect(outcome.writes).toBe(1);
    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.KeyState).toBe('PendingDeletion');
  });
});

describe('a replica a person disabled', () => {
  it('is reported and never enabled by the reconciler', async () => {
    const h = await start();
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2');
    await adminClient(h, 'us-west-2').send(new DisableKeyCommand({ KeyId: FIXTURE_KEY_ID }));
    h.kms.resetCalls();

    const outcome = outcomeOf(await h.invoke(loadFixture('tag-resource')));

    expect(outcome.regions).toEqual([{ region: 'us-west-2', status: 'replica-disabled', keyState: 'Disabled', message: 'replica exists but is disabled' }]);
    expect(writes(h)).toEqual([]);
    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.KeyState).toBe('Disabled');
  });

  it('after a completed restore, stays disabled', async () => {
    const h = await start();
    await seedReplicaPendingDeletion(h);
    outcomeOf(await h.invoke(loadFixture('schedule-key-deletion')));
    await adminClient(h, 'us-west-2').send(new DisableKeyCommand({ KeyId: FIXTURE_KEY_ID }));
    h.kms.resetCalls();

    const outcome = outcomeOf(await h.invoke(loadFixture('tag-resource')));

    expect(outcome.regions.map((r) => r.status)).toEqual(['replica-disabled']);
    expect(writes(h)).toEqual([]);
  });

  it('is not enabled because of a marker left for an earlier replica of the same Region', async () => {
    const h = await start();
    h.kms.seedKey({
      region: 'us-east-1',
      keyId: FIXTURE_KEY_ID,
      multiRegion: true,
      // A marker of a restore whose replica was deleted since (another creation date).
      tags: { 'replica-regions': 'us-west-2', [MARKER]: '2020-01-01T00:00:00.000Z' },
    });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2', { keyState: 'Disabled' });

    const outcome = outcomeOf(await h.invoke(loadFixture('tag-resource')));

    expect(outcome.regions.map((r) => [r.region, r.status])).toEqual([['us-west-2', 'replica-disabled']]);
    expect(h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.KeyState).toBe('Disabled');
  });
});

describe('a dry run with ON_PENDING_DELETION=restore', () => {
  it('shows the planned restore as restore-planned, with the replica state and deletion date, and writes nothing', async () => {
    const h = await start({ env: { DRY_RUN: 'true' } });
    await seedReplicaPendingDeletion(h);
    const deletionDate = h.kms.describe('us-west-2', FIXTURE_KEY_ID)?.DeletionDate?.toISOString();

    const outcome = outcomeOf(await h.invoke(loadFixture('schedule-key-deletion')));

    expect(outcome).toMatchObject({ dryRun: true, writes: 0 });
    expect(outcome.regions).toEqual([
      {
        region: 'us-west-2',
        status: 'restore-planned',
        keyState: 'PendingDeletion',
        deletionDate,
        message: 'restore planned: CancelKeyDeletion, then EnableKey',
      },
    ]);
    expect(writes(h)).toEqual([]);
    expect(h.outcomes.map((o) => o.detail)).toMatchObject([{ counts: { 'restore-planned': 1 } }]);
  });
});
