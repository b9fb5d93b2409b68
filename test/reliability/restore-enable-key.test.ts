/**
 * `EnableKey` failing right after a successful `CancelKeyDeletion` in restore mode
 * (`ON_PENDING_DELETION=restore`; issue 10, item 6): throttled, an internal error, access denied.
 * KMS leaves a cancelled key `Disabled` [kms-facts §4, S2], so the replica stays unusable until
 * someone enables it. The failure must be reported, retried (a retryable error: the message comes
 * back after the visibility timeout) or left to the sweep (a terminal one: never redelivered), never
 * lost, never a retry storm, and nothing is deleted; the key ends `Enabled` and the restore marker
 * leaves the primary. Real batch handler on the key-event queue (embedded SQS, visibility timeout,
 * dead-letter queue), real SDK, embedded KMS over HTTP, simulated clock.
 */
import { ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import type { FaultRule } from '../../src/emulator/index.js';
import type { KeyEventResult } from '../../src/lambda/key-event-handler.js';
import type { RegionStatus } from '../../src/reconcile/types.js';
import type { SweepKeyResult } from '../../src/sweep/guardrail.js';
import { startReliabilityHarness, type ReliabilityHarness, type ReliabilityHarnessOptions } from './support.js';

const KEY = 'mrk-0123456789abcdef0123456789abcdef';
const MARKER = 'kms-replica-reconciler:restoring:eu-west-1';
const DENIED_MESSAGE =
  'User: arn:aws:sts::111122223333:assumed-role/kms-replica-reconciler/keyEvent is not authorized to perform: kms:EnableKey on this resource because no identity-based policy allows the kms:EnableKey action';
/** What the failed Region's message adds after the error when EnableKey fails (src/reconcile/reconcile.ts). */
const LEFT_DISABLED = '; the replica is Disabled until a later reconcile completes the restore (the marker on the primary says so)';
const COMPLETED: RegionStatus = { region: 'eu-west-1', status: 'restored', keyState: 'Enabled', message: 'an interrupted restore was completed: replica enabled' };

let harness: ReliabilityHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(enableKey: FaultRule, options: ReliabilityHarnessOptions = {}): Promise<ReliabilityHarness> {
  harness = await startReliabilityHarness({
    ...options,
    env: { ON_PENDING_DELETION: 'restore', ...options.env },
    kms: { faults: { rules: [{ operation: 'EnableKey', region: 'eu-west-1', ...enableKey }] } },
  });
  return harness;
}

/**
 * A primary in us-east-1 tagged for eu-west-1 whose eu-west-1 replica a person scheduled for
 * deletion, the ScheduleKeyDeletion event queued for round 0. Returns the replica's creation date
 * (the value of the restore marker).
 */
async function seedReplicaPendingDeletion(h: ReliabilityHarness): Promise<string> {
  h.kms.seedKey({ region: 'us-east-1', keyId: KEY, multiRegion: true, tags: { 'replica-regions': 'eu-west-1', team: 'payments' } });
  const replica = h.kms.seedReplica(KEY, 'us-east-1', 'eu-west-1');
  await h.user('eu-west-1').send(new ScheduleKeyDeletionCommand({ KeyId: KEY, PendingWindowInDays: 7 }));
  expect(h.enqueueEvents(0)).toBe(1);
  h.kms.resetCalls();
  return replica.CreationDate.toISOString();
}

/** The reconciler's calls other than reads, as [operation, Region, error or 'ok']. */
function writes(h: ReliabilityHarness): [string, string, string][] {
  return h.kms
    .calls()
    .filter((c) => !['DescribeKey', 'ListResourceTags', 'ListKeys'].includes(c.operation))
    .map((c) => [c.operation, c.region, c.errorCode ?? 'ok']);
}

function regionsOf(result: KeyEventResult | SweepKeyResult | undefined): readonly RegionStatus[] {
  if (result === undefined) throw new Error('no result');
  if ('status' in result && result.status === 'reconciled') return result.outcome.regions;
  if ('kind' in result && result.kind === 'reconciled') return result.outcome.regions;
  throw new Error(`expected a reconcile, got ${JSON.stringify(result)}`);
}

function replicaState(h: ReliabilityHarness): string | undefined {
  return h.kms.describe('eu-west-1', KEY)?.KeyState;
}

describe('EnableKey failing with a retryable error right after CancelKeyDeletion', () => {
  it.each([
    ['throttled', { throttleRate: 1 }, 'ThrottlingException'],
    ['answering an internal error', { internalErrorRate: 1 }, 'KMSInternalException'],
  ] as const)(
    '%s: leaves the replica Disabled and marked, reports the message failed, and its redelivery enables the replica',
    async (_label, rates, code) => {
      const h = await start(rates);
      const creationDate = await seedReplicaPendingDeletion(h);

      await h.runRound(0);

      const [delivery] = h.fleet.all();
      expect(delivery?.state).toBe('pending');
      expect(delivery?.invocations.map((i) => [i.round, i.error?.name, i.error?.code])).toEqual([[0, 'RetryableError', code]]);
      expect(writes(h)).toEqual([
        ['TagResource', 'us-east-1', 'ok'],
        ['CancelKeyDeletion', 'eu-west-1', 'ok'],
        ['EnableKey', 'eu-west-1', code],
      ]);
      // What KMS leaves after CancelKeyDeletion, and the marker naming the replica by its creation date.
      expect(replicaState(h)).toBe('Disabled');
      expect(h.kms.tags('us-east-1', KEY)).toEqual({ 'replica-regions': 'eu-west-1', team: 'payments', [MARKER]: creationDate });
      // The report of the failed attempt: the Region failed, retryable, naming the call and what it left.
      expect(h.outcomes.map((o) => (o.detail as { regions?: unknown }).regions)).toEqual([
        [
          {
            region: 'eu-west-1',
            status: 'failed',
            message: expect.stringMatching(new RegExp(`^EnableKey failed: .+${escape(LEFT_DISABLED)}$`)) as unknown as string,
            error: { name: code, message: expect.any(String) as unknown as string, retryable: true },
          },
        ],
      ]);

      h.kms.setFaults(undefined);
      h.kms.resetCalls();
      await h.runRound(1); // before the visibility timeout: nothing comes back
      expect(delivery?.invocations).toHaveLength(1);
      await h.runRound(2);

      expect(delivery?.state).toBe('processed');
      expect(regionsOf(delivery?.invocations[1]?.result as KeyEventResult)).toEqual([COMPLETED]);
      expect(writes(h)).toEqual([
        ['EnableKey', 'eu-west-1', 'ok'],
        ['UntagResource', 'us-east-1', 'ok'],
      ]);
      expect(replicaState(h)).toBe('Enabled');
      expect(h.kms.tags('us-east-1', KEY)).toEqual({ 'replica-regions': 'eu-west-1', team: 'payments' });

      const swept = await h.sweep('us-east-1');
      expect(regionsOf(swept[0])).toEqual([{ region: 'eu-west-1', status: 'present', keyState: 'Enabled' }]);
    },
  );

  it('that keeps failing: one EnableKey per receive (3 SDK attempts each), redriven to the dead-letter queue, then the sweep enables the replica', async () => {
    const h = await start({ internalErrorRate: 1 }, { maxAttempts: 3 });
    await seedReplicaPendingDeletion(h);

    for (const round of [0, 2, 4, 6]) await h.runRound(round);

    const [delivery] = h.fleet.all();
    expect(delivery?.state).toBe('parked');
    expect(delivery?.invocations.map((i) => [i.round, i.error?.code])).toEqual([
      [0, 'KMSInternalException'],
      [2, 'KMSInternalException'],
      [4, 'KMSInternalException'],
    ]);
    expect(h.kms.sqs.bodies('us-east-1', 'key-events-dlq')).toEqual([JSON.stringify(delivery?.event)]);
    // Bounded: 3 receives × 3 SDK attempts; one TagResource and one CancelKeyDeletion in all.
    expect(writes(h)).toEqual([
      ['TagResource', 'us-east-1', 'ok'],
      ['CancelKeyDeletion', 'eu-west-1', 'ok'],
      ...Array.from({ length: 9 }, () => ['EnableKey', 'eu-west-1', 'KMSInternalException'] as [string, string, string]),
    ]);
    expect(replicaState(h)).toBe('Disabled');

    h.kms.setFaults(undefined); // the Region recovers; the hourly sweep runs
    h.kms.resetCalls();
    const swept = await h.sweep('us-east-1');

    expect(regionsOf(swept[0])).toEqual([COMPLETED]);
    expect(writes(h)).toEqual([
      ['EnableKey', 'eu-west-1', 'ok'],
      ['UntagResource', 'us-east-1', 'ok'],
    ]);
    expect(replicaState(h)).toBe('Enabled');
    expect(h.kms.tags('us-east-1', KEY)).toEqual({ 'replica-regions': 'eu-west-1', team: 'payments' });
  });
});

describe('EnableKey denied right after CancelKeyDeletion (the role lacks kms:EnableKey)', () => {
  it('is reported failed and not redelivered; each sweep tries once while denied, and the first sweep after the fix enables the replica', async () => {
    const h = await start({ error: { code: 'AccessDeniedException', message: DENIED_MESSAGE } });
    const creationDate = await seedReplicaPendingDeletion(h);
    const failed: RegionStatus = {
      region: 'eu-west-1',
      status: 'failed',
      message: `EnableKey failed: ${DENIED_MESSAGE}${LEFT_DISABLED}`,
      error: { name: 'AccessDeniedException', message: DENIED_MESSAGE, retryable: false },
    };

    for (const round of [0, 2, 4]) await h.runRound(round);

    const [delivery] = h.fleet.all();
    expect(delivery?.state).toBe('processed');
    expect(delivery?.invocations).toHaveLength(1);
    expect(regionsOf(delivery?.invocations[0]?.result as KeyEventResult)).toEqual([failed]);
    expect(h.outcomes.map((o) => (o.detail as { regions?: unknown }).regions)).toEqual([[failed]]);
    expect(writes(h)).toEqual([
      ['TagResource', 'us-east-1', 'ok'],
      ['CancelKeyDeletion', 'eu-west-1', 'ok'],
      ['EnableKey', 'eu-west-1', 'AccessDeniedException'],
    ]);
    expect(replicaState(h)).toBe('Disabled');
    expect(h.kms.tags('us-east-1', KEY)).toEqual({ 'replica-regions': 'eu-west-1', team: 'payments', [MARKER]: creationDate });

    // The hourly sweep while the denial lasts: one EnableKey, reported again; nothing else written.
    h.kms.resetCalls();
    const stillDenied = await h.sweep('us-east-1');
    expect(regionsOf(stillDenied[0])).toEqual([failed]);
    expect(writes(h)).toEqual([['EnableKey', 'eu-west-1', 'AccessDeniedException']]);
    expect(replicaState(h)).toBe('Disabled');

    // The role's policy is fixed; the next sweep completes the restore, the one after is silent.
    h.kms.setFaults(undefined);
    h.kms.resetCalls();
    const repaired = await h.sweep('us-east-1');
    expect(regionsOf(repaired[0])).toEqual([COMPLETED]);
    expect(writes(h)).toEqual([
      ['EnableKey', 'eu-west-1', 'ok'],
      ['UntagResource', 'us-east-1', 'ok'],
    ]);
    expect(replicaState(h)).toBe('Enabled');
    expect(h.kms.tags('us-east-1', KEY)).toEqual({ 'replica-regions': 'eu-west-1', team: 'payments' });

    h.kms.resetCalls();
    const quiet = await h.sweep('us-east-1');
    expect(regionsOf(quiet[0])).toEqual([{ region: 'eu-west-1', status: 'present', keyState: 'Enabled' }]);
    expect(writes(h)).toEqual([]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
