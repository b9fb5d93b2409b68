/**
 * The fact sheet lists record shapes nobody has published a real sample of (§10): the identity of
 * the replica-Region CreateKey that ReplicateKey causes, `tags` in ReplicateKey records, and the
 * ScheduleKeyDeletion response of a primary that goes to `PendingReplicaDeletion`. The reconciler may
 * use them only for an optimisation that is harmless when they differ. These tests deliver the
 * same events with the unverified parts changed and assert the same outcome.
 */
import { KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyEventResult } from '../../src/lambda/key-event-handler.js';
import type { ReconcileOutcome } from '../../src/reconcile/types.js';
import { FIXTURE_KEY_ID, loadFixture } from '../helpers/fixtures.js';
import { TEST_ROLE_ARN, startHarness, type Harness } from '../helpers/harness.js';

const PRIMARY_TAGS = { 'replica-regions': 'us-west-2 eu-west-1', team: 'payments' };
type Json = Record<string, any>;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** A harness whose reconciler knows its own principal (so it skips its echoes when it recognises them). */
async function startWithPrincipal(): Promise<Harness> {
  harness = await startHarness({ env: { RECONCILER_PRINCIPAL_ARN: TEST_ROLE_ARN } });
  harness.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, description: 'Payments data key', tags: PRIMARY_TAGS });
  return harness;
}

function outcomeOf(result: KeyEventResult | undefined): ReconcileOutcome {
  if (result?.status !== 'reconciled') throw new Error(`expected a reconcile, got ${JSON.stringify(result)}`);
  return result.outcome;
}

/** What the embedded KMS holds of the family afterwards: each Region's key state and tags. */
function familyState(h: Harness): Record<string, unknown> {
  return Object.fromEntries(
    ['us-east-1', 'us-west-2', 'eu-west-1'].map((region) => [region, [h.kms.describe(region, FIXTURE_KEY_ID)?.KeyState, h.kms.tags(region, FIXTURE_KEY_ID)]]),
  );
}

/** The reconciler's own CloudTrail echoes of one reconcile of events/create-key.json. */
async function echoesOfFirstReconcile(h: Harness): Promise<Json[]> {
  const first = await h.invoke(loadFixture('create-key'));
  expect(outcomeOf(first).writes).toBe(2);
  return h.kms.takeEvents() as unknown as Json[];
}

describe('unverified record shapes do not change what the reconciler does [fact sheet §10]', () => {
  it("reaches the same outcome when its echoes carry another identity than the reconciler's: the echo skip is only an optimisation", async () => {
    // Prepare: two identical worlds; in the second, every echo names someone else.
    const recognised = await startWithPrincipal();
    const recognisedEchoes = await echoesOfFirstReconcile(recognised);
    const recognisedResults = [];
    for (const echo of recognisedEchoes) recognisedResults.push(await recognised.invoke(echo));
    const recognisedState = familyState(recognised);
    const recognisedWrites = recognised.count('ReplicateKey');
    await recognised.close();

    const disguised = await startWithPrincipal();
    const disguisedEchoes = (await echoesOfFirstReconcile(disguised)).map((echo) => {
      // The replica-Region CreateKey as a service principal might record it; ReplicateKey as a person.
      echo.detail.userIdentity =
        echo.detail.eventName === 'CreateKey'
          ? { type: 'AWSService', invokedBy: 'kms.amazonaws.com', accountId: '111122223333' }
          : { type: 'IAMUser', principalId: 'AIDAOTHER', arn: 'arn:aws:iam::111122223333:user/someone-else', accountId: '111122223333' };
      return echo;
    });

    // Act
    const disguisedResults = [];
    for (const echo of disguisedEchoes) disguisedResults.push(await disguised.invoke(echo));

    // Assess: recognised echoes are skipped; disguised ones are reconciled and plan nothing.
    expect(recognisedEchoes.map((e) => e.detail.eventName)).toEqual(['ReplicateKey', 'CreateKey', 'ReplicateKey', 'CreateKey']);
    expect(recognisedResults.map((r) => r.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(disguisedResults.map((r) => r.status)).toEqual(['reconciled', 'reconciled', 'reconciled', 'reconciled']);
    for (const result of disguisedResults) {
      const outcome = outcomeOf(result);
      expect(outcome.writes).toBe(0);
      expect(outcome.regions.map((r) => [r.region, r.status])).toEqual([
        ['eu-west-1', 'present'],
        ['us-west-2', 'present'],
      ]);
    }
    expect(disguised.count('ReplicateKey')).toBe(recognisedWrites);
    expect(familyState(disguised)).toEqual(recognisedState);
  });

  it('reaches the same outcome from a replica-Region CreateKey without invokedBy, keyMetadata or tags, and from a ReplicateKey record without tags', async () => {
    const h = await startWithPrincipal();
    await h.invoke(loadFixture('create-key'));
    const bare = loadFixture('create-key-replica-region');
    delete bare.detail.userIdentity.invokedBy;
    bare.detail.userIdentity.arn = 'arn:aws:iam::111122223333:user/someone-else';
    delete bare.detail.userIdentity.sessionContext;
    delete bare.detail.requestParameters.tags;
    bare.detail.responseElements = null;
    const untagged = loadFixture('replicate-key');
    delete untagged.detail.requestParameters.tags;
    delete untagged.detail.responseElements.replicaTags;

    const fromBare = outcomeOf(await h.invoke(bare));
    const fromFull = outcomeOf(await h.invoke(loadFixture('create-key-replica-region')));
    const fromUntagged = outcomeOf(await h.invoke(untagged));
    const fromTagged = outcomeOf(await h.invoke(loadFixture('replicate-key')));

    const summary = (o: ReconcileOutcome): unknown => [o.result, o.primaryArn, o.writes, o.regions.map((r) => [r.region, r.status])];
    expect(summary(fromBare)).toEqual(summary(fromFull));
    expect(summary(fromUntagged)).toEqual(summary(fromTagged));
    expect(summary(fromFull)).toEqual([
      'reconciled',
      `arn:aws:kms:us-east-1:111122223333:key/${FIXTURE_KEY_ID}`,
      0,
      [
        ['eu-west-1', 'present'],
        ['us-west-2', 'present'],
      ],
    ]);
  });

  it('reports a primary scheduled for deletion the same whatever its ScheduleKeyDeletion record says (the PendingReplicaDeletion response is unverified)', async () => {
    // Prepare: a family with replicas whose primary is scheduled for deletion (PendingReplicaDeletion).
    const h = await startWithPrincipal();
    await h.invoke(loadFixture('create-key'));
    const admin = new KMSClient({ region: 'us-east-1', endpoint: h.kms.endpoint, credentials: { accessKeyId: 'AKIAKEYADMIN00000001', secretAccessKey: 'x' } });
    await admin.send(new ScheduleKeyDeletionCommand({ KeyId: FIXTURE_KEY_ID, PendingWindowInDays: 7 }));
    admin.destroy();
    const primaryArn = `arn:aws:kms:us-east-1:111122223333:key/${FIXTURE_KEY_ID}`;
    const scheduleEvent = (responseElements: unknown): Json => {
      const event = loadFixture('schedule-key-deletion');
      event.region = 'us-east-1';
      event.detail.awsRegion = 'us-east-1';
      event.detail.resources = [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: primaryArn }];
      event.detail.responseElements = responseElements;
      return event;
    };

    // Act: the documented shape, a contradicting one, and none at all.
    const documented = outcomeOf(await h.invoke(scheduleEvent({ keyId: primaryArn, keyState: 'PendingReplicaDeletion', pendingWindowInDays: 7 })));
    const contradicting = outcomeOf(await h.invoke(scheduleEvent({ keyId: FIXTURE_KEY_ID, keyState: 'PendingDeletion', deletionDate: 'Dec 7, 2026, 12:10:44 PM' })));
    const none = outcomeOf(await h.invoke(scheduleEvent(null)));

    // Assess
    for (const outcome of [documented, contradicting, none]) {
      expect([outcome.result, outcome.primaryKeyState, outcome.writes]).toEqual(['primary-not-enabled', 'PendingReplicaDeletion', 0]);
      expect(outcome.regions.map((r) => [r.region, r.status])).toEqual([
        ['eu-west-1', 'present'],
        ['us-west-2', 'present'],
      ]);
    }
  });
});
