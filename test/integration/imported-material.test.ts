/**
 * Imported key material end to end [fact sheet §10][S26]: ImportKeyMaterial is a trigger, so a
 * tagged EXTERNAL primary is replicated when its material arrives; for an EXTERNAL family the
 * outcome says, per replica, whether it holds the primary's current and pending material, so a
 * RotateKeyOnDemand that KMS refuses names the replicas that must import first.
 */
import {
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  RotateKeyOnDemandCommand,
  TagResourceCommand,
} from '@aws-sdk/client-kms';
import { constants, createPublicKey, publicEncrypt } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyEventResult } from '../../src/lambda/key-event-handler.js';
import type { ReconcileOutcome } from '../../src/reconcile/types.js';
import { FIXTURE_KEY_ID, loadFixture } from '../helpers/fixtures.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { outcomeSchemaErrors } from '../helpers/outcome-schema.js';

const PRIMARY_ARN = `arn:aws:kms:us-east-1:111122223333:key/${FIXTURE_KEY_ID}`;
const FIRST = Buffer.alloc(32, 1);
const SECOND = Buffer.alloc(32, 2);

let harness: Harness | undefined;
let admin: Map<string, KMSClient> = new Map();
afterEach(async () => {
  for (const client of admin.values()) client.destroy();
  admin = new Map();
  await harness?.close();
  harness = undefined;
});

async function start(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  harness = await startHarness(options);
  return harness;
}

/** A key administrator's client (not the reconciler's identity). */
function adminIn(h: Harness, region: string): KMSClient {
  let client = admin.get(region);
  if (!client) {
    client = new KMSClient({ region, endpoint: h.kms.endpoint, credentials: { accessKeyId: 'AKIAKEYADMIN00000001', secretAccessKey: 'x' }, maxAttempts: 1 });
    admin.set(region, client);
  }
  return client;
}

/** What a key administrator does to import material: GetParametersForImport, wrap (RSAES_OAEP_SHA_256), ImportKeyMaterial. */
async function importInto(h: Harness, region: string, material: Buffer, importType?: 'NEW_KEY_MATERIAL' | 'EXISTING_KEY_MATERIAL'): Promise<string> {
  const client = adminIn(h, region);
  const parameters = await client.send(new GetParametersForImportCommand({ KeyId: FIXTURE_KEY_ID, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  const publicKey = createPublicKey({ key: Buffer.from(parameters.PublicKey ?? []), format: 'der', type: 'spki' });
  const out = await client.send(
    new ImportKeyMaterialCommand({
      KeyId: FIXTURE_KEY_ID,
      ImportToken: parameters.ImportToken,
      EncryptedKeyMaterial: publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material),
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      ...(importType ? { ImportType: importType } : {}),
    }),
  );
  return out.KeyMaterialId ?? '';
}

function outcomeOf(result: KeyEventResult | undefined): ReconcileOutcome {
  if (result?.status !== 'reconciled') throw new Error(`expected a reconcile, got ${JSON.stringify(result)}`);
  return result.outcome;
}

function regionsOf(outcome: ReconcileOutcome): unknown[] {
  return outcome.regions.map((r) => [r.region, r.status, r.keyMaterial]);
}

/** A tagged EXTERNAL family whose primary and replicas (us-west-2, eu-west-1) hold FIRST. */
function seedFamily(h: Harness): string {
  const primary = h.kms.seedKey({
    region: 'us-east-1',
    keyId: FIXTURE_KEY_ID,
    multiRegion: true,
    origin: 'EXTERNAL',
    keyState: 'Enabled',
    keyMaterial: FIRST,
    tags: { 'replica-regions': 'us-west-2 eu-west-1' },
  });
  for (const region of ['us-west-2', 'eu-west-1']) h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', region, { keyState: 'Enabled' });
  return primary.CurrentKeyMaterialId ?? '';
}

describe('imported key material', () => {
  it('replicates a tagged EXTERNAL primary when its material arrives (the ImportKeyMaterial event), not at the next sweep', async () => {
    // Prepare: the primary waits for its material; its CreateKey event plans nothing.
    const h = await start();
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, origin: 'EXTERNAL', tags: { 'replica-regions': 'us-west-2 eu-west-1' } });
    const waiting = outcomeOf(await h.invoke(loadFixture('create-key')));
    expect([waiting.result, waiting.primaryKeyState, waiting.writes]).toEqual(['primary-not-enabled', 'PendingImport', 0]);

    // Act: a key administrator imports the material; its CloudTrail event reaches the reconciler.
    const materialId = await importInto(h, 'us-east-1', FIRST);
    const deliveries = await h.deliverAll();

    // Assess
    const first = deliveries[0];
    expect((first?.event as { detail: { eventName: string } }).detail.eventName).toBe('ImportKeyMaterial');
    expect(regionsOf(outcomeOf(first?.result))).toEqual([
      ['eu-west-1', 'created', undefined],
      ['us-west-2', 'created', undefined],
    ]);
    expect(deliveries.filter((d) => d.error !== undefined)).toEqual([]);
    // The new replicas wait for their own import of the same material [S1 multi-region-keys-import.md].
    const next = outcomeOf(await h.invoke(loadFixture('import-key-material')));
    expect(regionsOf(next)).toEqual([
      ['eu-west-1', 'pending-import', { current: false }],
      ['us-west-2', 'pending-import', { current: false }],
    ]);
    expect(next.keyMaterial).toEqual({ currentKeyMaterialId: materialId });
  });

  it('names the replicas that lack new material, so a refused RotateKeyOnDemand says who must import first', async () => {
    // Prepare
    const h = await start();
    const firstId = seedFamily(h);

    // Act: new material into the primary, then into one replica; the events are delivered each time.
    const secondId = await importInto(h, 'us-east-1', SECOND, 'NEW_KEY_MATERIAL');
    const afterPrimary = outcomeOf((await h.deliverAll())[0]?.result);
    const refused = await adminIn(h, 'us-east-1').send(new RotateKeyOnDemandCommand({ KeyId: FIXTURE_KEY_ID })).then(
      () => 'rotated',
      (error: Error) => error.name,
    );
    await importInto(h, 'us-west-2', SECOND, 'EXISTING_KEY_MATERIAL');
    const afterOne = outcomeOf((await h.deliverAll())[0]?.result);

    // Assess
    expect(refused).toBe('KMSInvalidStateException');
    expect(afterPrimary.keyMaterial).toEqual({
      currentKeyMaterialId: firstId,
      pendingKeyMaterialId: secondId,
      pendingState: 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION',
    });
    expect(regionsOf(afterPrimary)).toEqual([
      ['eu-west-1', 'material-pending', { current: true, pending: false }],
      ['us-west-2', 'material-pending', { current: true, pending: false }],
    ]);
    expect(afterPrimary.regions[0]?.message).toBe(
      `replica lacks the primary's new key material ${secondId} (PENDING_MULTI_REGION_IMPORT_AND_ROTATION): ` +
        'import it into this replica (ImportKeyMaterial with ImportType EXISTING_KEY_MATERIAL) before RotateKeyOnDemand on the primary',
    );
    expect(regionsOf(afterOne)).toEqual([
      ['eu-west-1', 'material-pending', { current: true, pending: false }],
      ['us-west-2', 'present', { current: true, pending: true }],
    ]);
    expect(afterOne.writes).toBe(0);
    // Worth an outcome event: a person must import; the event validates against the shipped schema.
    const published = h.outcomes.at(-1);
    expect(published?.detail).toMatchObject({ counts: { 'material-pending': 1, present: 1 } });
    expect(outcomeSchemaErrors(published?.detail)).toEqual([]);
  });

  it('reads one ListKeyRotations once every replica holds the new material, and reports the rotation when it is done', async () => {
    // Prepare: the new material is in every key (PENDING_ROTATION).
    const h = await start();
    seedFamily(h);
    const secondId = await importInto(h, 'us-east-1', SECOND, 'NEW_KEY_MATERIAL');
    for (const region of ['us-west-2', 'eu-west-1']) await importInto(h, region, SECOND, 'EXISTING_KEY_MATERIAL');
    h.kms.takeEvents();
    h.kms.resetCalls();

    // Act
    const ready = outcomeOf(await h.invoke(loadFixture('import-key-material')));
    const listReads = h.count('ListKeyRotations');
    await adminIn(h, 'us-east-1').send(new RotateKeyOnDemandCommand({ KeyId: FIXTURE_KEY_ID }));
    const rotated = outcomeOf(await h.invoke(loadFixture('import-key-material')));

    // Assess
    expect(listReads).toBe(1);
    expect(ready.keyMaterial?.pendingState).toBe('PENDING_ROTATION');
    expect(regionsOf(ready)).toEqual([
      ['eu-west-1', 'present', { current: true, pending: true }],
      ['us-west-2', 'present', { current: true, pending: true }],
    ]);
    expect(rotated.keyMaterial).toEqual({ currentKeyMaterialId: secondId });
    expect(regionsOf(rotated)).toEqual([
      ['eu-west-1', 'present', { current: true }],
      ['us-west-2', 'present', { current: true }],
    ]);
  });

  it('reads no key material of a family whose material KMS made (AWS_KMS)', async () => {
    const h = await start();
    h.kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2' } });
    h.kms.seedReplica(FIXTURE_KEY_ID, 'us-east-1', 'us-west-2');

    const outcome = outcomeOf(await h.invoke(loadFixture('tag-resource')));

    expect(h.count('ListKeyRotations')).toBe(0);
    expect(outcome.keyMaterial).toBeUndefined();
    expect(regionsOf(outcome)).toEqual([['us-west-2', 'present', undefined]]);
  });

  it('still replicates and reports the Regions when ListKeyRotations is denied; the outcome says the material was not read', async () => {
    // Prepare: ListKeyRotations denied (an IAM policy without kms:ListKeyRotations).
    const h = await start({
      kms: { faults: { rules: [{ operation: 'ListKeyRotations', error: { code: 'AccessDeniedException', message: 'not authorized to perform kms:ListKeyRotations' } }] } },
    });
    seedFamily(h);
    await adminIn(h, 'us-east-1').send(new TagResourceCommand({ KeyId: FIXTURE_KEY_ID, Tags: [{ TagKey: 'replica-regions', TagValue: 'us-west-2 eu-west-1 ap-south-1' }] }));
    h.kms.takeEvents();

    const outcome = outcomeOf(await h.invoke(loadFixture('tag-resource')));

    expect(regionsOf(outcome)).toEqual([
      ['ap-south-1', 'created', undefined],
      ['eu-west-1', 'present', undefined],
      ['us-west-2', 'present', undefined],
    ]);
    expect(outcome.keyMaterial).toEqual({
      error: { name: 'AccessDeniedException', message: 'not authorized to perform kms:ListKeyRotations', retryable: false },
    });
  });

  it('leaves a replica unsaid when its ListKeyRotations fails while new material waits, and names the others', async () => {
    const h = await start({
      kms: { faults: { rules: [{ operation: 'ListKeyRotations', region: 'eu-west-1', error: { code: 'AccessDeniedException', message: 'denied by an SCP' } }] } },
    });
    seedFamily(h);
    await importInto(h, 'us-east-1', SECOND, 'NEW_KEY_MATERIAL');
    h.kms.takeEvents();

    const outcome = outcomeOf(await h.invoke(loadFixture('import-key-material')));

    expect(regionsOf(outcome)).toEqual([
      ['eu-west-1', 'present', { current: true }],
      ['us-west-2', 'material-pending', { current: true, pending: false }],
    ]);
    expect(outcome.primaryArn).toBe(PRIMARY_ARN);
  });
});
