/**
 * `FindingsStore` implemented with `@aws-sdk/client-securityhub`: `BatchImportFindings` in calls
 * of at most 100 findings, and `GetFindings` for this reconciler's active findings (its
 * `GeneratorId` in the account's default product), 100 per page.
 *
 * Limits [guidelines-batchimportfindings, Security Hub CSPM partner guide]: up to 100 findings per
 * batch, up to 240 KB per finding and 6 MB per batch; 10 TPS per account and Region, burst 30. The
 * calls of one `importFindings` are made one after the other. The SDK's standard retry mode
 * retries throttling (`LimitExceededException`, HTTP 429) and 5xx answers [S12].
 */
import {
  BatchImportFindingsCommand,
  GetFindingsCommand,
  SecurityHubClient,
  type AwsSecurityFinding,
  type StringFilter,
} from '@aws-sdk/client-securityhub';
import type { AsffFinding, FindingScope, FindingsImportResult, FindingsStore } from '../lambda/findings.js';
import { FINDING_GENERATOR_ID, FINDINGS_PER_IMPORT, productArnOf } from '../lambda/findings.js';
import { classifyAwsError } from './classify.js';
import { requestHandlerOptions, type ClientOptions } from './clients.js';

/** Ids per `GetFindings` call when looking findings up by id (one `Id` filter value each, joined by OR). */
const IDS_PER_LOOKUP = 100;

/**
 * Creates the store of one account's findings in the scope's Region.
 *
 * @param scope - account, Region (the client's) and partition of the default product ARN.
 * @param options - endpoint (`AWS_ENDPOINT_URL_SECURITYHUB`), credentials, attempts per call.
 */
export function createSecurityHubFindings(scope: FindingScope, options: ClientOptions = {}): FindingsStore {
  const client = new SecurityHubClient({
    region: scope.region,
    maxAttempts: options.maxAttempts ?? 3,
    // Idle connections closed before the server does, as every client of ours (clients.ts).
    requestHandler: requestHandlerOptions(),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  const productArn = productArnOf(scope);
  return {
    async importFindings(findings, signal): Promise<FindingsImportResult> {
      let imported = 0;
      let calls = 0;
      const failed: { id: string; code: string; message: string }[] = [];
      for (let start = 0; start < findings.length; start += FINDINGS_PER_IMPORT) {
        const chunk = findings.slice(start, start + FINDINGS_PER_IMPORT);
        calls += 1;
        try {
          const out = await client.send(new BatchImportFindingsCommand({ Findings: chunk.map(toSdkFinding) }), { abortSignal: signal });
          for (const f of out.FailedFindings ?? []) {
            failed.push({ id: f.Id ?? '', code: f.ErrorCode ?? 'ImportFailed', message: f.ErrorMessage ?? 'Security Hub did not import the finding' });
          }
          imported += out.SuccessCount ?? chunk.length - (out.FailedFindings?.length ?? 0);
        } catch (error) {
          const classified = classifyAwsError(error);
          for (const f of chunk) failed.push({ id: f.Id, code: classified.code, message: classified.message });
        }
      }
      return { imported, failed, calls };
    },

    async activeFindings(ids, signal): Promise<AsffFinding[]> {
      const base: Record<string, StringFilter[]> = {
        ProductArn: [{ Value: productArn, Comparison: 'EQUALS' }],
        GeneratorId: [{ Value: FINDING_GENERATOR_ID, Comparison: 'EQUALS' }],
        RecordState: [{ Value: 'ACTIVE', Comparison: 'EQUALS' }],
      };
      const queries =
        ids === undefined
          ? [base]
          : chunks(ids, IDS_PER_LOOKUP).map((group) => ({ ...base, Id: group.map((id) => ({ Value: id, Comparison: 'EQUALS' as const })) }));
      const found: AsffFinding[] = [];
      try {
        for (const filters of queries) {
          let token: string | undefined;
          do {
            const out = await client.send(new GetFindingsCommand({ Filters: filters, MaxResults: 100, ...(token ? { NextToken: token } : {}) }), { abortSignal: signal });
            for (const f of out.Findings ?? []) found.push(fromSdkFinding(f));
            token = out.NextToken || undefined;
          } while (token);
        }
      } catch (error) {
        throw classifyAwsError(error);
      }
      return found;
    },
  };
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Our finding as the SDK types it (the same members; `Partition` is the SDK's enum of partitions). */
function toSdkFinding(f: AsffFinding): AwsSecurityFinding {
  return {
    ...f,
    Types: [...f.Types],
    FindingProviderFields: { Severity: { ...f.FindingProviderFields.Severity }, Types: [...f.FindingProviderFields.Types] },
    Resources: f.Resources.map((r) => ({ ...r, Partition: r.Partition as NonNullable<AwsSecurityFinding['Resources']>[number]['Partition'] })),
    ProductFields: { ...f.ProductFields },
  };
}

/**
 * A finding read back, reduced to the members this reconciler sends (what Security Hub adds,
 * `Workflow`, `Region`, `ProcessedAt`, `aws/securityhub/*` product fields, ..., is left out, so
 * re-sending it never carries a field a provider may not update).
 */
function fromSdkFinding(f: AwsSecurityFinding): AsffFinding {
  const severity = (f.Severity?.Label ?? 'INFORMATIONAL') as AsffFinding['Severity']['Label'];
  const types = f.Types ?? [];
  return {
    SchemaVersion: '2018-10-08',
    Id: f.Id ?? '',
    ProductArn: f.ProductArn ?? '',
    GeneratorId: f.GeneratorId ?? FINDING_GENERATOR_ID,
    AwsAccountId: f.AwsAccountId ?? '',
    Types: types,
    CreatedAt: f.CreatedAt ?? '',
    UpdatedAt: f.UpdatedAt ?? '',
    Severity: { Label: severity },
    FindingProviderFields: {
      Severity: { Label: (f.FindingProviderFields?.Severity?.Label ?? severity) as AsffFinding['Severity']['Label'] },
      Types: f.FindingProviderFields?.Types ?? types,
    },
    Title: f.Title ?? '',
    Description: f.Description ?? '',
    Resources: (f.Resources ?? []).map((r) => ({
      Type: 'AwsKmsKey' as const,
      Id: r.Id ?? '',
      Partition: r.Partition ?? 'aws',
      Region: r.Region ?? '',
      ...(r.Details?.AwsKmsKey?.KeyId ? { Details: { AwsKmsKey: { KeyId: r.Details.AwsKmsKey.KeyId, ...(r.Details.AwsKmsKey.KeyState ? { KeyState: r.Details.AwsKmsKey.KeyState } : {}) } } } : {}),
    })),
    Compliance: { Status: (f.Compliance?.Status ?? 'NOT_AVAILABLE') as AsffFinding['Compliance']['Status'] },
    RecordState: (f.RecordState ?? 'ACTIVE') as AsffFinding['RecordState'],
    ProductFields: Object.fromEntries(Object.entries(f.ProductFields ?? {}).filter(([k]) => !k.startsWith('aws/'))),
  };
}
