/**
 * `npm run deploy`: one stack per Region, deployed one Region after the other (CloudTrail events
 * reach only the default event bus of their own Region, kms-facts.md §6). This module parses and
 * validates the command line and works out the `serverless deploy` commands; `scripts/deploy.ts`
 * prints or runs them.
 */
import { Command, Option } from 'commander';
import { join as joinShellWords } from 'shlex';
import { lookupRegion, nearestKnownRegions, partitionOf, REGION_CODE_PATTERN } from '../src/reconcile/regions.js';
import { resolveStackSettings, STACK_PARAM_NAMES, StackSettingsError, type StackParamName } from './stack-settings.js';

/** What one `npm run deploy` will do. */
export interface DeployPlan {
  /** Regions to deploy to, in order, duplicates folded. */
  readonly regions: readonly string[];
  /** Serverless stage, e.g. `prod`. */
  readonly stage: string;
  /**
   * The params every Region's stack gets, in `serverless.yml` order: those given, plus
   * `allowedRegions` = the `--regions` list when it was not given; so is `stackRegions` (the
   * budget's count of stacks) when several Regions are deployed.
   */
  readonly params: ReadonlyArray<readonly [StackParamName, string]>;
  /** Print the commands instead of running them. */
  readonly dryRun: boolean;
  /** One argument list per Region for the Serverless CLI (`serverless <args>`). */
  readonly commands: ReadonlyArray<readonly string[]>;
}

/** The options `npm run deploy` accepts (commander's parse result). */
export interface DeployOptions {
  /** Region codes separated by spaces or commas. */
  readonly regions: string;
  readonly stage: string;
  /** `name=value` pairs. */
  readonly param: readonly string[];
  readonly dryRun?: boolean;
}

/** Thrown for a bad command line; the message names every problem, one per line. */
export class DeployPlanError extends Error {
  override readonly name = 'DeployPlanError';
  /** @param problems - one line per problem. */
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

/**
 * The `npm run deploy` command line (commander): `--regions` (required), `--stage` (default
 * `prod`), `--param name=value` (repeatable), `--dry-run`.
 */
export function createDeployProgram(): Command {
  return new Command('npm run deploy --')
    .description('Deploy the kms-replica-reconciler stack to each Region, one after the other (docs/DEPLOY.md).')
    .requiredOption('--regions <list>', 'Region codes, separated by spaces or commas, e.g. "us-east-1 eu-west-1"')
    .option('--stage <name>', 'Serverless stage', 'prod')
    .addOption(
      new Option('--param <name=value>', `a stack param for every Region (repeatable): ${STACK_PARAM_NAMES.join(', ')}`)
        .argParser((value: string, previous: string[] = []) => [...previous, value])
        .default([], 'none'),
    )
    .option('--dry-run', 'print the commands instead of running them (with --org: also write the StackSet template)')
    // Organization-wide install as one service-managed StackSet (scripts/org-plan.ts, docs/ORGANIZATIONS.md).
    .option('--org', 'install in every account of --target-ous as one service-managed StackSet; needs --target-ous and --organization-id (docs/ORGANIZATIONS.md)')
    .option('--target-ous <list>', '--org: OU ids (or the root id) separated by spaces or commas')
    .option('--organization-id <id>', '--org: the organization (o-...) whose accounts may read the bundles')
    .option('--artifact-bucket-prefix <prefix>', '--org: bundle buckets are <prefix>-<Region> (default kms-replica-reconciler-<stage>-<organization id without o->)')
    .option('--out <dir>', '--org: folder for the package, the StackSet template, the hub template and the bucket policies', '.serverless')
    .option('--failure-tolerance-percentage <n>', '--org: accounts per Region that may fail before the Region stops, in percent', '10')
    .option('--max-concurrent-percentage <n>', '--org: accounts per Region deployed at once, in percent', '25')
    .option('--delegated-admin', '--org: run the StackSet commands as the delegated administrator (--call-as DELEGATED_ADMIN)')
    .option('--hub-region <region>', '--org: Region of the hub stack (default: the first of --regions)')
    .allowExcessArguments(false);
}

/** The options only `--org` reads (commander attribute names). */
const ORG_ONLY_OPTIONS = ['targetOus', 'organizationId', 'artifactBucketPrefix', 'out', 'failureTolerancePercentage', 'maxConcurrentPercentage', 'delegatedAdmin', 'hubRegion'];

/**
 * The organization options given on the command line without `--org`, one problem each
 * (`--target-ous needs --org`): without `--org` they would be ignored and a plain stack deployed
 * to the account of the credentials (the management account, when it runs an organization install).
 *
 * @param program - {@link createDeployProgram} after `parse`.
 */
export function orgOptionsWithoutOrg(program: Command): string[] {
  if (program.opts().org === true) return [];
  return program.options
    .filter((option) => ORG_ONLY_OPTIONS.includes(option.attributeName()) && program.getOptionValueSource(option.attributeName()) === 'cli')
    .map((option) => `${option.long ?? option.flags} needs --org`);
}

/**
 * Validates the options and works out the commands.
 *
 * @param options - from {@link createDeployProgram}.
 * @throws {DeployPlanError} naming every problem: a token of `--regions` that is not a Region
 *   code, Regions of more than one partition, a bad stage name, a `--param` that is not
 *   `name=value` of a stack param or is given twice, and every param value the stack would refuse
 *   in any of the Regions (`resolveStackSettings`).
 */
export function planDeploy(options: DeployOptions): DeployPlan {
  const problems: string[] = [];
  const regions = [...new Set(options.regions.split(/[\s,]+/).filter((r) => r !== ''))];
  if (regions.length === 0) problems.push('--regions: name at least one Region, e.g. --regions "us-east-1 eu-west-1"');
  for (const region of regions.filter((r) => !REGION_CODE_PATTERN.test(r))) {
    problems.push(`--regions: '${region}' is not a Region code such as eu-west-1`);
  }
  // A well-formed code KMS has no endpoint for (a typo) would fail only in that Region's deploy, after the others.
  for (const region of regions.filter((r) => REGION_CODE_PATTERN.test(r) && !lookupRegion(r))) {
    const near = nearestKnownRegions(region);
    problems.push(
      `--regions: '${region}' is not a Region where AWS KMS is available (src/reconcile/regions.ts)${near.length > 0 ? `; did you mean ${near.join(' or ')}?` : ''}`,
    );
  }
  // Each unknown code is a problem of its own above.
  const partitions = [...new Set(regions.filter((r) => lookupRegion(r)).map((r) => partitionOf(r)))];
  if (partitions.length > 1) {
    problems.push(`--regions: the Regions are in more than one partition (${partitions.join(', ')}); deploy each partition with its own credentials and command`);
  }
  // The stage is part of resource names; the longest, the role `<service>-<stage>-<region>-lambdaRole`,
  // must stay within IAM's 64 characters in every Region.
  if (!/^[A-Za-z0-9-]{1,12}$/.test(options.stage)) {
    problems.push(`--stage: '${options.stage}' must be 1-12 letters, digits or hyphens`);
  }

  const given = new Map<StackParamName, string>();
  for (const pair of options.param) {
    const separator = pair.indexOf('=');
    const name = separator > 0 ? pair.slice(0, separator) : '';
    if (!(STACK_PARAM_NAMES as string[]).includes(name)) {
      problems.push(`--param '${pair}': expected name=value with name one of ${STACK_PARAM_NAMES.join(', ')}`);
      continue;
    }
    if (given.has(name as StackParamName)) problems.push(`--param ${name} is given twice`);
    given.set(name as StackParamName, pair.slice(separator + 1));
  }
  if (!given.has('allowedRegions')) given.set('allowedRegions', regions.join(' '));
  // Every stack divides the budgets they share in a Region by the number of stacks (src/pacing/budget.ts).
  if (!given.has('stackRegions') && regions.length > 1) given.set('stackRegions', regions.join(' '));
  const params = STACK_PARAM_NAMES.filter((name) => given.has(name)).map((name): [StackParamName, string] => [name, given.get(name) ?? '']);

  if (problems.length === 0) {
    const seen = new Set<string>();
    for (const region of regions) {
      try {
        resolveStackSettings(Object.fromEntries(params), region);
      } catch (error) {
        if (!(error instanceof StackSettingsError)) throw error;
        for (const problem of error.problems) if (!seen.has(problem)) seen.add(problem);
      }
    }
    problems.push(...[...seen].map((problem) => `--param ${problem}`));
  }
  if (problems.length > 0) throw new DeployPlanError(problems);

  return {
    regions,
    stage: options.stage,
    params,
    dryRun: options.dryRun === true,
    commands: regions.map((region) => [
      'deploy',
      '--stage',
      options.stage,
      '--region',
      region,
      ...params.map(([name, value]) => `--param=${name}=${value}`),
    ]),
  };
}

/**
 * A Serverless command as a line to paste into a POSIX shell from the project root, e.g.
 * `npx serverless deploy --stage prod --region eu-west-1 '--param=allowedRegions=eu-west-1 us-east-1'`.
 *
 * @param args - the arguments after `serverless`.
 */
export function formatServerlessCommand(args: readonly string[]): string {
  return `npx serverless ${joinShellWords([...args])}`;
}

/**
 * What `npm run deploy -- --dry-run` prints: a comment line, then one command per Region.
 *
 * @param plan - from {@link planDeploy}.
 */
export function formatDryRun(plan: DeployPlan): string {
  const count = plan.regions.length === 1 ? '1 Region' : `${plan.regions.length} Regions, one after the other`;
  return [`# dry run: npm run deploy would run (stage ${plan.stage}, ${count}):`, ...plan.commands.map(formatServerlessCommand)].join('\n') + '\n';
}
