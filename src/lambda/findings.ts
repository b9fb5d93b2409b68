/**
 * Security Hub findings: one ASFF finding per multi-Region key family that needs attention
 * (docs/SECURITY-HUB.md). Pure: what to send for a reconcile's outcome, given the finding
 * Security Hub already holds for the family; the port ({@link FindingsStore}) is implemented with
 * `@aws-sdk/client-securityhub` in `src/aws/securityhub.ts`, and the side reports that call it are
 * in `finding-reports.ts`.
 *
 * The ASFF rules relied on (Security Hub CSPM user guide and API reference):
 * - [asff-required-attributes] every finding carries AwsAccountId, CreatedAt, Description,
 *   GeneratorId, Id, ProductArn, Resources, SchemaVersion (`2018-10-08`), Severity, Title, Types,
 *   UpdatedAt; `CreatedAt` "indicates when the potential security issue or event captured by a
 *   finding was created";
 * - [API_AwsSecurityFinding] Description at most 1,024 characters, Title 256, Id and GeneratorId
 *   512; `ProductFields` "can contain up to 50 key-value pairs", keys up to 128 characters,
 *   values up to 2,048 (strings only);
 * - [securityhub-custom-providers] an account imports its own findings with its default product
 *   ARN `arn:aws:securityhub:<region>:<account-id>:product/<account-id>/default`, and updates one
 *   by re-sending it whole with the same `Id` and a later `UpdatedAt`;
 * - [finding-update-batchimportfindings] an update whose `UpdatedAt` matches or precedes the
 *   stored one is ignored; [API_BatchImportFindings] after creation `BatchImportFindings` cannot
 *   update `Note`, `UserDefinedFields`, `VerificationState`, `Workflow` (so no finding here ever
 *   carries them), and providers give `Severity` and `Types` through `FindingProviderFields`;
 * - [securityhub-findings] Security Hub deletes an active finding not updated for 90 days (an
 *   archived one after 30).
 */
import type { KeyState, ReconcileOutcome, RegionStatus, RegionStatusCode } from '../reconcile/types.js';
import { isProblemStatus, REPLICA_EXISTS_STATUSES } from '../reconcile/statuses.js';

/** ASFF `Severity.Label`. */
export type SeverityLabel = 'INFORMATIONAL' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
/** ASFF `Compliance.Status`. */
export type ComplianceStatus = 'PASSED' | 'WARNING' | 'FAILED' | 'NOT_AVAILABLE';
/** ASFF `RecordState`. */
export type RecordState = 'ACTIVE' | 'ARCHIVED';

/** One ASFF finding, as this reconciler sends it (a subset of `AwsSecurityFinding`). */
export interface AsffFinding {
  readonly SchemaVersion: typeof ASFF_SCHEMA_VERSION;
  readonly Id: string;
  readonly ProductArn: string;
  readonly GeneratorId: string;
  readonly AwsAccountId: string;
  readonly Types: readonly string[];
  /** RFC 3339 with milliseconds, e.g. `2026-12-02T10:00:00.000Z`. */
  readonly CreatedAt: string;
  readonly UpdatedAt: string;
  readonly Severity: { readonly Label: SeverityLabel };
  readonly FindingProviderFields: { readonly Severity: { readonly Label: SeverityLabel }; readonly Types: readonly string[] };
  readonly Title: string;
  readonly Description: string;
  readonly Resources: readonly AsffResource[];
  readonly Compliance: { readonly Status: ComplianceStatus };
  readonly RecordState: RecordState;
  /** String values only; at most {@link MAX_PRODUCT_FIELDS} entries. */
  readonly ProductFields: Readonly<Record<string, string>>;
}

/** The primary key a finding is about. */
export interface AsffResource {
  readonly Type: 'AwsKmsKey';
  /** The primary key's ARN. */
  readonly Id: string;
  readonly Partition: string;
  readonly Region: string;
  readonly Details?: { readonly AwsKmsKey: { readonly KeyId: string; readonly KeyState?: string } };
}

/**
 * The port to Security Hub (one account and Region: its default product).
 * Implemented by `createSecurityHubFindings` (`src/aws/securityhub.ts`).
 */
export interface FindingsStore {
  /**
   * Imports findings, in `BatchImportFindings` calls of at most 100 findings.
   * @returns how many were accepted and, per finding Security Hub did not take, its id, the
   *   error code (`FailedFindings[].ErrorCode`, or the call's error name when a whole call failed)
   *   and message. Never rejects for a refused call: its findings are listed failed.
   */
  importFindings(findings: readonly AsffFinding[], signal?: AbortSignal): Promise<FindingsImportResult>;
  /**
   * The `ACTIVE` findings of this reconciler (its `GeneratorId`) in this account's default
   * product, all of them or those with the given ids (`GetFindings`, 100 per page).
   * @throws {RetryableError | TerminalError} when a `GetFindings` call fails.
   */
  activeFindings(ids?: readonly string[], signal?: AbortSignal): Promise<AsffFinding[]>;
}

/** What {@link FindingsStore.importFindings} reports. */
export interface FindingsImportResult {
  readonly imported: number;
  readonly failed: readonly { readonly id: string; readonly code: string; readonly message: string }[];
  /** `BatchImportFindings` calls made. */
  readonly calls: number;
}

/** Where a family's findings are kept: this account's default product in the stack's Region. */
export interface FindingScope {
  readonly account: string;
  /** The stack's Region (its Security Hub); only families whose primary key lives here are reported. */
  readonly region: string;
  readonly partition: string;
}

/** The only ASFF schema version [asff-required-attributes]. */
export const ASFF_SCHEMA_VERSION = '2018-10-08';
/** `GeneratorId` of every finding of this reconciler (the `GetFindings` filter that finds them). */
export const FINDING_GENERATOR_ID = 'kms-replica-reconciler/multi-region-replication';
/** ASFF finding type: namespace / category / classifier [asff-type-taxonomy]. */
export const FINDING_TYPE = 'Software and Configuration Checks/AWS Security Best Practices/KMS multi-Region key replication';
/** Prefix of this reconciler's `ProductFields` keys (Security Hub adds its own `aws/securityhub/*`). */
export const PRODUCT_FIELD_PREFIX = 'kms-replica-reconciler/';
/** `ProductFields` entries allowed per finding [API_AwsSecurityFinding]. */
export const MAX_PRODUCT_FIELDS = 50;
/** Findings per `BatchImportFindings` call [guidelines-batchimportfindings]. */
export const FINDINGS_PER_IMPORT = 100;
/**
 * An open finding whose facts did not change is re-sent when its `UpdatedAt` is older than this
 * (7 days, ms), so it never reaches the 90 days after which Security Hub deletes an active finding
 * [securityhub-findings], without paying an ingestion per finding on every hourly sweep.
 */
export const FINDING_REFRESH_MS = 7 * 24 * 60 * 60 * 1000;

/** The default product ARN of the account in the scope's Region [securityhub-custom-providers]. */
export function productArnOf(scope: FindingScope): string {
  return `arn:${scope.partition}:securityhub:${scope.region}:${scope.account}:product/${scope.account}/default`;
}

/**
 * The finding id of a family: stable (the family's `mrk-` key id and the account, never the
 * event), so every import for the family updates one finding.
 */
export function findingIdOf(account: string, familyKeyId: string): string {
  return `kms-replica-reconciler/${account}/${familyKeyId}`;
}

/** Replica-Region statuses where a replica exists (the status table's `replicaExists`), but an extra one. */
const PRESENT_STATUSES: ReadonlySet<RegionStatusCode> = new Set(REPLICA_EXISTS_STATUSES.filter((s) => s !== 'extra' && s !== 'restore-planned' && s !== 'blocked-pending-deletion'));

/**
 * How a reconcile's outcome stands for Security Hub in `scope`:
 * - `not-ours`: the family is reported by another Region's stack (its primary lives elsewhere,
 *   or the key is a replica), or nothing is known of its primary;
 * - `problem`: the family needs attention (a status that needs a person, a single-Region key
 *   with the tag, a primary that is not `Enabled`): one active finding;
 * - `resolved`: nothing needs attention (converged, untagged, or the key is gone): any open
 *   finding is resolved.
 */
export function findingStateOf(outcome: ReconcileOutcome, scope: FindingScope): 'not-ours' | 'problem' | 'resolved' {
  if (outcome.result === 'replica') return 'not-ours';
  if (outcome.primaryRegion !== undefined && outcome.primaryRegion !== scope.region) return 'not-ours';
  if (outcome.result === 'key-not-found') return 'resolved';
  if (outcome.primaryRegion === undefined || outcome.primaryArn === undefined) return 'not-ours';
  if (outcome.result === 'not-multi-region' || outcome.result === 'primary-not-enabled') return 'problem';
  return outcome.regions.some((r) => isProblemStatus(r.status)) ? 'problem' : 'resolved';
}

const SEVERITY_OF: Partial<Record<RegionStatusCode, SeverityLabel>> = {
  'blocked-pending-deletion': 'HIGH',
  failed: 'HIGH',
  missing: 'MEDIUM',
  'restore-planned': 'MEDIUM',
  'replica-disabled': 'MEDIUM',
  'pending-import': 'MEDIUM',
  'material-pending': 'MEDIUM',
  'invalid-region': 'LOW',
  'region-not-allowed': 'LOW',
  extra: 'LOW',
};
const SEVERITY_RANK: readonly SeverityLabel[] = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

/**
 * The severity of a family's problems: HIGH when a replica is scheduled for deletion or a write
 * failed (the family loses or cannot gain a Region), MEDIUM for a missing, disabled or unusable
 * replica and a primary that is not `Enabled`, LOW for a tag token that names no usable Region,
 * an extra replica and a single-Region key carrying the tag.
 */
export function severityOf(outcome: ReconcileOutcome): SeverityLabel {
  let label: SeverityLabel = outcome.result === 'primary-not-enabled' ? 'MEDIUM' : outcome.result === 'not-multi-region' ? 'LOW' : 'INFORMATIONAL';
  for (const r of outcome.regions) {
    const s = SEVERITY_OF[r.status];
    if (s && SEVERITY_RANK.indexOf(s) > SEVERITY_RANK.indexOf(label)) label = s;
  }
  return label;
}

/** FAILED for MEDIUM and worse, WARNING for LOW (a misconfigured tag, an extra replica). */
function complianceOf(severity: SeverityLabel): ComplianceStatus {
  return severity === 'LOW' || severity === 'INFORMATIONAL' ? 'WARNING' : 'FAILED';
}

function regionsWith(regions: readonly RegionStatus[], statuses: ReadonlySet<RegionStatusCode>): string {
  return regions
    .filter((r) => statuses.has(r.status))
    .map((r) => r.region)
    .join(' ');
}

/**
 * The multi-Region facts of an outcome as `ProductFields` (strings; Region lists space-separated,
 * `''` when none): desired, present, missing, blocked, failed Regions, bad tag tokens, extra
 * replicas, the primary key's Region and state, the whole-key result. 14 entries, well under
 * {@link MAX_PRODUCT_FIELDS}; each value at most 2,048 characters (cut with `…`).
 */
export function productFieldsOf(outcome: ReconcileOutcome): Record<string, string> {
  const regions = outcome.regions;
  const field = (name: string): string => `${PRODUCT_FIELD_PREFIX}${name}`;
  const fields: Record<string, string> = {
    ProviderName: 'kms-replica-reconciler',
    ProviderVersion: '1',
    [field('FamilyKeyId')]: outcome.keyId,
    [field('Result')]: outcome.result,
    [field('PrimaryRegion')]: outcome.primaryRegion ?? '',
    [field('PrimaryKeyState')]: outcome.primaryKeyState ?? '',
    [field('DesiredRegions')]: regions.filter((r) => r.status !== 'extra').map((r) => r.region).join(' '),
    [field('PresentRegions')]: regionsWith(regions, PRESENT_STATUSES),
    [field('MissingRegions')]: regionsWith(regions, new Set(['missing', 'restore-planned'])),
    [field('BlockedRegions')]: regionsWith(regions, new Set(['blocked-pending-deletion', 'replica-disabled', 'pending-import', 'material-pending'])),
    [field('FailedRegions')]: regionsWith(regions, new Set(['failed'])),
    [field('InvalidTagTokens')]: regionsWith(regions, new Set(['invalid-region', 'region-not-allowed'])),
    [field('ExtraRegions')]: regionsWith(regions, new Set(['extra'])),
    [field('DryRun')]: String(outcome.dryRun),
  };
  // A tag value holds at most 256 characters, so the lists fit; a value is cut at 2,048 all the same.
  for (const [key, value] of Object.entries(fields)) fields[key] = truncate(value, MAX_PRODUCT_FIELD_VALUE);
  return fields;
}

/** Characters per `ProductFields` value [API_AwsSecurityFinding]. */
const MAX_PRODUCT_FIELD_VALUE = 2048;

const STATUS_PHRASES: Partial<Record<RegionStatusCode, string>> = {
  'blocked-pending-deletion': 'replica scheduled for deletion',
  failed: 'replication failed',
  missing: 'no replica',
  'restore-planned': 'replica scheduled for deletion (restore planned, dry run)',
  'replica-disabled': 'replica disabled',
  'pending-import': 'replica waits for its key material',
  'material-pending': "replica lacks the primary's new key material",
  'invalid-region': 'not a Region code',
  'region-not-allowed': 'Region not allowed',
  extra: 'replica not named by the tag',
};

/**
 * `text` cut to at most `max` UTF-16 code units (the strictest way to count ASFF lengths), ending
 * in `…` when cut; never between the two halves of a surrogate pair (a lone surrogate is not
 * valid UTF-8 in the JSON sent).
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

function titleOf(outcome: ReconcileOutcome, state: 'problem' | 'resolved'): string {
  if (state === 'resolved') return truncate(`KMS multi-Region key ${outcome.keyId} is replicated as its tag asks`, 256);
  if (outcome.result === 'not-multi-region') return truncate(`KMS key ${outcome.keyId} carries the Region tag but is not a multi-Region key`, 256);
  if (outcome.result === 'primary-not-enabled') return truncate(`KMS multi-Region primary key ${outcome.keyId} is ${outcome.primaryKeyState ?? 'not Enabled'}: no replica can be created`, 256);
  return truncate(`KMS multi-Region key ${outcome.keyId} is not replicated as its tag asks`, 256);
}

function descriptionOf(outcome: ReconcileOutcome): string {
  const problems = outcome.regions.filter((r) => isProblemStatus(r.status)).map((r) => `${r.region}: ${STATUS_PHRASES[r.status] ?? r.status}`);
  const head =
    outcome.result === 'not-multi-region'
      ? 'A single-Region key carries the replica Region tag; it can never be replicated.'
      : outcome.result === 'primary-not-enabled'
        ? `The primary key in ${outcome.primaryRegion} is ${outcome.primaryKeyState}; ReplicateKey needs it Enabled.`
        : `The primary key in ${outcome.primaryRegion} names Regions that do not hold a usable replica.`;
  return truncate(problems.length > 0 ? `${head} ${problems.join('; ')}.` : head, 1024);
}

function resourceOf(outcome: ReconcileOutcome, scope: FindingScope): AsffResource {
  return {
    Type: 'AwsKmsKey',
    Id: outcome.primaryArn as string,
    Partition: scope.partition,
    Region: outcome.primaryRegion ?? scope.region,
    Details: { AwsKmsKey: { KeyId: outcome.keyId, ...(outcome.primaryKeyState ? { KeyState: outcome.primaryKeyState as KeyState } : {}) } },
  };
}

/**
 * The finding of a family, active (`problem`) or resolved (`Compliance.Status: PASSED`,
 * `RecordState: ARCHIVED`, severity INFORMATIONAL).
 *
 * @param createdAt - `CreatedAt` of the family's open finding when Security Hub holds one (kept,
 *   so an update never moves when the issue was first captured), else `now`.
 * @param now - the reconcile's time: `UpdatedAt`.
 */
export function familyFinding(outcome: ReconcileOutcome, state: 'problem' | 'resolved', scope: FindingScope, now: Date, createdAt?: string): AsffFinding {
  const severity: SeverityLabel = state === 'problem' ? severityOf(outcome) : 'INFORMATIONAL';
  const types = [FINDING_TYPE];
  return {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: findingIdOf(scope.account, outcome.keyId),
    ProductArn: productArnOf(scope),
    GeneratorId: FINDING_GENERATOR_ID,
    AwsAccountId: scope.account,
    Types: types,
    CreatedAt: createdAt ?? now.toISOString(),
    UpdatedAt: now.toISOString(),
    Severity: { Label: severity },
    FindingProviderFields: { Severity: { Label: severity }, Types: types },
    Title: titleOf(outcome, state),
    Description: state === 'problem' ? descriptionOf(outcome) : truncate(`Every Region the tag names holds a usable replica, or the family needs nothing any more (${outcome.result}).`, 1024),
    Resources: [resourceOf(outcome, scope)],
    Compliance: { Status: state === 'problem' ? complianceOf(severity) : 'PASSED' },
    RecordState: state === 'problem' ? 'ACTIVE' : 'ARCHIVED',
    ProductFields: productFieldsOf(outcome),
  };
}

/**
 * What to send for one family's outcome, given its open finding (or none):
 * - `problem`: the active finding, keeping the open one's `CreatedAt`; nothing when the open one
 *   already says the same (severity, compliance status and every `kms-replica-reconciler/*`
 *   product field) and was updated less than {@link FINDING_REFRESH_MS} ago;
 * - `resolved`: the archived finding when one is open (never an archive for a family that has no
 *   open finding: that would create a finding for every healthy key);
 * - `not-ours`: nothing.
 */
export function findingToSend(outcome: ReconcileOutcome, open: AsffFinding | undefined, scope: FindingScope, now: Date): AsffFinding | undefined {
  const state = findingStateOf(outcome, scope);
  if (state === 'not-ours') return undefined;
  if (state === 'resolved') {
    if (!open) return undefined;
    // A key that is gone has no primary to describe: the stored finding is resolved as it stands.
    return outcome.primaryArn === undefined ? orphanResolved(open, 'family-not-found', now) : familyFinding(outcome, 'resolved', scope, now, open.CreatedAt);
  }
  const finding = familyFinding(outcome, 'problem', scope, now, open?.CreatedAt);
  if (open && saysTheSame(open, finding) && now.getTime() - Date.parse(open.UpdatedAt) < FINDING_REFRESH_MS) return undefined;
  return finding;
}

/**
 * Resolves an open finding whose family this Region no longer reports (its primary moved to
 * another Region, or the key is gone): the stored finding, archived and `PASSED`, with
 * `kms-replica-reconciler/Resolution` saying why.
 */
export function orphanResolved(open: AsffFinding, reason: 'primary-moved' | 'family-not-found', now: Date): AsffFinding {
  return {
    ...open,
    UpdatedAt: now.toISOString(),
    Severity: { Label: 'INFORMATIONAL' },
    FindingProviderFields: { Severity: { Label: 'INFORMATIONAL' }, Types: open.Types },
    Compliance: { Status: 'PASSED' },
    RecordState: 'ARCHIVED',
    ProductFields: { ...open.ProductFields, [`${PRODUCT_FIELD_PREFIX}Resolution`]: reason },
  };
}

function saysTheSame(open: AsffFinding, next: AsffFinding): boolean {
  if (open.Severity.Label !== next.Severity.Label || open.Compliance.Status !== next.Compliance.Status || open.RecordState !== next.RecordState) return false;
  const ours = (fields: Readonly<Record<string, string>>): string =>
    JSON.stringify(Object.entries(fields).filter(([k]) => k.startsWith(PRODUCT_FIELD_PREFIX)).sort(([a], [b]) => (a < b ? -1 : 1)));
  return ours(open.ProductFields) === ours(next.ProductFields);
}
