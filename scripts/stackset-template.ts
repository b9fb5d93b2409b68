/**
 * The StackSet template: the packaged single stack (`serverless package`), made fit for a
 * service-managed StackSet that deploys it to every account of some OUs in several Regions
 * (docs/ORGANIZATIONS.md). Pure: a template in, a template out.
 *
 * What changes, and why:
 * - **No deployment bucket.** The packaged stack creates `ServerlessDeploymentBucket` and loads its
 *   code from it; a member account has no such bucket when its instance is created. Each function
 *   reads its bundle from `${ArtifactBucketPrefix}-${AWS::Region}` instead, a bucket of the
 *   artifacts account in the instance's own Region, because a function's `Code.S3Bucket` must be
 *   "an Amazon S3 bucket in the same AWS Region as your function; the bucket can be in a
 *   different AWS account" (Lambda API reference, FunctionCode). The bucket policy admits the
 *   organization (`aws:PrincipalOrgID`, see `org-plan.ts`).
 * - **Parameters** `ArtifactBucketPrefix` and `ArtifactKeyPrefix` (the key prefix names the build,
 *   so a new build changes `Code` and CloudFormation updates the functions).
 * - **Nothing a StackSet refuses**: no `Transform` (and so no macro), no nested stack
 *   (`AWS::CloudFormation::Stack`): "You can't provision nested stacks, transforms, or macros with
 *   the default execution role" (CloudFormation user guide, stacksets-custom-execution-role).
 *   The packaged stack has neither; {@link toStackSetTemplate} refuses a template that has one.
 * - **No account id, no deployment Region** in the template: every ARN is built from
 *   `${AWS::AccountId}`, `${AWS::Partition}` and `${AWS::Region}`, and account-wide names carry
 *   the Region (the role is `<service>-<stage>-<Region>-lambdaRole`, so the instances of one
 *   account in several Regions do not collide; IAM names are global to an account). An alarm
 *   topic ARN given without a Region becomes the topic of that name in each instance's Region.
 *
 * Everything else (IAM statements, conditions, alarms, queues, rules) is the single stack's, key
 * for key: the tests compare them.
 */

/** A CloudFormation template as JSON (only the parts this module reads are typed). */
export interface CfnTemplate {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Transform?: unknown;
  Parameters?: Record<string, unknown>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Condition?: string; Properties?: Record<string, any>; DependsOn?: unknown }>;
  Outputs?: Record<string, unknown>;
}

/** The template parameters every StackSet instance gets (the same values everywhere). */
export const STACKSET_PARAMETERS = {
  ArtifactBucketPrefix: {
    Type: 'String',
    Description: 'Buckets holding the function bundles, one per Region: <prefix>-<Region> (the instance reads the bucket of its own Region)',
    AllowedPattern: '^[a-z0-9][a-z0-9-]{0,46}$',
  },
  ArtifactKeyPrefix: {
    Type: 'String',
    Description: 'Key prefix of this build\'s bundles in those buckets: <prefix>/keyEvent.zip and <prefix>/sweep.zip',
    AllowedPattern: '^[A-Za-z0-9._/-]{1,200}$',
  },
} as const;

/** Thrown for a packaged template that cannot become a StackSet template; names every problem. */
export class StackSetTemplateError extends Error {
  override readonly name = 'StackSetTemplateError';
  /** @param problems - one line per problem. */
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

/** How {@link toStackSetTemplate} rewrites the packaged template. */
export interface StackSetTemplateOptions {
  /**
   * The Region `serverless package` ran for: an alarm topic ARN that names it, given without a
   * Region (`alarmTopicRegionless`), becomes `${AWS::Region}`.
   */
  readonly packagedRegion: string;
  /** The `alarmTopicArn` param was given without a Region (`arn:aws:sns::111122223333:ops`). */
  readonly alarmTopicRegionless: boolean;
}

const DEPLOYMENT_BUCKET_RESOURCES = ['ServerlessDeploymentBucket', 'ServerlessDeploymentBucketPolicy'];

/**
 * Turns the packaged stack into the StackSet template (see the module comment).
 *
 * @param packaged - `cloudformation-template-update-stack.json` of `serverless package`.
 * @param options - see {@link StackSetTemplateOptions}.
 * @returns a new template; `packaged` is not modified.
 * @throws {StackSetTemplateError} when the template has a `Transform` or a nested stack, a
 *   function whose code is not in the deployment bucket, or still names the deployment bucket.
 */
export function toStackSetTemplate(packaged: CfnTemplate, options: StackSetTemplateOptions): CfnTemplate {
  const problems: string[] = [];
  const template = structuredClone(packaged);
  if (template.Transform !== undefined) problems.push(`the template has a Transform (${JSON.stringify(template.Transform)}); StackSets with the default execution role cannot run transforms`);
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::CloudFormation::Stack') problems.push(`${id} is a nested stack (AWS::CloudFormation::Stack); StackSets with the default execution role cannot create nested stacks`);
  }

  for (const id of DEPLOYMENT_BUCKET_RESOURCES) delete template.Resources[id];
  delete template.Outputs?.ServerlessDeploymentBucketName;

  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const code = resource.Properties?.Code as { S3Bucket?: unknown; S3Key?: unknown } | undefined;
    const bundle = typeof code?.S3Key === 'string' ? code.S3Key.split('/').pop() : undefined;
    if (JSON.stringify(code?.S3Bucket) !== JSON.stringify({ Ref: 'ServerlessDeploymentBucket' }) || !bundle?.endsWith('.zip')) {
      problems.push(`${id}: its code is not a bundle in the deployment bucket (${JSON.stringify(code)})`);
      continue;
    }
    resource.Properties!.Code = {
      S3Bucket: { 'Fn::Sub': '${ArtifactBucketPrefix}-${AWS::Region}' },
      S3Key: { 'Fn::Sub': `\${ArtifactKeyPrefix}/${bundle}` },
    };
  }

  let rewritten: CfnTemplate = template;
  if (options.alarmTopicRegionless) {
    const topic = new RegExp(`^arn:([a-z-]+):sns:${escapeRegExp(options.packagedRegion)}:(\\d{12}):([A-Za-z0-9_-]{1,256})$`);
    const regional = (value: string): unknown => {
      const match = topic.exec(value);
      return match ? { 'Fn::Sub': `arn:\${AWS::Partition}:sns:\${AWS::Region}:${match[2]}:${match[3]}` } : value;
    };
    // Conditions keep the literal: `NotifyAlarms` only compares it with '' (and Fn::Equals takes no Fn::Sub).
    rewritten = { ...template, Resources: mapStrings(template.Resources, regional) as CfnTemplate['Resources'], Outputs: mapStrings(template.Outputs, regional) as CfnTemplate['Outputs'] };
  }
  if (JSON.stringify(rewritten).includes('ServerlessDeploymentBucket')) problems.push('the template still refers to ServerlessDeploymentBucket');
  if (problems.length > 0) throw new StackSetTemplateError(problems);

  return {
    AWSTemplateFormatVersion: rewritten.AWSTemplateFormatVersion ?? '2010-09-09',
    Description: `${rewritten.Description ?? 'kms-replica-reconciler'} (StackSet: one instance per account and Region; docs/ORGANIZATIONS.md)`,
    Parameters: { ...STACKSET_PARAMETERS },
    ...(rewritten.Conditions ? { Conditions: rewritten.Conditions } : {}),
    Resources: rewritten.Resources,
    ...(rewritten.Outputs ? { Outputs: rewritten.Outputs } : {}),
  };
}

/** A copy of `value` with every string passed through `map` (keys are kept). */
function mapStrings(value: unknown, map: (s: string) => unknown): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, map));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, map)]));
  return value;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
