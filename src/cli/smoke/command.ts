/**
 * `npm run smoke`: an acceptance run of the reconciler on a real AWS account (or any endpoint
 * serving KMS, STS and CloudTrail, such as the embedded KMS). Opt-in and never part of CI or
 * `npm test`, except against the embedded KMS. docs/SMOKE.md explains what it does and costs.
 *
 * `runSmoke(argv, io)` is the whole command; `scripts/smoke.ts` hands it the process's argv,
 * streams, environment and Ctrl-C signals. Its parts: `options.ts` (the command line),
 * `preflight.ts` (caller, Regions, cost), `steps.ts` (the run), `cleanup.ts` (retiring keys,
 * `--cleanup-only`), `cloudtrail.ts` (`--cloudtrail`), `record.ts` and `scrub.ts` (`--record`),
 * `report.ts` (exit codes and output).
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { CommanderError } from 'commander';
import { readCallerIdentity, type CallerIdentity } from '../../aws/caller-identity.js';
import { createKmsClientFactory, type StaticCredentials } from '../../aws/clients.js';
import { createEventHistoryReader } from '../../aws/cloudtrail-lookup.js';
import { createKmsGateway } from '../../aws/kms.js';
import { createKmsLifecycle } from '../../aws/kms-lifecycle.js';
import { startEmbeddedKms } from '../../emulator/index.js';
import { ConfigError, loadConfig, type Config } from '../../lambda/config.js';
import type { OutcomeEvent } from '../../lambda/outcome.js';
import { createRuntime } from '../../lambda/runtime.js';
import { SinkLogger } from '../target.js';
import { cleanUpLeftovers, type CleanupOnlyReport } from './cleanup.js';
import { EMBEDDED_REPLICA_DELAY_MS, checkRegions, parseOptions, type SmokeCliOptions } from './options.js';
import { describeCaller, describeCost, explainFailure, probeRegions, type RegionProbe } from './preflight.js';
import { createRecordWriter } from './record.js';
import { SMOKE_EXIT_CODES, exitCodeOf, finishCleanupOnly, manualCleanup, renderRun, summarize, type SmokeIo } from './report.js';
import { createScrubber } from './scrub.js';
import { CallLog, CapturedMetrics, SMOKE_TAG_KEY, newRunId } from './session.js';
import { runSmokeSteps } from './steps.js';

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
