// The packaged stack is the artefact under test: `serverless package` runs offline with no
// credentials, and these tests read its CloudFormation template and load its bundles.
// Every `serverless package` of the test suite runs in this file, one after the other:
// serverless-esbuild builds in the project's .esbuild folder.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { STACK_PARAM_DEFAULTS } from '../../scripts/stack-settings.js';
import { TRIGGER_EVENT_NAMES } from '../../src/reconcile/trigger.js';
import { startEmbeddedKms, type EmbeddedKms } from '../../src/emulator/index.js';
import { regionsOfPartition } from '../../src/reconcile/regions.js';
import { FIXTURE_KEY_ID } from '../helpers/fixtures.js';

const run = promisify(execFile);
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown> };
type Resource = { Type: string; Condition?: string; Properties: Record<string, any> };
type Template = { Conditions: Record<string, unknown>; Resources: Record<string, Resource>; Outputs: Record<string, any> };

/** One `serverless package` output: the template, the state file and the folder holding the zips. */
interface Packaged {
  readonly dir: string;
  readonly template: Template;
  readonly state: { service: { initialServerlessConfig: { params: { default: Record<string, unknown> } } } };
}

const scratch = mkdtempSync(join(tmpdir(), 'kms-reconciler-package-'));
/** The environment of every `serverless package`: no credentials, no profile, nothing to phone home. */
const packageEnv = {
  ...process.env,
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  AWS_SESSION_TOKEN: '',
  AWS_PROFILE: '',
  AWS_EC2_METADATA_DISABLED: 'true',
};

/** `serverless package` offline, with no credentials, into a fresh folder. */
async function packageStack(name: string, args: readonly string[] = []): Promise<Packaged> {
  const dir = join(scratch, name);
  await run('npx', ['serverless', 'package', '--package', dir, ...args], { cwd: projectRoot, env: packageEnv, timeout: 120_000 });
  return {
    dir,
    template: JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template,
    state: JSON.parse(readFileSync(join(dir, 'serverless-state.json'), 'utf8')) as Packaged['state'],
  };
}

let defaults: Packaged;
let customised: Packaged;
let dryRun: Packaged;
let refused: { code: number; output: string };
let failedDeploy: { code: number; stdout: string; stderr: string };

const CUSTOM_PARAMS = [
  'onPendingDeletion=Restore',
  'replicaPolicy=primary',
  'outcomeEventBus=ops-events',
  'allowedRegions=eu-west-1, us-west-2',
  'copyTags=false',
  // No Region in the topic ARN: the topic of that name in the deployment Region (eu-west-1).
  'alarmTopicArn=arn:aws:sns::111122223333:ops-alarms',
  'sweepSchedule=rate(30 minutes)',
  'logRetentionInDays=90',
  'securityHubFindings=on',
];

const DRY_RUN_PARAMS = ['dryRun=true', 'onPendingDeletion=restore', 'copyTags=true', 'replicaPolicy=primary', 'outcomeEventBus=ops-events'];

beforeAll(async () => {
  defaults = await packageStack('defaults');
  customised = await packageStack('customised', ['--stage', 'qa', '--region', 'eu-west-1', ...CUSTOM_PARAMS.map((p) => `--param=${p}`)]);
  // Every setting that adds a write asks for it; dryRun must still leave all of them out.
  dryRun = await packageStack('dry-run', DRY_RUN_PARAMS.map((p) => `--param=${p}`));
  refused = await run(
    'npx',
    ['serverless', 'package', '--package', join(scratch, 'refused'), '--param=onPendingDeletion=resotre', '--param=allowedRegions=eu-west-1 cn-north-1', '--param=replicaRegion=eu-west-1'],
    { cwd: projectRoot, env: packageEnv, timeout: 120_000 },
  ).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
  );
  // Last, and like every Serverless run here after the one before: a real `npm run deploy` with
  // no credentials anywhere fails at its first Region (Serverless checks credentials first).
  failedDeploy = await run(
    process.execPath,
    [createRequire(import.meta.url).resolve('tsx/cli'), 'scripts/deploy.ts', '--regions', 'us-east-1 eu-west-1'],
    {
      cwd: projectRoot,
      timeout: 120_000,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: scratch,
        SLS_TELEMETRY_DISABLED: '1',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: join(scratch, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(scratch, 'no-aws-credentials'),
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      },
    },
  ).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}, 180_000);

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function resourcesOfType(from: Packaged, type: string): Resource[] {
  return Object.values(from.template.Resources).filter((r) => r.Type === type);
}

function ruleNamed(from: Packaged, name: string): Resource | undefined {
  return resourcesOfType(from, 'AWS::Events::Rule').find((r) => r.Properties.Name === name);
}

function roleStatements(from: Packaged): Statement[] {
  const [role] = resourcesOfType(from, 'AWS::IAM::Role');
  return role?.Properties.Policies[0].PolicyDocument.Statement as Statement[];
}

/** Every IAM statement of the stack: the role's own and each optional policy's (condition or not). */
function everyStatement(from: Packaged): Statement[] {
  return [
    ...roleStatements(from),
    ...resourcesOfType(from, 'AWS::IAM::Policy').flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]),
  ];
}

/**
 * Whether CloudFormation creates a resource of the packaged template: its `Condition`, evaluated
 * as CloudFormation does. The packaged conditions hold only literals (the settings are
 * substituted), `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or` and `Condition` references.
 */
function isCreated(from: Packaged, resource: Resource): boolean {
  const evaluate = (expression: unknown): boolean => {
    const e = expression as Record<string, any>;
    if (typeof e.Condition === 'string') return evaluate(from.template.Conditions[e.Condition]);
    if (e['Fn::Equals']) {
      const [a, b] = e['Fn::Equals'] as unknown[];
      if (typeof a !== 'string' || typeof b !== 'string') throw new Error(`not a literal comparison: ${JSON.stringify(e)}`);
      return a === b;
    }
    if (e['Fn::Not']) return !evaluate(e['Fn::Not'][0]);
    if (e['Fn::And']) return (e['Fn::And'] as unknown[]).every(evaluate);
    if (e['Fn::Or']) return (e['Fn::Or'] as unknown[]).some(evaluate);
    throw new Error(`unknown condition ${JSON.stringify(e)}`);
  };
  return resource.Condition === undefined || evaluate({ Condition: resource.Condition });
}

/** The statements the deployed stack's role holds: its own, and each policy CloudFormation creates. */
function grantedStatements(from: Packaged): Statement[] {
  return [
    ...roleStatements(from),
    ...resourcesOfType(from, 'AWS::IAM::Policy')
      .filter((p) => isCreated(from, p))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]),
  ];
}

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const kmsArn = (key: string): { 'Fn::Sub': string } => ({ 'Fn::Sub': `arn:\${AWS::Partition}:kms:*:\${AWS::AccountId}:key/${key}` });

describe('the packaged stack: events and schedule', () => {
  it("routes exactly the trigger events of the stack's own account, successful calls only, to the key-event queue, with retries and a dead-letter queue", () => {
    const rules = resourcesOfType(defaults, 'AWS::Events::Rule').filter((r) => r.Properties.EventPattern !== undefined);
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties).toEqual({
      Name: 'kms-replica-reconciler-prod-key-events',
      Description: 'Successful KMS calls that can change what a multi-Region key family needs (design §3)',
      State: 'ENABLED',
      EventPattern: {
        source: ['aws.kms'],
        'detail-type': ['AWS API Call via CloudTrail'],
        account: [{ Ref: 'AWS::AccountId' }],
        detail: { eventSource: ['kms.amazonaws.com'], eventName: [...TRIGGER_EVENT_NAMES], errorCode: [{ exists: false }] },
      },
      Targets: [
        {
          Id: 'key-event-queue',
          Arn: { 'Fn::GetAtt': ['KeyEventQueue', 'Arn'] },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['KeyEventRuleDeadLetterQueue', 'Arn'] } },
        },
      ],
    });
  });

  it('consumes the key-event queue through an event source mapping: batches of 10, at most keyEventMaxConcurrency containers, partial batch responses', () => {
    const mappings = resourcesOfType(defaults, 'AWS::Lambda::EventSourceMapping').map((m) => m.Properties);
    expect(mappings).toEqual([
      {
        BatchSize: 10,
        EventSourceArn: { 'Fn::GetAtt': ['KeyEventQueue', 'Arn'] },
        FunctionName: { 'Fn::GetAtt': ['KeyEventLambdaFunction', 'Arn'] },
        Enabled: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 2 },
      },
    ]);
    // The queue: 14 days, SSE, visibility 6 × the function's 120 s timeout [S28], redrive after 5 receives.
    expect(defaults.template.Resources.KeyEventQueue?.Properties).toEqual({
      QueueName: 'kms-replica-reconciler-prod-key-events',
      MessageRetentionPeriod: 1209600,
      VisibilityTimeout: 720,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['KeyEventDeadLetterQueue', 'Arn'] }, maxReceiveCount: 5 },
    });
    // EventBridge may send to it for its own rule only.
    expect(defaults.template.Resources.KeyEventQueuePolicy?.Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'EventBridgeKeyEvents',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': ['KeyEventQueue', 'Arn'] },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['KeyEventRule', 'Arn'] } } },
      },
    ]);
  });

  it('starts the sweep hourly with {} as its input, with retries and a dead-letter queue on the schedule target', () => {
    const schedules = resourcesOfType(defaults, 'AWS::Events::Rule').filter((r) => r.Properties.ScheduleExpression !== undefined);
    expect(schedules.map((r) => r.Properties)).toEqual([
      {
        Name: 'kms-replica-reconciler-prod-sweep-schedule',
        Description: "Starts the sweep of this Region's managed primary keys",
        State: 'ENABLED',
        ScheduleExpression: 'rate(1 hour)',
        Targets: [
          {
            Id: 'kms-replica-reconciler-prod-sweep-schedule-target',
            Arn: { 'Fn::GetAtt': ['SweepLambdaFunction', 'Arn'] },
            Input: '{}',
            RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 185 },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['SweepRuleDeadLetterQueue', 'Arn'] } },
          },
        ],
      },
    ]);
    expect(ruleNamed(customised, 'kms-replica-reconciler-qa-sweep-schedule')?.Properties.ScheduleExpression).toBe('rate(30 minutes)');
  });

  it('lets EventBridge write to each dead-letter queue only for its own rule', () => {
    const policies = Object.fromEntries(
      resourcesOfType(defaults, 'AWS::SQS::QueuePolicy').map((p) => [p.Properties.Queues[0].Ref, p.Properties.PolicyDocument.Statement]),
    );
    const ruleArn = (name: string): unknown => ({ 'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${name}` });
    const deadLetters = (queue: string, rule: string): unknown[] => [
      {
        Sid: 'EventBridgeDeadLetters',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
        Condition: { ArnEquals: { 'aws:SourceArn': ruleArn(rule) } },
      },
    ];
    expect(policies).toEqual({
      KeyEventQueue: expect.any(Array),
      KeyEventRuleDeadLetterQueue: deadLetters('KeyEventRuleDeadLetterQueue', 'kms-replica-reconciler-prod-key-events'),
      SweepRuleDeadLetterQueue: deadLetters('SweepRuleDeadLetterQueue', 'kms-replica-reconciler-prod-sweep-schedule'),
    });
    // The names in the conditions are the rules' own.
    expect(resourcesOfType(defaults, 'AWS::Events::Rule').map((r) => r.Properties.Name)).toEqual([
      'kms-replica-reconciler-prod-sweep-schedule',
      'kms-replica-reconciler-prod-key-events',
    ]);
  });
});

describe('the packaged stack: functions', () => {
  it('runs both handlers on Node.js 22 on arm64, a key-event batch for up to 2 minutes, the sweep alone for up to 15', () => {
    const functions = resourcesOfType(defaults, 'AWS::Lambda::Function').map((fn) => [
      fn.Properties.FunctionName,
      fn.Properties.Handler,
      fn.Properties.Runtime,
      fn.Properties.Architectures,
      fn.Properties.Timeout,
      fn.Properties.ReservedConcurrentExecutions,
    ]);
    expect(functions).toEqual([
      ['kms-replica-reconciler-prod-keyEvent', 'handlers/key-event.handler', 'nodejs22.x', ['arm64'], 120, undefined],
      ['kms-replica-reconciler-prod-sweep', 'handlers/sweep.handler', 'nodejs22.x', ['arm64'], 900, 1],
    ]);
  });

  it('invokes only the sweep asynchronously: a failed sweep goes to its own queue at once (key events are retried by their queue)', () => {
    const configs = Object.fromEntries(resourcesOfType(defaults, 'AWS::Lambda::EventInvokeConfig').map((c) => [c.Properties.FunctionName.Ref, c.Properties]));
    expect(configs).toEqual({
      SweepLambdaFunction: {
        FunctionName: { Ref: 'SweepLambdaFunction' },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['SweepFailureQueue', 'Arn'] } } },
      },
    });
  });

  it('keeps every failed or undeliverable event for 14 days in an encrypted queue', () => {
    const queues = Object.entries(defaults.template.Resources)
      .filter(([, r]) => r.Type === 'AWS::SQS::Queue')
      .map(([id, r]) => [id, r.Properties]);
    const kept = { MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true };
    expect(queues).toEqual([
      ['KeyEventQueue', expect.objectContaining(kept)],
      ['KeyEventDeadLetterQueue', kept],
      ['KeyEventRuleDeadLetterQueue', kept],
      ['SweepFailureQueue', kept],
      ['SweepRuleDeadLetterQueue', kept],
    ]);
  });

  it('gives both functions the settings, normalised, their own role to skip their echoes and their account', () => {
    const environments = resourcesOfType(defaults, 'AWS::Lambda::Function').map((fn) => fn.Properties.Environment.Variables);
    const expected = {
      REPLICA_REGIONS_TAG: 'replica-regions',
      ALLOWED_REGIONS: '',
      ON_PENDING_DELETION: 'report',
      REPLICA_POLICY: 'default',
      COPY_TAGS: 'true',
      COPY_DESCRIPTION: 'true',
      DRY_RUN: 'false',
      QUOTA_SHARE: '0.5',
      KMS_REQUEST_QUOTAS: '',
      LOG_LEVEL: 'INFO',
      OUTCOME_EVENT_BUS: '',
      KEY_EVENT_QUEUE: 'kms-replica-reconciler-prod-key-events',
      KEY_EVENT_MAX_CONCURRENCY: '2',
      STACK_REGIONS: '',
      SECURITY_HUB_FINDINGS: 'off',
      POWERTOOLS_SERVICE_NAME: 'kms-replica-reconciler',
      RECONCILER_PRINCIPAL_ARN: { 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] },
      ACCOUNT_ID: { Ref: 'AWS::AccountId' },
      NODE_OPTIONS: '--enable-source-maps',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    expect(environments).toEqual([expected, expected]);
    const [custom] = resourcesOfType(customised, 'AWS::Lambda::Function');
    expect(custom?.Properties.Environment.Variables).toMatchObject({
      ALLOWED_REGIONS: 'eu-west-1 us-west-2',
      ON_PENDING_DELETION: 'restore',
      REPLICA_POLICY: 'primary',
      COPY_TAGS: 'false',
      OUTCOME_EVENT_BUS: 'ops-events',
    });
  });

  it('outputs the role ARN and the URL of each queue (docs/DEPLOY.md reads them)', () => {
    const ours = Object.entries(defaults.template.Outputs).filter(([id]) => id === 'ReconcilerRoleArn' || id.endsWith('QueueUrl'));
    expect(Object.fromEntries(ours.map(([id, output]) => [id, output.Value]))).toEqual({
      ReconcilerRoleArn: { 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] },
      KeyEventQueueUrl: { Ref: 'KeyEventQueue' },
      KeyEventDeadLetterQueueUrl: { Ref: 'KeyEventDeadLetterQueue' },
      KeyEventRuleDeadLetterQueueUrl: { Ref: 'KeyEventRuleDeadLetterQueue' },
      SweepFailureQueueUrl: { Ref: 'SweepFailureQueue' },
      SweepRuleDeadLetterQueueUrl: { Ref: 'SweepRuleDeadLetterQueue' },
    });
  });

  it('keeps logs for the configured number of days', () => {
    const retention = (from: Packaged): unknown[] =>
      resourcesOfType(from, 'AWS::Logs::LogGroup').map((g) => [g.Properties.LogGroupName, g.Properties.RetentionInDays]);
    expect(retention(defaults)).toEqual([
      ['/aws/lambda/kms-replica-reconciler-prod-keyEvent', 30],
      ['/aws/lambda/kms-replica-reconciler-prod-sweep', 30],
    ]);
    expect(retention(customised)).toEqual([
      ['/aws/lambda/kms-replica-reconciler-qa-keyEvent', 90],
      ['/aws/lambda/kms-replica-reconciler-qa-sweep', 90],
    ]);
  });

  it('ships one minified ES module bundle per handler, with its source map', () => {
    const entries = (zip: string): string[] => Object.keys(unzipSync(readFileSync(join(defaults.dir, zip)))).sort();
    expect([entries('keyEvent.zip'), entries('sweep.zip')]).toEqual([
      ['handlers/key-event.mjs', 'handlers/key-event.mjs.map'],
      ['handlers/sweep.mjs', 'handlers/sweep.mjs.map'],
    ]);
    const files = unzipSync(readFileSync(join(defaults.dir, 'keyEvent.zip')));
    const bundle = new TextDecoder().decode(files['handlers/key-event.mjs']);
    const map = JSON.parse(new TextDecoder().decode(files['handlers/key-event.mjs.map'])) as { names: string[] };
    expect(bundle.trimEnd().split('\n').at(-1)).toBe('//# sourceMappingURL=key-event.mjs.map');
    // Minified: the composition root's function keeps its name only in the source map.
    expect([map.names.includes('createRuntime'), bundle.includes('createRuntime')]).toEqual([true, false]);
  });
});

describe('the packaged stack: IAM, statement by statement', () => {
  const serverlessStatements = [
    {
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:TagResource'],
      Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/kms-replica-reconciler-prod*:*' }],
    },
    {
      Effect: 'Allow',
      Action: ['logs:PutLogEvents'],
      Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/kms-replica-reconciler-prod*:*:*' }],
    },
  ];

  /** `key/*` of the stack's account in each given Region: where tag-on-create needs TagResource. */
  const keysOfRegions = (regions: readonly string[]): unknown[] =>
    regions.map((r) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:kms:${r}:\${AWS::AccountId}:key/*` }));
  const replicationStatements = (regions: readonly string[]): Statement[] => [
    {
      Sid: 'ReplicateMultiRegionPrimaries',
      Effect: 'Allow',
      Action: 'kms:ReplicateKey',
      Resource: kmsArn('mrk-*'),
      Condition: { StringEquals: { 'kms:ReplicaRegion': [...regions] } },
    },
    {
      Sid: 'CreateReplicaKeys',
      Effect: 'Allow',
      Action: 'kms:CreateKey',
      Resource: '*',
      Condition: { Bool: { 'kms:MultiRegion': 'true' }, StringEquals: { 'kms:MultiRegionKeyType': 'REPLICA' } },
    },
  ];

  it('grants the role itself only reads, its sweep continuation and its failure queues: nothing that writes to a key', () => {
    expect(roleStatements(defaults)).toEqual([
      ...serverlessStatements,
      { Sid: 'ObserveKeys', Effect: 'Allow', Action: ['kms:DescribeKey', 'kms:ListResourceTags', 'kms:ListKeyRotations'], Resource: kmsArn('*') },
      { Sid: 'ListKeysForSweep', Effect: 'Allow', Action: ['kms:ListKeys'], Resource: '*' },
      {
        Sid: 'QueueRepairsAndForwards',
        Effect: 'Allow',
        Action: ['sqs:GetQueueUrl', 'sqs:SendMessage'],
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:sqs:*:${AWS::AccountId}:kms-replica-reconciler-prod-key-events' },
      },
      {
        Sid: 'ContinueSweep',
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:kms-replica-reconciler-prod-sweep' },
      },
      { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['SweepFailureQueue', 'Arn'] } },
      // The event source mapping's own permissions on the key-event queue (Serverless adds them).
      { Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], Resource: [{ 'Fn::GetAtt': ['KeyEventQueue', 'Arn'] }] },
    ]);
  });

  it('adds replication, TagResource, PutEvents, restore and policy copy only when their settings ask for them', () => {
    const optional = (from: Packaged): Record<string, unknown> =>
      Object.fromEntries(resourcesOfType(from, 'AWS::IAM::Policy').map((p) => [p.Condition, [p.Properties.Roles, p.Properties.PolicyDocument.Statement]]));
    const role = [{ Ref: 'IamRoleLambdaExecution' }];
    const statements = (outcomeBus: string, regions: readonly string[]) => ({
      WriteKeys: [role, replicationStatements(regions)],
      CopyTags: [
        role,
        [
          {
            Sid: 'TagReplicaKeys',
            Effect: 'Allow',
            Action: 'kms:TagResource',
            Resource: keysOfRegions(regions),
            Condition: { Bool: { 'kms:MultiRegion': 'true' }, StringEquals: { 'kms:MultiRegionKeyType': 'REPLICA' } },
          },
        ],
      ],
      PublishOutcomes: [
        role,
        [
          {
            Sid: 'PublishOutcomeEvents',
            Effect: 'Allow',
            Action: 'events:PutEvents',
            Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/${outcomeBus}` },
          },
        ],
      ],
      RestoreReplicas: [
        role,
        [
          {
            Sid: 'RestoreReplicaKeys',
            Effect: 'Allow',
            Action: ['kms:CancelKeyDeletion', 'kms:EnableKey'],
            Resource: kmsArn('mrk-*'),
            Condition: { StringEquals: { 'kms:MultiRegionKeyType': 'REPLICA' } },
          },
          {
            Sid: 'MarkRestoresOnPrimaries',
            Effect: 'Allow',
            Action: ['kms:TagResource', 'kms:UntagResource'],
            Resource: kmsArn('mrk-*'),
            Condition: {
              StringEquals: { 'kms:MultiRegionKeyType': 'PRIMARY' },
              'ForAllValues:StringLike': { 'aws:TagKeys': 'kms-replica-reconciler:restoring:*' },
              Null: { 'aws:TagKeys': 'false' },
            },
          },
        ],
      ],
      ImportFindings: [
        role,
        [
          {
            Sid: 'ImportOwnFindings',
            Effect: 'Allow',
            Action: 'securityhub:BatchImportFindings',
            Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default' },
          },
          {
            Sid: 'ReadOwnFindings',
            Effect: 'Allow',
            Action: 'securityhub:GetFindings',
            Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:hub/default' },
          },
        ],
      ],
      CopyPrimaryPolicy: [
        role,
        [
          {
            Sid: 'ReadPrimaryKeyPolicy',
            Effect: 'Allow',
            Action: 'kms:GetKeyPolicy',
            Resource: kmsArn('mrk-*'),
            Condition: { StringEquals: { 'kms:MultiRegionKeyType': 'PRIMARY' } },
          },
        ],
      ],
    });
    // Replication only into the Regions of the partition by default, into the allowed ones when given.
    expect(optional(defaults)).toEqual(statements('', regionsOfPartition('aws')));
    expect(optional(customised)).toEqual(statements('ops-events', ['eu-west-1', 'us-west-2']));
    expect(regionsOfPartition('aws')).toHaveLength(34);

    // Which of them CloudFormation creates: replication and tagging by default; the customised
    // stack replicates, restores, copies the policy and publishes, and passes no tags.
    const created = (from: Packaged): string[] =>
      resourcesOfType(from, 'AWS::IAM::Policy')
        .filter((p) => isCreated(from, p))
        .map((p) => p.Condition as string);
    expect(created(defaults)).toEqual(['WriteKeys', 'CopyTags']);
    expect(created(customised)).toEqual(['WriteKeys', 'PublishOutcomes', 'ImportFindings', 'RestoreReplicas', 'CopyPrimaryPolicy']);
    expect(defaults.template.Conditions).toEqual({
      PublishOutcomes: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] },
      WriteKeys: { 'Fn::Equals': ['false', 'false'] },
      RestoreReplicas: { 'Fn::And': [{ Condition: 'WriteKeys' }, { 'Fn::Equals': ['report', 'restore'] }] },
      CopyPrimaryPolicy: { 'Fn::Equals': ['default', 'primary'] },
      CopyTags: { 'Fn::And': [{ Condition: 'WriteKeys' }, { 'Fn::Equals': ['true', 'true'] }] },
      NotifyAlarms: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] },
      ImportFindings: { 'Fn::Equals': ['off', 'on'] },
    });
    expect(customised.template.Conditions['ImportFindings']).toEqual({ 'Fn::Equals': ['on', 'on'] });
  });

  it('grants Security Hub and alarms on findings not imported only when securityHubFindings is on', () => {
    const securityHub = (from: Packaged): unknown[] => [
      ...grantedStatements(from).flatMap(actionsOf).filter((a) => a.startsWith('securityhub:')),
      ...resourcesOfType(from, 'AWS::CloudWatch::Alarm')
        .filter((a) => isCreated(from, a) && a.Properties.MetricName === 'FindingsNotImported')
        .map((a) => a.Properties.AlarmName),
    ];
    const environment = (from: Packaged): unknown[] =>
      resourcesOfType(from, 'AWS::Lambda::Function').map((fn) => fn.Properties.Environment.Variables.SECURITY_HUB_FINDINGS);

    expect(securityHub(defaults)).toEqual([]);
    expect(environment(defaults)).toEqual(['off', 'off']);
    expect(securityHub(customised)).toEqual(['securityhub:BatchImportFindings', 'securityhub:GetFindings', 'kms-replica-reconciler-qa-findings-not-imported']);
    expect(environment(customised)).toEqual(['on', 'on']);
  });

  it('gives a dryRun stack no permission to write to any key, whatever else its settings ask for', () => {
    const granted = grantedStatements(dryRun);
    const kmsWrites = granted.flatMap(actionsOf).filter((a) => a.startsWith('kms:') && !/^kms:(Describe|List|Get)/.test(a));

    expect(kmsWrites).toEqual([]);
    // What it holds: reads (the policy copy asked for is a read), its logs, its own sweep and
    // queues (the key-event queue's mapping; repair and forward requests), and its outcome bus.
    expect(granted.flatMap(actionsOf).sort()).toEqual([
      'events:PutEvents',
      'kms:DescribeKey',
      'kms:GetKeyPolicy',
      'kms:ListKeyRotations',
      'kms:ListKeys',
      'kms:ListResourceTags',
      'lambda:InvokeFunction',
      'logs:CreateLogGroup',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'logs:TagResource',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
      'sqs:SendMessage',
    ]);
    // The same settings without dryRun would write: the policies are there, only not created.
    const writePolicies = resourcesOfType(dryRun, 'AWS::IAM::Policy').filter((p) => !isCreated(dryRun, p)).map((p) => p.Condition);
    // (ImportFindings too, but because securityHubFindings is off: it writes findings, not keys.)
    expect(writePolicies).toEqual(['WriteKeys', 'CopyTags', 'ImportFindings', 'RestoreReplicas']);
    expect(resourcesOfType(dryRun, 'AWS::Lambda::Function').map((fn) => fn.Properties.Environment.Variables.DRY_RUN)).toEqual(['true', 'true']);
  });

  it('grants a stack that writes each write it makes: ReplicateKey, CreateKey and TagResource by default', () => {
    const kmsWrites = grantedStatements(defaults)
      .flatMap(actionsOf)
      .filter((a) => a.startsWith('kms:') && !/^kms:(Describe|List|Get)/.test(a));
    expect(kmsWrites).toEqual(['kms:ReplicateKey', 'kms:CreateKey', 'kms:TagResource']);
  });

  it('grants TagResource, which tag-on-create needs on every key of the account and Region, only in the Regions replicas may be created in', () => {
    const tagging = (from: Packaged): Statement | undefined => everyStatement(from).find((s) => actionsOf(s).includes('kms:TagResource'));
    expect(tagging(customised)?.Resource).toEqual(keysOfRegions(['eu-west-1', 'us-west-2']));
    expect(tagging(defaults)?.Resource).toEqual(keysOfRegions(regionsOfPartition('aws')));
    // No Region wildcard: a replica key of this account in any other Region cannot be tagged.
    expect(JSON.stringify(tagging(defaults)?.Resource)).not.toContain('kms:*:');
  });

  it('has no wildcard action, and no write on every resource without a condition', () => {
    for (const from of [defaults, customised]) {
      const statements = everyStatement(from);
      expect(statements.flatMap(actionsOf).filter((a) => a.includes('*'))).toEqual([]);
      const unconditionedWildcardWrites = statements
        .filter((s) => s.Resource === '*' && s.Condition === undefined)
        .flatMap(actionsOf)
        .filter((a) => !/^[a-z]+:(List|Describe|Get)/.test(a));
      expect(unconditionedWildcardWrites).toEqual([]);
      expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    }
  });

  it('grants every KMS action of the reconciler in exactly one statement, but TagResource (replicas at creation; restore marks on primaries)', () => {
    const kmsActions = everyStatement(customised)
      .flatMap(actionsOf)
      .filter((a) => a.startsWith('kms:'))
      .sort();
    expect(kmsActions).toEqual([
      'kms:CancelKeyDeletion',
      'kms:CreateKey',
      'kms:DescribeKey',
      'kms:EnableKey',
      'kms:GetKeyPolicy',
      'kms:ListKeyRotations',
      'kms:ListKeys',
      'kms:ListResourceTags',
      'kms:ReplicateKey',
      'kms:TagResource',
      'kms:TagResource',
      'kms:UntagResource',
    ]);
  });
});

describe('the packaged stack: alarms', () => {
  it('alarms on every failure queue, dead-letter queue, function errors and failed or rejected reconciles', () => {
    const alarms = resourcesOfType(defaults, 'AWS::CloudWatch::Alarm').map((a) => {
      const p = a.Properties;
      return [p.AlarmName, p.Namespace, p.MetricName, p.Dimensions, p.Statistic, p.Period, p.EvaluationPeriods, p.Threshold, p.ComparisonOperator, p.TreatMissingData];
    });
    const queue = (name: string, id: string): unknown[] => [
      `kms-replica-reconciler-prod-${name}`,
      'AWS/SQS',
      'ApproximateNumberOfMessagesVisible',
      [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }],
      'Maximum',
      300,
      1,
      1,
      'GreaterThanOrEqualToThreshold',
      'notBreaching',
    ];
    const errors = (name: string, fn: string, periods: number): unknown[] => [
      `kms-replica-reconciler-prod-${name}`,
      'AWS/Lambda',
      'Errors',
      [{ Name: 'FunctionName', Value: { Ref: fn } }],
      'Sum',
      300,
      periods,
      1,
      'GreaterThanOrEqualToThreshold',
      'notBreaching',
    ];
    const reconciler = (name: string, metric: string): unknown[] => [
      `kms-replica-reconciler-prod-${name}`,
      'KmsReplicaReconciler',
      metric,
      [{ Name: 'service', Value: 'kms-replica-reconciler' }],
      'Sum',
      300,
      1,
      1,
      'GreaterThanOrEqualToThreshold',
      'notBreaching',
    ];
    expect(alarms).toEqual([
      queue('key-event-failures', 'KeyEventDeadLetterQueue'),
      ['kms-replica-reconciler-prod-key-event-backlog', 'AWS/SQS', 'ApproximateAgeOfOldestMessage', [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['KeyEventQueue', 'QueueName'] } }], 'Maximum', 300, 3, 3600, 'GreaterThanThreshold', 'notBreaching'],
      reconciler('outcome-publish-failures', 'OutcomePublishFailures'),
      // Created only with securityHubFindings=on (its Condition; see the Security Hub test).
      reconciler('findings-not-imported', 'FindingsNotImported'),
      queue('key-event-dead-letters', 'KeyEventRuleDeadLetterQueue'),
      queue('sweep-failures', 'SweepFailureQueue'),
      queue('sweep-dead-letters', 'SweepRuleDeadLetterQueue'),
      errors('key-event-errors', 'KeyEventLambdaFunction', 3),
      errors('sweep-errors', 'SweepLambdaFunction', 1),
      reconciler('regions-failed', 'RegionsFailed'),
      reconciler('events-rejected', 'EventsRejected'),
    ]);
  });

  it('notifies the alarm topic, when one is given, in alarm and back to OK', () => {
    const actions = (from: Packaged): unknown[] =>
      resourcesOfType(from, 'AWS::CloudWatch::Alarm').map((a) => [a.Properties.AlarmActions, a.Properties.OKActions]);
    const toTopic = (topic: string): unknown => ({ 'Fn::If': ['NotifyAlarms', [topic], { Ref: 'AWS::NoValue' }] });
    expect(new Set(actions(defaults).map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify([toTopic(''), toTopic('')])]));
    const topic = 'arn:aws:sns:eu-west-1:111122223333:ops-alarms';
    expect(actions(customised)).toEqual(Array.from({ length: 11 }, () => [toTopic(topic), toTopic(topic)]));
  });
});

describe('the stack params', () => {
  it('lists the same params and defaults in serverless.yml as scripts/stack-settings.ts', () => {
    expect(defaults.state.service.initialServerlessConfig.params.default).toEqual(STACK_PARAM_DEFAULTS);
  });

  it('refuses bad params before packaging anything, naming each one', () => {
    expect(refused.code).not.toBe(0);
    for (const line of [
      "  - unknown param 'replicaRegion'; the params are replicaRegionsTag, allowedRegions, onPendingDeletion, replicaPolicy, copyTags, copyDescription, dryRun, quotaShare, kmsRequestQuotas, keyEventMaxConcurrency, stackRegions, logLevel, outcomeEventBus, securityHubFindings, sweepSchedule, logRetentionInDays, alarmTopicArn",
      "  - onPendingDeletion (ON_PENDING_DELETION): ON_PENDING_DELETION must be one of report, restore; got 'resotre'",
      "  - allowedRegions: cn-north-1 is not in the partition of the deployment (aws); replicas stay in their primary's partition",
    ]) {
      expect(refused.output.split('\n')).toContain(line);
    }
  });
});

describe('npm run deploy', () => {
  it('stops at the first Region that fails and says which Regions were not deployed', () => {
    expect(failedDeploy.code).toBe(1);
    expect(failedDeploy.stdout.split('\n')).toContain(
      "== us-east-1: npx serverless deploy --stage prod --region us-east-1 '--param=allowedRegions=us-east-1 eu-west-1' '--param=stackRegions=us-east-1 eu-west-1'",
    );
    expect(failedDeploy.stdout).not.toContain('== eu-west-1');
    expect(failedDeploy.stderr).toMatch(/\ndeploy failed in us-east-1 \(exit code 1\)\.\ndeployed: none\nnot deployed: us-east-1 eu-west-1\n$/);
  });
});

describe('the packaged bundles on the embedded KMS', () => {
  let kms: EmbeddedKms;
  beforeEach(async () => {
    kms = await startEmbeddedKms();
  });
  afterEach(async () => {
    await kms.close();
  });

  /**
   * Unzips a function's package, then invokes its bundle in a fresh Node.js process whose
   * environment is the function's environment from the template (its role ARN filled in), plus
   * what Lambda and this test provide: Region, static credentials, the embedded KMS as the KMS
   * endpoint and a closed local port for every other service.
   */
  async function invokePackaged(functionId: string, zip: string, handlerFile: string, event: unknown): Promise<{ result?: any; error?: unknown }> {
    const fn = defaults.template.Resources[functionId]?.Properties;
    if (!fn) throw new Error(`no ${functionId} in the template`);
    const dir = join(scratch, `unzipped-${functionId}`);
    for (const [path, bytes] of Object.entries(unzipSync(readFileSync(join(defaults.dir, zip))))) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), bytes);
    }
    const eventFile = join(dir, 'event.json');
    const resultFile = join(dir, 'result.json');
    writeFileSync(eventFile, JSON.stringify(event));
    const variables = fn.Environment.Variables as Record<string, unknown>;
    // What CloudFormation resolves in an account 111122223333 deployment.
    const resolved: Record<string, string> = {
      RECONCILER_PRINCIPAL_ARN: 'arn:aws:iam::111122223333:role/kms-replica-reconciler-prod-us-east-1-lambdaRole',
      ACCOUNT_ID: '111122223333',
    };
    const deployed = Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, resolved[name] ?? String(value)]));
    const env = {
      PATH: process.env.PATH ?? '',
      ...deployed,
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: fn.FunctionName as string,
      FUNCTION_TIMEOUT_MS: String((fn.Timeout as number) * 1000),
      AWS_ACCESS_KEY_ID: 'AKIAPACKAGEDBUNDLE01',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_ENDPOINT_URL_SQS: kms.endpoint,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    };
    const runner = fileURLToPath(new URL('./invoke-bundle.mjs', import.meta.url));
    const failed = await run(process.execPath, [runner, join(dir, handlerFile), eventFile, resultFile], { env, timeout: 60_000 }).then(
      () => undefined,
      (error: { stderr?: string; message: string }) => error,
    );
    if (!existsSync(resultFile)) throw new Error(`the bundle wrote no result: ${failed?.stderr || failed?.message}`);
    return JSON.parse(readFileSync(resultFile, 'utf8')) as { result?: any; error?: unknown };
  }

  it('the key-event bundle reconciles events/create-key.json with the settings it ships with', async () => {
    kms.seedKey({ region: 'us-east-1', keyId: FIXTURE_KEY_ID, multiRegion: true, tags: { 'replica-regions': 'us-west-2 eu-west-1', team: 'payments' } });
    const event = JSON.parse(readFileSync(join(projectRoot, 'events/create-key.json'), 'utf8')) as unknown;

    // The event as the key-event queue's event source mapping hands it over: one SQS record.
    const batch = { Records: [{ messageId: 'm1', receiptHandle: 'm1#1', body: JSON.stringify(event), attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:key-events', awsRegion: 'us-east-1' }] };
    const { result, error } = await invokePackaged('KeyEventLambdaFunction', 'keyEvent.zip', 'handlers/key-event.mjs', batch);

    expect(error).toBeUndefined();
    expect(result).toEqual({ batchItemFailures: [] });
    for (const region of ['eu-west-1', 'us-west-2']) {
      expect(kms.describe(region, FIXTURE_KEY_ID)?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
      // COPY_TAGS=true ships: the replica carries the primary's tags.
      expect(kms.tags(region, FIXTURE_KEY_ID)).toEqual({ 'replica-regions': 'us-west-2 eu-west-1', team: 'payments' });
    }
  });

  it('the sweep bundle sweeps its Region from the input its schedule sends and queues the repair; the key-event bundle makes it', async () => {
    const keyId = 'mrk-0badc0de0badc0de0badc0de0badc0de';
    kms.seedKey({ region: 'us-east-1', keyId, multiRegion: true, tags: { 'replica-regions': 'ap-southeast-2' } });
    const queue = defaults.template.Resources.KeyEventQueue?.Properties.QueueName as string;
    kms.sqs.createQueue('us-east-1', queue, { visibilityTimeoutSeconds: 720 });
    const schedule = resourcesOfType(defaults, 'AWS::Events::Rule').find((r) => r.Properties.ScheduleExpression !== undefined);
    const input = JSON.parse(schedule?.Properties.Targets[0].Input as string) as unknown;

    const { result, error } = await invokePackaged('SweepLambdaFunction', 'sweep.zip', 'handlers/sweep.mjs', input);

    expect(error).toBeUndefined();
    expect([result.status, result.region, result.complete, result.continued]).toEqual(['swept', 'us-east-1', true, false]);
    // The stack's sweep writes nothing itself: one repair request on the key-event queue.
    expect([result.report.keys, result.report.writes, result.report.queued]).toEqual([1, 0, 1]);
    const [repair] = kms.sqs.receive('us-east-1', queue, 10);
    expect(JSON.parse(repair?.body ?? '{}')).toMatchObject({ kind: 'kms-replica-reconciler.reconcile-request', reason: 'sweep', region: 'us-east-1' });

    const consumed = await invokePackaged('KeyEventLambdaFunction', 'keyEvent.zip', 'handlers/key-event.mjs', {
      Records: [{ messageId: repair?.messageId, receiptHandle: repair?.receiptHandle, body: repair?.body, attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, md5OfBody: repair?.md5OfBody, eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:q', awsRegion: 'us-east-1' }],
    });

    expect(consumed).toEqual({ result: { batchItemFailures: [] } });
    expect(kms.describe('ap-southeast-2', keyId)?.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
  });
});
