/**
 * `npm run smoke`: an acceptance run of the reconciler on a real AWS account (or any endpoint
 * serving KMS, STS and CloudTrail, such as the embedded KMS). Opt-in and never part of CI or
 * `npm test`, except against the embedded KMS. docs/SMOKE.md explains what it does and costs.
 *
 * `runSmoke(argv, io)` is the whole command; `scripts/smoke.ts` hands it the process's argv,
 * streams, environment and Ctrl-C signals.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { SdkCallRecord } from '../aws/call-recorder.js';
import { readCallerIdentity, type CallerIdentity } from '../aws/caller-identity.js';
import { createKmsClientFactory, type StaticCredentials } from '../aws/clients.js';
import { createEventHistoryReader } from '../aws/cloudtrail-lookup.js';
import { createKmsGateway } from '../aws/kms.js';
import { createKmsLifecycle } from '../aws/kms-lifecycle.js';
import { ConfigError, LOG_LEVELS, loadConfig, type Config } from '../lambda/config.js';
import type { OutcomeEvent } from '../lambda/outcome.js';
import { lookupRegion, partitionOf, regionsOfPartition } from '../reconcile/regions.js';
import { startEmbeddedKms } from '../emulator/index.js';
import { createRuntime } from '../lambda/runtime.js';
import { SinkLogger } from './target.js';
import { EX_USAGE } from './exit-codes.js';
import { formatDuration } from './smoke-cloudtrail.js';
import { describeCaller, describeCost, explainFailure, probeRegions, type RegionProbe } from './smoke-preflight.js';
import { CallLog, CapturedMetrics, cleanUpLeftovers, newRunId, runSmokeSteps, SMOKE_TAG_KEY, type CleanupOnlyReport, type SmokeRunReport } from './smoke-run.js';
import { createScrubber, type Scrubber } from './smoke-scrub.js';

/**
 * Exit codes of `npm run smoke` (docs/SMOKE.md). They keep the meanings of `kms-replicas`'s
 * (docs/CLI.md): 2 needs a person, 3 failed, 4 incomplete, 64 usage, 70 could not run, 130
 * interrupted. When several apply, the first of 2, 130, 3, 4 wins: a key left costing money
 * matters most.
 */
export const SMOKE_EXIT_CODES = {
  /** Every step passed and every key the run made is scheduled for deletion. */
  passed: 0,
  /** A key the run made is not scheduled for deletion: the commands to do it were printed. */
  needsPerson: 2,
  /** A step failed (a check did not hold, or a call failed); every key made is scheduled for deletion. */
  failed: 3,
  /** Every step passed but some CloudTrail records did not appear before `--cloudtrail-timeout`. */
  recordingIncomplete: 4,
  /** Bad option, Region or setting; or `--yes` missing (nothing was created). `EX_USAGE`, as in every command. */
  usage: EX_USAGE,
  /** Could not start: no, expired or invalid credentials; a Region unreachable or not enabled; a read the preflight needs denied. */
  couldNotRun: 70,
  /** Ctrl-C or SIGTERM: the run stopped and scheduled what it had made for deletion. */
  interrupted: 130,
} as const;

/** Where the command writes and what it reads. */
export interface SmokeIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** The environment (settings, credentials); read through `loadConfig` and for static credentials. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** First Ctrl-C: stop the steps, then clean up. */
  readonly signal?: AbortSignal;
  /** Second Ctrl-C: stop the cleanup too (the keys not yet scheduled are printed). */
  readonly abandon?: AbortSignal;
  /** The clock (epoch ms); default `Date.now`. */
  readonly now?: () => number;
}

interface SmokeCliOptions {
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
/** The fake credentials `--embedded` signs with (real ones are never sent to the embedded KMS). */
const EMBEDDED_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIAKMSREPLICASSMOKE', AWS_SECRET_ACCESS_KEY: 'embedded', AWS_SESSION_TOKEN: '' };

/** How long cleanup keeps trying a key KMS said exists but its Region does not show yet (KMS eventual consistency [S17]). */
const NOT_VISIBLE_GRACE_MS = 120_000;

/** Settings the run forces, whatever the environment says (docs/SMOKE.md, "Settings"). */
const FORCED_SETTINGS: Readonly<Record<string, string>> = {
  DRY_RUN: 'false',
  ON_PENDING_DELETION: 'report',
  OUTCOME_EVENT_BUS: '',
  RECONCILER_PRINCIPAL_ARN: '',
};

/**
 * Runs `npm run smoke -- <argv>`.
 * @returns the exit code (see {@link SMOKE_EXIT_CODES}); never throws.
 */
export async function runSmoke(argv: readonly string[], io: SmokeIo): Promise<number> {
  let options: SmokeCliOptions;
  try {
    options = parseOptions(argv, io);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : SMOKE_EXIT_CODES.usage;
    throw error;
  }
  if (!options.embedded) return runGuarded(options, io);
  if (options.endpoint) {
    io.stderr.write('smoke: --embedded and --endpoint cannot be used together\n(see npm run smoke -- --help)\n');
    return SMOKE_EXIT_CODES.usage;
  }
  // The embedded KMS serves KMS, STS and CloudTrail LookupEvents, with the documented request quotas.
  const kms = await startEmbeddedKms({ quotas: true, replicaDelayMs: EMBEDDED_REPLICA_DELAY_MS });
  try {
    return await runGuarded({ ...options, endpoint: kms.endpoint }, { ...io, env: { ...io.env, ...EMBEDDED_CREDENTIALS } });
  } finally {
    await kms.close();
  }
}

/** `runWith`, with an unexpected error reported in one line (exit 70) instead of thrown. */
async function runGuarded(options: SmokeCliOptions, io: SmokeIo): Promise<number> {
  try {
    return await runWith(options, io);
  } catch (error) {
    io.stderr.write(`smoke: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return SMOKE_EXIT_CODES.couldNotRun;
  }
}

async function runWith(options: SmokeCliOptions, io: SmokeIo): Promise<number> {
  const now = io.now ?? Date.now;
  const signal = io.signal ?? new AbortController().signal;
  const abandon = io.abandon ?? new AbortController().signal;
  const say = (line: string): void => void io.stderr.write(`${line}\n`);
  const usage = (message: string): number => {
    say(`smoke: ${message}\n(see npm run smoke -- --help)`);
    return SMOKE_EXIT_CODES.usage;
  };

  const regions = options.regions.split(/[\s,]+/).filter((r) => r !== '');
  const regionProblem = checkRegions(regions, options.cleanupOnly === true);
  if (regionProblem) return usage(regionProblem);
  const [primaryRegion, ...replicaRegions] = regions as [string, ...string[]];
  if (options.record && options.cleanupOnly) return usage('--record records a full run; --cleanup-only has nothing to record');
  if (options.cloudtrail && options.cleanupOnly) return usage('--cloudtrail looks up the records of a full run; --cleanup-only makes none to look up');
  if (options.record && existsSync(options.record) && readdirSync(options.record).length > 0) {
    return usage(`--record ${options.record}: the directory is not empty; give a new or empty one, so one run's files are not mixed with another's`);
  }
  if (options.record) {
    try {
      mkdirSync(join(options.record, 'kms'), { recursive: true });
      mkdirSync(join(options.record, 'cloudtrail'), { recursive: true });
    } catch (error) {
      return usage(`--record ${options.record}: cannot create the directory (${(error as Error).message})`);
    }
  }

  const envLogLevel = [io.env.LOG_LEVEL, io.env.POWERTOOLS_LOG_LEVEL].some((v) => v !== undefined && v.trim() !== '');
  const logLevel = options.logLevel ?? (envLogLevel ? undefined : 'SILENT');
  const settingsOf = (extra: Record<string, string>): Config =>
    loadConfig({
      ...io.env,
      ...(options.endpoint ? { AWS_ENDPOINT_URL_KMS: options.endpoint } : {}),
      ...(logLevel ? { LOG_LEVEL: logLevel } : {}),
      ...FORCED_SETTINGS,
      ...extra,
    });
  let config: Config;
  try {
    loadConfig(io.env);
    config = settingsOf({});
  } catch (error) {
    if (error instanceof ConfigError) return usage(error.message);
    throw error;
  }
  const notAllowed = replicaRegions.filter((r) => config.allowedRegions && !config.allowedRegions.has(r));
  if (notAllowed.length > 0) return usage(`ALLOWED_REGIONS (${[...(config.allowedRegions ?? [])].join(' ')}) leaves out ${notAllowed.join(', ')}: the reconciler would report region-not-allowed; unset it or add them`);

  const endpoint = options.endpoint;
  const credentials = staticCredentials(io.env);
  const clientOptions = { ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}) };
  const started = now();
  say(`kms-replicas smoke: ${options.cleanupOnly ? 'cleanup of leftovers' : 'acceptance run'} in ${regions.join(', ')}${endpoint ? ` at ${endpoint}` : ''}`);

  // 1. Who is calling: STS needs no permission, so only the credentials themselves can fail here.
  let caller: CallerIdentity;
  try {
    caller = await readCallerIdentity({ ...clientOptions, region: primaryRegion, signal });
  } catch (error) {
    say(`smoke: ${explainFailure(error, { action: 'STS GetCallerIdentity (who is calling)', region: primaryRegion, ...(endpoint ? { endpoint } : {}) })}`);
    return signal.aborted ? SMOKE_EXIT_CODES.interrupted : SMOKE_EXIT_CODES.couldNotRun;
  }
  say(describeCaller(caller));
  config = settingsOf({ ACCOUNT_ID: caller.account });

  // 2. The clients: one per Region, every KMS exchange observed (recorded during the run).
  const scrubber = createScrubber(caller);
  const writer = options.record ? createRecordWriter(resolve(options.record), scrubber) : undefined;
  const calls = new CallLog(writer ? (call, position) => writer.kmsCall(call, position) : undefined);
  const kmsClientFor = createKmsClientFactory({ ...(config.kmsEndpoint ? { endpoint: config.kmsEndpoint } : {}), ...(credentials ? { credentials } : {}), observe: calls.observe });
  const kms = createKmsGateway(kmsClientFor);
  const history = options.cloudtrail ? createEventHistoryReader(clientOptions) : undefined;

  // 3. Every Region answers; the reads the run needs are allowed.
  const probes = await probeRegions(regions, kms, history, { ...(endpoint ? { endpoint } : {}), now, signal });
  for (const probe of probes) say(describeProbe(probe));
  const blocking = probes.filter((p) => p.problem || (options.cleanupOnly && p.listKeys === 'denied'));
  if (signal.aborted) return SMOKE_EXIT_CODES.interrupted;
  if (blocking.length > 0) {
    for (const p of blocking) say(`smoke: ${p.problem ?? p.warning}`);
    say('smoke: nothing was created');
    return SMOKE_EXIT_CODES.couldNotRun;
  }

  // 4. What it costs; nothing happens without --yes.
  if (options.embedded) say('On AWS this would cost (here, against the embedded KMS, nothing):');
  for (const line of describeCost(replicaRegions, options.cleanupOnly === true)) say(line);
  const lifecycle = createKmsLifecycle(kmsClientFor);
  const sleep = (ms: number, s?: AbortSignal): Promise<void> => sleepFor(ms, undefined, s ? { signal: s } : {});

  if (options.cleanupOnly) {
    say(options.yes ? `looking for keys tagged ${SMOKE_TAG_KEY} to schedule for deletion ...` : `looking for keys tagged ${SMOKE_TAG_KEY} (add --yes to schedule them for deletion) ...`);
    let report: CleanupOnlyReport;
    try {
      report = await cleanUpLeftovers({ kms, lifecycle, progress: say, signal, abandon, sleep, now, timing: { pollMs: options.pollInterval, notVisibleGraceMs: 0 } }, regions, options.yes === true);
    } catch (error) {
      say(`smoke: ${explainFailure(error, { action: 'looking for leftovers', permission: 'kms:ListKeys, kms:ListResourceTags and kms:DescribeKey', ...(endpoint ? { endpoint } : {}) })}`);
      return signal.aborted ? SMOKE_EXIT_CODES.interrupted : SMOKE_EXIT_CODES.couldNotRun;
    }
    return finishCleanupOnly(report, { options, caller, regions, io, say, durationMs: now() - started });
  }
  if (!options.yes) {
    say('smoke: nothing was created: add --yes to accept the cost above and run');
    return SMOKE_EXIT_CODES.usage;
  }

  // 5. The run: the real key-event handler on a runtime that shares the recording clients.
  const metrics = new CapturedMetrics();
  const outcomes: OutcomeEvent[] = [];
  const runtime = createRuntime(config, {
    kmsClientFor,
    logger: new SinkLogger(io.stderr, config.logLevel, 'kms-replicas-smoke'),
    metrics,
    publisher: { publish: async (event) => void outcomes.push(event) },
  });
  const report = await runSmokeSteps({
    runId: newRunId(now()),
    primaryRegion,
    replicaRegions,
    caller,
    runtime,
    kms,
    lifecycle,
    ...(history ? { history } : {}),
    calls,
    metrics,
    timing: {
      replicaTimeoutMs: options.replicaTimeout,
      pollMs: options.pollInterval,
      maxPollMs: Math.max(options.pollInterval, 15_000),
      cloudTrailTimeoutMs: options.cloudtrailTimeout,
      notVisibleGraceMs: NOT_VISIBLE_GRACE_MS,
      cloudTrailMaxPollMs: Math.max(options.pollInterval, 60_000),
    },
    progress: say,
    signal,
    abandon,
    now,
    sleep,
    ...(writer ? { saveCloudTrailRecord: (name: string, event: Record<string, unknown>) => writer.cloudTrailRecord(name, event), scrubber } : {}),
    ...(endpoint ? { endpoint } : {}),
  });
  const code = exitCodeOf(report, signal.aborted);
  const summary = summarize(report, { code, caller, primaryRegion, replicaRegions, probes, durationMs: now() - started, outcomes: outcomes.length, ...(writer ? { record: writer.summary() } : {}) });
  writer?.summaryFile(summary);
  io.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : renderRun(report, summary));
  if (!report.cleanupComplete) say(manualCleanup(report, regions));
  return code;
}

function parseOptions(argv: readonly string[], io: SmokeIo): SmokeCliOptions {
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
      const distance = (known: string): number => editDistance(known, region.toLowerCase());
      const best = Math.min(...KNOWN_REGIONS.map(distance));
      const near = best <= 2 ? KNOWN_REGIONS.filter((known) => distance(known) === best) : [];
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

const KNOWN_REGIONS: readonly string[] = (['aws', 'aws-cn', 'aws-us-gov', 'aws-eusc'] as const).flatMap((p) => regionsOfPartition(p));

/** Levenshtein distance (insertions, deletions, substitutions), for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Static credentials from the environment when both parts are set (the SDK chain's first source, read from `io.env`). */
function staticCredentials(env: Readonly<Record<string, string | undefined>>): StaticCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env.AWS_SESSION_TOKEN?.trim();
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

function describeProbe(probe: RegionProbe): string {
  if (probe.problem) return `  ${probe.region}: cannot be used`;
  const parts = [`KMS answers`, probe.listKeys === 'allowed' ? 'kms:ListKeys allowed' : 'kms:ListKeys denied'];
  if (probe.lookupEvents) parts.push(`cloudtrail:LookupEvents ${probe.lookupEvents}`);
  return `  ${probe.region}: ${parts.join(', ')}${probe.warning ? `\n  warning: ${probe.warning}` : ''}`;
}

/** The exit code of a run (see {@link SMOKE_EXIT_CODES} for the order). */
export function exitCodeOf(report: SmokeRunReport, interrupted: boolean): number {
  if (!report.cleanupComplete) return SMOKE_EXIT_CODES.needsPerson;
  if (interrupted || report.steps.some((s) => s.status === 'interrupted')) return SMOKE_EXIT_CODES.interrupted;
  const failed = report.steps.filter((s) => s.status === 'failed');
  if (failed.length === 0) return SMOKE_EXIT_CODES.passed;
  const onlyMissingRecords =
    failed.length === 1 && failed[0]?.name === 'cloudtrail' && (report.cloudTrail?.missing.length ?? 0) > 0 && (report.cloudTrail?.found.every((f) => !f.problem) ?? true);
  return onlyMissingRecords ? SMOKE_EXIT_CODES.recordingIncomplete : SMOKE_EXIT_CODES.failed;
}

const RESULT_NAMES: Record<number, string> = { 0: 'passed', 2: 'needs-a-person', 3: 'failed', 4: 'recording-incomplete', 130: 'interrupted' };

/** The `--json` summary (docs/SMOKE.md, "Output"). */
function summarize(
  report: SmokeRunReport,
  extra: {
    code: number;
    caller: CallerIdentity;
    primaryRegion: string;
    replicaRegions: readonly string[];
    probes: readonly RegionProbe[];
    durationMs: number;
    outcomes: number;
    record?: RecordSummary;
  },
): Record<string, unknown> {
  return {
    runId: report.runId,
    result: RESULT_NAMES[extra.code] ?? 'failed',
    exitCode: extra.code,
    account: extra.caller.account,
    caller: extra.caller.arn,
    primaryRegion: extra.primaryRegion,
    replicaRegions: extra.replicaRegions,
    keyId: report.keyId ?? null,
    primaryArn: report.primaryArn ?? null,
    durationMs: extra.durationMs,
    preflight: extra.probes,
    steps: report.steps,
    replicas: report.replicas,
    cleanup: report.cleanup,
    cleanupComplete: report.cleanupComplete,
    cloudTrail: report.cloudTrail ?? null,
    kmsCalls: report.kmsCalls,
    kmsWrites: report.kmsWrites,
    outcomeEvents: extra.outcomes,
    record: extra.record ?? null,
  };
}

function renderRun(report: SmokeRunReport, summary: Record<string, unknown>): string {
  const lines = [
    `kms-replicas smoke run ${report.runId}: ${String(summary.result)} (exit ${String(summary.exitCode)}) in ${formatDuration(Number(summary.durationMs))}`,
    `key ${report.keyId ?? '(none created)'}; ${report.kmsCalls} KMS calls (${report.kmsWrites} writes)`,
  ];
  for (const step of report.steps) lines.push(`  ${step.name.padEnd(25)} ${step.status.padEnd(11)} ${formatDuration(step.ms).padStart(10)}  ${step.detail}`);
  for (const replica of report.replicas) lines.push(`replica ${replica.region}: Creating → ${replica.finalState} in ${formatDuration(replica.creatingMs)} (${replica.polls} polls)`);
  const record = summary.record as RecordSummary | null;
  if (record) {
    lines.push(`recorded: ${record.kmsFiles} KMS calls and ${record.cloudTrailFiles} CloudTrail records in ${record.dir}, account id replaced by 111122223333`);
    if (record.withheld.length > 0) lines.push(`withheld (still held a sensitive value after scrubbing): ${record.withheld.join(', ')}`);
    if (record.unwritten.length > 0) lines.push(`could not write: ${record.unwritten.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

function manualCleanup(report: SmokeRunReport, regions: readonly string[]): string {
  const left = report.cleanup.filter((e) => e.action === 'failed' || e.action === 'abandoned');
  return [
    `smoke: ${left.length} key(s) the run made are NOT scheduled for deletion and cost $1/month each until they are:`,
    ...left.map((e) => `  aws kms schedule-key-deletion --region ${e.region} --key-id ${e.arn} --pending-window-in-days 7${e.error ? `   # ${e.error}` : ''}`),
    `(replicas first, then the primary), or, once the permission is fixed: npm run smoke -- --regions "${regions.join(' ')}" --cleanup-only --yes`,
  ].join('\n');
}

function finishCleanupOnly(
  report: CleanupOnlyReport,
  ctx: { options: SmokeCliOptions; caller: CallerIdentity; regions: readonly string[]; io: SmokeIo; say: (line: string) => void; durationMs: number },
): number {
  const { options, io, say } = ctx;
  const scheduled = options.yes === true;
  const code = !scheduled && report.leftovers.length > 0 ? SMOKE_EXIT_CODES.usage : report.complete || !scheduled ? SMOKE_EXIT_CODES.passed : SMOKE_EXIT_CODES.needsPerson;
  const summary = {
    mode: 'cleanup-only',
    exitCode: code,
    account: ctx.caller.account,
    regions: ctx.regions,
    examined: report.examined,
    alreadyScheduled: report.alreadyScheduled,
    leftovers: report.leftovers,
    cleanup: report.cleanup,
    complete: report.complete,
    durationMs: ctx.durationMs,
  };
  if (options.json) io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const lines = [`${report.examined} multi-Region key(s) examined; ${report.alreadyScheduled} tagged key(s) already pending deletion; ${report.leftovers.length} leftover(s)`];
    for (const key of report.leftovers) {
      const done = report.cleanup.find((e) => e.arn === key.arn);
      lines.push(`  ${key.region} ${key.role.padEnd(7)} ${key.arn} ${key.keyState}${key.runId ? ` (run ${key.runId})` : ''}${done ? ` → ${done.action}${done.keyState ? ` (${done.keyState})` : ''}` : ''}`);
    }
    io.stdout.write(`${lines.join('\n')}\n`);
  }
  if (!scheduled && report.leftovers.length > 0) say('smoke: nothing was scheduled: add --yes to schedule these for deletion (7 days)');
  const failed = report.cleanup.filter((e) => e.action === 'failed' || e.action === 'abandoned');
  for (const e of failed) say(`smoke: not scheduled: ${e.arn}: ${e.error ?? e.action}`);
  return code;
}

/** What `--record` wrote. */
interface RecordSummary {
  readonly dir: string;
  readonly kmsFiles: number;
  readonly cloudTrailFiles: number;
  /** Files not written because scrubbing left a sensitive value in them. */
  readonly withheld: string[];
  /** Files that could not be written (disk full, permissions), with the reason. */
  readonly unwritten: string[];
}

/** Writes the run's record: `kms/NNNN-<region>-<Operation>[-<Error>].json`, `cloudtrail/NN-<region>-<EventName>.json`, `summary.json`; all scrubbed. */
function createRecordWriter(dir: string, scrubber: Scrubber) {
  let kmsFiles = 0;
  let cloudTrailFiles = 0;
  const withheld: string[] = [];
  const unwritten: string[] = [];
  const write = (relative: string, value: unknown): string | undefined => {
    const text = `${JSON.stringify(scrubber.scrub(value), null, 2)}\n`;
    const leaks = scrubber.leaks(text);
    if (leaks.length > 0) {
      withheld.push(relative);
      return undefined;
    }
    try {
      writeFileSync(join(dir, relative), text);
    } catch (error) {
      // A failed record never fails the run it records; the summary says what is missing.
      unwritten.push(`${relative} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      return undefined;
    }
    return join(dir, relative);
  };
  return {
    kmsCall(call: SdkCallRecord, position: number): void {
      const name = `kms/${String(position).padStart(4, '0')}-${call.region}-${call.operation}${call.errorType ? `-${call.errorType}` : ''}.json`;
      const written = write(name, {
        position,
        operation: call.operation,
        region: call.region,
        startedAt: new Date(call.startedAt).toISOString(),
        ms: call.ms,
        httpStatus: call.httpStatus ?? null,
        requestId: call.requestId ?? null,
        ...(call.errorType ? { errorType: call.errorType } : {}),
        ...(call.networkError ? { networkError: call.networkError } : {}),
        request: call.request ?? null,
        response: call.response ?? null,
      });
      if (written) kmsFiles += 1;
    },
    cloudTrailRecord(name: string, event: Record<string, unknown>): string {
      const written = write(`cloudtrail/${name}.json`, event);
      if (written) cloudTrailFiles += 1;
      return written ?? `(withheld) cloudtrail/${name}.json`;
    },
    summaryFile(summary: Record<string, unknown>): void {
      write('summary.json', summary);
    },
    summary: (): RecordSummary => ({ dir, kmsFiles, cloudTrailFiles, withheld: [...withheld], unwritten: [...unwritten] }),
  };
}
