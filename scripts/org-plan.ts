/**
 * `npm run deploy -- --org`: one install for an AWS Organization, as one service-managed StackSet
 * (docs/ORGANIZATIONS.md). This module validates the command line and works out every step, in
 * order; `scripts/deploy.ts` prints (`--dry-run`) or runs them. Pure: no I/O.
 *
 * The steps:
 * 1. **Package** the stack offline (`serverless package`), once; `stackset-template.ts` turns it
 *    into the StackSet template.
 * 2. **Artifacts**, in the account that runs the command (the management account, or a delegated
 *    administrator with `--delegated-admin`): one bucket per Region, `<prefix>-<Region>`, public
 *    access blocked, a bucket policy that lets principals of the organization read the bundles
 *    (`aws:PrincipalOrgID`: "compare the identifier of the organization in AWS Organizations to
 *    which the requesting principal belongs with the identifier specified in the policy", IAM
 *    global condition keys) and refuses plain HTTP; then both bundles are uploaded under a key
 *    prefix that names the build. A function's code must come from a bucket in its own Region
 *    (Lambda API reference, FunctionCode `S3Bucket`).
 * 3. **The StackSet**, `SERVICE_MANAGED`, with automatic deployment (`Enabled=true`: "StackSets
 *    automatically deploys additional stack instances to AWS Organizations accounts that are added
 *    to a target organization or organizational unit (OU) in the specified Regions. If an account
 *    is removed from a target organization or OU, StackSets deletes stack instances from the
 *    account", CloudFormation user guide, AutoDeployment) and `RetainStacksOnAccountRemoval=false`,
 *    `CAPABILITY_NAMED_IAM` (the role has a name), managed execution (`Active=true`: "StackSets
 *    performs non-conflicting operations concurrently and queues conflicting operations", API
 *    reference, ManagedExecution). First install: `create-stack-set`, then `create-stack-instances`
 *    for the OUs and Regions. Later: `update-stack-set` (every instance), then
 *    `create-stack-instances` again for OUs or Regions added to the command line. Each operation
 *    is followed until it ends (`describe-stack-set-operation`).
 * 4. **The management account**: "StackSets doesn't deploy stack instances to the organization
 *    management account, even if the organization management account is in your organization or in
 *    an OU in your organization" (API reference, DeploymentTargets). When it holds multi-Region
 *    keys it gets the plain stacks: the printed `npm run deploy -- --regions ...`, run with its
 *    own credentials.
 * 5. **The hub** (optional), in the security account: `hub-template.ts`, printed, not run (other
 *    credentials).
 */
import { join as joinShellWords } from 'shlex';
import { partitionOf } from '../src/reconcile/regions.js';
import { DeployPlanError, planDeploy, type DeployOptions, type DeployPlan } from './deploy-plan.js';
import { HUB_STACK_NAME } from './hub-template.js';

/** The bundles `serverless package` writes, one per function (`package.individually`). */
export const BUNDLES = ['keyEvent.zip', 'sweep.zip'] as const;

/**
 * What is copied from the package folder to `--out`: the bundles and the single-stack template
 * the StackSet template is made from (kept for review).
 */
export const PACKAGED_FILES = [...BUNDLES, 'cloudformation-template-update-stack.json'] as const;

/** The service name of `serverless.yml`: the StackSet is `<service>-<stage>`. */
const SERVICE = 'kms-replica-reconciler';

/** At most 50 OUs per `CreateStackInstances` (API reference, CreateStackInstances). */
const MAX_OUS_PER_OPERATION = 50;

/** The longest Region code a bucket name must leave room for (`ap-southeast-5`, `us-gov-west-1`: 14). */
/** Bucket name prefixes S3 refuses (Amazon S3 User Guide, "General purpose bucket naming rules"). */
const RESERVED_BUCKET_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'] as const;
const LONGEST_REGION = 15;

/** The options `npm run deploy -- --org` adds to those of `npm run deploy`. */
export interface OrgDeployOptions extends DeployOptions {
  readonly org?: boolean;
  /** OU ids (or the root id) separated by spaces or commas. */
  readonly targetOus?: string;
  /** `o-...`: the organization whose principals may read the bundles. */
  readonly organizationId?: string;
  /** Bucket name prefix; each Region's bucket is `<prefix>-<Region>`. */
  readonly artifactBucketPrefix?: string;
  /** Folder for the packaged stack and every file the plan writes. */
  readonly out: string;
  /** Percentage of accounts per Region that may fail before a Region's operation stops. */
  readonly failureTolerancePercentage: string;
  /** Percentage of accounts per Region deployed at once. */
  readonly maxConcurrentPercentage: string;
  /** Run the StackSet commands as the organization's delegated administrator. */
  readonly delegatedAdmin?: boolean;
  /** Region of the hub stack (default: the first of `--regions`). */
  readonly hubRegion?: string;
}

/** One Region's artifacts stage: its bucket and the commands that make and fill it. */
export interface ArtifactRegion {
  readonly region: string;
  readonly bucket: string;
  /** `aws s3api head-bucket`: when it fails, `create` runs first. */
  readonly exists: readonly string[];
  /** `create-bucket`: only when `exists` failed. */
  readonly create: readonly string[];
  /** Public access block, bucket policy, then one upload per bundle: every run. */
  readonly configure: ReadonlyArray<readonly string[]>;
  /** The bucket policy, written to `policyFile`. */
  readonly policy: BucketPolicy;
  readonly policyFile: string;
}

/** An S3 bucket policy document. */
export interface BucketPolicy {
  readonly Version: '2012-10-17';
  readonly Statement: ReadonlyArray<Record<string, unknown>>;
}

/** What one `npm run deploy -- --org` will do, in order. */
export interface OrgDeployPlan {
  readonly regions: readonly string[];
  readonly stage: string;
  readonly targetOus: readonly string[];
  readonly organizationId: string;
  /** `<service>-<stage>`. */
  readonly stackSetName: string;
  /** Where the StackSet commands run: the first of `--regions`. */
  readonly homeRegion: string;
  /** The params every instance was packaged with (as `npm run deploy`). */
  readonly params: DeployPlan['params'];
  readonly dryRun: boolean;
  /** `alarmTopicArn` was given without a Region: each instance notifies the topic of its own Region. */
  readonly alarmTopicRegionless: boolean;
  readonly outDir: string;
  /** The StackSet template file. */
  readonly templateFile: string;
  /** The hub template file. */
  readonly hubTemplateFile: string;
  /** `ArtifactBucketPrefix` and `ArtifactKeyPrefix`. */
  readonly artifactBucketPrefix: string;
  readonly artifactKeyPrefix: string;
  /**
   * Serverless arguments of the package step (`serverless <args>`), without `--package <folder>`:
   * Serverless empties that folder first (osls `lib/plugins/aws/common/lib/artifacts.js`), so the
   * caller packages into a fresh temporary folder of its own and copies {@link PACKAGED_FILES} to
   * {@link outDir}, never deleting anything there.
   */
  readonly packageCommand: readonly string[];
  readonly artifacts: readonly ArtifactRegion[];
  /** `describe-stack-set`: success means the StackSet exists (the update path). */
  readonly describeStackSet: readonly string[];
  /** The first install. */
  readonly create: ReadonlyArray<readonly string[]>;
  /** Every later run. */
  readonly update: ReadonlyArray<readonly string[]>;
  /** Followed after each StackSet operation, with `<OperationId>` replaced by its id. */
  readonly waitForOperation: readonly string[];
  /** The management account's plain stacks: `npm run deploy` arguments. */
  readonly managementAccount: readonly string[];
  /** The hub stack, for the security account (printed, never run). */
  readonly hub: readonly string[];
}

/** Placeholder for the id an operation returns, in {@link OrgDeployPlan.waitForOperation}. */
export const OPERATION_ID = '<OperationId>';

/**
 * Validates the options and works out every step.
 *
 * @param options - from `createDeployProgram` with `--org`.
 * @param codeVersion - names the build in the bundles' key prefix (`<service>/<stage>/<codeVersion>`),
 *   e.g. the first 16 hex digits of the bundles' SHA-256; any 1-64 of `[A-Za-z0-9._-]`.
 * @throws {DeployPlanError} naming every problem: those of `npm run deploy` (Regions, stage,
 *   params), a missing or malformed `--target-ous` (more than 50 too), `--organization-id`,
 *   `--artifact-bucket-prefix` (or a default too long for a bucket name), percentages outside
 *   0-100 (max concurrent at least 1), a bad `--hub-region`.
 */
export function planOrgDeploy(options: OrgDeployOptions, codeVersion: string): OrgDeployPlan {
  const problems: string[] = [];
  let base: DeployPlan | undefined;
  try {
    base = planDeploy(options);
  } catch (error) {
    if (!(error instanceof DeployPlanError)) throw error;
    problems.push(...error.problems);
  }

  const targetOus = [...new Set((options.targetOus ?? '').split(/[\s,]+/).filter((ou) => ou !== ''))];
  if (targetOus.length === 0) problems.push('--target-ous: name at least one OU id (or the root id), e.g. --target-ous ou-ab12-11111111,ou-ab12-22222222');
  for (const ou of targetOus.filter((o) => !/^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/.test(o))) {
    problems.push(`--target-ous: '${ou}' is not an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)`);
  }
  if (targetOus.length > MAX_OUS_PER_OPERATION) problems.push(`--target-ous: ${targetOus.length} OUs; one operation takes at most ${MAX_OUS_PER_OPERATION}: name their parent OU instead`);

  const organizationId = options.organizationId ?? '';
  if (organizationId === '') {
    problems.push('--organization-id: required with --org: the organization (o-...) whose accounts may read the bundles (aws organizations describe-organization --query Organization.Id)');
  } else if (!/^o-[a-z0-9]{10,32}$/.test(organizationId)) {
    problems.push(`--organization-id: '${organizationId}' is not an organization id such as o-a1b2c3d4e5 (aws organizations describe-organization --query Organization.Id)`);
  }
  const stage = options.stage;
  const artifactBucketPrefix = options.artifactBucketPrefix ?? `${SERVICE}-${stage.toLowerCase()}-${organizationId.replace(/^o-/, '')}`;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(artifactBucketPrefix) || artifactBucketPrefix.length + 1 + LONGEST_REGION > 63) {
    problems.push(
      `--artifact-bucket-prefix: '${artifactBucketPrefix}' must be lower-case letters, digits and hyphens, at most ${63 - 1 - LONGEST_REGION} characters (the bucket is <prefix>-<Region>, at most 63)`,
    );
  } else {
    // Prefixes S3 reserves ("General purpose bucket naming rules", Amazon S3 User Guide, bucketnamingrules.html).
    const reserved = RESERVED_BUCKET_PREFIXES.find((r) => artifactBucketPrefix.startsWith(r));
    if (reserved !== undefined) problems.push(`--artifact-bucket-prefix: '${artifactBucketPrefix}' starts with '${reserved}', which S3 reserves for bucket names`);
  }
  const failureTolerance = percentage(options.failureTolerancePercentage, 0, '--failure-tolerance-percentage', problems);
  const maxConcurrent = percentage(options.maxConcurrentPercentage, 1, '--max-concurrent-percentage', problems);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(codeVersion)) problems.push(`the code version '${codeVersion}' must be 1-64 letters, digits, dots, underscores or hyphens`);
  const hubRegion = options.hubRegion ?? base?.regions[0] ?? '';
  if (base && partitionOf(hubRegion) !== partitionOf(base.regions[0] ?? '')) {
    problems.push(`--hub-region: '${hubRegion}' is not a Region of the partition of --regions`);
  }

  // Alarms notify topics of their own Region: one template for every Region needs the topic's name
  // without a Region (each instance's Region is put in; stackset-template.ts).
  const alarmTopic = base?.params.find(([name]) => name === 'alarmTopicArn')?.[1].trim() ?? '';
  const alarmTopicRegionless = /^arn:[a-z-]+:sns::/.test(alarmTopic);
  if (alarmTopic !== '' && !alarmTopicRegionless && (base?.regions.length ?? 0) > 1) {
    problems.push(`--param alarmTopicArn: give the topic without a Region (arn:aws:sns::<account>:<name>): alarms notify topics of their own Region, and one StackSet template serves every Region`);
  }

  if (problems.length > 0 || !base || failureTolerance === undefined || maxConcurrent === undefined) throw new DeployPlanError(problems);

  const regions = base.regions;
  const homeRegion = regions[0] ?? '';
  const stackSetName = `${SERVICE}-${stage}`;
  const out = options.out.replace(/\/+$/, '') || '.';
  const templateFile = `${out}/stackset-template.json`;
  const hubTemplateFile = `${out}/hub-template.json`;
  const artifactKeyPrefix = `${SERVICE}/${stage}/${codeVersion}`;
  const callAs = options.delegatedAdmin === true ? ['--call-as', 'DELEGATED_ADMIN'] : [];
  const parameters = ['--parameters', `ParameterKey=ArtifactBucketPrefix,ParameterValue=${artifactBucketPrefix}`, `ParameterKey=ArtifactKeyPrefix,ParameterValue=${artifactKeyPrefix}`];
  const preferences = ['--operation-preferences', `RegionConcurrencyType=PARALLEL,FailureTolerancePercentage=${failureTolerance},MaxConcurrentPercentage=${maxConcurrent}`];
  const cfn = (verb: string, ...args: string[]): string[] => ['aws', 'cloudformation', verb, '--stack-set-name', stackSetName, ...args, ...callAs, '--region', homeRegion];
  const createInstances = cfn('create-stack-instances', '--deployment-targets', `OrganizationalUnitIds=${targetOus.join(',')}`, '--regions', ...regions, ...preferences);

  return {
    regions,
    stage,
    targetOus,
    organizationId,
    stackSetName,
    homeRegion,
    params: base.params,
    dryRun: options.dryRun === true,
    alarmTopicRegionless,
    outDir: out,
    templateFile,
    hubTemplateFile,
    artifactBucketPrefix,
    artifactKeyPrefix,
    packageCommand: ['package', '--stage', stage, '--region', homeRegion, ...base.params.map(([name, value]) => `--param=${name}=${value}`)],
    artifacts: regions.map((region) => artifactRegion(region, `${artifactBucketPrefix}-${region}`, organizationId, artifactKeyPrefix, out)),
    describeStackSet: cfn('describe-stack-set'),
    create: [
      cfn(
        'create-stack-set',
        '--description',
        'kms-replica-reconciler: keeps multi-Region KMS keys replicated, in every account of the target OUs (docs/ORGANIZATIONS.md)',
        '--template-body',
        `file://${templateFile}`,
        ...parameters,
        '--capabilities',
        'CAPABILITY_NAMED_IAM',
        '--permission-model',
        'SERVICE_MANAGED',
        '--auto-deployment',
        'Enabled=true,RetainStacksOnAccountRemoval=false',
        '--managed-execution',
        'Active=true',
      ),
      createInstances,
    ],
    update: [
      cfn('update-stack-set', '--template-body', `file://${templateFile}`, ...parameters, '--capabilities', 'CAPABILITY_NAMED_IAM', ...preferences),
      createInstances,
    ],
    waitForOperation: cfn('describe-stack-set-operation', '--operation-id', OPERATION_ID, '--query', 'StackSetOperation.Status', '--output', 'text'),
    managementAccount: ['npm', 'run', 'deploy', '--', '--regions', regions.join(' '), '--stage', stage, ...base.params.flatMap(([name, value]) => ['--param', `${name}=${value}`])],
    hub: [
      'aws',
      'cloudformation',
      'deploy',
      '--template-file',
      hubTemplateFile,
      '--stack-name',
      HUB_STACK_NAME,
      '--parameter-overrides',
      `OrganizationId=${organizationId}`,
      '--region',
      hubRegion,
    ],
  };
}

/** One Region's bucket: its commands and policy. */
function artifactRegion(region: string, bucket: string, organizationId: string, keyPrefix: string, out: string): ArtifactRegion {
  const partition = partitionOf(region) ?? 'aws';
  const policyFile = `${out}/artifact-bucket-policy-${region}.json`;
  // us-east-1 refuses a LocationConstraint; every other Region needs its own (S3 API, CreateBucket).
  const location = region === 'us-east-1' ? [] : ['--create-bucket-configuration', `LocationConstraint=${region}`];
  return {
    region,
    bucket,
    exists: ['aws', 's3api', 'head-bucket', '--bucket', bucket, '--region', region],
    create: ['aws', 's3api', 'create-bucket', '--bucket', bucket, ...location, '--region', region],
    configure: [
      [
        'aws',
        's3api',
        'put-public-access-block',
        '--bucket',
        bucket,
        '--public-access-block-configuration',
        'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true',
        '--region',
        region,
      ],
      ['aws', 's3api', 'put-bucket-policy', '--bucket', bucket, '--policy', `file://${policyFile}`, '--region', region],
      ...BUNDLES.map((bundle) => ['aws', 's3', 'cp', `${out}/${bundle}`, `s3://${bucket}/${keyPrefix}/${bundle}`, '--region', region]),
    ],
    policyFile,
    policy: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'OrganizationReadsBundles',
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: 's3:GetObject',
          Resource: `arn:${partition}:s3:::${bucket}/${SERVICE}/*`,
          Condition: { StringEquals: { 'aws:PrincipalOrgID': organizationId } },
        },
        {
          Sid: 'TlsOnly',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [`arn:${partition}:s3:::${bucket}`, `arn:${partition}:s3:::${bucket}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ],
    },
  };
}

/** A whole percentage from `min` to 100, or `undefined` with a problem pushed. */
function percentage(value: string, min: number, option: string, problems: string[]): number | undefined {
  const n = Number(value);
  if (/^\d{1,3}$/.test(value) && n >= min && n <= 100) return n;
  problems.push(`${option}: '${value}' must be a whole number from ${min} to 100`);
  return undefined;
}

/** An argument list as one line for a POSIX shell. */
export function shellLine(argv: readonly string[]): string {
  return joinShellWords([...argv]);
}

/**
 * What `npm run deploy -- --org --dry-run` prints: every step in order, as commands to paste
 * into a shell from the project root, with comments that say when each runs.
 *
 * @param plan - from {@link planOrgDeploy}.
 */
export function formatOrgDryRun(plan: OrgDeployPlan): string {
  const lines = [
    `# dry run: npm run deploy -- --org would run (StackSet ${plan.stackSetName}, service-managed; ${plan.targetOus.length} OUs: ${plan.targetOus.join(' ')}; ${plan.regions.length} Regions: ${plan.regions.join(' ')}):`,
    `# 1. package the stack offline into a new empty folder (serverless package empties its --package folder), copy ${PACKAGED_FILES.join(', ')} from it to ${plan.outDir}, then write ${plan.templateFile} (the StackSet template), ${plan.hubTemplateFile} and one bucket policy per Region`,
    `npx serverless ${shellLine([plan.packageCommand[0] ?? 'package'])} --package "$(mktemp -d)" ${shellLine(plan.packageCommand.slice(1))}`,
    `# 2. artifacts, in this account: a bucket per Region that the organization ${plan.organizationId} may read, and the bundles under ${plan.artifactKeyPrefix}/`,
  ];
  for (const a of plan.artifacts) {
    lines.push(`${shellLine(a.exists)} || ${shellLine(a.create)}`, ...a.configure.map(shellLine));
  }
  lines.push(
    `# 3. the StackSet, from ${plan.homeRegion}; first install (when \`${shellLine(plan.describeStackSet)}\` fails):`,
    ...plan.create.map(shellLine),
    '#    every later run (the StackSet exists): update every instance, then add the OUs and Regions new to this command line:',
    ...plan.update.map(shellLine),
    '#    after each operation above, until it prints SUCCEEDED (FAILED or STOPPED ends the deploy):',
    shellLine(plan.waitForOperation),
    '# 4. the management account, with its own credentials (StackSets never deploy there), if it holds multi-Region keys:',
    shellLine(plan.managementAccount),
    '# 5. optional, once, in the security account: the hub (then pass --param hubEventBusArn=<its HubEventBusArn output> to this command):',
    shellLine(plan.hub),
  );
  return lines.join('\n') + '\n';
}
