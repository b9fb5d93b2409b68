import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
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
      "--param 'allowedRegion=eu-west-1': expected name=value with name one of replicaRegionsTag, allowedRegions, onPendingDeletion, replicaPolicy, copyTags, copyDescription, dryRun, quotaShare, kmsRequestQuotas, keyEventMaxConcurrency, stackRegions, logLevel, outcomeEventBus, securityHubFindings, sweepSchedule, logRetentionInDays, alarmTopicArn, hubEventBusArn",
      "--param 'dryRun': expected name=value with name one of replicaRegionsTag, allowedRegions, onPendingDeletion, replicaPolicy, copyTags, copyDescription, dryRun, quotaShare, kmsRequestQuotas, keyEventMaxConcurrency, stackRegions, logLevel, outcomeEventBus, securityHubFindings, sweepSchedule, logRetentionInDays, alarmTopicArn, hubEventBusArn",
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

  it('refuses a well-formed Region code KMS has no endpoint for (a typo), with the Region it was likely meant to be, before any Region is deployed', () => {
    expect(problemsOf('--regions', 'us-east-1 eu-wset-1 zz-nowhere-9')).toEqual([
      "--regions: 'eu-wset-1' is not a Region where AWS KMS is available (src/reconcile/regions.ts); did you mean eu-west-1?",
      "--regions: 'zz-nowhere-9' is not a Region where AWS KMS is available (src/reconcile/regions.ts)",
    ]);
  });

  it('refuses an empty --regions', () => {
    expect(problemsOf('--regions', ' , ')).toEqual(['--regions: name at least one Region, e.g. --regions "us-east-1 eu-west-1"']);
  });
});

describe('npm run deploy --help', () => {
  it('says which options --org needs', () => {
    const org = createDeployProgram().options.find((option) => option.long === '--org');

    expect(org?.description).toBe(
      'install in every account of --target-ous as one service-managed StackSet; needs --target-ous and --organization-id (docs/ORGANIZATIONS.md)',
    );
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

  it('--org without --dry-run stops before anything when the AWS CLI is missing, and says how to go on', async () => {
    const tsx = createRequire(import.meta.url).resolve('tsx/cli');
    const args = ['scripts/deploy.ts', '--org', '--target-ous', 'ou-ab12-11111111', '--organization-id', 'o-a1b2c3d4e5', '--regions', 'us-east-1', '--out', 'never-written'];
    const env = { PATH: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' };
    const { code, stdout, stderr } = await run(process.execPath, [tsx, ...args], { cwd: projectRoot, env, timeout: 60_000 }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );

    expect([code, stdout]).toEqual([1, '']);
    expect(stderr).toBe(
      'npm run deploy --org: the AWS CLI is needed to run the plan and was not found (spawnSync aws ENOENT).\n' +
        'Install AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html), or add --dry-run to print the commands. Nothing was deployed.\n',
    );
    expect(existsSync(join(projectRoot, 'never-written'))).toBe(false);
  });

  it('--org refuses a bad command line with exit 64 before packaging', async () => {
    const { code, stdout, stderr } = await deployScript('--org', '--dry-run', '--regions', 'us-east-1', '--organization-id', 'o-a1b2c3d4e5');

    expect([code, stdout]).toEqual([64, '']);
    expect(stderr).toBe('npm run deploy: --target-ous: name at least one OU id (or the root id), e.g. --target-ous ou-ab12-11111111,ou-ab12-22222222\n');
  });

  it('refuses a --param value holding a Serverless variable, which would be resolved on this machine, with exit 64', async () => {
    const { code, stdout, stderr } = await deployScript('--regions', 'us-east-1', '--param', 'alarmTopicArn=${env:HOME}', '--param', 'logLevel=DEBUG', '--dry-run');

    expect([code, stdout]).toEqual([64, '']);
    expect(stderr).toBe(
      "npm run deploy: --param alarmTopicArn: '${env:HOME}' holds '${': Serverless would resolve it as a variable on the deploying machine and write the result into the template; give the value itself\n",
    );
  });

  it('--org refuses a --param value holding a Serverless variable with exit 64, before packaging', async () => {
    const { code, stdout, stderr } = await deployScript(
      '--org', '--dry-run', '--target-ous', 'ou-ab12-11111111', '--organization-id', 'o-a1b2c3d4e5', '--regions', 'us-east-1', '--param', 'outcomeEventBus=${file(/etc/hostname)}', '--out', 'never-written',
    );

    expect([code, stdout]).toEqual([64, '']);
    expect(stderr).toBe(
      "npm run deploy: --param outcomeEventBus: '${file(/etc/hostname)}' holds '${': Serverless would resolve it as a variable on the deploying machine and write the result into the template; give the value itself\n",
    );
    expect(existsSync(join(projectRoot, 'never-written'))).toBe(false);
  });

  it('refuses organization options without --org (a plain stack would go to the account of the credentials) with exit 64', async () => {
    const { code, stdout, stderr } = await deployScript(
      '--regions', 'us-east-1', '--target-ous', 'ou-ab12-11111111', '--organization-id', 'o-a1b2c3d4e5', '--delegated-admin', '--artifact-bucket-prefix', 'b', '--hub-region', 'eu-west-1', '--out', 'x', '--dry-run',
    );

    expect([code, stdout]).toEqual([64, '']);
    expect(stderr).toBe(
      [
        '--target-ous needs --org',
        '--organization-id needs --org',
        '--artifact-bucket-prefix needs --org',
        '--out needs --org',
        '--delegated-admin needs --org',
        '--hub-region needs --org',
      ].map((line) => `npm run deploy: ${line}\n`).join(''),
    );
  });

  it('--org says that --organization-id is required when it is missing', async () => {
    const { code, stdout, stderr } = await deployScript('--org', '--dry-run', '--regions', 'us-east-1', '--target-ous', 'ou-ab12-11111111');

    expect([code, stdout]).toEqual([64, '']);
    expect(stderr).toBe(
      'npm run deploy: --organization-id: required with --org: the organization (o-...) whose accounts may read the bundles (aws organizations describe-organization --query Organization.Id)\n',
    );
  });

  it('prints the first 20 problems of a long list, then how many more, all of it before exiting 64', async () => {
    const regions = Array.from({ length: 25 }, (_, i) => `bad${i}`);

    const { code, stdout, stderr } = await deployScript('--regions', regions.join(' '), '--dry-run');

    expect([code, stdout]).toEqual([64, '']);
    expect(stderr).toBe(
      [...regions.slice(0, 20).map((r) => `npm run deploy: --regions: '${r}' is not a Region code such as eu-west-1`), 'npm run deploy: ... and 5 more problems'].join('\n') + '\n',
    );
  });

  it('formats a one-Region dry run', () => {
    expect(formatDryRun(plan('--regions', 'eu-west-1', '--stage', 'dev', '--dry-run'))).toBe(
      '# dry run: npm run deploy would run (stage dev, 1 Region):\nnpx serverless deploy --stage dev --region eu-west-1 --param=allowedRegions=eu-west-1\n',
    );
  });
});
