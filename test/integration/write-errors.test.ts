/**
 * How `ReplicateKey` failures are classified (issue 11, items 4 and 5): a primary-Region change
 * that lands between the reads and the write is retryable, and the keys-per-Region resource quota
 * is a terminal Region status that neither the SDK nor Lambda retries. Real handler, real SDK,
 * embedded KMS over HTTP.
 */
import { KMSClient, UpdatePrimaryRegionCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { RetryableError } from '../../src/reconcile/errors.js';
import type { ReconcileOutcome } from '../../src/reconcile/types.js';
import { FIXTURE_KEY_ID, loadFixture } from '../helpers/fixtures.js';
import { startHarness, type Harness, type HarnessOptions } from '../helpers/harness.js';

let harness: Harness | undefined;
const clients: KMSClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await harness?.close();
  harness = undefined;
});

async function start(options: HarnessOptions = {}): Promise<Harness> {
  harness = await startHarness(options);
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

describe('a primary-Region change between the reads and ReplicateKey', () => {
  it('is retryable (the named primary no longer reads as PRIMARY), not a terminal Region failure, and the retry converges', async () => {
    const tags = { 'replica-regions': 'us-west-2 eu-west-1' };
    let changed = false;
    const h = await start({
      wrapGateway: (gateway) => ({
        ...gateway,
        async replicateKey(input, signal) {
          if (!changed) {
            // A person moves the primary to us-west-2 after the reconcile read the family.
            changed = true;
            await adminClient(h, 'us-east-1').send(new UpdatePrimaryRegionCommand({ KeyId: FIXTURE_KEY_ID, PrimaryRegion: 'us-west-2' }));
          }
          return gateway.replicateKey(input, signal);
        },
      }),
    });
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2', { tags });

    const failure = await h.invoke(loadFixture('tag-resource')).then(
      (result) => result,
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(RetryableError);
    expect(failure).toMatchObject({
      code: 'PrimaryRegionChanging',
      message: `ReplicateKey answered UnsupportedOperationException and arn:aws:kms:us-east-1:111122223333:key/${FIXTURE_KEY_ID} now reads as a REPLICA key: the primary Region changed during the reconcile`,
    });
    expect(h.outcomes).toEqual([]); // no terminal `failed` Region reported (RegionsFailed), no rejection

    const retried = outcomeOf(await h.invoke(loadFixture('tag-resource')));

    expect(retried).toMatchObject({ result: 'reconciled', primaryRegion: 'us-west-2', writes: 1 });
    expect(retried.regions.map((r) => [r.region, r.status])).toEqual([
      ['eu-west-1', 'created'],
      ['us-east-1', 'extra'],
    ]);
  });
});

describe('LimitExceededException from ReplicateKey (the keys-per-Region resource quota)', () => {
  it('is a terminal failed status naming the quota, sent once (no SDK retry) and not retried by Lambda; the other Regions proceed', async () => {
    // eu-west-1 already holds as many keys as its quota allows.
    const h = await start({ maxAttempts: 3, kms: { maxKeysPerRegion: 1 } });
    h.kms.seedKey({ region: 'eu-west-1' });
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2 eu-west-1' } });
    const awsMessage = 'The request was rejected because the customer managed key quota of 1 in eu-west-1 was exceeded.';

    const outcome = outcomeOf(await h.invoke(loadFixture('create-key')));

    expect(outcome.regions).toEqual([
      {
        region: 'eu-west-1',
        status: 'failed',
        message:
          `${awsMessage} The Region holds as many KMS keys as its resource quota allows (AWS KMS quota "AWS KMS keys": ` +
          '100,000 customer managed keys per Region by default, adjustable in Service Quotas): delete keys there or request a higher quota. Not retried.',
        error: { name: 'LimitExceededException', message: awsMessage, retryable: false },
      },
      { region: 'us-west-2', status: 'created', keyState: 'Creating' },
    ]);
    expect(h.count('ReplicateKey')).toBe(2); // one per Region: the SDK did not retry the quota error
    expect(h.outcomes.map((o) => o.detail)).toMatchObject([{ result: 'reconciled', counts: { failed: 1, created: 1 } }]);
  });
});
