import { KMSClient, TagResourceCommand, UpdatePrimaryRegionCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/emulator/index.js';
import type { KeyEventResult } from '../../src/lambda/key-event-handler.js';
import { FIXTURE_KEY_ID, loadFixture } from '../helpers/fixtures.js';
import { startHarness, type Harness } from '../helpers/harness.js';

let harness: Harness | undefined;
let admin: KMSClient[] = [];
afterEach(async () => {
  for (const c of admin) c.destroy();
  admin = [];
  await harness?.close();
  harness = undefined;
});

function client(h: Harness, region: string): KMSClient {
  const c = new KMSClient({ region, endpoint: h.kms.endpoint, credentials: { accessKeyId: 'AKIAKEYADMIN00000001', secretAccessKey: 'x' }, maxAttempts: 1 });
  admin.push(c);
  return c;
}

function statuses(result: KeyEventResult | undefined): Record<string, string> {
  if (result?.status !== 'reconciled') throw new Error(`expected a reconcile, got ${JSON.stringify(result)}`);
  return Object.fromEntries(result.outcome.regions.map((r) => [r.region, r.status]));
}

describe('a primary-Region change (UpdatePrimaryRegion)', () => {
  it('retries while the change is in progress, then converges from the new primary using its copied tag', async () => {
    const clock = new ManualClock();
    harness = await startHarness({ kms: { now: () => clock.now(), primaryUpdateDelayMs: 60_000 } });
    const h = harness;
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2 eu-west-1' } });
    await h.deliverAll([loadFixture('create-key')]); // replicas made by the reconciler carry the tag

    await client(h, 'us-east-1').send(new UpdatePrimaryRegionCommand({ KeyId: FIXTURE_KEY_ID, PrimaryRegion: 'us-west-2' }));
    const during = await h.deliverAll();

    // Both CloudTrail records (old and new primary Region) arrive; both keys read Updating/REPLICA.
    expect(during.map((d) => [(d.event as { detail: { awsRegion: string } }).detail.awsRegion, (d.error as Error | undefined)?.name])).toEqual([
      ['us-east-1', 'RetryableError'],
      ['us-west-2', 'RetryableError'],
    ]);
    expect(h.count('ReplicateKey')).toBe(2);

    clock.advance(60_000);
    const retried = await h.invoke(loadFixture('update-primary-region-new-primary'));

    expect(retried).toMatchObject({ status: 'reconciled', outcome: { primaryRegion: 'us-west-2', result: 'reconciled', writes: 0 } });
    // The old primary's Region is now a replica the tag does not name: reported, never deleted.
    expect(statuses(retried)).toEqual({ 'eu-west-1': 'present', 'us-east-1': 'extra' });
  });

  it("treats the new primary's tags as authoritative after the change", async () => {
    harness = await startHarness();
    const h = harness;
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    await h.deliverAll([loadFixture('create-key')]);
    await client(h, 'us-east-1').send(new UpdatePrimaryRegionCommand({ KeyId: FIXTURE_KEY_ID, PrimaryRegion: 'us-west-2' }));
    await h.deliverAll();

    await client(h, 'us-west-2').send(
      new TagResourceCommand({ KeyId: FIXTURE_KEY_ID, Tags: [{ TagKey: 'replica-regions', TagValue: 'us-east-1 ap-south-1' }] }),
    );
    const deliveries = await h.deliverAll();

    expect(statuses(deliveries[0]?.result)).toEqual({ 'ap-south-1': 'created', 'us-east-1': 'present' });
    expect(h.kms.describe('ap-south-1', FIXTURE_KEY_ID)?.MultiRegionConfiguration?.PrimaryKey).toEqual({
      Arn: `arn:aws:kms:us-west-2:111122223333:key/${FIXTURE_KEY_ID}`,
      Region: 'us-west-2',
    });
  });
});
