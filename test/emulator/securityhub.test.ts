import { BatchImportFindingsCommand, GetFindingsCommand, SecurityHubClient, type AwsSecurityFinding } from '@aws-sdk/client-securityhub';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmbeddedKms, type EmbeddedKms } from '../../src/emulator/index.js';

const ACCOUNT = '111122223333';
const PRODUCT = `arn:aws:securityhub:us-east-1:${ACCOUNT}:product/${ACCOUNT}/default`;

/** A finding with every required ASFF attribute. */
function finding(id: string, overrides: Record<string, unknown> = {}): AwsSecurityFinding {
  return {
    SchemaVersion: '2018-10-08',
    Id: id,
    ProductArn: PRODUCT,
    GeneratorId: 'test-generator',
    AwsAccountId: ACCOUNT,
    Types: ['Software and Configuration Checks/AWS Security Best Practices'],
    CreatedAt: '2026-12-01T10:00:00.000Z',
    UpdatedAt: '2026-12-01T10:00:00.000Z',
    Severity: { Label: 'HIGH' },
    Title: 'A title',
    Description: 'A description',
    Resources: [{ Type: 'AwsKmsKey', Id: `arn:aws:kms:us-east-1:${ACCOUNT}:key/mrk-1`, Partition: 'aws', Region: 'us-east-1' }],
    ...overrides,
  } as AwsSecurityFinding;
}

describe('embedded Security Hub: BatchImportFindings and GetFindings over REST-JSON', () => {
  let kms: EmbeddedKms;
  let client: SecurityHubClient;

  beforeAll(async () => {
    kms = await startEmbeddedKms({ account: ACCOUNT });
    client = new SecurityHubClient({ endpoint: kms.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDHUB', secretAccessKey: 'x' }, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await kms.close();
  });
  beforeEach(() => {
    kms.securityHub.clear();
    kms.resetCalls();
    kms.setFaults(undefined);
  });

  it('imports a valid finding through the SDK, stores it with Workflow NEW and logs the call', async () => {
    // Act
    const out = await client.send(new BatchImportFindingsCommand({ Findings: [finding('f-1')] }));

    // Assess
    expect([out.SuccessCount, out.FailedCount, out.FailedFindings]).toEqual([1, 0, []]);
    const [stored] = kms.securityHub.list();
    expect(stored).toMatchObject({ Id: 'f-1', ProductArn: PRODUCT, RecordState: 'ACTIVE', Workflow: { Status: 'NEW' }, Region: 'us-east-1' });
    expect(kms.calls().map((c) => [c.operation, c.region, c.errorCode])).toEqual([['BatchImportFindings', 'us-east-1', undefined]]);
  });

  it('refuses each finding that breaks a required-field rule into FailedFindings with InvalidInput, and keeps the valid ones', async () => {
    // Prepare: one valid finding and one per broken rule.
    const { Title: _title, ...noTitle } = finding('no-title');
    const broken: AwsSecurityFinding[] = [
      noTitle as AwsSecurityFinding,
      finding('bad-schema', { SchemaVersion: '2019-01-01' }),
      finding('empty-type', { Resources: [{ Type: '', Id: 'x' }] }),
      finding('bad-time', { UpdatedAt: 'yesterday' }),
      finding('bad-label', { Severity: { Label: 'URGENT' } }),
      finding('long-title', { Title: 't'.repeat(257) }),
      finding('too-many-fields', { ProductFields: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }),
      finding('bad-compliance', { Compliance: { Status: 'MAYBE' } }),
    ];

    // Act
    const out = await client.send(new BatchImportFindingsCommand({ Findings: [finding('ok'), ...broken] }));

    // Assess
    expect([out.SuccessCount, out.FailedCount]).toEqual([1, 8]);
    const prefix = 'Finding does not adhere to Amazon Finding Format. ';
    expect(out.FailedFindings).toEqual([
      { Id: 'no-title', ErrorCode: 'InvalidInput', ErrorMessage: `${prefix}data should have required property 'Title'.` },
      { Id: 'bad-schema', ErrorCode: 'InvalidInput', ErrorMessage: `${prefix}data.SchemaVersion should be equal to one of the allowed values.` },
      { Id: 'empty-type', ErrorCode: 'InvalidInput', ErrorMessage: `${prefix}data.Resources[0].Type should NOT be shorter than 1 characters.` },
      { Id: 'bad-time', ErrorCode: 'InvalidInput', ErrorMessage: `${prefix}data.UpdatedAt should match format "date-time".` },
      { Id: 'bad-label', ErrorCode: 'InvalidInput', ErrorMessage: `${prefix}data.Severity.Label should be equal to one of the allowed values.` },
      { Id: 'long-title', ErrorCode: 'InvalidInput', ErrorMessage: `${prefix}data.Title should NOT be longer than 256 characters.` },
      { Id: 'too-many-fields', ErrorCode: 'InvalidInput', ErrorMessage: `${prefix}data.ProductFields should NOT have more than 50 properties.` },
      { Id: 'bad-compliance', ErrorCode: 'InvalidInput', ErrorMessage: `${prefix}data.Compliance.Status should be equal to one of the allowed values.` },
    ]);
    expect(kms.securityHub.list().map((f) => f.Id)).toEqual(['ok']);
  });

  it("refuses a finding of another account or another account's product with InvalidAccess", async () => {
    const out = await client.send(
      new BatchImportFindingsCommand({
        Findings: [finding('other-account', { AwsAccountId: '444455556666' }), finding('other-product', { ProductArn: 'arn:aws:securityhub:us-west-2:111122223333:product/111122223333/default' })],
      }),
    );

    expect(out.FailedFindings?.map((f) => [f.Id, f.ErrorCode])).toEqual([
      ['other-account', 'InvalidAccess'],
      ['other-product', 'InvalidAccess'],
    ]);
    expect(kms.securityHub.list()).toEqual([]);
  });

  it('answers InvalidInputException to more than 100 findings in one call, storing none', async () => {
    const findings = Array.from({ length: 101 }, (_, i) => finding(`f-${i}`));

    const error = await client.send(new BatchImportFindingsCommand({ Findings: findings })).catch((e: Error) => e);

    expect([(error as Error).name, (error as Error).message]).toEqual(['InvalidInputException', 'Findings must hold from 1 to 100 findings; the request holds 101.']);
    expect(kms.securityHub.list()).toEqual([]);
  });

  it('updates a finding in place when UpdatedAt is later, ignores an update that is not, and keeps Workflow', async () => {
    // Prepare: a finding a person has marked NOTIFIED.
    await client.send(new BatchImportFindingsCommand({ Findings: [finding('f-1')] }));
    kms.securityHub.setWorkflowStatus(PRODUCT, 'f-1', 'NOTIFIED');

    // Act: an older update, then a newer one that even carries a Workflow of its own.
    await client.send(new BatchImportFindingsCommand({ Findings: [finding('f-1', { Title: 'stale', UpdatedAt: '2026-12-01T09:00:00.000Z' })] }));
    await client.send(
      new BatchImportFindingsCommand({ Findings: [finding('f-1', { Title: 'newer', UpdatedAt: '2026-12-01T11:00:00.000Z', RecordState: 'ARCHIVED', Workflow: { Status: 'NEW' } })] }),
    );

    // Assess
    const stored = kms.securityHub.list();
    expect(stored.map((f) => [f.Id, f['Title'], f['UpdatedAt'], f['RecordState'], f['Workflow']])).toEqual([
      ['f-1', 'newer', '2026-12-01T11:00:00.000Z', 'ARCHIVED', { Status: 'NOTIFIED' }],
    ]);
  });

  it('serves GetFindings with EQUALS filters (OR within a field, AND across fields) and pages of MaxResults', async () => {
    // Prepare
    await client.send(
      new BatchImportFindingsCommand({
        Findings: [finding('a'), finding('b', { RecordState: 'ARCHIVED' }), finding('c'), finding('d', { GeneratorId: 'other' })],
      }),
    );

    // Act
    const byId = await client.send(
      new GetFindingsCommand({
        Filters: {
          Id: [
            { Value: 'a', Comparison: 'EQUALS' },
            { Value: 'b', Comparison: 'EQUALS' },
            { Value: 'd', Comparison: 'EQUALS' },
          ],
          RecordState: [{ Value: 'ACTIVE', Comparison: 'EQUALS' }],
        },
      }),
    );
    const first = await client.send(new GetFindingsCommand({ Filters: { GeneratorId: [{ Value: 'test-generator', Comparison: 'EQUALS' }] }, MaxResults: 2 }));
    const second = await client.send(new GetFindingsCommand({ Filters: { GeneratorId: [{ Value: 'test-generator', Comparison: 'EQUALS' }] }, MaxResults: 2, NextToken: first.NextToken }));

    // Assess
    expect(byId.Findings?.map((f) => f.Id)).toEqual(['a', 'd']);
    expect(first.Findings?.map((f) => f.Id)).toEqual(['a', 'b']);
    expect(second.Findings?.map((f) => f.Id)).toEqual(['c']);
    expect(second.NextToken).toBeUndefined();
  });

  it("answers GetFindings with the findings of the Region it is sent to only (findings are regional), and refuses a NextToken with a negative offset", async () => {
    // Prepare
    const westProduct = `arn:aws:securityhub:eu-west-1:${ACCOUNT}:product/${ACCOUNT}/default`;
    const west = new SecurityHubClient({ endpoint: kms.endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDHUB', secretAccessKey: 'x' }, maxAttempts: 1 });
    await client.send(new BatchImportFindingsCommand({ Findings: [finding('east')] }));
    await west.send(new BatchImportFindingsCommand({ Findings: [finding('west', { ProductArn: westProduct })] }));
    const forged = Buffer.from(JSON.stringify({ query: '{}', offset: -1 })).toString('base64');

    // Act
    const fromEast = await client.send(new GetFindingsCommand({}));
    const fromWest = await west.send(new GetFindingsCommand({}));
    const negative = await client.send(new GetFindingsCommand({ NextToken: forged })).then(
      () => 'answered',
      (error: Error) => error.name,
    );
    west.destroy();

    // Assess
    expect(fromEast.Findings?.map((f) => [f.Id, f.Region])).toEqual([['east', 'us-east-1']]);
    expect(fromWest.Findings?.map((f) => [f.Id, f.Region])).toEqual([['west', 'eu-west-1']]);
    expect(negative).toBe('InvalidInputException');
  });

  it('answers an injected fault on BatchImportFindings with the error, storing nothing', async () => {
    kms.setFaults({ rules: [{ operation: 'BatchImportFindings', error: { code: 'AccessDeniedException', message: 'not authorized', httpStatus: 403 } }] });

    const error = await client.send(new BatchImportFindingsCommand({ Findings: [finding('f-1')] })).catch((e: Error) => e);

    expect((error as Error).name).toBe('AccessDeniedException');
    expect(kms.securityHub.list()).toEqual([]);
    expect(kms.calls().map((c) => [c.operation, c.errorCode])).toEqual([['BatchImportFindings', 'AccessDeniedException']]);
  });
});
