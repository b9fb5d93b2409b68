/**
 * A minimal AWS Security Hub (CSPM) for the same HTTP endpoint: `BatchImportFindings` and
 * `GetFindings`, as the unmodified `@aws-sdk/client-securityhub` sends them (the REST-JSON
 * protocol: `POST /findings/import` and `POST /findings`, SigV4 scope service `securityhub`; the
 * front, `front.ts`, turns the route into the dispatcher's operation, so faults, the call log and
 * latency apply as to any other service). Findings are stored per `ProductArn` + `Id` and updated
 * in place; tests read them back in process. Imports nothing from the product.
 *
 * Sources (Security Hub CSPM user guide and API reference, 2026):
 * - [asff-required-attributes] the required top-level ASFF attributes: AwsAccountId, CreatedAt,
 *   Description, GeneratorId, Id, ProductArn, Resources, SchemaVersion, Severity, Title, Types,
 *   UpdatedAt; [API_AwsSecurityFinding] their length constraints (Description 1-1024, GeneratorId
 *   1-512, Id 1-512, ProductArn 12-2048, Title 1-256), `ProductFields` "up to 50 key-value pairs",
 *   key up to 128 characters, value up to 2048;
 * - [guidelines-batchimportfindings] (partner guide) "up to 100 findings per batch, up to 240 KB
 *   per finding, and up to 6 MB per batch"; "10 TPS per account per Region, with a burst of 30";
 * - [finding-update-batchimportfindings] the account that calls must be the finding's
 *   `AwsAccountId`; a finding whose `Id` matches an existing one is an update, and an update whose
 *   `UpdatedAt` matches or precedes the stored `UpdatedAt` is ignored; [API_BatchImportFindings]
 *   "BatchImportFindings cannot be used to update ... Note, UserDefinedFields, VerificationState,
 *   Workflow" after a finding is created;
 * - [securityhub-custom-providers] the default product ARN of an account:
 *   `arn:aws:securityhub:<region>:<account-id>:product/<account-id>/default`;
 * - OBS (error texts seen in public issue threads, e.g. aws-samples/aws-securityhub-config-integration#3,
 *   prowler-cloud/prowler#778, aquasecurity/kube-bench#903): a finding that breaks the format is
 *   returned in `FailedFindings` with `ErrorCode` `InvalidInput` and `ErrorMessage` "Finding does not
 *   adhere to Amazon Finding Format. data should have required property 'Title'." or
 *   "... data.Resources[0].Type should NOT be shorter than 1 characters.".
 * INF (not documented, chosen here): the request-level `InvalidInputException` texts, the
 * `InvalidAccess` code for a finding of another account or product, that an ignored (not newer)
 * update still counts in `SuccessCount`, and the `GetFindings` order (import order) and tokens.
 */
import { toApiError, type EmulatedService } from './dispatcher.js';
import { KmsApiError } from './errors.js';
import type { RequestInput } from './validation.js';

/** The dispatcher's operation prefix for Security Hub calls (the smithy service shape's name). */
export const SECURITY_HUB_TARGET_PREFIX = 'SecurityHubAPIService.';
/** The SigV4 signing name of Security Hub. */
export const SECURITY_HUB_SIGNING_NAME = 'securityhub';
/** Findings per `BatchImportFindings` call [guidelines-batchimportfindings]. */
export const MAX_FINDINGS_PER_IMPORT = 100;
/** Bytes per finding (its JSON) [guidelines-batchimportfindings: 240 KB]. */
export const MAX_FINDING_BYTES = 240 * 1024;
/** The only ASFF schema version [asff-required-attributes SchemaVersion]. */
export const ASFF_SCHEMA_VERSION = '2018-10-08';

/** The REST routes of the operations served, as the SDK's model binds them (`@http` traits). */
const ROUTES: ReadonlyMap<string, string> = new Map([
  ['POST /findings/import', 'BatchImportFindings'],
  ['POST /findings', 'GetFindings'],
]);

/**
 * The operation a REST request names (`POST /findings/import` → `BatchImportFindings`), or
 * `undefined` for a route not served. The query string is ignored.
 */
export function securityHubOperationOf(method: string, path: string): string | undefined {
  const bare = path.split('?')[0] ?? path;
  return ROUTES.get(`${method.toUpperCase()} ${bare.replace(/\/+$/, '') || '/'}`);
}

/** A stored finding: the ASFF object as imported, plus what Security Hub adds (`Workflow`, `Region`). */
export type StoredFinding = Record<string, unknown> & { readonly Id: string; readonly ProductArn: string };

/** Filter of {@link SecurityHubStore.list}; omitted members match anything. */
export interface StoredFindingFilter {
  readonly id?: string;
  readonly productArn?: string;
  readonly recordState?: 'ACTIVE' | 'ARCHIVED';
}

/** The findings of one emulated account, keyed by product ARN and finding id. */
export class SecurityHubStore {
  private readonly findings = new Map<string, StoredFinding>();
  /** `BatchImportFindings` calls served (successful calls; refused ones are in the call log). */
  importCalls = 0;

  /** Copies of the matching findings, in first-import order. */
  list(filter: StoredFindingFilter = {}): StoredFinding[] {
    return [...this.findings.values()]
      .filter(
        (f) =>
          (filter.id === undefined || f.Id === filter.id) &&
          (filter.productArn === undefined || f.ProductArn === filter.productArn) &&
          (filter.recordState === undefined || (f['RecordState'] ?? 'ACTIVE') === filter.recordState),
      )
      .map((f) => structuredClone(f));
  }

  /** The stored finding, or `undefined`. */
  get(productArn: string, id: string): StoredFinding | undefined {
    return this.findings.get(keyOf(productArn, id));
  }

  /**
   * Sets `Workflow.Status` as a person would with `BatchUpdateFindings` (not served over HTTP).
   * @throws TypeError when the finding does not exist or the status is not one of NEW, NOTIFIED, RESOLVED, SUPPRESSED.
   */
  setWorkflowStatus(productArn: string, id: string, status: string): void {
    const finding = this.findings.get(keyOf(productArn, id));
    if (!finding) throw new TypeError(`no finding ${id} of ${productArn}`);
    if (!WORKFLOW_STATUSES.has(status)) throw new TypeError(`Workflow.Status must be one of ${[...WORKFLOW_STATUSES].join(', ')}, got '${status}'`);
    (finding as Record<string, unknown>)['Workflow'] = { Status: status };
  }

  /** Forgets every finding and the call count. */
  clear(): void {
    this.findings.clear();
    this.importCalls = 0;
  }

  /** @internal */
  put(finding: StoredFinding): void {
    this.findings.set(keyOf(finding.ProductArn, finding.Id), finding);
  }
}

const WORKFLOW_STATUSES: ReadonlySet<string> = new Set(['NEW', 'NOTIFIED', 'RESOLVED', 'SUPPRESSED']);
/** Fields the provider sets at creation only [API_BatchImportFindings]. */
const CUSTOMER_FIELDS = ['Note', 'UserDefinedFields', 'VerificationState', 'Workflow'] as const;

function keyOf(productArn: string, id: string): string {
  return `${productArn}\n${id}`;
}

/** What one call needs to know about its caller. */
export interface SecurityHubCallContext {
  readonly account: string;
  readonly region: string;
  readonly store: SecurityHubStore;
}

/** The account's default product ARN in a Region [securityhub-custom-providers]. */
export function defaultProductArnOf(region: string, account: string): string {
  const partition = region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  return `arn:${partition}:securityhub:${region}:${account}:product/${account}/default`;
}

function invalidInput(message: string): KmsApiError {
  return new KmsApiError('InvalidInputException', message, 400);
}

/**
 * BatchImportFindings. Request level: `Findings` missing, not a list, empty or longer than
 * {@link MAX_FINDINGS_PER_IMPORT} → `InvalidInputException`. Per finding, in order: the ASFF checks
 * of {@link asffProblem} (→ `InvalidInput`), then the caller's account and default product
 * (→ `InvalidAccess`). A valid finding is created, or updates the stored one when its `UpdatedAt`
 * is later (else it is ignored); `Note`, `UserDefinedFields`, `VerificationState` and `Workflow`
 * keep their stored values on an update. A new finding without a `Workflow` gets
 * `{ Status: 'NEW' }`; `RecordState` defaults to `ACTIVE`.
 * @throws KmsApiError `InvalidInputException` for request-level errors.
 */
export function batchImportFindings(ctx: SecurityHubCallContext, input: RequestInput): Record<string, unknown> {
  const findings = input['Findings'];
  if (!Array.isArray(findings)) throw invalidInput('Findings is required and must be a list of findings.');
  if (findings.length === 0 || findings.length > MAX_FINDINGS_PER_IMPORT) {
    throw invalidInput(`Findings must hold from 1 to ${MAX_FINDINGS_PER_IMPORT} findings; the request holds ${findings.length}.`);
  }
  const ownProduct = defaultProductArnOf(ctx.region, ctx.account);
  const failed: { Id: string; ErrorCode: string; ErrorMessage: string }[] = [];
  let succeeded = 0;
  for (const raw of findings) {
    const id = typeof (raw as { Id?: unknown })?.Id === 'string' ? (raw as { Id: string }).Id : '';
    const problem = asffProblem(raw);
    if (problem) {
      failed.push({ Id: id, ErrorCode: 'InvalidInput', ErrorMessage: `Finding does not adhere to Amazon Finding Format. ${problem}` });
      continue;
    }
    const finding = raw as StoredFinding;
    if (finding['AwsAccountId'] !== ctx.account) {
      failed.push({ Id: id, ErrorCode: 'InvalidAccess', ErrorMessage: `Account ${ctx.account} cannot import findings of account ${String(finding['AwsAccountId'])}.` });
      continue;
    }
    if (finding.ProductArn !== ownProduct) {
      failed.push({ Id: id, ErrorCode: 'InvalidAccess', ErrorMessage: `Account ${ctx.account} cannot import findings for product ${finding.ProductArn} in ${ctx.region}; its default product is ${ownProduct}.` });
      continue;
    }
    succeeded += 1;
    const existing = ctx.store.get(finding.ProductArn, finding.Id);
    if (existing && Date.parse(finding['UpdatedAt'] as string) <= Date.parse(existing['UpdatedAt'] as string)) continue;
    const stored: Record<string, unknown> = { ...structuredClone(finding), Region: ctx.region, RecordState: finding['RecordState'] ?? 'ACTIVE' };
    for (const field of CUSTOMER_FIELDS) {
      if (existing) {
        if (existing[field] === undefined) delete stored[field];
        else stored[field] = structuredClone(existing[field]);
      }
    }
    if (stored['Workflow'] === undefined) stored['Workflow'] = { Status: 'NEW' };
    ctx.store.put(stored as StoredFinding);
  }
  ctx.store.importCalls += 1;
  return { FailedCount: failed.length, SuccessCount: succeeded, FailedFindings: failed };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const SEVERITY_LABELS: ReadonlySet<string> = new Set(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
const COMPLIANCE_STATUSES: ReadonlySet<string> = new Set(['PASSED', 'WARNING', 'FAILED', 'NOT_AVAILABLE']);
const RECORD_STATES: ReadonlySet<string> = new Set(['ACTIVE', 'ARCHIVED']);

/**
 * The first way a finding breaks the ASFF rules this emulator checks, in the validator's wording
 * (OBS, see the module comment), or `undefined` when it keeps them: each required attribute
 * present, a non-empty string of its length limits (or a list of 1-32 resources each with a
 * non-empty `Id` and `Type`, a list of 1-50 non-empty `Types`, a `Severity` with a known `Label`),
 * `SchemaVersion` 2018-10-08, `CreatedAt` and `UpdatedAt` RFC 3339 timestamps, `AwsAccountId` 12
 * characters; optional `Compliance.Status`, `RecordState` of their enums; `ProductFields` at most
 * 50 string values, keys up to 128 and values up to 2048 characters; the finding's JSON at most
 * {@link MAX_FINDING_BYTES}.
 */
export function asffProblem(finding: unknown): string | undefined {
  if (typeof finding !== 'object' || finding === null || Array.isArray(finding)) return 'data should be object.';
  const f = finding as Record<string, unknown>;
  const required = ['AwsAccountId', 'CreatedAt', 'Description', 'GeneratorId', 'Id', 'ProductArn', 'Resources', 'SchemaVersion', 'Severity', 'Title', 'Types', 'UpdatedAt'];
  for (const name of required) {
    if (f[name] === undefined || f[name] === null) return `data should have required property '${name}'.`;
  }
  const text = (path: string, value: unknown, min: number, max: number): string | undefined => {
    if (typeof value !== 'string') return `${path} should be string.`;
    if (value.length < min) return `${path} should NOT be shorter than ${min} characters.`;
    if (value.length > max) return `${path} should NOT be longer than ${max} characters.`;
    if (!/\S/.test(value)) return `${path} should match pattern ".*\\S.*".`;
    return undefined;
  };
  const checks: (string | undefined)[] = [
    text('data.AwsAccountId', f['AwsAccountId'], 12, 12),
    text('data.Description', f['Description'], 1, 1024),
    text('data.GeneratorId', f['GeneratorId'], 1, 512),
    text('data.Id', f['Id'], 1, 512),
    text('data.ProductArn', f['ProductArn'], 12, 2048),
    text('data.Title', f['Title'], 1, 256),
    f['SchemaVersion'] === ASFF_SCHEMA_VERSION ? undefined : `data.SchemaVersion should be equal to one of the allowed values.`,
  ];
  for (const name of ['CreatedAt', 'UpdatedAt']) {
    const value = f[name];
    checks.push(typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value)) ? undefined : `data.${name} should match format "date-time".`);
  }
  const found = checks.find((c) => c !== undefined);
  if (found) return found;

  const resources = f['Resources'];
  if (!Array.isArray(resources)) return 'data.Resources should be array.';
  if (resources.length < 1 || resources.length > 32) return `data.Resources should NOT have ${resources.length < 1 ? 'fewer than 1' : 'more than 32'} items.`;
  for (const [i, resource] of resources.entries()) {
    if (typeof resource !== 'object' || resource === null) return `data.Resources[${i}] should be object.`;
    for (const member of ['Type', 'Id']) {
      const problem = text(`data.Resources[${i}].${member}`, (resource as Record<string, unknown>)[member], 1, member === 'Type' ? 256 : 512);
      if (problem) return problem;
    }
  }
  const types = f['Types'];
  if (!Array.isArray(types)) return 'data.Types should be array.';
  if (types.length < 1 || types.length > 50) return `data.Types should NOT have ${types.length < 1 ? 'fewer than 1' : 'more than 50'} items.`;
  for (const [i, type] of types.entries()) {
    const problem = text(`data.Types[${i}]`, type, 1, 128);
    if (problem) return problem;
  }
  const severity = f['Severity'] as Record<string, unknown>;
  if (typeof severity !== 'object' || Array.isArray(severity)) return 'data.Severity should be object.';
  if (!SEVERITY_LABELS.has(severity['Label'] as string)) return 'data.Severity.Label should be equal to one of the allowed values.';
  const compliance = f['Compliance'] as Record<string, unknown> | undefined;
  if (compliance !== undefined && (typeof compliance !== 'object' || compliance === null || !COMPLIANCE_STATUSES.has(compliance['Status'] as string))) {
    return 'data.Compliance.Status should be equal to one of the allowed values.';
  }
  if (f['RecordState'] !== undefined && !RECORD_STATES.has(f['RecordState'] as string)) return 'data.RecordState should be equal to one of the allowed values.';
  const fields = f['ProductFields'];
  if (fields !== undefined) {
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return 'data.ProductFields should be object.';
    const entries = Object.entries(fields);
    if (entries.length > 50) return 'data.ProductFields should NOT have more than 50 properties.';
    for (const [key, value] of entries) {
      if (key.length < 1 || key.length > 128) return `data.ProductFields key '${key.slice(0, 40)}' should be 1 to 128 characters.`;
      if (typeof value !== 'string') return `data.ProductFields['${key}'] should be string.`;
      if (value.length > 2048) return `data.ProductFields['${key}'] should NOT be longer than 2048 characters.`;
    }
  }
  if (Buffer.byteLength(JSON.stringify(finding), 'utf8') > MAX_FINDING_BYTES) return `data should NOT be larger than ${MAX_FINDING_BYTES} bytes.`;
  return undefined;
}

/** The string filters `GetFindings` serves, by filter name → the finding's value. */
const STRING_FIELDS: Readonly<Record<string, (f: StoredFinding) => string | undefined>> = {
  Id: (f) => f.Id,
  ProductArn: (f) => f.ProductArn,
  GeneratorId: (f) => f['GeneratorId'] as string,
  AwsAccountId: (f) => f['AwsAccountId'] as string,
  Title: (f) => f['Title'] as string,
  RecordState: (f) => (f['RecordState'] as string | undefined) ?? 'ACTIVE',
  ComplianceStatus: (f) => (f['Compliance'] as { Status?: string } | undefined)?.Status,
  SeverityLabel: (f) => (f['Severity'] as { Label?: string } | undefined)?.Label,
  WorkflowStatus: (f) => (f['Workflow'] as { Status?: string } | undefined)?.Status,
  ResourceId: (f) => ((f['Resources'] as { Id?: string }[] | undefined) ?? [])[0]?.Id,
};
const POSITIVE = new Set(['EQUALS', 'PREFIX']);
const NEGATIVE = new Set(['NOT_EQUALS', 'PREFIX_NOT_EQUALS']);

/**
 * GetFindings with the string filters of {@link STRING_FIELDS} (`Comparison` EQUALS, PREFIX,
 * NOT_EQUALS, PREFIX_NOT_EQUALS). As the API reference describes filters: several positive
 * filters on one field are joined by OR, negative ones by AND, and different fields by AND
 * [API_AwsSecurityFindingFilters]. `MaxResults` 1-100 (default 100), `NextToken` from the previous
 * page of the same query. Findings in first-import order.
 * @throws KmsApiError `InvalidInputException` for a filter name not served, a bad comparison,
 *   `MaxResults` out of range or a token of another query.
 */
export function getFindings(ctx: SecurityHubCallContext, input: RequestInput): Record<string, unknown> {
  const filters = (input['Filters'] ?? {}) as Record<string, unknown>;
  if (typeof filters !== 'object' || Array.isArray(filters)) throw invalidInput('Filters must be an object.');
  const tests: ((f: StoredFinding) => boolean)[] = [];
  for (const [name, list] of Object.entries(filters)) {
    const read = STRING_FIELDS[name];
    if (!read) throw invalidInput(`The embedded Security Hub does not serve the filter ${name}; it serves ${Object.keys(STRING_FIELDS).join(', ')}.`);
    if (!Array.isArray(list) || list.length === 0) throw invalidInput(`Filters.${name} must be a non-empty list.`);
    const positive: { value: string; prefix: boolean }[] = [];
    const negative: { value: string; prefix: boolean }[] = [];
    for (const entry of list as { Value?: unknown; Comparison?: unknown }[]) {
      const comparison = String(entry?.Comparison ?? '');
      if (typeof entry?.Value !== 'string' || !(POSITIVE.has(comparison) || NEGATIVE.has(comparison))) {
        throw invalidInput(`Filters.${name}: each filter needs a string Value and a Comparison of EQUALS, PREFIX, NOT_EQUALS or PREFIX_NOT_EQUALS.`);
      }
      (POSITIVE.has(comparison) ? positive : negative).push({ value: entry.Value, prefix: comparison.startsWith('PREFIX') });
    }
    const matches = (actual: string | undefined, m: { value: string; prefix: boolean }): boolean =>
      actual !== undefined && (m.prefix ? actual.startsWith(m.value) : actual === m.value);
    tests.push((f) => {
      const actual = read(f);
      return (positive.length === 0 || positive.some((m) => matches(actual, m))) && negative.every((m) => !matches(actual, m));
    });
  }
  const max = input['MaxResults'] === undefined ? 100 : input['MaxResults'];
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) throw invalidInput('MaxResults must be a whole number from 1 to 100.');
  const query = JSON.stringify(filters);
  let offset = 0;
  if (input['NextToken'] !== undefined && input['NextToken'] !== null && input['NextToken'] !== '') {
    const token = decodeToken(String(input['NextToken']));
    if (!token || token.query !== query) throw invalidInput('The NextToken is not valid for this query.');
    offset = token.offset;
  }
  // Findings are regional: GetFindings answers the findings of the Region it is sent to (without cross-Region aggregation).
  const all = ctx.store.list().filter((f) => f['Region'] === ctx.region && tests.every((t) => t(f)));
  const page = all.slice(offset, offset + max);
  const next = offset + max < all.length ? Buffer.from(JSON.stringify({ query, offset: offset + max })).toString('base64') : undefined;
  return { Findings: page, ...(next ? { NextToken: next } : {}) };
}

function decodeToken(token: string): { query: string; offset: number } | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { query?: unknown; offset?: unknown };
    return typeof parsed.query === 'string' && Number.isInteger(parsed.offset) && (parsed.offset as number) >= 0 ? { query: parsed.query, offset: parsed.offset as number } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Security Hub as a dispatcher service (operations named by the front from the REST route).
 * Throttling (injected, or a quota set for the operation) answers `LimitExceededException` (429),
 * the error the API lists for "throttling limits" [API_BatchImportFindings Errors]; an injected
 * server fault answers `InternalException` (500).
 */
export function createSecurityHubService(options: { account: string; store: SecurityHubStore }): EmulatedService {
  return {
    targetPrefix: SECURITY_HUB_TARGET_PREFIX,
    signingName: SECURITY_HUB_SIGNING_NAME,
    hasOperation: (operation) => operation === 'BatchImportFindings' || operation === 'GetFindings',
    throttlingError: () => new KmsApiError('LimitExceededException', 'Rate exceeded', 429),
    injectedInternalError: () => new KmsApiError('InternalException', 'Internal server error.', 500),
    run(call) {
      const ctx = { account: options.account, region: call.caller.region, store: options.store };
      try {
        return { output: call.operation === 'BatchImportFindings' ? batchImportFindings(ctx, call.input) : getFindings(ctx, call.input) };
      } catch (error) {
        return { error: toApiError(error) };
      }
    },
  };
}
