import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRIGGER_EVENT_NAMES } from '../../src/cloudtrail.js';

const run = promisify(execFile);

// `serverless package` offline, with no credentials: the CloudFormation template is the artefact.
let outDir: string;
let template: { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'kms-reconciler-package-'));
  const env = { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' };
  await run('npx', ['serverless', 'package', '--package', outDir], { env, timeout: 120_000 });
  template = JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')) as typeof template;
}, 180_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function resourcesOfType(type: string): Array<{ Type: string; Properties: Record<string, any> }> {
  return Object.values(template.Resources).filter((r) => r.Type === type);
}

describe('the packaged stack', () => {
  it('routes exactly the trigger events, successful calls only, to the key-event function', () => {
    const rules = resourcesOfType('AWS::Events::Rule');
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties.EventPattern).toEqual({
      source: ['aws.kms'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: { eventSource: ['kms.amazonaws.com'], eventName: [...TRIGGER_EVENT_NAMES], errorCode: [{ exists: false }] },
    });
  });

  it('runs the handler on Node.js 22 on arm64', () => {
    const [fn] = resourcesOfType('AWS::Lambda::Function');
    expect([fn?.Properties.Runtime, fn?.Properties.Architectures, fn?.Properties.Handler]).toEqual([
      'nodejs22.x',
      ['arm64'],
      'handlers/key-event.handler',
    ]);
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
    expect(everyAction.filter((a) => a.startsWith('kms:')).sort()).toEqual([
      'kms:CreateKey',
      'kms:DescribeKey',
      'kms:ListResourceTags',
      'kms:ReplicateKey',
      'kms:TagResource',
    ]);
  });

  it("tells the function its own role, so its echoes are skipped", () => {
    const [fn] = resourcesOfType('AWS::Lambda::Function');
    expect(fn?.Properties.Environment.Variables.RECONCILER_PRINCIPAL_ARN).toEqual({ 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] });
  });
});
