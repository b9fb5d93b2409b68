/**
 * The stack's settings: the Serverless params of `serverless.yml`, validated by the reconciler's
 * own `loadConfig` and normalised, plus what the template derives from them (the
 * `kms:ReplicaRegion` list of the IAM policy, the outcome bus ARN). `serverless.yml` reads them
 * once, through `scripts/stack-settings.cjs`, as `custom.settings`; the deploy script validates
 * every Region's settings with the same function before it deploys anything.
 *
 * A bad param fails `serverless package` / `deploy` with a message naming the param, instead of
 * shipping a function that fails at every cold start.
 */
import { loadConfig } from '../src/lambda/config.js';
import { partitionOf, regionsOfPartition, REGION_CODE_PATTERN } from '../src/reconcile/regions.js';

/**
 * Every param of the stack with its default; `params.default` of `serverless.yml` lists the same
 * (a test compares them). All values are strings, as `--param="name=value"` gives them.
 */
export const STACK_PARAM_DEFAULTS = {
  replicaRegionsTag: 'replica-regions',
  allowedRegions: '',
  onPendingDeletion: 'report',
  replicaPolicy: 'default',
  copyTags: 'true',
  copyDescription: 'true',
  dryRun: 'false',
  quotaShare: '0.5',
  kmsRequestQuotas: '',
  keyEventMaxConcurrency: '2',
  stackRegions: '',
  logLevel: 'INFO',
  outcomeEventBus: '',
  securityHubFindings: 'off',
  sweepSchedule: 'rate(1 hour)',
  logRetentionInDays: '30',
  alarmTopicArn: '',
  hubEventBusArn: '',
} as const satisfies Record<string, string>;

/** The name of a stack param, e.g. `allowedRegions`. */
export type StackParamName = keyof typeof STACK_PARAM_DEFAULTS;

/** Every param name, in `serverless.yml` order. */
export const STACK_PARAM_NAMES = Object.keys(STACK_PARAM_DEFAULTS) as StackParamName[];

/** A CloudFormation `Fn::Sub` (the template resolves the pseudo parameters at deploy time). */
export interface FnSub {
  readonly 'Fn::Sub': string;
}

/**
 * The validated settings `serverless.yml` uses as `custom.settings`. The first group are the
 * params, normalised to the exact strings the reconciler's environment carries (so the template's
 * conditions, e.g. `onPendingDeletion == 'restore'`, see what the reconciler will see).
 */
export interface StackSettings {
  /** `REPLICA_REGIONS_TAG`. */
  readonly replicaRegionsTag: string;
  /** `ALLOWED_REGIONS`: Region codes separated by one space, or `''` (the partition's Regions). */
  readonly allowedRegions: string;
  /** `ON_PENDING_DELETION`. */
  readonly onPendingDeletion: 'report' | 'restore';
  /** `REPLICA_POLICY`. */
  readonly replicaPolicy: 'default' | 'primary';
  /** `COPY_TAGS`. */
  readonly copyTags: 'true' | 'false';
  /** `COPY_DESCRIPTION`. */
  readonly copyDescription: 'true' | 'false';
  /** `DRY_RUN`. */
  readonly dryRun: 'true' | 'false';
  /** `QUOTA_SHARE`, e.g. `'0.5'`. */
  readonly quotaShare: string;
  /** `KMS_REQUEST_QUOTAS`: `Operation=rps` pairs separated by one space, or `''`. */
  readonly kmsRequestQuotas: string;
  /** `KEY_EVENT_MAX_CONCURRENCY` and the event source mapping's `MaximumConcurrency` (2-1000). */
  readonly keyEventMaxConcurrency: number;
  /** `STACK_REGIONS`: Region codes separated by one space, or `''` (this Region alone). */
  readonly stackRegions: string;
  /** `LOG_LEVEL`. */
  readonly logLevel: string;
  /** `OUTCOME_EVENT_BUS`: a bus name or ARN, or `''` (no outcome events). */
  readonly outcomeEventBus: string;
  /** `SECURITY_HUB_FINDINGS`: `on` imports Security Hub findings (and grants it), `off` (default) does not. */
  readonly securityHubFindings: 'on' | 'off';
  /** The sweep's EventBridge schedule expression, `rate(...)` or `cron(...)`. */
  readonly sweepSchedule: string;
  /** Retention of both functions' log groups, in days (a value CloudWatch Logs accepts). */
  readonly logRetentionInDays: number;
  /**
   * SNS topic ARN for alarm and OK notifications, or `''` (alarms without actions). A param ARN
   * without a Region (`arn:aws:sns::111122223333:ops`) gets the deployment Region.
   */
  readonly alarmTopicArn: string;
  /**
   * The organization's hub bus (docs/ORGANIZATIONS.md, "The hub"), or `''` (no forwarding): a rule
   * on the outcome bus forwards outcome events and sweep summaries to it, through a role allowed
   * `events:PutEvents` on this ARN only.
   */
  readonly hubEventBusArn: string;
  /**
   * The values of the `kms:ReplicaRegion` condition on `kms:ReplicateKey`: the Regions of
   * `allowedRegions`, or when it is empty every Region of the deployment Region's partition in
   * the reconciler's Region table (exactly the Regions the reconciler itself would accept).
   */
  readonly replicaRegions: readonly string[];
  /**
   * The IAM resources of `kms:TagResource`: every key of the stack's account in each Region of
   * `replicaRegions` (`arn:<partition>:kms:<region>:<account>:key/*`). Tag-on-create needs the
   * permission on all keys of the account and Region (KMS developer guide, `manage-tags-api`),
   * in the replica's Region (`ReplicateKey` API reference) [S2]; no other Region needs it.
   */
  readonly replicaRegionKeyArns: readonly FnSub[];
  /** The IAM resource of `events:PutEvents`: the bus ARN as given, or built from its name. */
  readonly outcomeEventBusArn: string | FnSub;
}

/** Thrown for bad params; the message lists every problem, one per line. */
export class StackSettingsError extends Error {
  override readonly name = 'StackSettingsError';
  /** @param problems - one line per bad param. */
  constructor(readonly problems: readonly string[]) {
    super(`invalid stack params:\n  - ${problems.join('\n  - ')}`);
    // Serverless prints `error.stack` of a failing variable resolver: keep it to the message,
    // the frames of this file would only bury it.
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** CloudWatch Logs retention values (AWS::Logs::LogGroup RetentionInDays). */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** The environment variable each reconciler setting param sets. */
const ENVIRONMENT_OF: Partial<Record<StackParamName, string>> = {
  replicaRegionsTag: 'REPLICA_REGIONS_TAG',
  allowedRegions: 'ALLOWED_REGIONS',
  onPendingDeletion: 'ON_PENDING_DELETION',
  replicaPolicy: 'REPLICA_POLICY',
  copyTags: 'COPY_TAGS',
  copyDescription: 'COPY_DESCRIPTION',
  dryRun: 'DRY_RUN',
  quotaShare: 'QUOTA_SHARE',
  kmsRequestQuotas: 'KMS_REQUEST_QUOTAS',
  keyEventMaxConcurrency: 'KEY_EVENT_MAX_CONCURRENCY',
  stackRegions: 'STACK_REGIONS',
  logLevel: 'LOG_LEVEL',
  outcomeEventBus: 'OUTCOME_EVENT_BUS',
  securityHubFindings: 'SECURITY_HUB_FINDINGS',
};

/**
 * Validates and normalises the params of one Region's stack.
 *
 * @param params - param values by name; a missing one takes its {@link STACK_PARAM_DEFAULTS} value.
 * @param region - the Region the stack is deployed to, e.g. `eu-west-1` (its partition bounds
 *   the default `kms:ReplicaRegion` list).
 * @returns the settings `serverless.yml` uses.
 * @throws {StackSettingsError} naming every bad param and what it accepts: a value holding `${`
 *   (a Serverless variable, which Serverless would resolve on the deploying machine), a value the
 *   reconciler's `loadConfig` refuses (with the environment variable it sets), an unknown param,
 *   an allowed Region outside the deployment's partition, a bad schedule, retention, topic or bus.
 */
export function resolveStackSettings(params: Readonly<Record<string, string | undefined>>, region: string): StackSettings {
  const problems: string[] = [];
  const unknown = Object.keys(params).filter((name) => !(name in STACK_PARAM_DEFAULTS));
  for (const name of unknown) problems.push(`unknown param '${name}'; the params are ${STACK_PARAM_NAMES.join(', ')}`);
  // Serverless resolves `${...}` in a param value as a variable (`${env:HOME}`, `${file(...)}`) on
  // the deploying machine and writes the result into the template: refuse it, check the rest as unset.
  const variables = Object.entries(params).filter((entry): entry is [string, string] => entry[1]?.includes('${') === true);
  for (const [name, value] of variables) {
    problems.push(`${name}: '${value}' holds '\${': Serverless would resolve it as a variable on the deploying machine and write the result into the template; give the value itself`);
  }
  const p = {
    ...STACK_PARAM_DEFAULTS,
    ...Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined && !v.includes('${'))),
  } as Record<StackParamName, string>;

  const partition = REGION_CODE_PATTERN.test(region) ? partitionOf(region) : undefined;
  if (!partition) problems.push(`the deployment Region '${region}' is not a Region code of a known partition`);

  // A bad Region is reported above; any valid code keeps loadConfig from adding a second,
  // misleading problem ("set AWS_REGION") for an outcome bus given by name.
  // The stack sets ACCOUNT_ID from AWS::AccountId (SECURITY_HUB_FINDINGS=on needs one): any valid id stands for it here.
  const env: Record<string, string> = { AWS_REGION: partition ? region : 'us-east-1', ACCOUNT_ID: '111122223333' };
  for (const [name, variable] of Object.entries(ENVIRONMENT_OF)) env[variable] = p[name as StackParamName];
  let config: ReturnType<typeof loadConfig> | undefined;
  try {
    config = loadConfig(env);
  } catch (error) {
    const lines = (error as { problems?: readonly string[] }).problems ?? [(error as Error).message];
    for (const line of lines) problems.push(`${paramNamed(line)}${line}`);
  }

  const allowed = allowedRegionsOf(p.allowedRegions);
  const elsewhere = partition ? allowed.filter((r) => partitionOf(r) !== partition) : [];
  if (elsewhere.length > 0) {
    problems.push(`allowedRegions: ${elsewhere.join(', ')} ${elsewhere.length === 1 ? 'is' : 'are'} not in the partition of the deployment (${partition}); replicas stay in their primary's partition`);
  }
  const scheduleProblem = scheduleExpressionProblem(p.sweepSchedule.trim());
  if (scheduleProblem !== undefined) {
    problems.push(`sweepSchedule must be an EventBridge schedule expression such as 'rate(1 hour)' or 'cron(0 * * * ? *)', got '${p.sweepSchedule}': ${scheduleProblem}`);
  }
  const retention = Number(p.logRetentionInDays);
  if (!LOG_RETENTION_DAYS.includes(retention)) {
    problems.push(`logRetentionInDays must be one of ${LOG_RETENTION_DAYS.join(', ')} (days), got '${p.logRetentionInDays}'`);
  }
  // CloudWatch alarms notify topics of their own Region: an ARN without its Region names the
  // topic of that name in each deployment Region, so one `npm run deploy` serves every Region.
  const topic = /^arn:([a-z-]+):sns:([a-z0-9-]*):(\d{12}):([A-Za-z0-9_-]{1,256})$/.exec(p.alarmTopicArn.trim());
  const alarmTopicArn = topic ? `arn:${topic[1]}:sns:${topic[2] || region}:${topic[3]}:${topic[4]}` : '';
  if (p.alarmTopicArn.trim() !== '' && !topic) {
    problems.push(
      `alarmTopicArn must be an SNS topic ARN such as arn:aws:sns:us-east-1:111122223333:ops-alarms (or arn:aws:sns::111122223333:ops-alarms for the topic of that name in each Region), got '${p.alarmTopicArn}'`,
    );
  }
  // The event source mapping's MaximumConcurrency is 2-1000 (Lambda API, ScalingConfig).
  const maxConcurrency = Number(p.keyEventMaxConcurrency);
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) {
    problems.push(`keyEventMaxConcurrency must be a whole number from 2 to 1000 (the event source mapping's MaximumConcurrency), got '${p.keyEventMaxConcurrency}'`);
  }
  const bus = p.outcomeEventBus.trim();
  const busIsArn = bus.startsWith('arn:');
  if (busIsArn ? !/^arn:[a-z-]+:events:[a-z0-9-]+:\d{12}:event-bus\/[/.\-_A-Za-z0-9]{1,256}$/.test(bus) : !/^[/.\-_A-Za-z0-9]{0,256}$/.test(bus)) {
    problems.push(`outcomeEventBus must be an event bus name or an event bus ARN such as arn:aws:events:us-east-1:111122223333:event-bus/ops, got '${bus}'`);
  }

  // The hub forwarding rule sits on the outcome bus: without outcome events there is nothing to forward.
  const hub = p.hubEventBusArn.trim();
  if (hub !== '' && !/^arn:[a-z-]+:events:[a-z0-9-]+:\d{12}:event-bus\/[/.\-_A-Za-z0-9]{1,256}$/.test(hub)) {
    problems.push(`hubEventBusArn must be an event bus ARN such as arn:aws:events:us-east-1:111122223333:event-bus/kms-replica-reconciler-hub, got '${hub}'`);
  } else if (hub !== '' && bus === '') {
    problems.push('hubEventBusArn needs outcomeEventBus: the forwarding rule sits on the outcome bus (outcomeEventBus=default publishes to the default bus)');
  } else if (hub !== '' && bus === hub) {
    problems.push('hubEventBusArn is the outcome bus itself: the stack already publishes there, leave hubEventBusArn empty');
  }

  if (problems.length > 0 || !config || !partition) throw new StackSettingsError(problems);
  const replicaRegions = allowed.length > 0 ? allowed : regionsOfPartition(partition);
  return {
    replicaRegionsTag: config.tagKey,
    allowedRegions: allowed.join(' '),
    onPendingDeletion: config.onPendingDeletion,
    replicaPolicy: config.replicaPolicy,
    copyTags: String(config.copyTags) as 'true' | 'false',
    copyDescription: String(config.copyDescription) as 'true' | 'false',
    dryRun: String(config.dryRun) as 'true' | 'false',
    quotaShare: String(config.quotaShare),
    kmsRequestQuotas: Object.entries(config.kmsRequestQuotas ?? {})
      .map(([operation, rps]) => `${operation}=${rps}`)
      .join(' '),
    keyEventMaxConcurrency: maxConcurrency,
    stackRegions: [...(config.stackRegions ?? [])].join(' '),
    logLevel: config.logLevel,
    outcomeEventBus: bus,
    securityHubFindings: config.securityHubFindings ? 'on' : 'off',
    sweepSchedule: p.sweepSchedule.trim(),
    logRetentionInDays: retention,
    alarmTopicArn,
    hubEventBusArn: hub,
    replicaRegions,
    replicaRegionKeyArns: replicaRegions.map((r) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:kms:${r}:\${AWS::AccountId}:key/*` })),
    outcomeEventBusArn: busIsArn ? bus : { 'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/${bus}` },
  };
}

/** The Regions of an `allowedRegions` value as `loadConfig` reads them (none when it refuses it). */
function allowedRegionsOf(value: string): string[] {
  try {
    return [...(loadConfig({ ALLOWED_REGIONS: value }).allowedRegions ?? [])];
  } catch {
    return []; // reported with the other settings
  }
}

/** `"allowedRegions (ALLOWED_REGIONS): "` for a `loadConfig` message that names a variable. */
function paramNamed(message: string): string {
  const found = Object.entries(ENVIRONMENT_OF).find(([, variable]) => message.startsWith(`${variable} `) || message.includes(` ${variable} `));
  return found ? `${found[0]} (${found[1]}): ` : '';
}

/** What Serverless hands a variable resolver function (`${file(...):settings}`). */
export interface ServerlessResolverInput {
  /** The CLI options, e.g. `{ region, stage, param: ['name=value'] }`. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Resolves a variable such as `param:allowedRegions`, as `${...}` in the configuration would. */
  readonly resolveVariable: (variable: string) => Promise<unknown>;
}

/**
 * The Serverless variable resolver of `custom.settings`: reads every param (stage params and
 * `--param` options alike, through `${param:...}`) and the deployment Region, and returns
 * {@link resolveStackSettings} of them. A `--param` whose name is not a stack param is refused
 * (Serverless itself ignores it silently).
 *
 * @throws {StackSettingsError} as {@link resolveStackSettings}.
 */
export async function settings({ options, resolveVariable }: ServerlessResolverInput): Promise<StackSettings> {
  const given = Array.isArray(options.param) ? (options.param as unknown[]).map(String) : typeof options.param === 'string' ? [options.param] : [];
  const unknown = given.map((pair) => pair.split('=')[0] ?? '').filter((name) => !(name in STACK_PARAM_DEFAULTS));
  const params: Record<string, string> = {};
  for (const name of STACK_PARAM_NAMES) {
    const value = await resolveVariable(`param:${name}`);
    params[name] = value === null || value === undefined ? '' : String(value);
  }
  for (const name of unknown) params[name] = '';
  // Serverless has already resolved a variable in a `--param` value by now: check the value as given.
  for (const pair of given) {
    const separator = pair.indexOf('=');
    const name = pair.slice(0, separator);
    if (separator > 0 && name in STACK_PARAM_DEFAULTS && pair.includes('${', separator)) params[name] = pair.slice(separator + 1);
  }
  const region = String(await resolveVariable('self:provider.region'));
  return resolveStackSettings(params, region);
}

/**
 * What is wrong with an EventBridge schedule expression, or `undefined` ("Using cron and rate
 * expressions to schedule rules", EventBridge User Guide, eb-scheduled-rule-pattern.html):
 * `rate(<positive whole number> <minute|hour|day>)`, the unit singular for 1 and plural above;
 * `cron(<six fields>)` where one of Day-of-month and Day-of-week is `?`. Field values are left to
 * CloudFormation: this catches the shapes that would fail every stack of a deploy.
 */
function scheduleExpressionProblem(expression: string): string | undefined {
  const rate = /^rate\((.*)\)$/.exec(expression);
  if (rate) {
    const match = /^(\d+) (minute|minutes|hour|hours|day|days)$/.exec(rate[1] ?? '');
    if (!match) return 'a rate is rate(<whole number> <minute|minutes|hour|hours|day|days>)';
    const value = Number(match[1]);
    const plural = (match[2] ?? '').endsWith('s');
    if (value < 1) return 'a rate must be at least 1';
    if (value === 1 && plural) return `1 takes the singular unit (rate(1 ${(match[2] ?? '').slice(0, -1)}))`;
    if (value > 1 && !plural) return `${value} takes the plural unit (rate(${value} ${match[2]}s))`;
    return undefined;
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) {
    const fields = (cron[1] ?? '').trim().split(/\s+/);
    if (fields.length !== 6) return `a cron expression has six fields (minutes hours day-of-month month day-of-week year), this one has ${fields.length}`;
    if (fields[2] !== '?' && fields[4] !== '?') return 'one of day-of-month and day-of-week must be ?';
    return undefined;
  }
  return 'it is neither rate(...) nor cron(...)';
}
