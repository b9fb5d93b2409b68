/**
 * The command line of `npm run smoke`: its options, durations, and the Region list's checks
 * (with a "did you mean" for a mistyped Region).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { LOG_LEVELS } from '../../lambda/config.js';
import { lookupRegion, nearestKnownRegions, partitionOf } from '../../reconcile/regions.js';

export interface SmokeCliOptions {
  readonly regions: string;
  readonly yes?: boolean;
  readonly cleanupOnly?: boolean;
  readonly record?: string;
  readonly cloudtrail?: boolean;
  readonly cloudtrailTimeout: number;
  readonly replicaTimeout: number;
  readonly pollInterval: number;
  readonly endpoint?: string;
  readonly embedded?: boolean;
  readonly json?: boolean;
  readonly logLevel?: string;
}

/** How long a new replica stays `Creating` in the embedded KMS of `--embedded` ("a few seconds" [S2 ReplicateKey]). */
export const EMBEDDED_REPLICA_DELAY_MS = 5_000;
export function parseOptions(argv: readonly string[], io: { readonly stdout: { write(text: string): unknown }; readonly stderr: { write(text: string): unknown } }): SmokeCliOptions {
  const program = new Command()
    .name('npm run smoke --')
    .description(
      'Acceptance run of kms-replica-reconciler on a real AWS account: creates a tagged multi-Region primary key in the ' +
        'first Region, reconciles it with the real key-event handler, waits for the replicas in the other Regions, checks ' +
        'that a second reconcile writes nothing, meets AlreadyExistsException and a replica pending deletion, then schedules ' +
        'every key it made for deletion (7 days), even after a failure or Ctrl-C. States the cost first; needs --yes. ' +
        '--cleanup-only finds leftovers by their kms-replicas-smoke tag. See docs/SMOKE.md.',
    )
    .requiredOption('--regions <list>', 'Regions, first the primary\'s, then the replicas\' (e.g. "us-east-1 us-west-2")')
    .option('--yes', 'accept the cost stated and run (with --cleanup-only: schedule the leftovers for deletion)')
    .option('--cleanup-only', 'find keys tagged kms-replicas-smoke in the Regions and schedule them for deletion')
    .option('--record <dir>', 'save every KMS request and response (and with --cloudtrail the CloudTrail records) there, account id replaced')
    .option('--cloudtrail', 'find the CloudTrail records of the run\'s calls in event history (LookupEvents) and check the parser on them')
    .addOption(new Option('--cloudtrail-timeout <duration>', 'how long to wait for the CloudTrail records').argParser(parseDuration).default(20 * 60_000, '20m'))
    .addOption(new Option('--replica-timeout <duration>', 'how long to wait for the replicas to leave Creating').argParser(parseDuration).default(15 * 60_000, '15m'))
    .addOption(
      new Option('--poll-interval <duration>', 'first wait between DescribeKey (and LookupEvents) polls; it grows 1.5 times per poll').argParser(parseDuration).default(2_000, '2s'),
    )
    .option('--endpoint <url>', 'send the KMS, STS and CloudTrail calls to this endpoint (the embedded KMS, LocalStack)', parseUrl)
    .option('--embedded', `run against an embedded KMS started for the run (replicas Creating for ${EMBEDDED_REPLICA_DELAY_MS / 1000} s, documented quotas): no account, no cost`)
    .option('--json', 'print one JSON summary on stdout instead of text')
    .addOption(new Option('--log-level <level>', "the reconciler's JSON log lines on stderr (default: LOG_LEVEL, else SILENT)").argParser(parseLogLevel))
    .addHelpText(
      'after',
      '\nDurations: 90s, 15m, 500ms. Settings of the README apply (REPLICA_REGIONS_TAG, COPY_TAGS, REPLICA_POLICY, QUOTA_SHARE, ...),\n' +
        'except DRY_RUN=false, ON_PENDING_DELETION=report, no OUTCOME_EVENT_BUS, no RECONCILER_PRINCIPAL_ARN, and\n' +
        'ACCOUNT_ID = the caller\'s account. Credentials: the AWS SDK\'s default chain (AWS_PROFILE, SSO, environment, ...).\n' +
        '\nExit codes: 0 passed, 2 a key is left not scheduled for deletion (commands printed), 3 a step failed,\n' +
        '4 CloudTrail records missing, 64 usage or no --yes, 70 could not run (credentials, Region, permission), 130 interrupted.\n' +
        '\nExamples:\n  npm run smoke -- --regions "us-east-1 us-west-2"                  # states the cost, creates nothing\n' +
        '  npm run smoke -- --regions "us-east-1 us-west-2" --yes\n' +
        '  npm run smoke -- --regions "us-east-1 eu-west-1" --yes --record smoke-out --cloudtrail\n' +
        '  npm run smoke -- --regions "us-east-1 us-west-2" --cleanup-only --yes\n' +
        '  npm run smoke -- --regions "us-east-1 us-west-2" --embedded --yes        # try it offline\n',
    )
    .showHelpAfterError('(see npm run smoke -- --help)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  program.parse([...argv], { from: 'user' });
  return program.opts<SmokeCliOptions>();
}

/** `90s`, `15m`, `500ms`, `1h` → ms. */
function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 500ms, 90s, 15m or 1h');
  const ms = Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  if (ms < 1) throw new InvalidArgumentError('expected a duration of at least 1ms');
  return Math.round(ms);
}

function parseUrl(value: string): string {
  try {
    const { protocol } = new URL(value);
    if (protocol === 'http:' || protocol === 'https:') return value;
  } catch {
    // reported below
  }
  throw new InvalidArgumentError('expected an http(s) URL such as http://127.0.0.1:4599');
}

function parseLogLevel(value: string): string {
  const level = LOG_LEVELS.find((l) => l === value.toUpperCase());
  if (!level) throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/** A usage problem with the Region list, or `undefined`. */
export function checkRegions(regions: readonly string[], cleanupOnly: boolean): string | undefined {
  if (regions.length === 0) return '--regions names no Region';
  for (const region of regions) {
    if (!lookupRegion(region)) {
      const near = nearestKnownRegions(region);
      return `'${region}' is not a Region where AWS KMS is available (codes are lower case, e.g. us-east-1)${near.length > 0 ? `; did you mean ${near.join(' or ')}?` : ''}`;
    }
  }
  const repeated = regions.filter((r, i) => regions.indexOf(r) !== i);
  if (repeated.length > 0) return `--regions names ${repeated.join(', ')} twice`;
  const partitions = new Set(regions.map((r) => partitionOf(r)));
  if (partitions.size > 1) return `--regions mixes partitions (${[...partitions].join(', ')}): a multi-Region key's replicas live in its partition`;
  if (!cleanupOnly && regions.length < 2) return `--regions needs the primary's Region and at least one replica Region, e.g. "${regions[0]} ${regions[0] === 'us-west-2' ? 'us-east-1' : 'us-west-2'}"`;
  return undefined;
}

