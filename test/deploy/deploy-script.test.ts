import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createDeployProgram, DeployPlanError, formatDryRun, planDeploy, type DeployOptions } from '../../scripts/deploy-plan.js';

const run = promisify(execFile);
const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Parses `npm run deploy -- <args>` as the script does, then plans it. */
function plan(...args: string[]): ReturnType<typeof planDeploy> {
  const program = createDeployProgram().exitOverride();
  program.parse(args, { from: 'user' });
  return planDeploy(program.opts<DeployOptions>());
}

/** The problems `plan` refuses with, or `[]` when it does not throw. */
function problemsOf(...args: string[]): readonly string[] {
  try {
    plan(...args);
    return [];
  } catch (error) {
    if (error instanceof DeployPlanError) return error.problems;
    throw error;
  }
}

/** Runs `npm run deploy -- <args>` (node --import tsx scripts/deploy.ts) with no AWS credentials at all. */
async function deployScript(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  const env = { PATH: process.env.PATH ?? '', AWS_EC2_METADATA_DISABLED: 'true' };
  return run(process.execPath, [tsx, 'scripts/deploy.ts', ...args], { cwd: projectRoot, env, timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

describe('npm run deploy: the plan', () => {
  it('deploys each Region in turn, with the --regions list as the allowed replica Regions and as the stacks the budget counts', () => {
    const p = plan('--regions', 'us-east-1 eu-west-1,us-east-1');

    expect(p.regions).toEqual(['us-east-1', 'eu-west-1']);
    expect(p.commands).toEqual([
      ['deploy', '--stage', 'prod', '--region', 'us-east-1', '--param=allowedRegions=us-east-1 eu-west-1', '--param=stackRegions=us-east-1 eu-west-1'],
      ['deploy', '--stage', 'prod', '--region', 'eu-west-1', '--param=allowedRegions=us-east-1 eu-west-1', '--param=stackRegions=us-east-1 eu-west-1'],
    ]);
    expect(p.dryRun).toBe(false);
  });

  it('passes the params in serverless.yml order and keeps an allowedRegions that is given, even empty', () => {
    const p = plan('--regions', 'eu-central-1', '--stage', 'qa', '--param', 'onPendingDeletion=restore', '--param', 'allowedRegions=', '--param', 'replicaRegionsTag=replicate-to');

    expect(p.commands).toEqual([
      ['deploy', '--stage', 'qa', '--region', 'eu-central-1', '--param=replicaRegionsTag=replicate-to', '--param=allowedRegions=', '--param=onPendingDeletion=restore'],
    ]);
  });

  it('refuses a bad command line, naming every problem', () => {
    expect(problemsOf('--regions', 'us-east-1 EU-WEST-1 cn-north-1', '--stage', 'prod_1', '--param', 'allowedRegion=eu-west-1', '--param', 'dryRun')).toEqual([
      "--regions: 'EU-WEST-1' is not a Region code such as eu-west-1",
      '--regions: the Regions are in more than one partition (aws, aws-cn); deploy each partition with its own credentials and command',
      "--stage: 'prod_1' must be 1-12 letters, digits or hyphens",
      "--param 'allowedRegion=eu-west-1': expected name=value with name one of replicaRegionsTag, allowedRegions, onPendingDeletion, replicaPolicy, copyTags, copyDescription, dryRun, quotaShare, kmsRequestQuotas, keyEventMaxConcurrency, stackRegions, logLevel, outcomeEventBus, securityHubFindings, sweepSchedule, logRetentionInDays, alarmTopicArn",
      "--param 'dryRun': expected name=value with name one of replicaRegionsTag, allowedRegions, onPendingDeletion, replicaPolicy, copyTags, copyDescription, dryRun, quotaShare, kmsRequestQuotas, keyEventMaxConcurrency, stackRegions, logLevel, outcomeEventBus, securityHubFindings, sweepSchedule, logRetentionInDays, alarmTopicArn",
    ]);
  });

  it('refuses a param value the stack would refuse, before any Region is deployed', () => {
    expect(problemsOf('--regions', 'us-east-1 eu-west-1', '--param', 'onPendingDeletion=restor', '--param', 'allowedRegions=eu-west-1 us-gov-west-1', '--param', 'copyTags=false', '--param', 'copyTags=true')).toEqual([
      '--param copyTags is given twice',
    ]);
    expect(problemsOf('--regions', 'us-east-1 eu-west-1', '--param', 'onPendingDeletion=restor', '--param', 'allowedRegions=eu-west-1 us-gov-west-1')).toEqual([
      "--param onPendingDeletion (ON_PENDING_DELETION): ON_PENDING_DELETION must be one of report, restore; got 'restor'",
      "--param allowedRegions: us-gov-west-1 is not in the partition of the deployment (aws); replicas stay in their primary's partition",
    ]);
  });

  it('refuses an empty --regions', () => {
    expect(problemsOf('--regions', ' , ')).toEqual(['--regions: name at least one Region, e.g. --regions "us-east-1 eu-west-1"']);
  });
});

describe('npm run deploy: the command', () => {
  it('--dry-run prints the serverless commands, quoted for a shell, and deploys nothing', async () => {
    const { code, stdout, stderr } = await deployScript('--regions', 'us-east-1 eu-west-1 ap-southeast-2', '--dry-run', '--param', 'alarmTopicArn=arn:aws:sns:us-east-1:111122223333:ops');

    expect([code, stderr]).toEqual([0, '']);
    expect(stdout).toBe(
      [
        '# dry run: npm run deploy would run (stage prod, 3 Regions, one after the other):',
        "npx serverless deploy --stage prod --region us-east-1 '--param=allowedRegions=us-east-1 eu-west-1 ap-southeast-2' '--param=stackRegions=us-east-1 eu-west-1 ap-southeast-2' --param=alarmTopicArn=arn:aws:sns:us-east-1:111122223333:ops",
        "npx serverless deploy --stage prod --region eu-west-1 '--param=allowedRegions=us-east-1 eu-west-1 ap-southeast-2' '--param=stackRegions=us-east-1 eu-west-1 ap-southeast-2' --param=alarmTopicArn=arn:aws:sns:us-east-1:111122223333:ops",
        "npx serverless deploy --stage prod --region ap-southeast-2 '--param=allowedRegions=us-east-1 eu-west-1 ap-southeast-2' '--param=stackRegions=us-east-1 eu-west-1 ap-southeast-2' --param=alarmTopicArn=arn:aws:sns:us-east-1:111122223333:ops",
        '',
      ].join('\n'),
    );
  });

  it('exits 64 (EX_USAGE) with every problem on stderr for a bad command line', async () => {
    const { code, stdout, stderr } = await deployScript('--regions', 'us-east-1', '--param', 'quotaShare=0', '--dry-run');

    expect([code, stdout]).toEqual([64, '']);
    expect(stderr).toBe("npm run deploy: --param quotaShare (QUOTA_SHARE): QUOTA_SHARE must be a number greater than 0 and at most 1, got '0'\n");
  });

  it('exits 64 when --regions is missing', async () => {
    const { code, stderr } = await deployScript('--dry-run');

    expect([code, stderr]).toEqual([64, "error: required option '--regions <list>' not specified\n"]);
  });

  it('formats a one-Region dry run', () => {
    expect(formatDryRun(plan('--regions', 'eu-west-1', '--stage', 'dev', '--dry-run'))).toBe(
      '# dry run: npm run deploy would run (stage dev, 1 Region):\nnpx serverless deploy --stage dev --region eu-west-1 --param=allowedRegions=eu-west-1\n',
    );
  });
});
