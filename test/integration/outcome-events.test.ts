import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURE_KEY_ID, loadFixture } from '../helpers/fixtures.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { outcomeSchemaErrors } from '../helpers/outcome-schema.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('outcome events through EventBridge PutEvents', () => {
  it('publishes one schema-valid event per reconcile that wrote or found something, and none for a no-op', async () => {
    harness = await startHarness({ outcomeBus: 'reconciler-outcomes' });
    const h = harness;
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2 eu-west-1 narnia-1' } });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'eu-west-1', { keyState: 'PendingDeletion' });

    await h.invoke(loadFixture('create-key'));
    await h.invoke(loadFixture('create-key'));

    const published = h.kms.publishedEvents({ bus: 'reconciler-outcomes' });
    // Both reconciles found problems (a blocked Region, a bad token); the first also wrote.
    expect(published.map((e) => [e.region, e.source, e.detailType, (e.detail as { writes: number }).writes])).toEqual([
      ['us-east-1', 'kms-replica-reconciler', 'KMS Replica Reconcile Outcome', 1],
      ['us-east-1', 'kms-replica-reconciler', 'KMS Replica Reconcile Outcome', 0],
    ]);
    expect(published[0]?.resources).toEqual([`arn:aws:kms:us-east-1:111122223333:key/${FIXTURE_KEY_ID}`]);
    expect(published[0]?.detail).toMatchObject({
      result: 'reconciled',
      counts: { created: 1, 'blocked-pending-deletion': 1, 'invalid-region': 1 },
      trigger: { eventId: 'a1c3e5f7-0b2d-4e6f-8a1c-3e5f7091b2d4', eventName: 'CreateKey', region: 'us-east-1' },
    });
    for (const event of published) expect(outcomeSchemaErrors(event.detail)).toEqual([]);
  });

  it('publishes nothing for a clean no-op', async () => {
    harness = await startHarness({ outcomeBus: 'reconciler-outcomes' });
    const h = harness;
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2');

    const result = await h.invoke(loadFixture('create-key'));

    expect(result).toMatchObject({ status: 'reconciled', published: false });
    expect(h.kms.publishedEvents()).toEqual([]);
  });

  it('publishes a schema-valid rejection for a malformed event', async () => {
    harness = await startHarness({ outcomeBus: 'reconciler-outcomes' });
    const event = loadFixture('tag-resource');
    event.detail.awsRegion = 'Mars';

    await harness.invoke(event);

    const [rejected] = harness.kms.publishedEvents();
    expect(rejected?.detailType).toBe('KMS Replica Reconcile Rejected');
    expect(rejected?.detail).toEqual({
      schemaVersion: '1',
      result: 'rejected',
      trigger: { eventId: 'd4f6b8c0-3e5a-4b7c-9d1f-3a5b7c9d1e2f', eventName: 'TagResource', region: 'Mars' },
      error: { code: 'InvalidEvent', message: "detail.awsRegion 'Mars' is not a Region code" },
    });
    expect(outcomeSchemaErrors(rejected?.detail)).toEqual([]);
  });
});
