/**
 * The one typed reader of the environment (design §7). Every setting is documented in the
 * README; an unknown or malformed value fails at start-up with the variable named.
 */
import * as z from 'zod/mini';
import { parseKmsRequestQuotas, type KmsRequestQuotas } from '../pacing/kms-quotas.js';
import { REGION_CODE_PATTERN } from '../reconcile/regions.js';

/** Log levels understood by the Powertools Logger. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;

/** The reconciler's settings, read once per container. */
export interface Config {
  /** `REPLICA_REGIONS_TAG`: the tag key that names the desired Regions. Default `replica-regions`. */
  readonly tagKey: string;
  /** `ALLOWED_REGIONS`: Regions replicas may be created in; `undefined` = any of the partition. */
  readonly allowedRegions?: ReadonlySet<string>;
  /** `ON_PENDING_DELETION`: `report` (default) or `restore`. */
  readonly onPendingDeletion: 'report' | 'restore';
  /** `REPLICA_POLICY`: `default` (KMS default key policy, default) or `primary`. */
  readonly replicaPolicy: 'default' | 'primary';
  /** `COPY_TAGS`: copy the primary's tags to new replicas. Default `true`. */
  readonly copyTags: boolean;
  /** `COPY_DESCRIPTION`: copy the primary's description to new replicas. Default `true`. */
  readonly copyDescription: boolean;
  /** `OUTCOME_EVENT_BUS`: name or ARN of the EventBridge bus for outcome events; unset = none. */
  readonly outcomeEventBus?: string;
  /** The bus's Region: the ARN's, else `AWS_REGION`. Set whenever `outcomeEventBus` is. */
  readonly outcomeEventBusRegion?: string;
  /** `QUOTA_SHARE`: share (0 < x ≤ 1) of each KMS request quota the reconciler may use. Default 0.5. */
  readonly quotaShare: number;
  /**
   * `KMS_REQUEST_QUOTAS`: this account's raised request quotas (requests per second), e.g.
   * `ReplicateKey=20 CreateKey=40`; unset operations keep the documented quota (`KMS_REQUEST_QUOTAS`
   * in `src/pacing/kms-quotas.ts`). Default: none.
   */
  readonly kmsRequestQuotas?: Partial<KmsRequestQuotas>;
  /** `DRY_RUN`: observe and plan, write nothing. Default `false`. */
  readonly dryRun: boolean;
  /** `LOG_LEVEL` (or `POWERTOOLS_LOG_LEVEL`). Default `INFO`. */
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /**
   * `RECONCILER_PRINCIPAL_ARN`: the IAM role (or user) ARN the reconciler calls KMS as. Events
   * whose `userIdentity` is this principal are our own echoes and are skipped without a read.
   */
  readonly reconcilerPrincipalArn?: string;
  /**
   * `ACCOUNT_ID`: the 12-digit AWS account the reconciler works for (the stack sets it from
   * `AWS::AccountId`). Key events of any other account, or naming another account's key, are
   * skipped without a KMS call. Unset (the CLI, local runs): no event is skipped by account.
   */
  readonly accountId?: string;
  /** `AWS_ENDPOINT_URL_KMS`, else `AWS_ENDPOINT_URL`: a KMS-compatible endpoint (LocalStack, the embedded KMS). */
  readonly kmsEndpoint?: string;
  /** `AWS_ENDPOINT_URL_EVENTBRIDGE`, else `AWS_ENDPOINT_URL`. */
  readonly eventBridgeEndpoint?: string;
  /** `AWS_REGION`: the Region this deployment runs in (the sweep's Region). */
  readonly homeRegion?: string;
  /**
   * `KEY_EVENT_QUEUE`: name of the stack's key-event SQS queue, the same in every Region with a
   * stack. Set (by the stack): the sweep queues repairs there instead of writing, and a key-event
   * container forwards a family whose primary lives in another Region to that Region's queue.
   * Unset (CLI, local tools): writes are made directly. Default: unset.
   */
  readonly keyEventQueue?: string;
  /**
   * `KEY_EVENT_MAX_CONCURRENCY`: M, the event source mapping's `MaximumConcurrency`: each
   * key-event container paces to 1/M of the stack's write budget. Default 1.
   */
  readonly keyEventMaxConcurrency: number;
  /**
   * `STACK_REGIONS`: the Regions where this stack is deployed (`npm run deploy` sets its
   * `--regions`). Budgets several stacks spend in one Region are divided by their number.
   * Default: the home Region alone.
   */
  readonly stackRegions?: ReadonlySet<string>;
  /** `AWS_ENDPOINT_URL_SQS`, else `AWS_ENDPOINT_URL`. */
  readonly sqsEndpoint?: string;
  /**
   * `SECURITY_HUB_FINDINGS`: `on` imports one AWS Security Hub finding per key family that needs
   * attention, from the reconciles and the sweep, and resolves it when the family converges
   * (docs/SECURITY-HUB.md); needs `ACCOUNT_ID` and `AWS_REGION` (the stack sets both). Default `off`.
   */
  readonly securityHubFindings: boolean;
  /** `AWS_ENDPOINT_URL_SECURITYHUB`, else `AWS_ENDPOINT_URL`. */
  readonly securityHubEndpoint?: string;
}

/** Thrown by `loadConfig`; the message lists every bad variable with what it accepts. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** @param problems - one line per bad variable. */
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** A setting's reader: the trimmed value (undefined when unset or blank) to a value, or a problem. */
type SettingReader<T> = (value: string | undefined) => T | Problem;

/** What a reader returns for a bad value: the message names the variable and what it accepts. */
class Problem {
  constructor(readonly message: string) {}
}

/** A zod/mini schema for one environment variable read by `read`. */
function setting<T>(read: SettingReader<T>) {
  return z.pipe(
    z.optional(z.string()),
    z.transform((raw: string | undefined, ctx) => {
      const value = raw === undefined || raw.trim() === '' ? undefined : raw.trim();
      const result = read(value);
      if (result instanceof Problem) {
        ctx.issues.push({ code: 'custom', message: result.message, input: raw });
        return z.NEVER;
      }
      return result;
    }),
  );
}

const bool = (name: string, fallback: boolean) =>
  setting((value) => {
    if (value === undefined) return fallback;
    if (value.toLowerCase() === 'true') return true;
    if (value.toLowerCase() === 'false') return false;
    return new Problem(`${name} must be true or false, got '${value}'`);
  });

const choice = <T extends string>(name: string, values: readonly [T, ...T[]], fallback: T) =>
  setting((value): T | Problem => {
    if (value === undefined) return fallback;
    const found = values.find((allowed) => allowed.toLowerCase() === value.toLowerCase());
    return found ?? new Problem(`${name} must be one of ${values.join(', ')}; got '${value}'`);
  });

const optionalText = setting((value) => value);

const url = (name: string) =>
  setting((value) => {
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(value);
      if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return value;
    } catch {
      // reported below
    }
    return new Problem(`${name} must be an http(s) URL, got '${value}'`);
  });

const schema = z.object({
  REPLICA_REGIONS_TAG: setting((value) => {
    const tagKey = value ?? 'replica-regions';
    if (tagKey.length > 128 || tagKey.toLowerCase().startsWith('aws:')) {
      return new Problem(`REPLICA_REGIONS_TAG must be a tag key of 1-128 characters not starting with 'aws:', got '${tagKey}'`);
    }
    return tagKey;
  }),
  ALLOWED_REGIONS: setting((value) => {
    if (value === undefined) return undefined;
    const regions = value.split(/[\s,;]+/).filter((r) => r !== '');
    const bad = regions.filter((r) => !REGION_CODE_PATTERN.test(r));
    if (bad.length > 0) {
      return new Problem(`ALLOWED_REGIONS must list Region codes such as 'us-west-2 eu-west-1'; not Region codes: ${bad.join(', ')}`);
    }
    return new Set(regions);
  }),
  ON_PENDING_DELETION: choice('ON_PENDING_DELETION', ['report', 'restore'], 'report'),
  REPLICA_POLICY: choice('REPLICA_POLICY', ['default', 'primary'], 'default'),
  COPY_TAGS: bool('COPY_TAGS', true),
  COPY_DESCRIPTION: bool('COPY_DESCRIPTION', true),
  OUTCOME_EVENT_BUS: optionalText,
  KMS_REQUEST_QUOTAS: setting((value) => {
    if (value === undefined) return undefined;
    try {
      return parseKmsRequestQuotas(value);
    } catch (error) {
      return new Problem(
        `KMS_REQUEST_QUOTAS must list Operation=requests-per-second pairs such as 'ReplicateKey=20 CreateKey=40': ${(error as Error).message}`,
      );
    }
  }),
  QUOTA_SHARE: setting((value) => {
    if (value === undefined) return 0.5;
    const share = Number(value);
    if (!Number.isFinite(share) || share <= 0 || share > 1) {
      return new Problem(`QUOTA_SHARE must be a number greater than 0 and at most 1, got '${value}'`);
    }
    return share;
  }),
  DRY_RUN: bool('DRY_RUN', false),
  LOG_LEVEL: setting((value): (typeof LOG_LEVELS)[number] | undefined | Problem => {
    if (value === undefined) return undefined;
    return LOG_LEVELS.find((l) => l === value.toUpperCase()) ?? new Problem(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got '${value}'`);
  }),
  POWERTOOLS_LOG_LEVEL: setting((value): (typeof LOG_LEVELS)[number] | undefined | Problem => {
    if (value === undefined) return undefined;
    return (
      LOG_LEVELS.find((l) => l === value.toUpperCase()) ??
      new Problem(`POWERTOOLS_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got '${value}'`)
    );
  }),
  RECONCILER_PRINCIPAL_ARN: setting((value) => {
    if (value === undefined || /^arn:[a-z-]+:(iam|sts)::\d{12}:\S+$/.test(value)) return value;
    return new Problem(
      `RECONCILER_PRINCIPAL_ARN must be an IAM role or user ARN such as arn:aws:iam::111122223333:role/name, got '${value}'`,
    );
  }),
  ACCOUNT_ID: setting((value) => {
    if (value === undefined || /^\d{12}$/.test(value)) return value;
    return new Problem(`ACCOUNT_ID must be a 12-digit AWS account id such as 111122223333, got '${value}'`);
  }),
  AWS_ENDPOINT_URL: url('AWS_ENDPOINT_URL'),
  AWS_ENDPOINT_URL_KMS: url('AWS_ENDPOINT_URL_KMS'),
  AWS_ENDPOINT_URL_EVENTBRIDGE: url('AWS_ENDPOINT_URL_EVENTBRIDGE'),
  AWS_ENDPOINT_URL_SQS: url('AWS_ENDPOINT_URL_SQS'),
  AWS_ENDPOINT_URL_SECURITYHUB: url('AWS_ENDPOINT_URL_SECURITYHUB'),
  SECURITY_HUB_FINDINGS: setting((value) => {
    if (value === undefined) return false;
    if (value.toLowerCase() === 'on') return true;
    if (value.toLowerCase() === 'off') return false;
    return new Problem(`SECURITY_HUB_FINDINGS must be on or off, got '${value}'`);
  }),
  KEY_EVENT_QUEUE: setting((value) => {
    if (value === undefined || /^[A-Za-z0-9_-]{1,80}$/.test(value)) return value;
    return new Problem(`KEY_EVENT_QUEUE must be an SQS queue name (1-80 letters, digits, - and _), got '${value}'`);
  }),
  KEY_EVENT_MAX_CONCURRENCY: setting((value) => {
    if (value === undefined) return 1;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 1000) return new Problem(`KEY_EVENT_MAX_CONCURRENCY must be a whole number from 1 to 1000, got '${value}'`);
    return n;
  }),
  STACK_REGIONS: setting((value) => {
    if (value === undefined) return undefined;
    const regions = value.split(/[\s,;]+/).filter((r) => r !== '');
    const bad = regions.filter((r) => !REGION_CODE_PATTERN.test(r));
    if (bad.length > 0) return new Problem(`STACK_REGIONS must list Region codes such as 'us-east-1 eu-west-1'; not Region codes: ${bad.join(', ')}`);
    return new Set(regions);
  }),
  AWS_REGION: setting((value) => {
    if (value === undefined || REGION_CODE_PATTERN.test(value)) return value;
    return new Problem(`AWS_REGION must be a Region code such as us-east-1, got '${value}'`);
  }),
});

/**
 * Reads and validates the settings.
 *
 * @param env - the environment (`process.env` in Lambda; a literal object in tests).
 * @returns the typed configuration, defaults applied.
 * @throws {ConfigError} naming every invalid variable and the values it accepts.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const parsed = schema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
  const busProblem = outcomeBusProblem(env);
  if (busProblem) problems.push(busProblem);
  if (parsed.success) {
    const accountProblem = principalAccountProblem(parsed.data.ACCOUNT_ID, parsed.data.RECONCILER_PRINCIPAL_ARN);
    if (accountProblem) problems.push(accountProblem);
    if (parsed.data.SECURITY_HUB_FINDINGS && (!parsed.data.ACCOUNT_ID || !parsed.data.AWS_REGION)) {
      problems.push(
        `SECURITY_HUB_FINDINGS=on needs ACCOUNT_ID and AWS_REGION (the account's default Security Hub product ARN names both; the stack sets them)`,
      );
    }
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const logLevel = e.LOG_LEVEL ?? e.POWERTOOLS_LOG_LEVEL ?? 'INFO';
  const kmsEndpoint = e.AWS_ENDPOINT_URL_KMS ?? e.AWS_ENDPOINT_URL;
  const busRegion = e.OUTCOME_EVENT_BUS ? (OUTCOME_BUS_ARN.exec(e.OUTCOME_EVENT_BUS)?.[1] ?? e.AWS_REGION) : undefined;
  const eventBridgeEndpoint = e.AWS_ENDPOINT_URL_EVENTBRIDGE ?? e.AWS_ENDPOINT_URL;
  const sqsEndpoint = e.AWS_ENDPOINT_URL_SQS ?? e.AWS_ENDPOINT_URL;
  const securityHubEndpoint = e.AWS_ENDPOINT_URL_SECURITYHUB ?? e.AWS_ENDPOINT_URL;
  return {
    tagKey: e.REPLICA_REGIONS_TAG,
    ...(e.ALLOWED_REGIONS ? { allowedRegions: e.ALLOWED_REGIONS } : {}),
    onPendingDeletion: e.ON_PENDING_DELETION,
    replicaPolicy: e.REPLICA_POLICY,
    copyTags: e.COPY_TAGS,
    copyDescription: e.COPY_DESCRIPTION,
    ...(e.OUTCOME_EVENT_BUS && busRegion ? { outcomeEventBus: e.OUTCOME_EVENT_BUS, outcomeEventBusRegion: busRegion } : {}),
    quotaShare: e.QUOTA_SHARE,
    ...(e.KMS_REQUEST_QUOTAS ? { kmsRequestQuotas: e.KMS_REQUEST_QUOTAS } : {}),
    dryRun: e.DRY_RUN,
    logLevel,
    ...(e.RECONCILER_PRINCIPAL_ARN ? { reconcilerPrincipalArn: e.RECONCILER_PRINCIPAL_ARN } : {}),
    ...(e.ACCOUNT_ID ? { accountId: e.ACCOUNT_ID } : {}),
    ...(kmsEndpoint ? { kmsEndpoint } : {}),
    ...(eventBridgeEndpoint ? { eventBridgeEndpoint } : {}),
    ...(e.AWS_REGION ? { homeRegion: e.AWS_REGION } : {}),
    ...(e.KEY_EVENT_QUEUE ? { keyEventQueue: e.KEY_EVENT_QUEUE } : {}),
    keyEventMaxConcurrency: e.KEY_EVENT_MAX_CONCURRENCY,
    ...(e.STACK_REGIONS ? { stackRegions: e.STACK_REGIONS } : {}),
    ...(sqsEndpoint ? { sqsEndpoint } : {}),
    securityHubFindings: e.SECURITY_HUB_FINDINGS,
    ...(securityHubEndpoint ? { securityHubEndpoint } : {}),
  };
}

const OUTCOME_BUS_ARN = /^arn:[a-z-]+:events:([a-z0-9-]+):/;

/** A bus given by name needs the Region it lives in: the deployment's (`AWS_REGION`). */
function outcomeBusProblem(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const bus = typeof env.OUTCOME_EVENT_BUS === 'string' ? env.OUTCOME_EVENT_BUS.trim() : '';
  const region = typeof env.AWS_REGION === 'string' ? env.AWS_REGION.trim() : '';
  if (bus === '' || OUTCOME_BUS_ARN.test(bus) || region !== '') return undefined;
  return `OUTCOME_EVENT_BUS '${bus}' is a bus name: set AWS_REGION too, or give the bus ARN`;
}

/**
 * The reconciler's role lives in the account it works for: a principal ARN of another account
 * means one of the two settings is wrong (its own echoes would never be recognised, or every
 * event would be skipped as foreign).
 */
function principalAccountProblem(accountId: string | undefined, principalArn: string | undefined): string | undefined {
  const principalAccount = principalArn ? /^arn:[a-z-]+:(?:iam|sts)::(\d{12}):/.exec(principalArn)?.[1] : undefined;
  if (!accountId || !principalAccount || principalAccount === accountId) return undefined;
  return `ACCOUNT_ID '${accountId}' is not the account of RECONCILER_PRINCIPAL_ARN (${principalAccount}); both name the account the reconciler works for`;
}
