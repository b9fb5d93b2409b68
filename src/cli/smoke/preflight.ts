/**
 * What the smoke run checks before it creates anything, and how it explains a failure: who the
 * caller is (STS `GetCallerIdentity`, which needs no permission), whether each Region answers
 * (a `ListKeys` of one key), whether CloudTrail event history can be read, and what the run will
 * cost. Write permissions cannot be tried without writing, so each write step names the
 * permission it lacks when AWS denies it (`explainFailure`).
 */
import type { CallerIdentity } from '../../aws/caller-identity.js';
import type { EventHistoryReader } from '../../aws/cloudtrail-lookup.js';
import type { KmsGateway } from '../../reconcile/kms-gateway.js';

/** What a failure was about, for the explanation. */
export interface FailureContext {
  /** What the run was doing, e.g. `CreateKey of the primary key`. */
  readonly action: string;
  readonly region?: string;
  /** The IAM permission(s) the action needs, e.g. `kms:CreateKey and kms:TagResource`. */
  readonly permission?: string;
  /** The endpoint override in use (`--endpoint`), if any. */
  readonly endpoint?: string;
}

/** Error names that mean the credentials themselves are missing, expired or not valid. */
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRefreshRequired']);
const NOT_VALID = new Set(['InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'InvalidSignatureException', 'IncompleteSignatureException', 'MissingAuthenticationTokenException']);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError']);
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'TimeoutError', 'UND_ERR_SOCKET']);

/** The AWS error name of anything thrown: a classified error's `code`, else its `name`. */
export function errorCodeOf(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const { code, name } = error as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    if (typeof name === 'string' && name !== '') return name;
  }
  return 'UnknownError';
}

/** Whether an error means the credentials are missing, expired or not valid. */
export function isCredentialProblem(error: unknown): boolean {
  const code = errorCodeOf(error);
  return code === 'CredentialsProviderError' || EXPIRED.has(code) || NOT_VALID.has(code);
}

/** Whether an error is an authorization refusal (a missing permission). */
export function isAccessDenied(error: unknown): boolean {
  return DENIED.has(errorCodeOf(error));
}

/**
 * One sentence (or two) for a person: what failed, why, and what to do. Recognises missing,
 * expired and invalid credentials, a Region that is not enabled (AWS answers
 * `UnrecognizedClientException` / `InvalidClientTokenId` there, OBS: e.g. aws/chalice#1445,
 * epsagon/clear-lambda-storage#9), a missing permission (named from AWS's message, "... is not
 * authorized to perform: kms:CreateKey ...", else from `context.permission`), and an unreachable
 * endpoint.
 */
export function explainFailure(error: unknown, context: FailureContext): string {
  const code = errorCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const where = context.region ? ` in ${context.region}` : '';
  const localHint = context.endpoint
    ? ` (with --endpoint ${context.endpoint} any credentials work: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to anything)`
    : '';
  if (code === 'CredentialsProviderError') {
    return `${context.action}: no AWS credentials found: set AWS_PROFILE (and run aws sso login for an SSO profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY${localHint}`;
  }
  if (EXPIRED.has(code)) return `${context.action}${where}: the credentials have expired (${code}): refresh them (aws sso login, or new temporary credentials) and run again`;
  if (NOT_VALID.has(code)) {
    return (
      `${context.action}${where}: the credentials are not valid there (${code}: ${message}). ` +
      `If they work in other Regions, ${context.region ?? 'this Region'} is probably an opt-in Region not enabled for the account: enable it (AWS console, Account, AWS Regions) or leave it out of --regions`
    );
  }
  if (DENIED.has(code)) {
    const named = /perform: ([a-z0-9-]+:[A-Za-z0-9*]+)/.exec(message)?.[1];
    const permission = named ?? context.permission ?? 'a permission';
    return `${context.action}${where}: access denied: the caller lacks ${permission} (${message}). docs/SMOKE.md lists the IAM policy the run needs`;
  }
  if (UNREACHABLE.has(code)) {
    return `${context.action}${where}: cannot reach ${context.endpoint ?? `the AWS endpoint${where}`} (${code}): check the Region code, the network or the endpoint`;
  }
  return `${context.action}${where}: ${code}: ${message}`;
}

/** How one Region answered the preflight. */
export interface RegionProbe {
  readonly region: string;
  /** `ok`: KMS answered (even `AccessDeniedException`: the Region and credentials work). */
  readonly kms: 'ok' | 'failed';
  /** Whether `kms:ListKeys` is allowed (needed by `--cleanup-only` only). */
  readonly listKeys: 'allowed' | 'denied' | 'unknown';
  /** With `--cloudtrail`: whether `cloudtrail:LookupEvents` is allowed. */
  readonly lookupEvents?: 'allowed' | 'denied' | 'failed';
  /** Set when the Region cannot be used: the explanation. */
  readonly problem?: string;
  /** Set for something the run can live with (e.g. `kms:ListKeys` denied). */
  readonly warning?: string;
}

/**
 * Tries each Region with harmless reads: `ListKeys` (`Limit` 1) and, when `history` is given,
 * `LookupEvents` (`MaxResults` 1). Regions are probed one after another.
 */
export async function probeRegions(
  regions: readonly string[],
  kms: KmsGateway,
  history: EventHistoryReader | undefined,
  context: { readonly endpoint?: string; readonly now: () => number; readonly signal?: AbortSignal },
): Promise<RegionProbe[]> {
  const probes: RegionProbe[] = [];
  for (const region of regions) {
    let kmsState: RegionProbe['kms'] = 'ok';
    let listKeys: RegionProbe['listKeys'] = 'allowed';
    let problem: string | undefined;
    let warning: string | undefined;
    try {
      await kms.listKeys(region, { limit: 1 }, context.signal);
    } catch (error) {
      if (isAccessDenied(error)) {
        listKeys = 'denied';
        warning = explainFailure(error, { action: 'ListKeys', region, permission: 'kms:ListKeys' }) + ' (only --cleanup-only needs it)';
      } else {
        kmsState = 'failed';
        listKeys = 'unknown';
        problem = explainFailure(error, { action: 'ListKeys', region, permission: 'kms:ListKeys', ...(context.endpoint ? { endpoint: context.endpoint } : {}) });
      }
    }
    let lookupEvents: RegionProbe['lookupEvents'];
    if (history && kmsState === 'ok') {
      try {
        await history.lookupEvents(region, { startTime: new Date(context.now() - 3_600_000), maxResults: 1 }, context.signal);
        lookupEvents = 'allowed';
      } catch (error) {
        lookupEvents = isAccessDenied(error) ? 'denied' : 'failed';
        problem = explainFailure(error, { action: 'CloudTrail LookupEvents (--cloudtrail)', region, permission: 'cloudtrail:LookupEvents', ...(context.endpoint ? { endpoint: context.endpoint } : {}) });
      }
    }
    probes.push({
      region,
      kms: kmsState,
      listKeys,
      ...(lookupEvents ? { lookupEvents } : {}),
      ...(problem ? { problem } : {}),
      ...(warning ? { warning } : {}),
    });
  }
  return probes;
}

/** Hours in a month as AWS prorates a $/month price (365 × 24 / 12). */
const HOURS_PER_MONTH = 730;

/**
 * What a run costs, for the statement printed before it starts.
 * Source: AWS KMS pricing (https://aws.amazon.com/kms/pricing/): each KMS key costs $1/month
 * (prorated hourly), the same for "each primary and each replica multi-Region key"; "There is no
 * charge for customer managed KMS keys that ... are scheduled for deletion. If you cancel the
 * deletion during the waiting period, the ... key will incur charges as though it was never
 * scheduled for deletion"; 20,000 free requests a month, then $0.03 per 10,000 symmetric
 * requests. CloudTrail: "There are no CloudTrail charges for viewing the Event history"
 * (CloudTrail user guide, `view-cloudtrail-events`). STS `GetCallerIdentity` is free.
 *
 * @param replicaRegions - the replica Regions of the run.
 * @returns the lines of the statement.
 */
export function describeCost(replicaRegions: readonly string[], cleanupOnly = false): string[] {
  if (cleanupOnly) {
    return ['Cost: none. --cleanup-only reads (ListKeys, ListResourceTags, DescribeKey) and schedules deletions; keys scheduled for deletion are not charged.'];
  }
  const keys = 1 + replicaRegions.length;
  const perKeyHour = 1 / HOURS_PER_MONTH;
  return [
    `Cost: ${keys} KMS keys (1 multi-Region primary + ${replicaRegions.length} replica${replicaRegions.length === 1 ? '' : 's'}). Each costs $1/month, prorated hourly, while it exists;`,
    `  keys scheduled for deletion cost nothing. The run schedules them within minutes (at most about --replica-timeout later),`,
    `  so about ${keys} key-hour${keys === 1 ? '' : 's'}: $${(keys * perKeyHour).toFixed(4)} (at $${perKeyHour.toFixed(5)} per key-hour). Source: https://aws.amazon.com/kms/pricing/`,
    `  Requests: fewer than 100 KMS requests, inside the free tier of 20,000 a month (else $0.03 per 10,000).`,
    `  STS GetCallerIdentity and CloudTrail event history (LookupEvents) cost nothing.`,
    `  A key the run cannot schedule for deletion costs $1/month until it is: the run names it and exits 2;`,
    `  npm run smoke -- --cleanup-only --regions "..." --yes finds leftovers by their kms-replicas-smoke tag.`,
  ];
}

/** The caller line printed before the run. */
export function describeCaller(caller: CallerIdentity): string {
  return `caller ${caller.arn} (account ${caller.account})`;
}
