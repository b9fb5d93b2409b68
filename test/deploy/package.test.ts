// The packaged stack is the artefact under test: `serverless package` runs offline with no
// credentials, and these tests read its CloudFormation template and load its bundles.
// Every `serverless package` of the test suite runs in this file, one after the other:
// serverless-esbuild builds in the project's .esbuild folder.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildHubTemplate } from '../../scripts/hub-template.js';
import { formatOrgDryRun, planOrgDeploy, shellLine, type OrgDeployOptions } from '../../scripts/org-plan.js';
import { createDeployProgram } from '../../scripts/deploy-plan.js';
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
let hub: Packaged;
/** `npm run deploy -- --org --dry-run` for 3 OUs and 4 Regions: its output and the files it wrote. */
let org: { code: number; stdout: string; stderr: string; dir: string };
/** The TMPDIR of that run. */
const orgTmp = join(scratch, 'org-tmp');
/** The same command without --dry-run, against a stand-in `aws` that logs its arguments (a first install). */
let orgRun: { code: number; stdout: string; stderr: string; dir: string; log: string };
/** The same, with a stand-in `aws` whose credentials may not read the StackSet. */
let orgDenied: typeof orgRun;
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

const HUB_BUS_ARN = 'arn:aws:events:eu-west-1:999988887777:event-bus/kms-replica-reconciler-hub';
/** A sample organization: 3 OUs, 4 Regions, an alarm topic of that name in each Region. */
const ORG_ARGS = [
  '--org',
  '--dry-run',
  '--target-ous',
  'ou-ab12-11111111,ou-ab12-22222222,ou-ab12-33333333',
  '--organization-id',
  'o-a1b2c3d4e5',
  '--regions',
  'us-east-1 eu-west-1 eu-central-1 ap-southeast-2',
  '--param',
  'alarmTopicArn=arn:aws:sns::111122223333:ops-alarms',
];

/**
 * A stand-in for the AWS CLI: logs each call's arguments, finds no bucket and no StackSet, and
 * answers the StackSet calls as CloudFormation does (an operation id, then SUCCEEDED).
 */
const FAKE_AWS = `#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_AWS_LOG"
case "$1 $2" in
  "--version "*) echo "aws-cli/2.0.0 stand-in"; exit 0 ;;
  "s3api head-bucket") exit 254 ;;
  "cloudformation describe-stack-set") if [ -n "$FAKE_AWS_DENY" ]; then echo "An error occurred (AccessDenied) when calling the DescribeStackSet operation: not authorized" >&2; exit 254; fi
    echo "An error occurred (StackSetNotFoundException) when calling the DescribeStackSet operation: StackSet kms-replica-reconciler-prod not found" >&2; exit 254 ;;
  "cloudformation create-stack-set") echo '{ "StackSetId": "kms-replica-reconciler-prod:0000" }' ;;
  "cloudformation create-stack-instances") echo '{ "OperationId": "op-0001" }' ;;
  "cloudformation describe-stack-set-operation") echo SUCCEEDED ;;
esac
exit 0
`;

const DRY_RUN_PARAMS = ['dryRun=true', 'onPendingDeletion=restore', 'copyTags=true', 'replicaPolicy=primary', 'outcomeEventBus=ops-events'];

beforeAll(async () => {
  defaults = await packageStack('defaults');
  customised = await packageStack('customised', ['--stage', 'qa', '--region', 'eu-west-1', ...CUSTOM_PARAMS.map((p) => `--param=${p}`)]);
  // Every setting that adds a write asks for it; dryRun must still leave all of them out.
  dryRun = await packageStack('dry-run', DRY_RUN_PARAMS.map((p) => `--param=${p}`));
  hub = await packageStack('hub', [`--param=outcomeEventBus=default`, `--param=hubEventBusArn=${HUB_BUS_ARN}`]);
  // --out names a folder that already holds files of its own, which must survive (serverless
  // package empties its --package folder); the run's temporary folders go to a TMPDIR of its own.
  const orgDir = join(scratch, 'org');
  mkdirSync(join(orgDir, 'notes'), { recursive: true });
  writeFileSync(join(orgDir, 'sentinel.txt'), 'keep me\n');
  writeFileSync(join(orgDir, 'notes', 'todo.md'), 'also keep me\n');
  mkdirSync(orgTmp);
  org = await run(process.execPath, [createRequire(import.meta.url).resolve('tsx/cli'), 'scripts/deploy.ts', ...ORG_ARGS, '--out', orgDir], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: scratch, TMPDIR: orgTmp, SLS_TELEMETRY_DISABLED: '1', AWS_EC2_METADATA_DISABLED: 'true' },
    timeout: 120_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr, dir: orgDir }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr, dir: orgDir }),
  );
  const fakeBin = join(scratch, 'fake-aws-bin');
  mkdirSync(fakeBin);
  writeFileSync(join(fakeBin, 'aws'), FAKE_AWS, { mode: 0o755 });
  const runDir = join(scratch, 'org-run');
  const awsLog = join(scratch, 'aws.log');
  orgRun = await run(process.execPath, [createRequire(import.meta.url).resolve('tsx/cli'), 'scripts/deploy.ts', ...ORG_ARGS.filter((a) => a !== '--dry-run'), '--out', runDir], {
    cwd: projectRoot,
    env: { PATH: `${fakeBin}:${process.env.PATH ?? ''}`, HOME: scratch, SLS_TELEMETRY_DISABLED: '1', AWS_EC2_METADATA_DISABLED: 'true', FAKE_AWS_LOG: awsLog },
    timeout: 120_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr, dir: runDir, log: existsSync(awsLog) ? readFileSync(awsLog, 'utf8') : '' }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr, dir: runDir, log: existsSync(awsLog) ? readFileSync(awsLog, 'utf8') : '' }),
  );
  const deniedDir = join(scratch, 'org-denied');
  orgDenied = await run(process.execPath, [createRequire(import.meta.url).resolve('tsx/cli'), 'scripts/deploy.ts', ...ORG_ARGS.filter((a) => a !== '--dry-run'), '--out', deniedDir], {
    cwd: projectRoot,
    env: { PATH: `${fakeBin}:${process.env.PATH ?? ''}`, HOME: scratch, SLS_TELEMETRY_DISABLED: '1', AWS_EC2_METADATA_DISABLED: 'true', FAKE_AWS_LOG: join(scratch, 'aws-denied.log'), FAKE_AWS_DENY: '1' },
    timeout: 120_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr, dir: deniedDir, log: readFileSync(join(scratch, 'aws-denied.log'), 'utf8') }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr, dir: deniedDir, log: readFileSync(join(scratch, 'aws-denied.log'), 'utf8') }),
  );
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

/** The alarms CloudFormation creates for these settings. */
function createdAlarms(from: Packaged): Resource[] {
  return resourcesOfType(from, 'AWS::CloudWatch::Alarm').filter((a) => isCreated(from, a));
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
    const rules = resourcesOfType(defaults, 'AWS::Events::Rule').filter((r) => r.Properties.EventPattern !== undefined && isCreated(defaults, r));
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties).toEqual({
      Name: 'kms-replica-reconciler-prod-key-event-intake',
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
      resourcesOfType(defaults, 'AWS::SQS::QueuePolicy')
        .filter((p) => isCreated(defaults, p))
        .map((p) => [p.Properties.Queues[0].Ref, p.Properties.PolicyDocument.Statement]),
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
      KeyEventRuleDeadLetterQueue: deadLetters('KeyEventRuleDeadLetterQueue', 'kms-replica-reconciler-prod-key-event-intake'),
      SweepRuleDeadLetterQueue: deadLetters('SweepRuleDeadLetterQueue', 'kms-replica-reconciler-prod-sweep-schedule'),
    });
    // The names in the conditions are the rules' own.
    expect(resourcesOfType(defaults, 'AWS::Events::Rule').filter((r) => isCreated(defaults, r)).map((r) => r.Properties.Name)).toEqual([
      'kms-replica-reconciler-prod-sweep-schedule',
      'kms-replica-reconciler-prod-key-event-intake',
    ]);
  });

  it('names no rule as the async-invoke design named its generated key-event rule, so an upgrade in place does not collide (docs/DEPLOY.md, Upgrade)', () => {
    const names = resourcesOfType(defaults, 'AWS::Events::Rule').map((r) => r.Properties.Name);

    expect(names).not.toContain('kms-replica-reconciler-prod-key-events');
    expect(names).toContain('kms-replica-reconciler-prod-key-event-intake');
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
    // With the hub forwarding on, so its dead-letter queue is among them.
    const queues = Object.entries(hub.template.Resources)
      .filter(([, r]) => r.Type === 'AWS::SQS::Queue' && isCreated(hub, r))
      .map(([id, r]) => [id, r.Properties]);
    const kept = { MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true };
    expect(queues).toEqual([
      ['KeyEventQueue', expect.objectContaining(kept)],
      ['KeyEventDeadLetterQueue', kept],
      ['KeyEventRuleDeadLetterQueue', kept],
      ['SweepFailureQueue', kept],
      ['SweepRuleDeadLetterQueue', kept],
      ['HubForwardDeadLetterQueue', kept],
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
      ForwardToHub: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] },
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
    // Every alarm of the template, those of optional features (under a condition) included.
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
      queue('hub-forward-dead-letters', 'HubForwardDeadLetterQueue'),
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
      createdAlarms(from).map((a) => [a.Properties.AlarmActions, a.Properties.OKActions]);
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
      "  - unknown param 'replicaRegion'; the params are replicaRegionsTag, allowedRegions, onPendingDeletion, replicaPolicy, copyTags, copyDescription, dryRun, quotaShare, kmsRequestQuotas, keyEventMaxConcurrency, stackRegions, logLevel, outcomeEventBus, securityHubFindings, sweepSchedule, logRetentionInDays, alarmTopicArn, hubEventBusArn",
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

describe('the hub forwarding rule (hubEventBusArn)', () => {
  const forwarding = ['HubForwardRule', 'HubForwardRole', 'HubForwardDeadLetterQueue', 'HubForwardDeadLetterQueuePolicy', 'HubForwardDeadLetterQueueAlarm'];

  it('creates nothing without hubEventBusArn: every forwarding resource is under ForwardToHub, which is false', () => {
    const conditioned = Object.entries(defaults.template.Resources).filter(([, r]) => r.Condition === 'ForwardToHub').map(([id]) => id);

    expect(conditioned).toEqual(forwarding);
    expect(defaults.template.Conditions.ForwardToHub).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] });
    expect(forwarding.filter((id) => isCreated(defaults, defaults.template.Resources[id] as Resource))).toEqual([]);
  });

  it("with it, forwards this account's outcome events and sweep summaries from the outcome bus to the hub bus, retried for a day, then parked", () => {
    expect(forwarding.filter((id) => isCreated(hub, hub.template.Resources[id] as Resource))).toEqual(forwarding);
    expect(hub.template.Resources.HubForwardRule?.Properties).toEqual({
      Name: 'kms-replica-reconciler-prod-hub-forward',
      Description: 'Outcome events and sweep summaries of this stack, to the organization\'s hub bus',
      EventBusName: 'default',
      State: 'ENABLED',
      EventPattern: {
        source: ['kms-replica-reconciler'],
        'detail-type': ['KMS Replica Reconcile Outcome', 'KMS Replica Reconcile Rejected', 'KMS Replica Sweep Summary'],
        account: [{ Ref: 'AWS::AccountId' }],
      },
      Targets: [
        {
          Id: 'hub-event-bus',
          Arn: HUB_BUS_ARN,
          RoleArn: { 'Fn::GetAtt': ['HubForwardRole', 'Arn'] },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['HubForwardDeadLetterQueue', 'Arn'] } },
        },
      ],
    });
    expect(hub.template.Resources.HubForwardDeadLetterQueuePolicy?.Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'EventBridgeDeadLetters',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': ['HubForwardDeadLetterQueue', 'Arn'] },
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['HubForwardRule', 'Arn'] } } },
      },
    ]);
  });

  it('forwards as a role EventBridge of this account may assume, allowed events:PutEvents on exactly the hub bus', () => {
    const role = hub.template.Resources.HubForwardRole?.Properties;

    expect(role?.RoleName).toBeUndefined();
    expect(role?.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    });
    expect(role?.Policies).toEqual([
      { PolicyName: 'forward-to-hub', PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'ForwardToHub', Effect: 'Allow', Action: 'events:PutEvents', Resource: HUB_BUS_ARN }] } },
    ]);
    // The functions' own role gains nothing from the hub setting.
    expect(grantedStatements(hub)).toEqual(grantedStatements(packagedWith(defaults, hub)));
  });

  it('alarms on events it could not forward, only when it forwards', () => {
    expect(createdAlarms(hub).map((a) => a.Properties.AlarmName)).toContain('kms-replica-reconciler-prod-hub-forward-dead-letters');
    expect(createdAlarms(defaults).map((a) => a.Properties.AlarmName)).not.toContain('kms-replica-reconciler-prod-hub-forward-dead-letters');
    expect(createdAlarms(hub)).toHaveLength(createdAlarms(defaults).length + 1);
  });
});

/**
 * `defaults` with the PublishOutcomes policy of `other` (the hub package sets outcomeEventBus):
 * what the functions' role would hold with the outcome bus alone.
 */
function packagedWith(base: Packaged, other: Packaged): Packaged {
  return {
    ...base,
    template: {
      ...base.template,
      Conditions: { ...base.template.Conditions, PublishOutcomes: other.template.Conditions.PublishOutcomes },
      Resources: { ...base.template.Resources, PublishOutcomesPolicy: other.template.Resources.PublishOutcomesPolicy as Resource },
    },
  };
}

describe('npm run deploy -- --org --dry-run (3 OUs, 4 Regions)', () => {
  const REGIONS = ['us-east-1', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'];
  const read = (file: string): any => JSON.parse(readFileSync(join(org.dir, file), 'utf8'));
  /** The plan for the same command line and the bundles the run packaged. */
  const expectedPlan = (): ReturnType<typeof planOrgDeploy> => {
    const hash = createHash('sha256');
    for (const bundle of ['keyEvent.zip', 'sweep.zip']) hash.update(readFileSync(join(org.dir, bundle)));
    const program = createDeployProgram().exitOverride();
    program.parse([...ORG_ARGS, '--out', org.dir], { from: 'user' });
    return planOrgDeploy(program.opts<OrgDeployOptions>(), hash.digest('hex').slice(0, 16));
  };
  /** `Fn::Sub` of the template's code locations, as CloudFormation resolves it in one instance's Region. */
  const resolve = (value: { 'Fn::Sub': string }, region: string, parameters: Record<string, string>): string =>
    value['Fn::Sub'].replace(/\$\{([^}]+)\}/g, (_, name: string) => (name === 'AWS::Region' ? region : (parameters[name] ?? `?${name}`)));

  it('exits 0, prints every step of the plan and nothing else, offline and without credentials', () => {
    expect([org.code, org.stderr]).toEqual([0, '']);
    expect(org.stdout).toBe(formatOrgDryRun(expectedPlan()));
  });

  it('writes a StackSet template without Transform, nested stack or deployment bucket, small enough for a template body', () => {
    const template = read('stackset-template.json');

    expect(template.Transform).toBeUndefined();
    expect(Object.values(template.Resources as Record<string, Resource>).filter((r) => r.Type === 'AWS::CloudFormation::Stack' || r.Type.startsWith('AWS::S3::'))).toEqual([]);
    expect(readFileSync(join(org.dir, 'stackset-template.json'), 'utf8')).not.toContain('ServerlessDeploymentBucket');
    expect(Buffer.byteLength(readFileSync(join(org.dir, 'stackset-template.json'))) - 1).toBeLessThanOrEqual(51_200);
    expect(template.Parameters).toEqual({
      ArtifactBucketPrefix: {
        Type: 'String',
        Description: 'Buckets holding the function bundles, one per Region: <prefix>-<Region> (the instance reads the bucket of its own Region)',
        AllowedPattern: '^[a-z0-9][a-z0-9-]{0,46}$',
      },
      ArtifactKeyPrefix: {
        Type: 'String',
        Description: "Key prefix of this build's bundles in those buckets: <prefix>/keyEvent.zip and <prefix>/sweep.zip",
        AllowedPattern: '^[A-Za-z0-9._/-]{1,200}$',
      },
    });
  });

  it("has each instance load each function's code from the bundle uploaded to its own Region's bucket", () => {
    const plan = expectedPlan();
    const template = read('stackset-template.json');
    const parameters = { ArtifactBucketPrefix: plan.artifactBucketPrefix, ArtifactKeyPrefix: plan.artifactKeyPrefix };
    const functions = Object.values(template.Resources as Record<string, Resource>).filter((r) => r.Type === 'AWS::Lambda::Function');

    const locations = REGIONS.map((region) =>
      functions.map((f) => `s3://${resolve(f.Properties.Code.S3Bucket, region, parameters)}/${resolve(f.Properties.Code.S3Key, region, parameters)}`),
    );
    const uploads = plan.artifacts.map((a) => a.configure.filter((argv) => argv[1] === 's3' && argv[2] === 'cp').map((argv) => argv[4]));
    expect(locations).toEqual(uploads);
    expect(locations.map((l) => l.length)).toEqual([2, 2, 2, 2]);
    expect(locations[3]).toEqual([
      `s3://kms-replica-reconciler-prod-a1b2c3d4e5-ap-southeast-2/${plan.artifactKeyPrefix}/keyEvent.zip`,
      `s3://kms-replica-reconciler-prod-a1b2c3d4e5-ap-southeast-2/${plan.artifactKeyPrefix}/sweep.zip`,
    ]);
  });

  it('keeps the IAM statements, conditions, alarms, rules and queues of the single stack it was packaged from', () => {
    const single = { ...defaults, template: read('cloudformation-template-update-stack.json') as Template };
    const stackSet = { ...defaults, template: read('stackset-template.json') as Template };
    const withoutCode = (from: Packaged): Record<string, unknown> =>
      Object.fromEntries(
        Object.entries(from.template.Resources)
          .filter(([id]) => !id.startsWith('ServerlessDeploymentBucket'))
          .map(([id, r]) => [id, r.Type === 'AWS::Lambda::Function' ? { ...r, Properties: { ...r.Properties, Code: 'replaced' } } : r]),
      );
    const regionalTopic = { 'Fn::Sub': 'arn:${AWS::Partition}:sns:${AWS::Region}:111122223333:ops-alarms' };
    const toTopic = (topic: unknown): unknown => ({ 'Fn::If': ['NotifyAlarms', [topic], { Ref: 'AWS::NoValue' }] });

    expect(everyStatement(stackSet)).toEqual(everyStatement(single));
    expect(stackSet.template.Conditions).toEqual(single.template.Conditions);
    // The alarms: the same, but each notifies the topic of its instance's Region.
    expect(createdAlarms(stackSet).map((a) => [a.Properties.AlarmName, a.Properties.AlarmActions, a.Properties.OKActions])).toEqual(
      createdAlarms(single).map((a) => [a.Properties.AlarmName, toTopic(regionalTopic), toTopic(regionalTopic)]),
    );
    expect(createdAlarms(single)[0]?.Properties.AlarmActions).toEqual(toTopic('arn:aws:sns:us-east-1:111122223333:ops-alarms'));
    const alarmless = (resources: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(Object.entries(resources).filter(([, r]) => (r as Resource).Type !== 'AWS::CloudWatch::Alarm'));
    expect(alarmless(withoutCode(stackSet))).toEqual(alarmless(withoutCode(single)));
    // Account-wide names carry the Region; no account id of a member is written anywhere.
    expect(stackSet.template.Resources.IamRoleLambdaExecution?.Properties.RoleName).toEqual({ 'Fn::Join': ['-', ['kms-replica-reconciler', 'prod', { Ref: 'AWS::Region' }, 'lambdaRole']] });
    // The only 12-digit number is the alarm topic's account, once in AlarmActions and once in OKActions of each alarm.
    expect(JSON.stringify(stackSet.template.Resources).match(/\d{12}/g)).toEqual(
      Array.from({ length: 2 * resourcesOfType(stackSet, 'AWS::CloudWatch::Alarm').length }, () => '111122223333'),
    );
  });

  it('keeps every file already in --out, adds only its own, and leaves no package folder behind', () => {
    expect(readdirSync(org.dir).sort()).toEqual([
      'artifact-bucket-policy-ap-southeast-2.json',
      'artifact-bucket-policy-eu-central-1.json',
      'artifact-bucket-policy-eu-west-1.json',
      'artifact-bucket-policy-us-east-1.json',
      'cloudformation-template-update-stack.json',
      'hub-template.json',
      'keyEvent.zip',
      'notes',
      'sentinel.txt',
      'stackset-template.json',
      'sweep.zip',
    ]);
    expect(readFileSync(join(org.dir, 'sentinel.txt'), 'utf8')).toBe('keep me\n');
    expect(readdirSync(join(org.dir, 'notes'))).toEqual(['todo.md']);
    expect(readFileSync(join(org.dir, 'notes', 'todo.md'), 'utf8')).toBe('also keep me\n');
    // Serverless and tsx keep their own leftovers there; the package folder of the run is gone.
    expect(readdirSync(orgTmp).filter((name) => name.startsWith('kms-replica-reconciler-package-'))).toEqual([]);
  });

  it('writes the hub template and one bucket policy per Region', () => {
    const plan = expectedPlan();

    expect(read('hub-template.json')).toEqual(buildHubTemplate());
    expect(REGIONS.map((r) => read(`artifact-bucket-policy-${r}.json`))).toEqual(plan.artifacts.map((a) => a.policy));
  });
});

describe('npm run deploy -- --org, for real (a stand-in aws)', () => {
  it('runs the first install in order: buckets and bundles per Region, the StackSet, its instances, then follows the operation', () => {
    const hash = createHash('sha256');
    for (const bundle of ['keyEvent.zip', 'sweep.zip']) hash.update(readFileSync(join(orgRun.dir, bundle)));
    const program = createDeployProgram().exitOverride();
    program.parse([...ORG_ARGS.filter((a) => a !== '--dry-run'), '--out', orgRun.dir], { from: 'user' });
    const plan = planOrgDeploy(program.opts<OrgDeployOptions>(), hash.digest('hex').slice(0, 16));
    const line = (argv: readonly string[]): string => argv.slice(1).join(' ');

    expect([orgRun.code, orgRun.stderr]).toEqual([0, '']);
    expect(orgRun.log.split('\n').filter((l) => l !== '')).toEqual([
      '--version',
      ...plan.artifacts.flatMap((a) => [line(a.exists), line(a.create), ...a.configure.map(line)]),
      line(plan.describeStackSet),
      `${line(plan.create[0] ?? [])} --output json`,
      `${line(plan.create[1] ?? [])} --output json`,
      line(plan.waitForOperation).replace('<OperationId>', 'op-0001'),
    ]);
    expect(orgRun.stdout.split('\n').slice(-4)).toEqual([
      'StackSet kms-replica-reconciler-prod created: ou-ab12-11111111 ou-ab12-22222222 ou-ab12-33333333 in us-east-1 eu-west-1 eu-central-1 ap-southeast-2; new accounts of these OUs get it automatically.',
      'The management account is never a StackSet target; if it holds multi-Region keys, run with its credentials:',
      `  ${shellLine(plan.managementAccount)}`,
      '',
    ]);
  });
});

describe('npm run deploy -- --org, when the StackSet cannot be read', () => {
  it('stops with the error, creates no StackSet, and says what was done before', () => {
    expect(orgDenied.code).toBe(1);
    expect(orgDenied.stderr).toBe(
      'npm run deploy --org: failed: aws cloudformation describe-stack-set --stack-set-name kms-replica-reconciler-prod --region us-east-1: ' +
        'An error occurred (AccessDenied) when calling the DescribeStackSet operation: not authorized\n' +
        'done before it: bundles in kms-replica-reconciler-prod-a1b2c3d4e5-us-east-1; bundles in kms-replica-reconciler-prod-a1b2c3d4e5-eu-west-1; ' +
        'bundles in kms-replica-reconciler-prod-a1b2c3d4e5-eu-central-1; bundles in kms-replica-reconciler-prod-a1b2c3d4e5-ap-southeast-2\n',
    );
    expect(orgDenied.log.split('\n').filter((l) => l.startsWith('cloudformation'))).toEqual([
      'cloudformation describe-stack-set --stack-set-name kms-replica-reconciler-prod --region us-east-1',
    ]);
  });
});
