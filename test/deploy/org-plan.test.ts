// `npm run deploy -- --org`: the plan (pure) and the StackSet template rewrite, for a sample
// organization of 3 OUs and 4 Regions. The packaged template itself is checked in package.test.ts
// (every `serverless package` runs there, one after the other).
import { describe, expect, it } from 'vitest';
import { createDeployProgram, DeployPlanError } from '../../scripts/deploy-plan.js';
import { formatOrgDryRun, planOrgDeploy, type OrgDeployOptions } from '../../scripts/org-plan.js';
import { StackSetTemplateError, toStackSetTemplate, type CfnTemplate } from '../../scripts/stackset-template.js';

const OUS = 'ou-ab12-11111111,ou-ab12-22222222 ou-ab12-33333333';
const REGIONS = 'us-east-1 eu-west-1 eu-central-1 ap-southeast-2';
const ALL = 'us-east-1 eu-west-1 eu-central-1 ap-southeast-2';
const BUCKET = 'kms-replica-reconciler-prod-a1b2c3d4e5';
const KEY = 'kms-replica-reconciler/prod/0123456789abcdef';

/** Parses `npm run deploy -- <args>` as the script does, then plans the organization install. */
function plan(...args: string[]): ReturnType<typeof planOrgDeploy> {
  const program = createDeployProgram().exitOverride();
  program.parse(args, { from: 'user' });
  return planOrgDeploy(program.opts<OrgDeployOptions>(), '0123456789abcdef');
}

function problemsOf(...args: string[]): readonly string[] {
  try {
    plan(...args);
    return [];
  } catch (error) {
    if (error instanceof DeployPlanError) return error.problems;
    throw error;
  }
}

const sample = (...more: string[]): ReturnType<typeof planOrgDeploy> =>
  plan('--org', '--target-ous', OUS, '--organization-id', 'o-a1b2c3d4e5', '--regions', REGIONS, ...more);

describe('npm run deploy -- --org: the plan for 3 OUs and 4 Regions', () => {
  it('packages once, in the first Region, with the Region list as the allowed Regions and the stacks the budget counts', () => {
    const p = sample();

    expect(p.packageCommand).toEqual(['package', '--stage', 'prod', '--region', 'us-east-1', `--param=allowedRegions=${ALL}`, `--param=stackRegions=${ALL}`]);
    expect([p.stackSetName, p.homeRegion, p.templateFile, p.hubTemplateFile]).toEqual(['kms-replica-reconciler-prod', 'us-east-1', '.serverless/stackset-template.json', '.serverless/hub-template.json']);
    expect([p.artifactBucketPrefix, p.artifactKeyPrefix]).toEqual([BUCKET, KEY]);
  });

  it('makes one bucket per Region that only the organization may read, then uploads both bundles to it', () => {
    const p = sample();

    expect(p.artifacts.map((a) => [a.region, a.bucket])).toEqual([
      ['us-east-1', `${BUCKET}-us-east-1`],
      ['eu-west-1', `${BUCKET}-eu-west-1`],
      ['eu-central-1', `${BUCKET}-eu-central-1`],
      ['ap-southeast-2', `${BUCKET}-ap-southeast-2`],
    ]);
    const [useast1, euwest1] = p.artifacts;
    expect(useast1?.exists).toEqual(['aws', 's3api', 'head-bucket', '--bucket', `${BUCKET}-us-east-1`, '--region', 'us-east-1']);
    // us-east-1 takes no LocationConstraint; every other Region its own.
    expect(useast1?.create).toEqual(['aws', 's3api', 'create-bucket', '--bucket', `${BUCKET}-us-east-1`, '--region', 'us-east-1']);
    expect(euwest1?.create).toEqual(['aws', 's3api', 'create-bucket', '--bucket', `${BUCKET}-eu-west-1`, '--create-bucket-configuration', 'LocationConstraint=eu-west-1', '--region', 'eu-west-1']);
    expect(euwest1?.configure).toEqual([
      [
        'aws',
        's3api',
        'put-public-access-block',
        '--bucket',
        `${BUCKET}-eu-west-1`,
        '--public-access-block-configuration',
        'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true',
        '--region',
        'eu-west-1',
      ],
      ['aws', 's3api', 'put-bucket-policy', '--bucket', `${BUCKET}-eu-west-1`, '--policy', 'file://.serverless/artifact-bucket-policy-eu-west-1.json', '--region', 'eu-west-1'],
      ['aws', 's3', 'cp', '.serverless/keyEvent.zip', `s3://${BUCKET}-eu-west-1/${KEY}/keyEvent.zip`, '--region', 'eu-west-1'],
      ['aws', 's3', 'cp', '.serverless/sweep.zip', `s3://${BUCKET}-eu-west-1/${KEY}/sweep.zip`, '--region', 'eu-west-1'],
    ]);
    expect(euwest1?.policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'OrganizationReadsBundles',
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:::${BUCKET}-eu-west-1/kms-replica-reconciler/*`,
          Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
        },
        {
          Sid: 'TlsOnly',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [`arn:aws:s3:::${BUCKET}-eu-west-1`, `arn:aws:s3:::${BUCKET}-eu-west-1/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ],
    });
  });

  it('creates a service-managed StackSet with auto-deployment, then its instances in every OU and Region', () => {
    const parameters = ['--parameters', `ParameterKey=ArtifactBucketPrefix,ParameterValue=${BUCKET}`, `ParameterKey=ArtifactKeyPrefix,ParameterValue=${KEY}`];
    const preferences = ['--operation-preferences', 'RegionConcurrencyType=PARALLEL,FailureTolerancePercentage=10,MaxConcurrentPercentage=25'];
    const instances = [
      'aws', 'cloudformation', 'create-stack-instances', '--stack-set-name', 'kms-replica-reconciler-prod',
      '--deployment-targets', 'OrganizationalUnitIds=ou-ab12-11111111,ou-ab12-22222222,ou-ab12-33333333',
      '--regions', 'us-east-1', 'eu-west-1', 'eu-central-1', 'ap-southeast-2', ...preferences, '--region', 'us-east-1',
    ];
    const p = sample();

    expect(p.describeStackSet).toEqual(['aws', 'cloudformation', 'describe-stack-set', '--stack-set-name', 'kms-replica-reconciler-prod', '--region', 'us-east-1']);
    expect(p.create).toEqual([
      [
        'aws', 'cloudformation', 'create-stack-set', '--stack-set-name', 'kms-replica-reconciler-prod',
        '--description', 'kms-replica-reconciler: keeps multi-Region KMS keys replicated, in every account of the target OUs (docs/ORGANIZATIONS.md)',
        '--template-body', 'file://.serverless/stackset-template.json', ...parameters,
        '--capabilities', 'CAPABILITY_NAMED_IAM', '--permission-model', 'SERVICE_MANAGED',
        '--auto-deployment', 'Enabled=true,RetainStacksOnAccountRemoval=false', '--managed-execution', 'Active=true',
        '--region', 'us-east-1',
      ],
      instances,
    ]);
    expect(p.update).toEqual([
      [
        'aws', 'cloudformation', 'update-stack-set', '--stack-set-name', 'kms-replica-reconciler-prod',
        '--template-body', 'file://.serverless/stackset-template.json', ...parameters, '--capabilities', 'CAPABILITY_NAMED_IAM', ...preferences,
        '--region', 'us-east-1',
      ],
      instances,
    ]);
    expect(p.waitForOperation).toEqual([
      'aws', 'cloudformation', 'describe-stack-set-operation', '--stack-set-name', 'kms-replica-reconciler-prod',
      '--operation-id', '<OperationId>', '--query', 'StackSetOperation.Status', '--output', 'text', '--region', 'us-east-1',
    ]);
  }); // prettier-ignore

  it('names the management account path (a plain stack per Region) and the hub for the security account', () => {
    const p = sample('--param', 'onPendingDeletion=restore', '--hub-region', 'eu-west-1');

    expect(p.managementAccount).toEqual([
      'npm', 'run', 'deploy', '--', '--regions', ALL, '--stage', 'prod',
      '--param', `allowedRegions=${ALL}`, '--param', 'onPendingDeletion=restore', '--param', `stackRegions=${ALL}`,
    ]); // prettier-ignore
    expect(p.hub).toEqual([
      'aws', 'cloudformation', 'deploy', '--template-file', '.serverless/hub-template.json', '--stack-name', 'kms-replica-reconciler-hub',
      '--parameter-overrides', 'OrganizationId=o-a1b2c3d4e5', '--region', 'eu-west-1',
    ]); // prettier-ignore
  });

  it('acts as the delegated administrator, with the operation preferences, stage, bucket prefix and folder given', () => {
    const p = sample('--delegated-admin', '--failure-tolerance-percentage', '0', '--max-concurrent-percentage', '100', '--stage', 'qa', '--artifact-bucket-prefix', 'org-bundles', '--out', 'build/org/');

    expect(p.create[1]).toEqual([
      'aws', 'cloudformation', 'create-stack-instances', '--stack-set-name', 'kms-replica-reconciler-qa',
      '--deployment-targets', 'OrganizationalUnitIds=ou-ab12-11111111,ou-ab12-22222222,ou-ab12-33333333',
      '--regions', 'us-east-1', 'eu-west-1', 'eu-central-1', 'ap-southeast-2',
      '--operation-preferences', 'RegionConcurrencyType=PARALLEL,FailureTolerancePercentage=0,MaxConcurrentPercentage=100',
      '--call-as', 'DELEGATED_ADMIN', '--region', 'us-east-1',
    ]); // prettier-ignore
    expect(p.describeStackSet).toEqual(['aws', 'cloudformation', 'describe-stack-set', '--stack-set-name', 'kms-replica-reconciler-qa', '--call-as', 'DELEGATED_ADMIN', '--region', 'us-east-1']);
    expect(p.artifacts[3]?.configure[2]).toEqual(['aws', 's3', 'cp', 'build/org/keyEvent.zip', 's3://org-bundles-ap-southeast-2/kms-replica-reconciler/qa/0123456789abcdef/keyEvent.zip', '--region', 'ap-southeast-2']);
    expect(p.templateFile).toBe('build/org/stackset-template.json');
  });

  it('prints every step in order, quoted for a shell', () => {
    const text = formatOrgDryRun(sample());
    const commands = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));

    expect(text.split('\n')[0]).toBe(
      `# dry run: npm run deploy -- --org would run (StackSet kms-replica-reconciler-prod, service-managed; 3 OUs: ou-ab12-11111111 ou-ab12-22222222 ou-ab12-33333333; 4 Regions: ${ALL}):`,
    );
    expect(commands.map((line) => line.split(' ').slice(0, 3).join(' '))).toEqual([
      'npx serverless package',
      ...['us-east-1', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'].flatMap(() => ['aws s3api head-bucket', 'aws s3api put-public-access-block', 'aws s3api put-bucket-policy', 'aws s3 cp', 'aws s3 cp']),
      'aws cloudformation create-stack-set',
      'aws cloudformation create-stack-instances',
      'aws cloudformation update-stack-set',
      'aws cloudformation create-stack-instances',
      'aws cloudformation describe-stack-set-operation',
      'npm run deploy',
      'aws cloudformation deploy',
    ]);
    expect(commands[1]).toBe(`aws s3api head-bucket --bucket ${BUCKET}-us-east-1 --region us-east-1 || aws s3api create-bucket --bucket ${BUCKET}-us-east-1 --region us-east-1`);
    expect(commands).toContain(`npm run deploy -- --regions '${ALL}' --stage prod --param 'allowedRegions=${ALL}' --param 'stackRegions=${ALL}'`);
  });
});

describe('npm run deploy -- --org: a bad command line', () => {
  it('names every problem: OUs, organization, bucket prefix, percentages and the single deploy\'s own checks', () => {
    expect(
      problemsOf('--org', '--target-ous', 'ou-ab12-11111111 ou-x marketing', '--organization-id', 'o-short', '--regions', 'us-east-1 EU-WEST-1', '--artifact-bucket-prefix', 'My_Bucket', '--failure-tolerance-percentage', '101', '--max-concurrent-percentage', '0'),
    ).toEqual([
      "--regions: 'EU-WEST-1' is not a Region code such as eu-west-1",
      "--target-ous: 'ou-x' is not an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)",
      "--target-ous: 'marketing' is not an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)",
      "--organization-id: 'o-short' is not an organization id such as o-a1b2c3d4e5 (aws organizations describe-organization --query Organization.Id)",
      "--artifact-bucket-prefix: 'My_Bucket' must be lower-case letters, digits and hyphens, at most 47 characters (the bucket is <prefix>-<Region>, at most 63)",
      "--failure-tolerance-percentage: '101' must be a whole number from 0 to 100",
      "--max-concurrent-percentage: '0' must be a whole number from 1 to 100",
    ]);
  });

  it('refuses no OU, more than 50 OUs, and a default bucket prefix too long for the organization id', () => {
    expect(problemsOf('--org', '--organization-id', 'o-a1b2c3d4e5', '--regions', 'us-east-1')).toEqual([
      '--target-ous: name at least one OU id (or the root id), e.g. --target-ous ou-ab12-11111111,ou-ab12-22222222',
    ]);
    const many = Array.from({ length: 51 }, (_, i) => `ou-ab12-${String(i).padStart(8, '0')}`).join(',');
    expect(problemsOf('--org', '--target-ous', many, '--organization-id', `o-${'a'.repeat(32)}`, '--regions', 'us-east-1')).toEqual([
      '--target-ous: 51 OUs; one operation takes at most 50: name their parent OU instead',
      `--artifact-bucket-prefix: 'kms-replica-reconciler-prod-${'a'.repeat(32)}' must be lower-case letters, digits and hyphens, at most 47 characters (the bucket is <prefix>-<Region>, at most 63)`,
    ]);
  });

  it.each([
    ['xn--evil', 'xn--'],
    ['sthree-bundles', 'sthree-'],
    ['amzn-s3-demo-bundles', 'amzn-s3-demo-'],
  ])('refuses the bucket prefix %s, which starts with %s that S3 reserves', (prefix, reserved) => {
    expect(problemsOf('--org', '--target-ous', OUS, '--organization-id', 'o-a1b2c3d4e5', '--regions', REGIONS, '--artifact-bucket-prefix', prefix)).toEqual([
      `--artifact-bucket-prefix: '${prefix}' starts with '${reserved}', which S3 reserves for bucket names`,
    ]);
  });

  it('refuses a hub Region of another partition, and a Region list of two partitions', () => {
    expect(problemsOf('--org', '--target-ous', OUS, '--organization-id', 'o-a1b2c3d4e5', '--regions', REGIONS, '--hub-region', 'cn-north-1')).toEqual([
      "--hub-region: 'cn-north-1' is not a Region of the partition of --regions",
    ]);
    expect(problemsOf('--org', '--target-ous', OUS, '--organization-id', 'o-a1b2c3d4e5', '--regions', 'us-east-1 us-gov-west-1')).toEqual([
      '--regions: the Regions are in more than one partition (aws, aws-us-gov); deploy each partition with its own credentials and command',
    ]);
  });

  it('keeps a stage with capitals in the StackSet name but not in the bucket names, which S3 wants in lower case', () => {
    const p = sample('--stage', 'QA');

    expect([p.stackSetName, p.artifacts[0]?.bucket]).toEqual(['kms-replica-reconciler-QA', 'kms-replica-reconciler-qa-a1b2c3d4e5-us-east-1']);
  });

  it('refuses an alarm topic with a Region when the StackSet spans several Regions, and accepts one without', () => {
    expect(problemsOf('--org', '--target-ous', OUS, '--organization-id', 'o-a1b2c3d4e5', '--regions', REGIONS, '--param', 'alarmTopicArn=arn:aws:sns:us-east-1:111122223333:ops')).toEqual([
      '--param alarmTopicArn: give the topic without a Region (arn:aws:sns::<account>:<name>): alarms notify topics of their own Region, and one StackSet template serves every Region',
    ]);
    expect(sample('--param', 'alarmTopicArn=arn:aws:sns::111122223333:ops').alarmTopicRegionless).toBe(true);
    expect(sample().alarmTopicRegionless).toBe(false);
  });
});

describe('the StackSet template rewrite', () => {
  /** The smallest packaged stack: a deployment bucket, a function loading its code from it, an alarm. */
  function packaged(): CfnTemplate {
    return {
      AWSTemplateFormatVersion: '2010-09-09',
      Description: 'The AWS CloudFormation template for this Serverless application',
      Conditions: { NotifyAlarms: { 'Fn::Not': [{ 'Fn::Equals': ['arn:aws:sns:us-east-1:111122223333:ops', ''] }] } },
      Resources: {
        ServerlessDeploymentBucket: { Type: 'AWS::S3::Bucket', Properties: {} },
        ServerlessDeploymentBucketPolicy: { Type: 'AWS::S3::BucketPolicy', Properties: { Bucket: { Ref: 'ServerlessDeploymentBucket' } } },
        SweepLambdaFunction: {
          Type: 'AWS::Lambda::Function',
          Properties: { Code: { S3Bucket: { Ref: 'ServerlessDeploymentBucket' }, S3Key: 'serverless/kms-replica-reconciler/prod/1-2026/sweep.zip' }, Handler: 'handlers/sweep.handler' },
        },
        SweepErrorsAlarm: { Type: 'AWS::CloudWatch::Alarm', Properties: { AlarmActions: { 'Fn::If': ['NotifyAlarms', ['arn:aws:sns:us-east-1:111122223333:ops'], { Ref: 'AWS::NoValue' }] } } },
      },
      Outputs: { ServerlessDeploymentBucketName: { Value: { Ref: 'ServerlessDeploymentBucket' } }, SweepArn: { Value: { 'Fn::GetAtt': ['SweepLambdaFunction', 'Arn'] } } },
    };
  }

  it("loads each function's bundle from its own Region's bucket and drops the deployment bucket", () => {
    const input = packaged();
    const template = toStackSetTemplate(input, { packagedRegion: 'us-east-1', alarmTopicRegionless: false });

    expect(Object.keys(template.Resources)).toEqual(['SweepLambdaFunction', 'SweepErrorsAlarm']);
    expect(template.Resources.SweepLambdaFunction?.Properties?.Code).toEqual({
      S3Bucket: { 'Fn::Sub': '${ArtifactBucketPrefix}-${AWS::Region}' },
      S3Key: { 'Fn::Sub': '${ArtifactKeyPrefix}/sweep.zip' },
    });
    expect(Object.keys(template.Parameters ?? {})).toEqual(['ArtifactBucketPrefix', 'ArtifactKeyPrefix']);
    expect(template.Outputs).toEqual({ SweepArn: { Value: { 'Fn::GetAtt': ['SweepLambdaFunction', 'Arn'] } } });
    expect(template.Transform).toBeUndefined();
    // The input is left as it was.
    expect(Object.keys(input.Resources)).toHaveLength(4);
  });

  it("puts each instance's Region into an alarm topic given without one, and leaves the condition's literal", () => {
    const template = toStackSetTemplate(packaged(), { packagedRegion: 'us-east-1', alarmTopicRegionless: true });

    expect(template.Resources.SweepErrorsAlarm?.Properties?.AlarmActions).toEqual({
      'Fn::If': ['NotifyAlarms', [{ 'Fn::Sub': 'arn:${AWS::Partition}:sns:${AWS::Region}:111122223333:ops' }], { Ref: 'AWS::NoValue' }],
    });
    expect(template.Conditions).toEqual(packaged().Conditions);
  });

  it('refuses a Transform, a nested stack and a function whose code is elsewhere, naming each', () => {
    const bad = packaged();
    bad.Transform = 'AWS::Serverless-2016-10-31';
    bad.Resources.Nested = { Type: 'AWS::CloudFormation::Stack', Properties: { TemplateURL: 'https://example.com/t.json' } };
    bad.Resources.Inline = { Type: 'AWS::Lambda::Function', Properties: { Code: { ZipFile: 'exports.handler = 1' } } };

    expect(() => toStackSetTemplate(bad, { packagedRegion: 'us-east-1', alarmTopicRegionless: false })).toThrow(StackSetTemplateError);
    try {
      toStackSetTemplate(bad, { packagedRegion: 'us-east-1', alarmTopicRegionless: false });
    } catch (error) {
      expect((error as StackSetTemplateError).problems).toEqual([
        'the template has a Transform ("AWS::Serverless-2016-10-31"); StackSets with the default execution role cannot run transforms',
        'Nested is a nested stack (AWS::CloudFormation::Stack); StackSets with the default execution role cannot create nested stacks',
        'Inline: its code is not a bundle in the deployment bucket ({"ZipFile":"exports.handler = 1"})',
      ]);
    }
  });
});
