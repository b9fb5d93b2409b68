/**
 * Runs `npm run deploy -- --org` (plan: `org-plan.ts`): packages the stack offline, writes the
 * StackSet template, the hub template and the bucket policies, then prints every step
 * (`--dry-run`) or runs them with the AWS CLI, one after the other, stopping at the first failure.
 * The AWS CLI is needed only without `--dry-run`; its absence is reported before anything runs.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildHubTemplate } from './hub-template.js';
import { BUNDLES, formatOrgDryRun, PACKAGED_FILES, OPERATION_ID, planOrgDeploy, shellLine, type OrgDeployOptions, type OrgDeployPlan } from './org-plan.js';
import { toStackSetTemplate, type CfnTemplate } from './stackset-template.js';

/** `TemplateBody` is at most 51,200 bytes (CloudFormation API reference, CreateStackSet). */
export const TEMPLATE_BODY_LIMIT = 51_200;

/** Seconds between two reads of a running StackSet operation. */
const POLL_SECONDS = 15;

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/** A step failed: the message says which, and what was done before it. */
export class OrgDeployError extends Error {
  override readonly name = 'OrgDeployError';
}

/**
 * Packages, writes the files, then prints or runs the plan.
 *
 * @param options - the parsed command line (with `--org`).
 * @returns the process exit code: 0 done, 1 a step failed (the message names it).
 * @throws {DeployPlanError} for a bad command line (exit 64 in `deploy.ts`).
 */
export function runOrgDeploy(options: OrgDeployOptions, write: (text: string) => void, writeError: (text: string) => void): number {
  // Validate everything before the first side effect.
  planOrgDeploy(options, 'unpackaged');
  if (options.dryRun !== true) {
    const aws = spawnSync('aws', ['--version'], { encoding: 'utf8' });
    if (aws.error || aws.status !== 0) {
      writeError(
        `npm run deploy --org: the AWS CLI is needed to run the plan and was not found (${aws.error?.message ?? `aws --version exited ${aws.status}`}).\n` +
          'Install AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html), or add --dry-run to print the commands. Nothing was deployed.\n',
      );
      return 1;
    }
  }

  const outDir = isAbsolute(options.out) ? options.out : join(projectRoot, options.out);
  const unversioned = planOrgDeploy(options, 'unpackaged');
  // `serverless package --package <folder>` empties the folder first: package into a fresh
  // private folder and copy only our files to --out, which may hold anything (even be the home folder).
  const packageDir = mkdtempSync(join(tmpdir(), 'kms-replica-reconciler-package-'));
  try {
    const serverless = createRequire(import.meta.url).resolve('osls/bin/serverless.js');
    const [verb = 'package', ...rest] = unversioned.packageCommand;
    // Serverless's own output is shown only when it fails: the plan is what a dry run prints.
    const packaged = spawnSync(process.execPath, [serverless, verb, '--package', packageDir, ...rest], {
      cwd: projectRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', SLS_TELEMETRY_DISABLED: '1', ...process.env },
    });
    if (packaged.status !== 0) {
      writeError(`${packaged.stdout ?? ''}${packaged.stderr ?? ''}npm run deploy --org: serverless package failed (${packaged.error?.message ?? `exit code ${packaged.status ?? packaged.signal}`}). Nothing was deployed.\n`);
      return 1;
    }
    mkdirSync(outDir, { recursive: true });
    for (const file of PACKAGED_FILES) copyFileSync(join(packageDir, file), join(outDir, file));
  } finally {
    rmSync(packageDir, { recursive: true, force: true });
  }

  const hash = createHash('sha256');
  for (const bundle of BUNDLES) hash.update(readFileSync(join(outDir, bundle)));
  const plan = planOrgDeploy(options, hash.digest('hex').slice(0, 16));
  const template = toStackSetTemplate(JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8')) as CfnTemplate, {
    packagedRegion: plan.homeRegion,
    alarmTopicRegionless: plan.alarmTopicRegionless,
  });
  const body = JSON.stringify(template);
  if (Buffer.byteLength(body) > TEMPLATE_BODY_LIMIT) {
    writeError(`npm run deploy --org: the StackSet template is ${Buffer.byteLength(body)} bytes, over the ${TEMPLATE_BODY_LIMIT} bytes of a template body. Nothing was deployed.\n`);
    return 1;
  }
  const at = (file: string): string => (isAbsolute(file) ? file : join(projectRoot, file));
  writeFileSync(at(plan.templateFile), body + '\n');
  writeFileSync(at(plan.hubTemplateFile), JSON.stringify(buildHubTemplate(), null, 2) + '\n');
  for (const a of plan.artifacts) writeFileSync(at(a.policyFile), JSON.stringify(a.policy, null, 2) + '\n');

  if (plan.dryRun) {
    write(formatOrgDryRun(plan));
    return 0;
  }
  try {
    execute(plan, write);
  } catch (error) {
    if (!(error instanceof OrgDeployError)) throw error;
    writeError(`npm run deploy --org: ${error.message}\n`);
    return 1;
  }
  return 0;
}

/** Runs the plan's AWS CLI steps in order; throws {@link OrgDeployError} at the first failure. */
function execute(plan: OrgDeployPlan, write: (text: string) => void): void {
  const done: string[] = [];
  const run = (argv: readonly string[], quiet = false): SpawnSyncReturns<string> => {
    if (!quiet) write(`$ ${shellLine(argv)}\n`);
    return spawnSync(argv[0] ?? 'aws', argv.slice(1), { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', quiet ? 'pipe' : 'inherit'] });
  };
  const must = (argv: readonly string[], quiet = false): string => {
    const result = run(argv, quiet);
    if (result.status !== 0) {
      throw new OrgDeployError(`failed: ${shellLine(argv)} (${result.error?.message ?? `exit code ${result.status ?? result.signal}`}).\ndone before it: ${done.join('; ') || 'nothing'}`);
    }
    return result.stdout;
  };

  for (const a of plan.artifacts) {
    if (run(a.exists, true).status !== 0) must(a.create);
    for (const argv of a.configure) must(argv);
    done.push(`bundles in ${a.bucket}`);
  }
  // Only "no such StackSet" means a first install; any other failure (credentials, access) stops here.
  const described = run(plan.describeStackSet, true);
  const exists = described.status === 0;
  if (!exists && !/StackSetNotFound/.test(described.stderr ?? '')) {
    throw new OrgDeployError(`failed: ${shellLine(plan.describeStackSet)}: ${(described.stderr ?? '').trim() || (described.error?.message ?? `exit code ${described.status}`)}\ndone before it: ${done.join('; ') || 'nothing'}`);
  }
  for (const argv of exists ? plan.update : plan.create) {
    const output = must([...argv, '--output', 'json']);
    const operationId = /"OperationId"\s*:\s*"([^"]+)"/.exec(output)?.[1];
    if (operationId) waitForOperation(plan, operationId, must, write);
    done.push(argv[2] ?? '');
  }
  write(
    `\nStackSet ${plan.stackSetName} ${exists ? 'updated' : 'created'}: ${plan.targetOus.join(' ')} in ${plan.regions.join(' ')}; new accounts of these OUs get it automatically.\n` +
      `The management account is never a StackSet target; if it holds multi-Region keys, run with its credentials:\n  ${shellLine(plan.managementAccount)}\n`,
  );
}

/** Reads the operation's status every {@link POLL_SECONDS} until it ends; throws unless SUCCEEDED. */
function waitForOperation(plan: OrgDeployPlan, operationId: string, must: (argv: readonly string[], quiet?: boolean) => string, write: (text: string) => void): void {
  const argv = plan.waitForOperation.map((arg) => (arg === OPERATION_ID ? operationId : arg));
  write(`$ ${shellLine(argv)}\n`);
  for (;;) {
    const status = must(argv, true).trim();
    if (status === 'SUCCEEDED') return;
    if (status !== 'RUNNING' && status !== 'QUEUED' && status !== 'STOPPING') {
      throw new OrgDeployError(
        `StackSet operation ${operationId} ended ${status}; see aws cloudformation list-stack-set-operation-results --stack-set-name ${plan.stackSetName} --operation-id ${operationId} --region ${plan.homeRegion}`,
      );
    }
    write(`  operation ${operationId}: ${status}\n`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, POLL_SECONDS * 1000);
  }
}
