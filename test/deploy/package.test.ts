import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRIGGER_EVENT_NAMES } from '../../src/cloudtrail.js';

const run = promisify(execFile);

type Template = { Conditions: Record<string, unknown>; Resources: Record<string, { Type: string; Condition?: string; Properties: Record<string, any> }> };

/** `serverless package` offline, with no credentials: the CloudFormation template is the artefact. */
async function packageStack(params: readonly string[] = []): Promise<Template> {
  const outDir = mkdtempSync(join(tmpdir(), 'kms-reconciler-package-'));
  outDirs.push(outDir);
  const env = { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' };
  await run('npx', ['serverless', 'package', '--package', outDir, ...params.map((p) => `--param=${p}`)], { env, timeout: 120_000 });
  return JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
}

const outDirs: string[] = [];
let template: Template;
let customised: Template;

beforeAll(async () => {
  // One after the other: serverless-esbuild builds in the project's .esbuild folder.
  template = await packageStack();
  customised = await packageStack(['onPendingDeletion=restore', 'replicaPolicy=primary', 'outcomeEventBus=ops-events']);
}, 180_000);

afterAll(() => {
  for (const dir of outDirs) rmSync(dir, { recursive: true, force: true });
});

function resourcesOfType(type: string, from: Template = template): Array<{ Type: string; Condition?: string; Properties: Record<string, any> }> {
  return Object.values(from.Resources).filter((r) => r.Type === type);
}

describe('the packaged stack', () => {
  it('routes exactly the trigger events, successful calls only, to the key-event function', () => {
    const rules = resourcesOfType('AWS::Events::Rule').filter((r) => r.Properties.EventPattern !== undefined);
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties.Targets[0].RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 });
    expect(rules[0]?.Properties.Targets[0].DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': ['KeyEventRuleDeadLetterQueue', 'Arn'] } });
    expect(rules[0]?.Properties.EventPattern).toEqual({
      source: ['aws.kms'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: { eventSource: ['kms.amazonaws.com'], eventName: [...TRIGGER_EVENT_NAMES], errorCode: [{ exists: false }] },
    });
  });

  it('runs both handlers on Node.js 22 on arm64', () => {
    const functions = resourcesOfType('AWS::Lambda::Function').map((fn) => [fn.Properties.Handler, fn.Properties.Runtime, fn.Properties.Architectures]);
    expect(functions).toEqual([
      ['handlers/key-event.handler', 'nodejs22.x', ['arm64']],
      ['handlers/sweep.handler', 'nodejs22.x', ['arm64']],
    ]);
  });

  it('sweeps hourly, one run at a time, never retried by Lambda', () => {
    const schedules = resourcesOfType('AWS::Events::Rule').filter((r) => r.Properties.ScheduleExpression !== undefined);
    expect(schedules.map((r) => [r.Properties.ScheduleExpression, r.Properties.Targets[0].Input])).toEqual([['rate(1 hour)', '{}']]);
    const sweep = template.Resources.SweepLambdaFunction?.Properties;
    expect([sweep?.Timeout, sweep?.ReservedConcurrentExecutions]).toEqual([900, 1]);
    expect(template.Resources.SweepLambdaEvConf?.Properties.MaximumRetryAttempts).toBe(0);
  });

  it('grants exactly the KMS calls the reconciler makes', () => {
    const [role] = resourcesOfType('AWS::IAM::Role');
    const statements = (role?.Properties.Policies[0].PolicyDocument.Statement as Array<Record<string, any>>).filter(
      (s) => typeof s.Sid === 'string',
    );
    expect(statements).toEqual([
      {
        Sid: 'ObserveKeys',
        Effect: 'Allow',
        Action: ['kms:DescribeKey', 'kms:ListResourceTags'],
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*' },
      },
      {
        Sid: 'ReplicateMultiRegionPrimaries',
        Effect: 'Allow',
        Action: ['kms:ReplicateKey'],
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/mrk-*' },
      },
      { Sid: 'ListKeysForSweep', Effect: 'Allow', Action: ['kms:ListKeys'], Resource: '*' },
      {
        Sid: 'ContinueSweep',
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:kms-replica-reconciler-prod-sweep' },
      },
      {
        Sid: 'CreateReplicaKeys',
        Effect: 'Allow',
        Action: ['kms:CreateKey', 'kms:TagResource'],
        Resource: '*',
        Condition: { Bool: { 'kms:MultiRegion': 'true' }, StringEquals: { 'kms:MultiRegionKeyType': 'REPLICA' } },
      },
    ]);
    const everyAction = (role?.Properties.Policies[0].PolicyDocument.Statement as Array<{ Action: string | string[] }>).flatMap((s) =>
      Array.isArray(s.Action) ? s.Action : [s.Action],
    );
    expect(everyAction.filter((a) => !a.startsWith('logs:'))).toContain('sqs:SendMessage');
    expect(everyAction.filter((a) => a.startsWith('kms:')).sort()).toEqual([
      'kms:CreateKey',
      'kms:DescribeKey',
      'kms:ListKeys',
      'kms:ListResourceTags',
      'kms:ReplicateKey',
      'kms:TagResource',
    ]);
  });

  it("tells the functions their own role, so their echoes are skipped", () => {
    const [fn] = resourcesOfType('AWS::Lambda::Function');
    expect(fn?.Properties.Environment.Variables.RECONCILER_PRINCIPAL_ARN).toEqual({ 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] });
  });

  it('retries a failed invocation twice, then keeps the event in the on-failure queue', () => {
    expect(template.Resources.KeyEventLambdaEvConf?.Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['KeyEventFailureQueue', 'Arn'] } } },
    });
  });

  it('grants PutEvents, restore and policy copy only when their settings ask for them', () => {
    const optional = (from: Template): Record<string, unknown> =>
      Object.fromEntries(
        resourcesOfType('AWS::IAM::Policy', from).map((p) => [p.Condition, p.Properties.PolicyDocument.Statement]),
      );
    expect(optional(template)).toEqual({
      PublishOutcomes: [
        {
          Sid: 'PublishOutcomeEvents',
          Effect: 'Allow',
          Action: 'events:PutEvents',
          Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/' },
        },
      ],
      RestoreReplicas: [
        {
          Sid: 'RestoreReplicaKeys',
          Effect: 'Allow',
          Action: ['kms:CancelKeyDeletion', 'kms:EnableKey'],
          Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/mrk-*' },
          Condition: { StringEquals: { 'kms:MultiRegionKeyType': 'REPLICA' } },
        },
      ],
      CopyPrimaryPolicy: [
        {
          Sid: 'ReadPrimaryKeyPolicy',
          Effect: 'Allow',
          Action: 'kms:GetKeyPolicy',
          Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/mrk-*' },
          Condition: { StringEquals: { 'kms:MultiRegionKeyType': 'PRIMARY' } },
        },
      ],
    });
    // Default settings: every condition is false, so none of those policies is created.
    expect(template.Conditions).toEqual({
      PublishOutcomes: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] },
      RestoreReplicas: { 'Fn::Equals': ['report', 'restore'] },
      CopyPrimaryPolicy: { 'Fn::Equals': ['default', 'primary'] },
    });
    expect(customised.Conditions).toEqual({
      PublishOutcomes: { 'Fn::Not': [{ 'Fn::Equals': ['ops-events', ''] }] },
      RestoreReplicas: { 'Fn::Equals': ['restore', 'restore'] },
      CopyPrimaryPolicy: { 'Fn::Equals': ['primary', 'primary'] },
    });
    const [fn] = resourcesOfType('AWS::Lambda::Function', customised);
    expect(fn?.Properties.Environment.Variables).toMatchObject({
      ON_PENDING_DELETION: 'restore',
      REPLICA_POLICY: 'primary',
      OUTCOME_EVENT_BUS: 'ops-events',
    });
  });
});
