/**
 * The chaos run (issue 7): a seeded population of key families in the embedded KMS, the account's
 * users acting on them through the API, every CloudTrail event delivered through the emulator's
 * fault layer to the real key-event handler on a fleet of Lambda-like containers with Lambda's
 * retries and a dead-letter list, then one sweep per Region; then the invariants of
 * `chaos/invariants.ts` and the figures of docs/RELIABILITY.md.
 *
 * Time: a `SimulatedClock`. Each delivery round is 30 simulated seconds; Lambda's retries come 2
 * and 4 rounds after a failure (about 1 and 2 minutes [S6]); CloudTrail deliveries held back by
 * the delay fault arrive every 6 rounds (3 minutes late); replicas take 2 s to 10 min to leave
 * `Creating`; a primary-Region change takes 90 s. The sweep runs 15 simulated minutes after the
 * event traffic has gone quiet.
 */
import { createEventBridgePublisher } from '../src/aws/eventbridge.js';
import { matchesKeyEventRule } from '../src/local/key-event-rule.js';
import { loadConfig } from '../src/lambda/config.js';
import {
  DOCUMENTED_QUOTAS,
  startEmbeddedKms,
  type CallRecord,
  type EmbeddedKms,
  type EventFaults,
  type FaultPlan,
  type FaultRule,
  type FaultStats,
} from '../src/emulator/index.js';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { StoredFinding } from '../src/emulator/index.js';
import type { SweepKeyResult } from '../src/sweep/guardrail.js';
import { SweepFindings } from '../src/lambda/finding-reports.js';
import { createKeyEventHandler } from '../src/lambda/key-event-handler.js';
import { NO_OUTCOME_PUBLISHER, type OutcomeEvent, type OutcomePublisher } from '../src/lambda/outcome.js';
import { createRuntime, type Runtime } from '../src/lambda/runtime.js';
import { sweepRegion, type SweepResume } from '../src/sweep/sweep-region.js';
import { chargesOf } from '../src/pacing/paced-gateway.js';
import { AccountUsers, type PerformedAction } from './account-users.js';
import { LambdaFleet, allowSharedAbortSignalListeners, type ContainerFactory, type EventDelivery } from './lambda-fleet.js';
import { installReplicateLedger, type ReplicateAttempt } from './replicate-ledger.js';
import { ALLOWED_REGIONS, REGION_TAG, buildScenario, type FamilyPlan, type Scenario } from './scenario.js';
import { SimulatedClock } from './sim-clock.js';

/** Simulated length of one delivery round (ms). */
export const ROUND_MS = 30_000;
/** The key-event queue of the chaos deployment (one queue for every Region: no home Region, one stack). */
export const KEY_EVENT_QUEUE_NAME = 'kms-replica-reconciler-chaos-key-events';
/** The queue's visibility timeout (simulated seconds): a failed message comes back 2 rounds later. */
export const VISIBILITY_TIMEOUT_SECONDS = 60;
/** Receives before the queue redrives a message to its dead-letter queue (the stack's setting). */
export const MAX_RECEIVE_COUNT = 5;
/** CloudTrail events held back by the delay fault are released every this many rounds. */
export const RELEASE_DELAYED_EVERY = 6;
/** A run that has not gone quiet after this many rounds is looping. */
export const MAX_ROUNDS = 80;
/** How long a primary-Region change keeps both keys `Updating` (ms). */
export const PRIMARY_UPDATE_MS = 90_000;
/** The sweep's simulated time per KMS call it makes (ms): its deadline does not depend on the machine's load. */
export const SWEEP_CALL_MS = 25;
/** Calls the keys in flight may still make when a run stops taking keys (32 keys × 5 calls). */
const SWEEP_MARGIN_CALLS = 160;
/** Simulated time between the last delivery and the sweep (ms): every replica has left `Creating`. */
export const SWEEP_AFTER_MS = 15 * 60_000;
/** Security Hub: simulated time between the sweep and the clean last sweep (the next hourly one). */
export const FINAL_SWEEP_AFTER_MS = 60 * 60_000;
/** Security Hub: the clean last sweep's deadline per run (simulated ms): it sees every key of its Region in one run. */
export const FINAL_SWEEP_RUN_MS = 24 * 60 * 60_000;

/** The reconciler's credentials and role (its own CloudTrail echoes are skipped by principal). */
export const RECONCILER_ACCESS_KEY_ID = 'AKIACHAOSRECONCILER1';
export const RECONCILER_ROLE_ARN = 'arn:aws:iam::111122223333:role/kms-replica-reconciler-chaos';
const RECONCILER_SESSION_ARN = 'arn:aws:sts::111122223333:assumed-role/kms-replica-reconciler-chaos/keyEvent';
/** The outcome bus (served by the embedded KMS's EventBridge `PutEvents`). */
export const OUTCOME_BUS_ARN = 'arn:aws:events:us-east-1:111122223333:event-bus/chaos-outcomes';

/**
 * Raised request quotas of the chaos account (requests per second), the same on both sides: the
 * product paces to them (`KMS_REQUEST_QUOTAS`, `QUOTA_SHARE=0.5` per container, the shipped
 * default) and the embedded KMS enforces them. Ten containers at half the quota each can ask for
 * five times it, so bursts are throttled beyond the quota as in a real account. The users'
 * operations are not limited (they are not under test).
 */
export const CHAOS_QUOTAS = { ReplicateKey: 20, CreateKey: 40 } as const;
const EMULATOR_QUOTAS = {
  ...DOCUMENTED_QUOTAS,
  ...CHAOS_QUOTAS,
  TagResource: Infinity,
  ScheduleKeyDeletion: Infinity,
  UpdatePrimaryRegion: Infinity,
};

/** Faults of one kind of call: probabilities per call, plus latency (real ms). */
export interface CallFaultRates {
  readonly throttleRate: number;
  readonly internalErrorRate: number;
  readonly dropConnectionRate: number;
  /** `AccessDeniedException` (e.g. `PutEvents` to a bus whose policy is not in place yet). */
  readonly accessDeniedRate?: number;
  readonly latencyJitterMs?: number;
}

/** A Region that answers badly for a while (an outage of the KMS endpoint). */
export interface Brownout {
  readonly region: string;
  /** First and last round (inclusive). */
  readonly fromRound: number;
  readonly toRound: number;
  readonly throttleRate: number;
  readonly internalErrorRate: number;
}

/** Everything injected. */
export interface ChaosFaultProfile {
  /** Per reconciler operation. `ReplicateKey` drops happen after the effect (the lost-response case). */
  readonly calls: Readonly<Record<'DescribeKey' | 'ListResourceTags' | 'ReplicateKey' | 'ListKeys' | 'PutEvents', CallFaultRates>>;
  readonly events: EventFaults;
  readonly brownout?: Brownout;
  /**
   * A Region where the reconciler's role may not read (`DescribeKey`, `ListResourceTags` answer
   * `AccessDeniedException` to its calls only: an SCP on `aws:RequestedRegion`), for the whole run.
   */
  readonly deniedReadRegion?: string;
  /**
   * `EnableKey` failing right after `CancelKeyDeletion` in restore mode (issue 10): faults of the
   * reconciler's `EnableKey` calls (only the reconciler calls it) while events are delivered. During
   * the sweep the throttling and 5xx rates stay and the denial is lifted (the role's policy was
   * fixed): the sweep is the next pass that must finish what the event path left `Disabled`. Set
   * with `ON_PENDING_DELETION=restore` (`npm run chaos -- --restore`).
   */
  readonly enableKey?: Pick<CallFaultRates, 'throttleRate' | 'internalErrorRate' | 'accessDeniedRate'>;
  /**
   * Security Hub refusing the reconciler's findings (`npm run chaos -- --security-hub`): faults of
   * every `BatchImportFindings` and `GetFindings` call, while events are delivered and during the
   * sweep (Security Hub answers throttling as `LimitExceededException` 429 and a server fault as
   * `InternalException` 500; the denial is `AccessDeniedException` 403). Lifted for the last, clean
   * sweep. Only the reconciler calls Security Hub.
   */
  readonly securityHub?: Pick<CallFaultRates, 'throttleRate' | 'internalErrorRate' | 'accessDeniedRate'>;
}

/**
 * The Security Hub faults of `npm run chaos -- --security-hub`. The SDK retries throttling and 5xx
 * (3 attempts), so about 0.1 + 0.3 × 0.1 + 0.09 × 0.1 ≈ 14 % of the reads and imports fail
 * denied, and 0.3³ ≈ 2.7 % throttled or 5xx after every attempt: each one a side report (logged,
 * counted in `FindingsNotImported`), never a verdict.
 */
export const SECURITY_HUB_FAULTS: NonNullable<ChaosFaultProfile['securityHub']> = { throttleRate: 0.2, internalErrorRate: 0.1, accessDeniedRate: 0.1 };

/** The Security Hub operations the reconciler calls (docs/SECURITY-HUB.md). */
export const FINDING_OPERATIONS: ReadonlySet<string> = new Set(['BatchImportFindings', 'GetFindings']);

/**
 * The `EnableKey` faults of `npm run chaos -- --restore`. The SDK retries throttling and 5xx (3
 * attempts), so a reconcile sees about 0.2 + 0.5 × 0.2 + 0.25 × 0.2 ≈ 35 % denials (terminal:
 * reported, never redelivered) and 0.5³ ≈ 12.5 % retryable failures (the message comes back).
 */
export const ENABLE_KEY_FAULTS: NonNullable<ChaosFaultProfile['enableKey']> = { throttleRate: 0.3, internalErrorRate: 0.2, accessDeniedRate: 0.2 };

/** The fault profile of `npm run chaos` and of the in-suite run. */
export const DEFAULT_FAULT_PROFILE: ChaosFaultProfile = {
  calls: {
    DescribeKey: { throttleRate: 0.02, internalErrorRate: 0.01, dropConnectionRate: 0.005, latencyJitterMs: 3 },
    ListResourceTags: { throttleRate: 0.02, internalErrorRate: 0.01, dropConnectionRate: 0.005, latencyJitterMs: 3 },
    ReplicateKey: { throttleRate: 0.03, internalErrorRate: 0.02, dropConnectionRate: 0.04, latencyJitterMs: 20 },
    ListKeys: { throttleRate: 0.02, internalErrorRate: 0.01, dropConnectionRate: 0.005 },
    // A central bus whose policy is not in place yet answers AccessDenied; a busy one throttles.
    PutEvents: { throttleRate: 0.05, internalErrorRate: 0.01, dropConnectionRate: 0, accessDeniedRate: 0.1 },
  },
  events: { dropRate: 0.03, duplicateRate: 0.05, delayEvents: 0.1, reorderWindow: 8 },
  brownout: { region: 'eu-west-1', fromRound: 0, toRound: 7, throttleRate: 0.1, internalErrorRate: 0.5 },
};

/** No fault at all: the baseline that shows what the minimum of `checkChaosRun` costs in practice. */
export const NO_FAULT_PROFILE: ChaosFaultProfile = {
  calls: {
    DescribeKey: { throttleRate: 0, internalErrorRate: 0, dropConnectionRate: 0 },
    ListResourceTags: { throttleRate: 0, internalErrorRate: 0, dropConnectionRate: 0 },
    ReplicateKey: { throttleRate: 0, internalErrorRate: 0, dropConnectionRate: 0 },
    ListKeys: { throttleRate: 0, internalErrorRate: 0, dropConnectionRate: 0 },
    PutEvents: { throttleRate: 0, internalErrorRate: 0, dropConnectionRate: 0 },
  },
  events: {},
};

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  readonly seed: number;
  readonly families: number;
  /** Containers (Lambda concurrency). Default 10. */
  readonly concurrency?: number;
  readonly faults?: ChaosFaultProfile;
  /** Settings of the reconciler to change (merged over {@link chaosEnvironment}; a blank value unsets one). */
  readonly environment?: Readonly<Record<string, string>>;
  /** Progress lines (the CLI prints them). */
  readonly log?: (line: string) => void;
  /** Storm: this many more tagged primaries created in us-east-1 in round 0 (see `buildScenario`). */
  readonly storm?: number;
  /** Backlog: this many more tagged primaries missing every replica, with no event (the sweep's work). */
  readonly backlog?: number;
  /**
   * Simulated ms each sweep run may take (its Lambda timeout; every KMS call of the run counts
   * {@link SWEEP_CALL_MS}): a run stops taking keys before it and the next run continues from its
   * resume point, while runs make progress. Default 15 minutes.
   */
  readonly sweepRunMs?: number;
  /**
   * `SECURITY_HUB_FINDINGS=on` (`--security-hub`): the key-event fleet reports to Security Hub as
   * the us-east-1 stack (its queue's Region: the families whose primary lives there), each
   * Region's sweep as that Region's stack; after the sweep, a last sweep of every Region with
   * every fault lifted, whose findings {@link ChaosRun.securityHub} holds. Default off.
   */
  readonly securityHub?: boolean;
}

/** The Security Hub side of a run with {@link ChaosOptions.securityHub}. */
export interface SecurityHubRun {
  /** The account whose default product the findings are imported under. */
  readonly account: string;
  /** Every finding stored at the end (both record states), read in process (`kms.securityHub.list()`). */
  readonly findings: readonly StoredFinding[];
  /** The clean last sweep, per `<region>/<keyId>`, and per Region. */
  readonly finalSweep: SweepResults;
  readonly finalSweepRegions: readonly SweepRegionRuns[];
  /** Sum of the `FindingsNotImported` metric of every container and sweep run. */
  readonly findingsNotImported: number;
  /** Of it, the last (clean) sweep's. */
  readonly findingsNotImportedByFinalSweep: number;
  /** Security Hub calls before the clean sweep (faulted ones included), and those of the clean sweep. */
  readonly calls: readonly CallRecord[];
  readonly finalSweepCalls: readonly CallRecord[];
  /** KMS writes (`ReplicateKey`) the clean sweep made: the repairs left to the next sweep. */
  readonly finalSweepWrites: number;
}

/** One Region's sweep across its runs. */
export interface SweepRegionRuns {
  readonly region: string;
  readonly complete: boolean;
  readonly keys: number;
  readonly writes: number;
  readonly errors: number;
  readonly runs: number;
  /** Runs that were still going at their deadline (a Lambda timeout). */
  readonly runsTimedOut: number;
  /** Whether the chain stopped without progress before completing. */
  readonly stalled: boolean;
}

/** A reconcile outcome of the sweep, or its error, per `<region>/<keyId>`. */
export type SweepResults = ReadonlyMap<string, SweepKeyResult>;

/** Everything the invariants and the report need. */
export interface ChaosRun {
  readonly options: Required<Omit<ChaosOptions, 'log' | 'environment' | 'storm' | 'backlog' | 'sweepRunMs' | 'securityHub'>> & {
    readonly storm: number;
    readonly backlog: number;
    readonly sweepRunMs: number;
  };
  readonly scenario: Scenario;
  /** Key id of every family (KMS chose those of `api-created` families). */
  readonly keyIds: readonly string[];
  readonly kms: Pick<EmbeddedKms, 'describe' | 'tags'>;
  readonly performed: readonly PerformedAction[];
  readonly userCallsByOperation: ReadonlyMap<string, number>;
  readonly userRecords: number;
  readonly deliveries: readonly EventDelivery[];
  /** CloudTrail events taken from the emulator (duplicates included) and those the rule filtered out. */
  readonly eventsTaken: number;
  /** CloudTrail events taken after the sweep (records of its own writes), never delivered. */
  readonly eventsAfterSweep: number;
  readonly eventsFilteredByRule: number;
  /** CloudTrail `DeleteKey` service events seen (a key deleted). */
  readonly deleteKeyEvents: number;
  readonly attempts: readonly ReplicateAttempt[];
  readonly calls: readonly CallRecord[];
  /** Index in `calls` where the sweep started. */
  readonly sweepCallsFrom: number;
  /** Index in `attempts` where the sweep started. */
  readonly sweepAttemptsFrom: number;
  readonly faultStats: FaultStats;
  readonly throttledCount: number;
  readonly sweep: SweepResults;
  /** Per Region: complete, pages, keys. */
  readonly sweepRegions: readonly SweepRegionRuns[];
  /** `ON_PENDING_DELETION=restore`: the reconciler revives desired replicas scheduled for deletion. */
  readonly restoreMode: boolean;
  /**
   * Restore mode: the desired replicas of writable families that were or became `PendingDeletion`,
   * as found just before the sweep: `<keyId>@<Region>` → key state and whether the primary carries
   * the restore marker for that Region.
   */
  readonly restoresBeforeSweep: ReadonlyMap<string, { readonly keyState: string | undefined; readonly marked: boolean }>;
  /** Families' missing replicas just before the sweep: `keyId` → Regions. */
  readonly missingBeforeSweep: ReadonlyMap<string, readonly string[]>;
  /** Outcome events published, and those whose PutEvents failed (with the writes they reported). */
  readonly outcomesPublished: number;
  readonly outcomePublishFailures: readonly { readonly writes: number; readonly error: string }[];
  readonly rounds: number;
  /** Whether the event traffic went quiet before {@link MAX_ROUNDS}. */
  readonly quiet: boolean;
  readonly simulatedMs: number;
  readonly realMs: number;
  /** Unhandled rejections and uncaught exceptions seen while the run was going. */
  readonly processErrors: readonly string[];
  /** With {@link ChaosOptions.securityHub}: the findings and the clean last sweep. */
  readonly securityHub?: SecurityHubRun;
}

/**
 * Runs the chaos scenario end to end and returns what happened (see {@link ChaosRun}); the
 * embedded KMS is closed before it returns, also on failure.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosRun> {
  const settings = {
    seed: options.seed,
    families: options.families,
    concurrency: options.concurrency ?? 10,
    faults: options.faults ?? DEFAULT_FAULT_PROFILE,
    storm: options.storm ?? 0,
    backlog: options.backlog ?? 0,
    sweepRunMs: options.sweepRunMs ?? 15 * 60_000,
  };
  const log = options.log ?? (() => undefined);
  const processErrors: string[] = [];
  const onRejection = (reason: unknown): void => {
    processErrors.push(`unhandledRejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  };
  const onException = (error: Error): void => {
    processErrors.push(`uncaughtException: ${error.stack ?? error.message}`);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtExceptionMonitor', onException);
  const started = performance.now();

  const scenario = buildScenario({ seed: settings.seed, families: settings.families, storm: settings.storm, backlog: settings.backlog });
  const clock = new SimulatedClock();
  const startedAt = clock.now();
  const kms = await startEmbeddedKms({
    now: clock.now,
    seed: settings.seed,
    quotas: EMULATOR_QUOTAS,
    primaryUpdateDelayMs: PRIMARY_UPDATE_MS,
    callerIdentities: {
      [RECONCILER_ACCESS_KEY_ID]: { type: 'AssumedRole', principalId: 'AROACHAOSRECONCILER:keyEvent', arn: RECONCILER_SESSION_ARN },
    },
  });
  const users = new AccountUsers(kms.endpoint);
  try {
    const ledger = installReplicateLedger(kms, { seed: settings.seed });
    const keyIds = seedFamilies(kms, scenario);
    log(`seeded ${scenario.families.length} key families (${kms.calls().length} calls so far)`);

    const env = { ...chaosEnvironment(kms.endpoint), ...options.environment };
    const restoreMode = loadConfig(env).onPendingDeletion === 'restore';
    const credentials = { accessKeyId: RECONCILER_ACCESS_KEY_ID, secretAccessKey: 'chaos' };
    // Security Hub (--security-hub): the settings a stack in `region` reports findings with.
    const hubEnv = (region: string): Record<string, string> =>
      options.securityHub ? { SECURITY_HUB_FINDINGS: 'on', ACCOUNT_ID: kms.account, AWS_REGION: region, AWS_ENDPOINT_URL_SECURITYHUB: kms.endpoint } : {};
    const notImported = new MetricTally('FindingsNotImported');
    let outcomesPublished = 0;
    const outcomePublishFailures: { writes: number; error: string }[] = [];
    const containers: ContainerFactory[] = Array.from({ length: settings.concurrency }, () => {
      const config = loadConfig({ ...env, KEY_EVENT_MAX_CONCURRENCY: String(settings.concurrency) });
      const eventBridge = createEventBridgePublisher({ region: 'us-east-1', eventBusName: OUTCOME_BUS_ARN, endpoint: kms.endpoint, credentials });
      const publisher: OutcomePublisher = {
        async publish(event: OutcomeEvent) {
          try {
            await eventBridge.publish(event);
            outcomesPublished += 1;
          } catch (error) {
            const writes = (event.detail as { writes?: unknown }).writes;
            const code = (error as { code?: unknown }).code;
            outcomePublishFailures.push({ writes: typeof writes === 'number' ? writes : 0, error: `${typeof code === 'string' ? code : (error as Error).name}: ${(error as Error).message}` });
            throw error;
          }
        },
      };
      // One container of M: its slice of the stack's budget (src/pacing/budget.ts), its own SDK clients and buckets.
      const metrics = options.securityHub ? notImported.metrics() : undefined;
      const kmsRuntime = createRuntime(config, { credentials, now: clock.date, publisher, role: 'key-event', ...(metrics ? { metrics } : {}) });
      // The fleet has no home Region (it paces every Region's writes); its findings are those of the
      // stack of its queue's Region, us-east-1: the families whose primary lives there.
      const findings = options.securityHub ? createRuntime(loadConfig({ ...env, ...hubEnv('us-east-1') }), { credentials, now: clock.date }).findings : undefined;
      const runtime = findings ? { ...kmsRuntime, findings } : kmsRuntime;
      return (onResult) => createKeyEventHandler(runtime, { onResult });
    });
    const fleet = new LambdaFleet({
      sqs: kms.sqs,
      region: 'us-east-1',
      queueName: KEY_EVENT_QUEUE_NAME,
      visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
      maxReceiveCount: MAX_RECEIVE_COUNT,
      containers,
    });
    await allowSharedAbortSignalListeners(settings.concurrency * 50);

    const performed: PerformedAction[] = [];
    const lastActionRound = Math.max(...scenario.families.flatMap((f) => f.actions.map((a) => a.round)));
    let eventsTaken = 0;
    let eventsFilteredByRule = 0;
    let deleteKeyEvents = 0;
    let eventsAfterSweep = 0;
    let planKey = '';
    let round = 0;
    let quiet = false;
    let releaseNext = false;
    for (;;) {
      if (round > 0) clock.advance(ROUND_MS);
      const plan = faultPlan(settings.faults, settings.seed, round);
      if (plan.key !== planKey) {
        kms.setFaults(plan.plan);
        planKey = plan.key;
      }
      performed.push(...(await performRound(users, scenario, keyIds, round)));
      if (releaseNext || round % RELEASE_DELAYED_EVERY === RELEASE_DELAYED_EVERY - 1) kms.releaseDelayedEvents();
      releaseNext = false;
      for (const event of kms.takeEvents()) {
        eventsTaken += 1;
        if (event.detail.eventName === 'DeleteKey') deleteKeyEvents += 1;
        if (matchesKeyEventRule(event)) fleet.enqueue(event, round);
        else eventsFilteredByRule += 1;
      }
      const invocations = await fleet.runRound(round);
      log(`round ${round} (${Math.round(performance.now() - started)} ms): ${invocations} invocations, ${fleet.pendingCount()} waiting for a retry, ${kms.pendingEvents()} new events, ${kms.delayedEvents()} delayed`);
      if (round >= lastActionRound && fleet.pendingCount() === 0 && kms.pendingEvents() === 0) {
        if (kms.delayedEvents() === 0) {
          quiet = true;
          break;
        }
        releaseNext = true;
      }
      round += 1;
      if (round > MAX_ROUNDS) break;
    }

    const missingBeforeSweep = findMissingReplicas(kms, scenario, keyIds);
    const restoresBeforeSweep = restoreMode ? findRestores(kms, scenario, keyIds) : new Map<string, { keyState: string | undefined; marked: boolean }>();
    clock.advance(SWEEP_AFTER_MS);
    kms.setFaults(faultPlan({ ...settings.faults, brownout: undefined }, settings.seed, -1).plan);
    const sweepCallsFrom = kms.calls().length;
    const sweepAttemptsFrom = ledger.attempts.length;
    const sweep = new Map<string, SweepKeyResult>();
    // One Region after the other: each run's clock is the KMS calls it made (see SWEEP_CALL_MS).
    const sweepRegions: SweepRegionRuns[] = [];
    const sweepOf = (region: string, runMs: number, results: Map<string, SweepKeyResult>): Promise<SweepRegionRuns> => {
      const metrics = options.securityHub ? notImported.metrics() : undefined;
      const runtime = createRuntime(loadConfig({ ...env, ...hubEnv(region), AWS_REGION: region }), { credentials, now: clock.date, publisher: NO_OUTCOME_PUBLISHER, ...(metrics ? { metrics } : {}) });
      return sweepChain(kms, region, runtime, runMs, (key) => results.set(`${region}/${key.keyId}`, key));
    };
    for (const region of ALLOWED_REGIONS) {
      const runs = await sweepOf(region, settings.sweepRunMs, sweep);
      log(`swept ${region} (${Math.round(performance.now() - started)} ms): ${runs.keys} keys, ${runs.writes} writes, ${runs.runs} runs`);
      sweepRegions.push(runs);
    }
    // The sweep's own ReplicateKey calls leave records too; they go nowhere (the run is over).
    kms.releaseDelayedEvents();
    for (const event of kms.takeEvents()) {
      eventsAfterSweep += 1;
      if (event.detail.eventName === 'DeleteKey') deleteKeyEvents += 1;
    }
    log(`swept ${sweepRegions.length} Regions: ${sweepRegions.reduce((n, r) => n + r.keys, 0)} keys, ${sweepRegions.reduce((n, r) => n + r.writes, 0)} writes`);
    const calls = [...kms.calls()];
    const faultStats = kms.faultStats();
    const throttledCount = kms.throttledCount();
    const attempts = [...ledger.attempts];

    // Security Hub: the next hourly sweep, every fault lifted (the Region whose reads are denied
    // stays denied: that is a policy, not a fault). Whatever it writes is left out of the figures
    // above, and the invariants read the keys as they were before it (`kmsView`).
    let securityHub: SecurityHubRun | undefined;
    let kmsView: ChaosRun['kms'] = { describe: kms.describe.bind(kms), tags: kms.tags.bind(kms) };
    if (options.securityHub) {
      kmsView = snapshotKeys(kms, scenario, keyIds, attempts);
      clock.advance(FINAL_SWEEP_AFTER_MS);
      kms.setFaults(faultPlan({ ...NO_FAULT_PROFILE, ...(settings.faults.deniedReadRegion ? { deniedReadRegion: settings.faults.deniedReadRegion } : {}) }, settings.seed, -2).plan);
      const notImportedBefore = notImported.total;
      const finalSweep = new Map<string, SweepKeyResult>();
      const finalSweepRegions: SweepRegionRuns[] = [];
      for (const region of ALLOWED_REGIONS) finalSweepRegions.push(await sweepOf(region, FINAL_SWEEP_RUN_MS, finalSweep));
      kms.releaseDelayedEvents();
      kms.takeEvents();
      const finalCalls = kms.calls().slice(calls.length);
      securityHub = {
        account: kms.account,
        findings: kms.securityHub.list(),
        finalSweep,
        finalSweepRegions,
        findingsNotImported: notImported.total,
        findingsNotImportedByFinalSweep: notImported.total - notImportedBefore,
        calls: calls.filter((c) => FINDING_OPERATIONS.has(c.operation)),
        finalSweepCalls: finalCalls.filter((c) => FINDING_OPERATIONS.has(c.operation)),
        finalSweepWrites: finalSweepRegions.reduce((n, r) => n + r.writes, 0),
      };
      log(`swept again with every fault lifted: ${securityHub.findings.filter((f) => f['RecordState'] === 'ACTIVE').length} active findings of ${securityHub.findings.length}`);
    }

    return {
      options: settings,
      scenario,
      keyIds,
      kms: kmsView,
      performed,
      userCallsByOperation: users.callsByOperation,
      userRecords: users.records,
      deliveries: fleet.all(),
      eventsTaken,
      eventsAfterSweep,
      eventsFilteredByRule,
      deleteKeyEvents,
      attempts,
      calls,
      sweepCallsFrom,
      sweepAttemptsFrom,
      faultStats,
      throttledCount,
      sweep,
      sweepRegions,
      restoreMode,
      restoresBeforeSweep,
      missingBeforeSweep,
      outcomesPublished,
      outcomePublishFailures,
      rounds: round + 1,
      quiet,
      simulatedMs: clock.now() - startedAt,
      realMs: Math.round(performance.now() - started),
      processErrors,
      ...(securityHub ? { securityHub } : {}),
    };
  } finally {
    users.close();
    await kms.close();
    // Let stray socket errors of the closed server surface while the listeners still record them.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtExceptionMonitor', onException);
  }
}

/**
 * One Region's sweep as a chain of runs, each with a deadline of `runMs` simulated ms (the Lambda
 * timeout, scaled): it stops taking keys before it, writes only what fits, and the next run resumes
 * at the first key not finished, while runs make progress (src/lambda/sweep-handler.ts). With
 * Security Hub on (`runtime.findings`), each run reports its findings as the sweep handler does
 * (`SweepFindings`: read the open ones, decide per key, resolve the orphans when the run saw
 * every key).
 */
async function sweepChain(kms: EmbeddedKms, region: string, runtime: Runtime, runMs: number, onKey: (key: SweepKeyResult) => void): Promise<SweepRegionRuns> {
  let resume: SweepResume | undefined = {};
  let runs = 0;
  let runsTimedOut = 0;
  let stalled = false;
  let complete = false;
  let keys = 0;
  let writes = 0;
  let errors = 0;
  while (resume !== undefined) {
    runs += 1;
    const callsAtStart = kms.calls().length;
    // Simulated time, reproducible on a loaded machine: every KMS call of the run takes SWEEP_CALL_MS.
    const elapsed = (): number => (kms.calls().length - callsAtStart) * SWEEP_CALL_MS;
    const findings = runtime.findings
      ? new SweepFindings({ findings: runtime.findings, logger: runtime.logger, metrics: runtime.metrics, now: runtime.now }, { eventId: `sweep-${region}-${runs}`, source: 'sweep' })
      : undefined;
    await findings?.start();
    const result = await sweepRegion(
      {
        region,
        ...(resume.marker !== undefined ? { marker: resume.marker } : {}),
        ...(resume.startAfter !== undefined ? { startAfter: resume.startAfter } : {}),
        remainingTimeMs: () => runMs - elapsed(),
        // What the keys in flight may still need: 32 keys × (2 reads + 3 replicas) calls.
        safetyMarginMs: SWEEP_MARGIN_CALLS * SWEEP_CALL_MS,
        writeMarginMs: SWEEP_CALL_MS * 4,
        writeWait: (actions) => runtime.limiter.estimateWaitMs(chargesOf(actions)),
        onKey: (key) => {
          onKey(key);
          findings?.onKey(key);
        },
      },
      runtime,
    );
    // A run that started at the first key and finished saw every key of the Region.
    await findings?.finish(result.complete && runs === 1);
    if (elapsed() > runMs) runsTimedOut += 1;
    keys += result.report.keys;
    writes += result.report.writes;
    errors += result.report.errors.count;
    complete = result.complete;
    resume = result.complete ? undefined : result.resume;
    if (!result.complete && (result.finished ?? 0) === 0) {
      stalled = true;
      resume = undefined;
    }
  }
  return { region, complete, keys, writes, errors, runs, runsTimedOut, stalled };
}

/** Counts one metric over every `Metrics` it hands out (the containers' and the sweep runs'). */
class MetricTally {
  total = 0;
  constructor(private readonly name: string) {}

  /** A Powertools `Metrics` whose `addMetric` of this tally's metric also adds to {@link MetricTally.total}. */
  metrics(): Metrics {
    const tally = this;
    return new (class extends Metrics {
      override addMetric(...args: Parameters<Metrics['addMetric']>): this {
        if (args[0] === tally.name) tally.total += args[2];
        return super.addMetric(...args);
      }
    })({ namespace: 'KmsReplicaReconcilerChaos', serviceName: 'kms-replica-reconciler' });
  }
}

/**
 * The keys as they are now, for the invariants (the clean sweep that follows may still write):
 * every family's key in every Region the scenario or a `ReplicateKey` names, copied.
 */
function snapshotKeys(kms: EmbeddedKms, scenario: Scenario, keyIds: readonly string[], attempts: readonly ReplicateAttempt[]): ChaosRun['kms'] {
  const regions = new Set<string>(ALLOWED_REGIONS);
  for (const plan of scenario.families) {
    for (const region of [plan.primaryRegion, plan.finalPrimaryRegion, ...plan.desiredRegions, ...plan.replicas.map((r) => r.region)]) regions.add(region);
  }
  for (const attempt of attempts) regions.add(attempt.replicaRegion);
  const described = new Map<string, ReturnType<EmbeddedKms['describe']>>();
  const tagged = new Map<string, ReturnType<EmbeddedKms['tags']>>();
  const ids = new Set([...keyIds, ...attempts.map((a) => a.keyId)]);
  for (const keyId of ids) {
    for (const region of regions) {
      described.set(`${region}/${keyId}`, structuredClone(kms.describe(region, keyId)));
      tagged.set(`${region}/${keyId}`, structuredClone(kms.tags(region, keyId)));
    }
  }
  return {
    describe: (region, keyId) => {
      const key = `${region}/${keyId}`;
      if (!described.has(key)) throw new Error(`chaos: ${keyId} in ${region} was not snapshotted before the clean sweep`);
      return described.get(key);
    },
    tags: (region, keyId) => {
      const key = `${region}/${keyId}`;
      if (!tagged.has(key)) throw new Error(`chaos: the tags of ${keyId} in ${region} were not snapshotted before the clean sweep`);
      return tagged.get(key);
    },
  };
}

/** The key-event function's environment in the chaos deployment. */
export function chaosEnvironment(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_KMS: endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint,
    OUTCOME_EVENT_BUS: OUTCOME_BUS_ARN,
    ALLOWED_REGIONS: ALLOWED_REGIONS.join(' '),
    KMS_REQUEST_QUOTAS: Object.entries(CHAOS_QUOTAS)
      .map(([operation, rps]) => `${operation}=${rps}`)
      .join(' '),
    QUOTA_SHARE: '0.5',
    RECONCILER_PRINCIPAL_ARN: RECONCILER_ROLE_ARN,
    LOG_LEVEL: 'SILENT',
  };
}

/**
 * The emulator's fault plan for a round: the brownout rules (first, so they win in their Region)
 * while it lasts, then one rule per reconciler operation. The users' operations match no rule.
 * `key` changes only when the plan does (installing a plan reseeds the fault streams).
 */
export function faultPlan(profile: ChaosFaultProfile, seed: number, round: number): { key: string; plan: FaultPlan } {
  const brownout = profile.brownout;
  const inBrownout = brownout !== undefined && round >= brownout.fromRound && round <= brownout.toRound;
  const rules: FaultRule[] = [];
  if (profile.deniedReadRegion !== undefined) {
    for (const operation of ['DescribeKey', 'ListResourceTags']) {
      // Only the reconciler reads (the users' operations are writes), so the rule needs no caller filter.
      rules.push({
        operation,
        region: profile.deniedReadRegion,
        error: {
          code: 'AccessDeniedException',
          message: `User: ${RECONCILER_SESSION_ARN} is not authorized to perform: kms:${operation} with an explicit deny in a service control policy`,
        },
      });
    }
  }
  if (profile.enableKey !== undefined) {
    // Only the reconciler calls EnableKey (right after its CancelKeyDeletion, or to finish a marked restore).
    const { throttleRate, internalErrorRate, accessDeniedRate } = profile.enableKey;
    const denied = round >= 0 ? (accessDeniedRate ?? 0) : 0;
    rules.push({
      operation: 'EnableKey',
      throttleRate,
      internalErrorRate,
      ...(denied > 0
        ? {
            error: { code: 'AccessDeniedException', message: `User: ${RECONCILER_SESSION_ARN} is not authorized to perform: kms:EnableKey because no identity-based policy allows the kms:EnableKey action` },
            errorRate: denied,
          }
        : {}),
    });
  }
  if (profile.securityHub !== undefined) {
    // Only the reconciler calls Security Hub (its findings: a side report).
    const { throttleRate, internalErrorRate, accessDeniedRate } = profile.securityHub;
    for (const operation of FINDING_OPERATIONS) {
      rules.push({
        operation,
        throttleRate,
        internalErrorRate,
        ...(accessDeniedRate
          ? {
              error: {
                code: 'AccessDeniedException',
                message: `User: ${RECONCILER_SESSION_ARN} is not authorized to perform: securityhub:${operation} because no identity-based policy allows the securityhub:${operation} action`,
                httpStatus: 403,
              },
              errorRate: accessDeniedRate,
            }
          : {}),
      });
    }
  }
  if (inBrownout) {
    for (const operation of Object.keys(profile.calls)) {
      if (operation === 'PutEvents') continue;
      rules.push({ operation, region: brownout.region, throttleRate: brownout.throttleRate, internalErrorRate: brownout.internalErrorRate });
    }
  }
  for (const [operation, rates] of Object.entries(profile.calls)) {
    rules.push({
      operation,
      throttleRate: rates.throttleRate,
      internalErrorRate: rates.internalErrorRate,
      dropConnectionRate: rates.dropConnectionRate,
      ...(rates.accessDeniedRate
        ? { error: { code: 'AccessDeniedException', message: `User: ${RECONCILER_SESSION_ARN} is not authorized to perform: events:PutEvents on resource: ${OUTCOME_BUS_ARN}` }, errorRate: rates.accessDeniedRate }
        : {}),
      // A lost response after the replica was made: the case that turns a retry into AlreadyExists.
      dropAfterEffect: operation === 'ReplicateKey',
      ...(rates.latencyJitterMs ? { latencyJitterMs: rates.latencyJitterMs } : {}),
    });
  }
  const phase = round < 0 ? 'sweep' : inBrownout ? 'brownout' : 'steady';
  // Installing a plan reseeds the streams; the round it is installed in keeps phases apart.
  const phaseSeed = (Math.imul(seed, 7919) + round + 1_000) | 0;
  return { key: phase, plan: { seed: phaseSeed, rules, events: profile.events } };
}

function seedFamilies(kms: EmbeddedKms, scenario: Scenario): string[] {
  return scenario.families.map((plan) => {
    if (plan.keyId === undefined) return ''; // created through the API in round 0
    kms.seedKey({
      region: plan.primaryRegion,
      keyId: plan.keyId,
      multiRegion: plan.multiRegion,
      origin: plan.origin,
      keyState: plan.primaryState,
      tags: plan.seededTags,
      description: `chaos family ${plan.index} (${plan.kind})`,
    });
    for (const replica of plan.replicas) {
      kms.seedReplica(plan.keyId, plan.primaryRegion, replica.region, {
        keyState: replica.keyState,
        tags: replica.tagged && plan.finalTagValue !== undefined ? { ...plan.seededTags, [REGION_TAG]: plan.finalTagValue } : {},
        ...(replica.creatingForMs !== undefined ? { creatingForMs: replica.creatingForMs } : {}),
      });
    }
    return plan.keyId;
  });
}

async function performRound(users: AccountUsers, scenario: Scenario, keyIds: string[], round: number): Promise<PerformedAction[]> {
  const done: PerformedAction[] = [];
  for (const plan of scenario.families) {
    for (const action of plan.actions) {
      if (action.round !== round) continue;
      const result = await users.perform(action, keyIds[plan.index] ?? '');
      if (action.kind === 'CreateKey') keyIds[plan.index] = result.keyId;
      done.push(result);
    }
  }
  return done;
}

/** Restore mode: the desired replicas that were or became `PendingDeletion` (see {@link ChaosRun.restoresBeforeSweep}). */
function findRestores(kms: EmbeddedKms, scenario: Scenario, keyIds: readonly string[]): Map<string, { keyState: string | undefined; marked: boolean }> {
  const found = new Map<string, { keyState: string | undefined; marked: boolean }>();
  for (const plan of scenario.families) {
    const keyId = keyIds[plan.index] ?? '';
    const tags = kms.tags(plan.finalPrimaryRegion, keyId) ?? {};
    for (const region of restoreRegions(plan)) {
      found.set(`${keyId}@${region}`, { keyState: kms.describe(region, keyId)?.KeyState, marked: `${RESTORE_MARKER_PREFIX}${region}` in tags });
    }
  }
  return found;
}

/**
 * Restore mode: the desired Regions of a writable family whose replica is seeded `PendingDeletion`
 * or scheduled for deletion by its owner during the run: those the reconciler must revive.
 */
export function restoreRegions(plan: FamilyPlan): string[] {
  if (!plan.writable) return [];
  const pending = new Set(plan.replicas.filter((r) => r.keyState === 'PendingDeletion').map((r) => r.region));
  if (plan.scheduledReplicaDeletion !== undefined) pending.add(plan.scheduledReplicaDeletion);
  return plan.desiredRegions.filter((region) => pending.has(region));
}

/**
 * The restore marker's tag key prefix (design.md §2.6: `kms-replica-reconciler:restoring:<Region>`),
 * written out here rather than imported so the chaos run checks the product against its contract.
 */
export const RESTORE_MARKER_PREFIX = 'kms-replica-reconciler:restoring:';

/** Desired Regions of writable families that hold no key of the family (ground truth, read-only peek). */
function findMissingReplicas(kms: EmbeddedKms, scenario: Scenario, keyIds: readonly string[]): Map<string, string[]> {
  const missing = new Map<string, string[]>();
  for (const plan of scenario.families) {
    if (!plan.writable) continue;
    const keyId = keyIds[plan.index] ?? '';
    const regions = plan.desiredRegions.filter((region) => kms.describe(region, keyId) === undefined);
    if (regions.length > 0) missing.set(keyId, regions);
  }
  return missing;
}
