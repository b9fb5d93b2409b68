/**
 * One fault at a time, deterministically (ManualClock, seeded fault streams, one container): the
 * cases the chaos run mixes at random, each with exact expected calls and outcomes.
 */
import { ScheduleKeyDeletionCommand, TagResourceCommand, UpdatePrimaryRegionCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyEventResult } from '../../src/lambda/key-event-handler.js';
import { startReliabilityHarness, type ReliabilityHarness, type ReliabilityHarnessOptions } from './support.js';

const KEY = 'mrk-0123456789abcdef0123456789abcdef';
const DAY_MS = 86_400_000;

let harness: ReliabilityHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: ReliabilityHarnessOptions = {}): Promise<ReliabilityHarness> {
  harness = await startReliabilityHarness(options);
  return harness;
}

function statuses(result: KeyEventResult | undefined): Record<string, string> {
  if (result?.status !== 'reconciled') throw new Error(`expected a reconcile, got ${JSON.stringify(result)}`);
  return Object.fromEntries(result.outcome.regions.map((r) => [r.region, r.status]));
}

function attempts(h: ReliabilityHarness): [string, string, string, string][] {
  return h.ledger.attempts.map((a) => [a.region, a.replicaRegion, a.errorCode ?? 'ok', a.stateBefore ?? '-']);
}

describe('a lost ReplicateKey response (connection dropped after the replica was made)', () => {
  it("is retried by the SDK, answered AlreadyExistsException and reported already-exists: one replica, one success", async () => {
    // Seed 18: the first draw (0.398) drops the first ReplicateKey, the second (0.603) lets its retry through.
    const h = await start({ maxAttempts: 3, kms: { faults: { seed: 18, rules: [{ operation: 'ReplicateKey', dropConnectionRate: 0.5, dropAfterEffect: true }] } } });
    h.kms.seedKey({ region: 'us-east-1', keyId: KEY, multiRegion: true });
    await h.user('us-east-1').send(new TagResourceCommand({ KeyId: KEY, Tags: [{ TagKey: 'replica-regions', TagValue: 'eu-west-1' }] }));
    h.enqueueEvents(0);

    await h.runRound(0);

    const [delivery] = h.fleet.all();
    expect(delivery?.state).toBe('processed');
    expect(statuses(delivery?.invocations[0]?.result)).toEqual({ 'eu-west-1': 'already-exists' });
    expect(attempts(h)).toEqual([
      ['us-east-1', 'eu-west-1', 'ok', '-'],
      ['us-east-1', 'eu-west-1', 'AlreadyExistsException', 'Enabled'],
    ]);
    expect(h.kms.calls().filter((c) => c.operation === 'ReplicateKey').map((c) => c.fault ?? c.errorCode)).toEqual(['dropConnection', 'AlreadyExistsException']);
    expect(h.kms.describe('eu-west-1', KEY)?.MultiRegionConfiguration?.PrimaryKey.Region).toBe('us-east-1');
  });
});

describe('a replica scheduled for deletion while its Region is still in the tag', () => {
  it('is reported blocked-pending-deletion with its deletion date, never replicated to; a duplicate in the same batch shares the one reconcile', async () => {
    const h = await start();
    h.kms.seedKey({ region: 'us-east-1', keyId: KEY, multiRegion: true, tags: { 'replica-regions': 'eu-west-1 ap-northeast-1' } });
    h.kms.seedReplica(KEY, 'us-east-1', 'eu-west-1');
    await h.user('eu-west-1').send(new ScheduleKeyDeletionCommand({ KeyId: KEY, PendingWindowInDays: 7 }));
    const scheduledAt = h.clock.now();
    expect(h.enqueueEvents(0)).toBe(1);
    // The same CloudTrail record delivered a second time (EventBridge and Lambda may duplicate).
    h.fleet.enqueue(h.fleet.all()[0]?.event, 0);

    await h.runRound(0);

    const [first, second] = h.fleet.all().map((d) => d.invocations[0]?.result);
    expect(statuses(first)).toEqual({ 'ap-northeast-1': 'created', 'eu-west-1': 'blocked-pending-deletion' });
    // Both copies arrived in one batch: one family, one reconcile, one outcome for both messages.
    expect(second).toEqual({ ...first, eventId: (second as { eventId: string }).eventId });
    const blocked = first?.status === 'reconciled' ? first.outcome.regions.find((r) => r.region === 'eu-west-1') : undefined;
    expect(blocked?.deletionDate).toBe(new Date(scheduledAt + 7 * DAY_MS).toISOString());
    expect(attempts(h)).toEqual([['us-east-1', 'ap-northeast-1', 'ok', '-']]);
    expect(h.kms.describe('eu-west-1', KEY)?.KeyState).toBe('PendingDeletion');
  });
});

describe('a primary-Region change in the middle of replication', () => {
  it('is retried by Lambda while both keys are Updating, then the new primary creates the missing replicas', async () => {
    const h = await start({ kms: { primaryUpdateDelayMs: 90_000 } });
    const tag = { 'replica-regions': 'us-west-2 eu-west-1 ap-southeast-2' };
    h.kms.seedKey({ region: 'us-east-1', keyId: KEY, multiRegion: true, tags: tag });
    h.kms.seedReplica(KEY, 'us-east-1', 'us-west-2', { tags: tag });
    // The owner's tagging event was lost; the primary moves to us-west-2 before anything replicated.
    await h.user('us-east-1').send(new UpdatePrimaryRegionCommand({ KeyId: KEY, PrimaryRegion: 'us-west-2' }));
    expect(h.enqueueEvents(0)).toBe(2);

    await h.runRound(0); // t = 0: Updating
    await h.runRound(2); // t = 60 s (the queue's visibility timeout): still Updating
    await h.runRound(4); // t = 120 s: done

    const [oldRegion, newRegion] = h.fleet.all();
    expect(oldRegion?.invocations.map((i) => i.error?.code ?? i.result?.status)).toEqual(['PrimaryRegionChanging', 'PrimaryRegionChanging', 'reconciled']);
    // Both keys read as replicas while Updating [S2 UpdatePrimaryRegion]: "the primary Region may be changing".
    expect(newRegion?.invocations.map((i) => i.error?.code ?? i.result?.status)).toEqual(['PrimaryRegionChanging', 'PrimaryRegionChanging', 'reconciled']);
    expect(statuses(oldRegion?.invocations[2]?.result)).toEqual({ 'ap-southeast-2': 'created', 'eu-west-1': 'created', 'us-east-1': 'extra' });
    // The two records of one family come back in one batch: reconciled once, one outcome for both.
    expect(statuses(newRegion?.invocations[2]?.result)).toEqual({ 'ap-southeast-2': 'created', 'eu-west-1': 'created', 'us-east-1': 'extra' });
    expect(attempts(h)).toEqual([
      ['us-west-2', 'ap-southeast-2', 'ok', '-'],
      ['us-west-2', 'eu-west-1', 'ok', '-'],
    ]);
    expect(h.kms.describe('eu-west-1', KEY)?.MultiRegionConfiguration?.PrimaryKey.Region).toBe('us-west-2');
  });
});

describe('an event whose three deliveries all fail', () => {
  it('is redriven to the dead-letter queue after maxReceiveCount (3) receives, and the sweep makes the replica it missed', async () => {
    const h = await start({ kms: { faults: { rules: [{ operation: 'DescribeKey', region: 'eu-west-1', internalErrorRate: 1 }] } } });
    h.kms.seedKey({ region: 'eu-west-1', keyId: KEY, multiRegion: true });
    await h.user('eu-west-1').send(new TagResourceCommand({ KeyId: KEY, Tags: [{ TagKey: 'replica-regions', TagValue: 'us-east-2' }] }));
    h.enqueueEvents(0);

    for (const round of [0, 2, 4, 6]) await h.runRound(round);

    const [delivery] = h.fleet.all();
    expect(delivery?.state).toBe('parked');
    expect(delivery?.invocations.map((i) => [i.round, i.error?.name, i.error?.code])).toEqual([
      [0, 'RetryableError', 'KMSInternalException'],
      [2, 'RetryableError', 'KMSInternalException'],
      [4, 'RetryableError', 'KMSInternalException'],
    ]);
    expect(h.kms.sqs.bodies('us-east-1', 'key-events-dlq')).toEqual([JSON.stringify(delivery?.event)]);
    expect(h.kms.describe('us-east-2', KEY)).toBeUndefined();

    h.kms.setFaults(undefined); // the Region recovers; the hourly sweep runs
    const swept = await h.sweep('eu-west-1');

    expect(swept).toHaveLength(1);
    const [key] = swept;
    expect(key?.kind === 'reconciled' && key.outcome.regions.map((r) => [r.region, r.status])).toEqual([['us-east-2', 'created']]);
    expect(h.kms.describe('us-east-2', KEY)?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
  });
});

describe('ThrottlingException beyond the quota (the account has less than KMS_REQUEST_QUOTAS says)', () => {
  it('fails the Regions KMS refused, and the Lambda retry a minute later creates exactly those', async () => {
    // The documented 5 ReplicateKey per second, on a clock that stands still within a round.
    const h = await start({ kms: { quotas: true }, env: { QUOTA_SHARE: '1', KMS_REQUEST_QUOTAS: 'ReplicateKey=50 CreateKey=100' } });
    const regions = ['ap-northeast-1', 'ap-southeast-2', 'ca-central-1', 'eu-central-1', 'eu-north-1', 'eu-west-1', 'eu-west-2', 'us-west-2'];
    h.kms.seedKey({ region: 'us-east-1', keyId: KEY, multiRegion: true });
    await h.user('us-east-1').send(new TagResourceCommand({ KeyId: KEY, Tags: [{ TagKey: 'replica-regions', TagValue: regions.join(' ') }] }));
    h.enqueueEvents(0);

    await h.runRound(0);
    const [delivery] = h.fleet.all();
    expect(delivery?.invocations[0]?.error?.code).toBe('ThrottlingException');
    expect(h.kms.throttledCount()).toBe(3);
    expect(h.ledger.attempts).toHaveLength(5);

    await h.runRound(2);

    expect(delivery?.state).toBe('processed');
    const after = statuses(delivery?.invocations[1]?.result);
    expect(Object.values(after).sort()).toEqual(['created', 'created', 'created', 'present', 'present', 'present', 'present', 'present']);
    expect(Object.keys(after).sort()).toEqual(regions);
    expect(h.ledger.attempts.filter((a) => a.errorCode === undefined)).toHaveLength(8);
    expect(h.ledger.attempts.filter((a) => a.errorCode !== undefined)).toEqual([]);
  });
});
