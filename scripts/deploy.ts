/**
 * `npm run deploy -- --regions "us-east-1 eu-west-1" [--stage prod] [--param name=value ...] [--dry-run]`
 * `npm run deploy -- --org --target-ous ou-... --organization-id o-... --regions "..." [...] [--dry-run]`
 *   (one service-managed StackSet for an organization: scripts/org-deploy.ts, docs/ORGANIZATIONS.md)
 *
 * Deploys the stack to each Region in turn with `serverless deploy --region <r>` (never two at
 * once: serverless-esbuild builds in the project's `.esbuild/` folder). Stops at the first Region
 * that fails and says which Regions were deployed and which were not. Exit code 0 when every
 * Region deployed, 1 on a failure, 64 (EX_USAGE) on a bad command line (the first 20 problems, then
 * how many more). Organization options without `--org` are refused. See docs/DEPLOY.md.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { EX_USAGE } from '../src/cli/exit-codes.js';
import { createDeployProgram, DeployPlanError, formatDryRun, formatServerlessCommand, orgOptionsWithoutOrg, planDeploy, type DeployPlan } from './deploy-plan.js';
import { runOrgDeploy } from './org-deploy.js';
import type { OrgDeployOptions } from './org-plan.js';

/** At most this many problems are printed; the rest are counted. */
const MAX_PROBLEMS_SHOWN = 20;

// Commander prints its own message for a missing or unknown option; exit EX_USAGE like our own checks.
const program = createDeployProgram()
  .addHelpText('after', '\nExit codes: 0 every Region deployed, 1 a deploy failed (the Regions deployed and not deployed are printed), 64 usage error.\n')
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : EX_USAGE));
program.parse(process.argv);
// The exit code is set, never forced with process.exit: a long message to a pipe is written in full first.
process.exitCode = main();

/** Runs the command; returns its exit code. */
function main(): number {
  try {
    const misplaced = orgOptionsWithoutOrg(program);
    if (misplaced.length > 0) throw new DeployPlanError(misplaced);
    const options = program.opts<OrgDeployOptions>();
    if (options.org === true) return runOrgDeploy(options, (text) => process.stdout.write(text), (text) => process.stderr.write(text));
    return deploy(planDeploy(options));
  } catch (error) {
    if (!(error instanceof DeployPlanError)) throw error;
    const shown = error.problems.slice(0, MAX_PROBLEMS_SHOWN);
    if (error.problems.length > shown.length) shown.push(`... and ${error.problems.length - shown.length} more problems`);
    process.stderr.write(`npm run deploy: ${shown.join('\nnpm run deploy: ')}\n`);
    return EX_USAGE;
  }
}

/** Prints (`--dry-run`) or runs the plan, one Region after the other; returns the exit code. */
function deploy(plan: DeployPlan): number {
  if (plan.dryRun) {
    process.stdout.write(formatDryRun(plan));
    return 0;
  }
  const serverless = createRequire(import.meta.url).resolve('osls/bin/serverless.js');
  const projectRoot = fileURLToPath(new URL('..', import.meta.url));
  const deployed: string[] = [];
  for (const [index, args] of plan.commands.entries()) {
    const region = plan.regions[index] ?? '';
    process.stdout.write(`\n== ${region}: ${formatServerlessCommand(args)}\n`);
    const run = spawnSync(process.execPath, [serverless, ...args], {
      cwd: projectRoot,
      stdio: 'inherit',
      // The SDK inside Serverless warns about Node.js 20 on every run; the Lambda runtime is nodejs22.x.
      env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env },
    });
    if (run.status !== 0) {
      const notStarted = plan.regions.slice(index + 1);
      process.stderr.write(
        `\ndeploy failed in ${region} (${run.error?.message ?? `exit code ${run.status ?? run.signal}`}).\n` +
          `deployed: ${deployed.join(' ') || 'none'}\nnot deployed: ${[region, ...notStarted].join(' ')}\n`,
      );
      return 1;
    }
    deployed.push(region);
  }
  process.stdout.write(`\ndeployed to ${deployed.join(' ')}\n`);
  return 0;
}
