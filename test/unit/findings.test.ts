import { describe, expect, it } from 'vitest';
import { asffProblem } from '../../src/emulator/index.js';
import { familyFinding, findingStateOf, findingToSend, FINDING_REFRESH_MS, orphanResolved, severityOf, truncate, type FindingScope } from '../../src/lambda/findings.js';
import type { ReconcileOutcome } from '../../src/reconcile/types.js';

const SCOPE: FindingScope = { account: '111122223333', region: 'us-east-1', partition: 'aws' };
const KEY = 'mrk-1234abcd12ab34cd56ef1234567890ab';
const ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY}`;
const NOW = new Date('2026-12-02T10:00:00.000Z');

function outcome(overrides: Partial<ReconcileOutcome> = {}): ReconcileOutcome {
  return {
    result: 'reconciled',
    keyId: KEY,
    primaryArn: ARN,
    primaryRegion: 'us-east-1',
    primaryKeyState: 'Enabled',
    regions: [
      { region: 'eu-west-1', status: 'blocked-pending-deletion', keyState: 'PendingDeletion', deletionDate: '2026-12-30T00:00:00.000Z' },
      { region: 'narnia-1', status: 'invalid-region' },
      { region: 'us-west-2', status: 'created' },
    ],
    writes: 1,
    dryRun: false,
    ...overrides,
  };
}

describe('the ASFF finding of a key family', () => {
  it('carries every required attribute, the multi-Region facts as string product fields, and keeps the ASFF rules', () => {
    // Act
    const finding = familyFinding(outcome(), 'problem', SCOPE, NOW);

    // Assess
    expect(finding).toEqual({
      SchemaVersion: '2018-10-08',
      Id: `kms-replica-reconciler/111122223333/${KEY}`,
      ProductArn: 'arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default',
      GeneratorId: 'kms-replica-reconciler/multi-region-replication',
      AwsAccountId: '111122223333',
      Types: ['Software and Configuration Checks/AWS Security Best Practices/KMS multi-Region key replication'],
      CreatedAt: '2026-12-02T10:00:00.000Z',
      UpdatedAt: '2026-12-02T10:00:00.000Z',
      Severity: { Label: 'HIGH' },
      FindingProviderFields: { Severity: { Label: 'HIGH' }, Types: ['Software and Configuration Checks/AWS Security Best Practices/KMS multi-Region key replication'] },
      Title: `KMS multi-Region key ${KEY} is not replicated as its tag asks`,
      Description: 'The primary key in us-east-1 names Regions that do not hold a usable replica. eu-west-1: replica scheduled for deletion; narnia-1: not a Region code.',
      Resources: [{ Type: 'AwsKmsKey', Id: ARN, Partition: 'aws', Region: 'us-east-1', Details: { AwsKmsKey: { KeyId: KEY, KeyState: 'Enabled' } } }],
      Compliance: { Status: 'FAILED' },
      RecordState: 'ACTIVE',
      ProductFields: {
        ProviderName: 'kms-replica-reconciler',
        ProviderVersion: '1',
        'kms-replica-reconciler/FamilyKeyId': KEY,
        'kms-replica-reconciler/Result': 'reconciled',
        'kms-replica-reconciler/PrimaryRegion': 'us-east-1',
        'kms-replica-reconciler/PrimaryKeyState': 'Enabled',
        'kms-replica-reconciler/DesiredRegions': 'eu-west-1 narnia-1 us-west-2',
        'kms-replica-reconciler/PresentRegions': 'us-west-2',
        'kms-replica-reconciler/MissingRegions': '',
        'kms-replica-reconciler/BlockedRegions': 'eu-west-1',
        'kms-replica-reconciler/FailedRegions': '',
        'kms-replica-reconciler/InvalidTagTokens': 'narnia-1',
        'kms-replica-reconciler/ExtraRegions': '',
        'kms-replica-reconciler/DryRun': 'false',
      },
    });
    expect(asffProblem(finding)).toBeUndefined();
    expect(Object.keys(finding.ProductFields)).toHaveLength(14);
  });

  it('keeps Title, Description and every product field within their limits for 400 bad tag tokens (more than a tag can hold)', () => {
    const many = outcome({ regions: Array.from({ length: 400 }, (_, i) => ({ region: `bad-token-${i}`, status: 'invalid-region' as const })) });

    const finding = familyFinding(many, 'problem', SCOPE, NOW);

    expect(finding.Description).toHaveLength(1024);
    expect(finding.Description.endsWith('…')).toBe(true);
    expect([finding.Severity.Label, finding.Compliance.Status]).toEqual(['LOW', 'WARNING']);
    expect(finding.ProductFields['kms-replica-reconciler/DesiredRegions']).toHaveLength(2048);
    expect(asffProblem(finding)).toBeUndefined();
  });

  it('rates a blocked or failed Region HIGH, a missing one MEDIUM, a bad token LOW, a primary not Enabled MEDIUM', () => {
    expect(severityOf(outcome({ regions: [{ region: 'eu-west-1', status: 'failed' }] }))).toBe('HIGH');
    expect(severityOf(outcome({ regions: [{ region: 'eu-west-1', status: 'missing' }] }))).toBe('MEDIUM');
    expect(severityOf(outcome({ regions: [{ region: 'x', status: 'region-not-allowed' }] }))).toBe('LOW');
    expect(severityOf(outcome({ result: 'primary-not-enabled', primaryKeyState: 'Disabled', regions: [] }))).toBe('MEDIUM');
    expect(severityOf(outcome({ result: 'not-multi-region', regions: [] }))).toBe('LOW');
  });
});

describe('what to send for a family', () => {
  const open = familyFinding(outcome(), 'problem', SCOPE, new Date('2026-11-01T08:00:00.000Z'));
  const converged = outcome({ regions: [{ region: 'us-west-2', status: 'present' }], writes: 0 });

  it('sends a new problem with CreatedAt now, and an update with the open finding’s CreatedAt', () => {
    const changed = outcome({ regions: [{ region: 'eu-west-1', status: 'missing' }] });

    expect(findingToSend(changed, undefined, SCOPE, NOW)?.CreatedAt).toBe('2026-12-02T10:00:00.000Z');
    expect(findingToSend(changed, open, SCOPE, NOW)).toMatchObject({ CreatedAt: '2026-11-01T08:00:00.000Z', UpdatedAt: '2026-12-02T10:00:00.000Z', RecordState: 'ACTIVE' });
  });

  it('sends nothing for an unchanged open finding younger than the refresh interval, and re-sends it once older', () => {
    const fresh = new Date(Date.parse(open.UpdatedAt) + FINDING_REFRESH_MS - 1);
    const stale = new Date(Date.parse(open.UpdatedAt) + FINDING_REFRESH_MS);

    expect(findingToSend(outcome(), open, SCOPE, fresh)).toBeUndefined();
    expect(findingToSend(outcome(), open, SCOPE, stale)).toMatchObject({ UpdatedAt: stale.toISOString(), CreatedAt: open.CreatedAt });
  });

  it('resolves an open finding of a converged family (PASSED, ARCHIVED) and sends nothing for one without an open finding', () => {
    expect(findingToSend(converged, open, SCOPE, NOW)).toMatchObject({
      Id: open.Id,
      CreatedAt: open.CreatedAt,
      Compliance: { Status: 'PASSED' },
      RecordState: 'ARCHIVED',
      Severity: { Label: 'INFORMATIONAL' },
    });
    expect(findingToSend(converged, undefined, SCOPE, NOW)).toBeUndefined();
  });

  it('leaves a family whose primary lives in another Region, or a replica, to that Region', () => {
    expect(findingStateOf(outcome({ primaryRegion: 'eu-west-1' }), SCOPE)).toBe('not-ours');
    expect(findingStateOf(outcome({ result: 'replica' }), SCOPE)).toBe('not-ours');
    expect(findingToSend(outcome({ primaryRegion: 'eu-west-1' }), open, SCOPE, NOW)).toBeUndefined();
  });

  it('resolves the open finding of a key that is gone as it stands, saying why', () => {
    const gone: ReconcileOutcome = { result: 'key-not-found', keyId: KEY, regions: [], writes: 0, dryRun: false };

    const sent = findingToSend(gone, open, SCOPE, NOW);

    expect(sent).toEqual(orphanResolved(open, 'family-not-found', NOW));
    expect(sent).toMatchObject({ Resources: open.Resources, RecordState: 'ARCHIVED', ProductFields: { 'kms-replica-reconciler/Resolution': 'family-not-found' } });
    expect(asffProblem(sent)).toBeUndefined();
  });
});

describe('truncate (ASFF length limits)', () => {
  it('keeps a text that fits, and cuts a longer one to the limit ending in …', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcdef', 4)).toBe('abc…');
  });

  it('never cuts between the halves of a surrogate pair: the emoji goes whole', () => {
    const text = `${'a'.repeat(1022)}😀b`;

    const cut = truncate(text, 1024);

    expect(cut).toBe(`${'a'.repeat(1022)}…`);
    expect(cut.length).toBe(1023);
  });
});
