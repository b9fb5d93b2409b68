/**
 * The embedded KMS, its one public entry point: an emulator of the AWS KMS JSON 1.1 API for
 * multi-Region keys (plus EventBridge `PutEvents`), served over real HTTP on 127.0.0.1 so the
 * unmodified AWS SDK can talk to it (design.md §6). It models AWS from the fact sheet
 * (`docs/kms-facts.md`) and imports nothing from the product; `README.md` here documents it.
 */
import { createCloudTrailServices, EventHistory } from './cloudtrail-lookup.js';
import { Dispatcher } from './dispatcher.js';
import { PublishedEventStore, createEventBridgeService, type PublishedEventFilter } from './eventbridge.js';
import { FaultInjector, type FaultPlan, type FaultStats } from './faults.js';
import { createApiFront } from './front.js';
import { REGION_PATTERN } from './ids.js';
import { EventLog, type CallerIdentityOverride } from './kms/event-log.js';
import { DEFAULT_MAX_KEYS_PER_REGION, type OperationDefinition } from './kms/operation.js';
import { createOperationRegistry } from './kms/registry.js';
import { bareKeyId, seedKey, seedReplica, type KeySeed, type ReplicaSeed } from './kms/seeding.js';
import { createKmsService } from './kms/service.js';
import type { KeyRecord } from './kms/key-records.js';
import { KeyStore } from './kms/store.js';
import { QuotaLimiter, type QuotaOption } from './quotas.js';
import { startHttpServer } from './server.js';
import { createEmbeddedSqs, type EmbeddedSqs } from './sqs/index.js';
import { createSecurityHubService, SecurityHubStore } from './securityhub.js';
import type { CallRecord, CloudTrailEventBridgeEvent, KeyMetadataView, PublishedEvent } from './types.js';

export type {
  CallFault,
  CallRecord,
  CloudTrailApiCallEvent,
  CloudTrailEventBridgeEvent,
  CloudTrailServiceEvent,
  CloudTrailServiceEventRecord,
  CloudTrailServiceIdentity,
  PublishedEvent,
  CloudTrailRecord,
  CloudTrailResource,
  CloudTrailTlsDetails,
  CloudTrailEventVersion,
  CloudTrailUserIdentity,
  KeyMetadataView,
  KeyOrigin,
  KeyState,
  MultiRegionConfigurationView,
  MultiRegionKeyView,
  TagView,
} from './types.js';
export { EMULATED_EVENT_VERSION, KEY_STATES } from './types.js';
export type { CallerIdentityOverride } from './kms/event-log.js';
export type { OperationContext, OperationDefinition, OperationResult } from './kms/operation.js';
export { DEFAULT_MAX_KEYS_PER_REGION } from './kms/operation.js';
export { KEY_STATE_TABLE, STATE_PHRASES } from './kms/key-states.js';
export type { KeyOperationName, KeyStateRow, KeyStateRule } from './kms/key-states.js';
export type { KeySeed, ReplicaSeed, SeedTags } from './kms/seeding.js';
export type { KeyMaterialState, RotationType, WrappingAlgorithm, WrappingKeySpec } from './kms/key-material.js';
export { IMPORT_PARAMETERS_VALID_MS, MAX_IMPORT_TOKENS } from './kms/key-material.js';
export { MAX_ON_DEMAND_ROTATIONS } from './kms/operations/key-material.js';
export { ManualClock, MANUAL_CLOCK_DEFAULT_START } from './clock.js';
export { mulberry32 } from './faults.js';
export type { EventFaults, FaultPlan, FaultRule, FaultStats } from './faults.js';
export { DOCUMENTED_QUOTAS } from './quotas.js';
export type { QuotaOption } from './quotas.js';
export type { PublishedEventFilter } from './eventbridge.js';
export type { EmbeddedSqs, QueueCounts, QueueOptions, QueueRef, ReceivedMessage } from './sqs/index.js';
export { SqsApiError } from './sqs/index.js';
export { SecurityHubStore, asffProblem, defaultProductArnOf, MAX_FINDINGS_PER_IMPORT } from './securityhub.js';
export type { StoredFinding, StoredFindingFilter } from './securityhub.js';
export { KMS_THROTTLING_MESSAGE } from './errors.js';

/** Options of {@link startEmbeddedKms}. */
export interface EmbeddedKmsOptions {
  /** Interface to bind; default `127.0.0.1`. */
  host?: string;
  /** TCP port; default `0` (an ephemeral port, see {@link EmbeddedKms.endpoint}). */
  port?: number;
  /** The 12-digit account id of every key; default `111122223333`. */
  account?: string;
  /**
   * How long (ms) a new replica stays `Creating` before it is `Enabled` (or `PendingImport` for an
   * EXTERNAL primary) [S2 ReplicateKey]. Default 0: the first observation after the ReplicateKey
   * call already sees the final state; the ReplicateKey response itself always shows `Creating`.
   * The transition is computed from {@link EmbeddedKmsOptions.now} when a key is read: no timers.
   */
  replicaDelayMs?: number;
  /** The clock, epoch ms; default `Date.now`. Tests pass a controllable one. */
  now?: () => number;
  /**
   * Per access key id, how CloudTrail's `userIdentity` names the caller (e.g.
   * `{ type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/reconciler/fn' }`, or
   * `{ type: 'Root', principalId: '111122223333', arn: 'arn:aws:iam::111122223333:root' }`), and
   * `console: true` for a caller signed in to the console (`sessionCredentialFromConsole: "true"`)
   * [S24]. Default: an IAM user named after the access key id.
   */
  callerIdentities?: Readonly<Record<string, CallerIdentityOverride>>;
  /**
   * How long (ms) UpdatePrimaryRegion keeps the old and the new primary `Updating` (DescribeKey
   * shows both as `REPLICA` meanwhile) [S2 UpdatePrimaryRegion]. Default 0: done by the next read.
   * Computed lazily from {@link EmbeddedKmsOptions.now}, like {@link EmbeddedKmsOptions.replicaDelayMs}.
   */
  primaryUpdateDelayMs?: number;
  /**
   * Request quotas [S5][fact sheet §3]: default off; `true` = the documented requests per second
   * per operation ({@link DOCUMENTED_QUOTAS}); an object = those with per-operation overrides.
   * One token bucket per (operation, Region) holding one second of quota, refilled from `now`.
   * Past it: `ThrottlingException` (HTTP 400), no effect, a CloudTrail record with that errorCode.
   */
  quotas?: QuotaOption;
  /**
   * Resource quota: keys per Region (primaries, replicas and single-Region keys each count)
   * before CreateKey / ReplicateKey (replica Region) answer `LimitExceededException`
   * [S1 resource-limits.md]. Default 100,000. Seeding is not limited.
   */
  maxKeysPerRegion?: number;
  /**
   * Regions that exist but are not enabled for this account (opt-in Regions not opted in)
   * [S16 manage-acct-regions]. `ReplicateKey` into one answers `UnsupportedOperationException`
   * (INF: AWS documents no code for it). Default none.
   */
  disabledRegions?: readonly string[];
  /** Fault injection plan (see {@link FaultPlan}); default none. Change it with {@link EmbeddedKms.setFaults}. */
  faults?: FaultPlan;
  /** Seed of the fault PRNGs when the plan names none; default 1. */
  seed?: number;
  /**
   * Real-time delay (ms) before every answer, for benchmarks; default 0. Implemented with unref'd
   * timers that `close()` clears, so it never keeps the process alive.
   */
  latencyMs?: number;
  /**
   * How many entries each history keeps: the call log ({@link EmbeddedKms.calls}) and the accepted
   * PutEvents events ({@link EmbeddedKms.publishedEvents}); past it the oldest are dropped. Default
   * `Infinity` (tests read whole histories); the standalone CLI (`npm run emulator`) keeps 10,000
   * (`--history-limit`), so a long session stays within bounded memory.
   */
  historyLimit?: number;
}

/** A running embedded KMS. */
export interface EmbeddedKms {
  /** `http://127.0.0.1:<port>`: pass as the SDK client's `endpoint`. */
  readonly endpoint: string;
  /** The account id of every key. */
  readonly account: string;
  /**
   * Creates a single-Region key or a multi-Region primary in `seed.region` and returns its
   * metadata as DescribeKey shows it.
   * @throws TypeError on an id of the wrong kind, a malformed Region or an id already in use.
   */
  seedKey(seed: KeySeed): KeyMetadataView;
  /**
   * Creates a replica of the multi-Region primary `primaryKeyId` (bare id or ARN) of
   * `primaryRegion` in `replicaRegion`; the primary lists it in `ReplicaKeys` at once.
   * @throws TypeError when the primary does not exist there, is not a primary, or the Region
   *   already holds the key.
   */
  seedReplica(primaryKeyId: string, primaryRegion: string, replicaRegion: string, opts?: ReplicaSeed): KeyMetadataView;
  /** Read-only peek (bare id or ARN); not recorded as a call. `undefined` when absent. */
  describe(region: string, keyId: string): KeyMetadataView | undefined;
  /** The key's tags (bare id or ARN), insertion-ordered; `undefined` when the key is absent. */
  tags(region: string, keyId: string): Record<string, string> | undefined;
  /** Every API call served, in order, failed ones included (the last {@link EmbeddedKmsOptions.historyLimit}). */
  calls(): readonly CallRecord[];
  /** Forgets the call log. */
  resetCalls(): void;
  /**
   * Calls `listener` synchronously, before the HTTP response is sent, for every CloudTrail event
   * emitted from now on (events are queued for {@link EmbeddedKms.takeEvents} as well). A
   * listener's exception is swallowed. Returns the unsubscribe function. Event faults apply:
   * dropped events never arrive, duplicates arrive twice, delayed ones on release; listeners see
   * emission order (reordering affects `takeEvents` only).
   */
  subscribe(listener: (event: CloudTrailEventBridgeEvent) => void): () => void;
  /**
   * Removes and returns all queued CloudTrail events (API call records and DeleteKey service
   * events), oldest first; under a `reorderWindow` fault each window of the batch is shuffled.
   */
  takeEvents(): CloudTrailEventBridgeEvent[];
  /** How many CloudTrail events are queued. */
  pendingEvents(): number;
  /**
   * The KMS operation registry, keyed by operation name. Adding or replacing an entry changes what
   * the running server serves.
   */
  readonly operations: Map<string, OperationDefinition>;
  /**
   * Bulk seeding: creates `count` keys, `make(i)` describing key `i` (0-based), like
   * {@link EmbeddedKms.seedKey} but without building metadata views. No events, no call records.
   * Returns the key ids in order.
   * @throws TypeError as seedKey does (keys seeded before the failing one stay).
   */
  seedKeys(count: number, make: (index: number) => KeySeed): string[];
  /**
   * Events accepted by the emulated EventBridge `PutEvents`, oldest first, optionally filtered by
   * bus (name or ARN), Region and source. Copies: changing them changes nothing here.
   */
  publishedEvents(filter?: PublishedEventFilter): PublishedEvent[];
  /** Forgets the accepted PutEvents events. */
  clearPublishedEvents(): void;
  /** Replaces the request quotas at runtime (see {@link EmbeddedKmsOptions.quotas}); every bucket starts full. */
  setQuotas(quotas: QuotaOption | undefined): void;
  /** Calls answered `ThrottlingException` since start (quotas and injected faults); not reset by `resetCalls`. */
  throttledCount(): number;
  /** Installs a fault plan (or removes it with `undefined`) and reseeds the fault PRNGs. @throws TypeError on an invalid plan. */
  setFaults(plan: FaultPlan | undefined): void;
  /** Counts of injected faults per kind since start or {@link EmbeddedKms.resetFaultStats}. */
  faultStats(): FaultStats;
  /** Zeroes {@link EmbeddedKms.faultStats}. */
  resetFaultStats(): void;
  /** Queues every CloudTrail event held back by the `delayEvents` fault, in emission order; returns how many. */
  releaseDelayedEvents(): number;
  /** How many CloudTrail events the `delayEvents` fault holds back. */
  delayedEvents(): number;
  /**
   * Deletes every key whose `DeletionDate` has passed on the clock (and moves a
   * `PendingReplicaDeletion` primary whose last replica went to `PendingDeletion`), emitting a
   * DeleteKey service event per key. Runs by itself before every API call and in `describe`,
   * `tags`, `takeEvents` and `pendingEvents`. Returns how many keys were deleted.
   */
  sweepDeletions(): number;
  /** The embedded SQS on the same endpoint (`X-Amz-Target: AmazonSQS.*`), and its in-process API. */
  readonly sqs: EmbeddedSqs;
  /**
   * The findings of the embedded Security Hub on the same endpoint (REST-JSON, SigV4 service
   * `securityhub`: `BatchImportFindings`, `GetFindings`), read and managed in process.
   */
  readonly securityHub: SecurityHubStore;
  /** Stops the server, cancels delayed answers and drops its connections; calling it again is harmless. */
  close(): Promise<void>;
}

const ACCOUNT_PATTERN = /^\d{12}$/;

/**
 * Starts an embedded KMS listening on `options.host:options.port`.
 * @throws TypeError on an invalid account, delay, latency, key limit, history limit, seed, quota or
 *   fault plan; Error when the port cannot be bound.
 */
export async function startEmbeddedKms(options: EmbeddedKmsOptions = {}): Promise<EmbeddedKms> {
  const account = options.account ?? '111122223333';
  if (!ACCOUNT_PATTERN.test(account)) throw new TypeError(`account must be 12 digits, got '${account}'`);
  const replicaDelayMs = options.replicaDelayMs ?? 0;
  if (!Number.isFinite(replicaDelayMs) || replicaDelayMs < 0) {
    throw new TypeError(`replicaDelayMs must be a non-negative number, got ${replicaDelayMs}`);
  }
  const primaryUpdateDelayMs = checkMs(options.primaryUpdateDelayMs, 'primaryUpdateDelayMs');
  const latencyMs = checkMs(options.latencyMs, 'latencyMs');
  const maxKeysPerRegion = options.maxKeysPerRegion ?? DEFAULT_MAX_KEYS_PER_REGION;
  if (!Number.isInteger(maxKeysPerRegion) || maxKeysPerRegion < 0) {
    throw new TypeError(`maxKeysPerRegion must be a non-negative integer, got ${maxKeysPerRegion}`);
  }
  const disabledRegions = new Set(options.disabledRegions ?? []);
  for (const region of disabledRegions) {
    if (!REGION_PATTERN.test(region)) throw new TypeError(`disabledRegions: '${region}' is not a Region code`);
  }
  const historyLimit = options.historyLimit ?? Infinity;
  if (historyLimit !== Infinity && (!Number.isInteger(historyLimit) || historyLimit < 0)) {
    throw new TypeError(`historyLimit must be a non-negative integer or Infinity, got ${historyLimit}`);
  }
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) throw new TypeError(`seed must be an integer, got ${seed}`);
  const now = options.now ?? Date.now;
  const store = new KeyStore(account, now);
  const operations = createOperationRegistry();
  const quotas = new QuotaLimiter(options.quotas, now);
  const faults = new FaultInjector(seed);
  faults.setPlan(options.faults);
  const published = new PublishedEventStore(historyLimit);
  const events = new EventLog({ account, faults, ...(options.callerIdentities ? { callerIdentities: options.callerIdentities } : {}) });
  const kms = createKmsService({
    account,
    store,
    operations,
    events,
    now,
    replicaDelayMs,
    primaryUpdateDelayMs,
    maxKeysPerRegion,
    disabledRegions,
  });
  // CloudTrail event history (LookupEvents) over the records the KMS service emits.
  const history = new EventHistory(now);
  events.subscribe((event) => history.add(event));
  let endpoint = '';
  const embeddedSqs = createEmbeddedSqs(account, now, () => endpoint);
  const securityHub = new SecurityHubStore();
  const dispatcher = new Dispatcher({
    services: [kms, createEventBridgeService({ account, published }), ...createCloudTrailServices(history), embeddedSqs.service, createSecurityHubService({ account, store: securityHub })],
    now,
    beforeEachCall: () => kms.sweepDeletions(),
    quotas,
    faults,
    latencyMs,
    historyLimit,
  });
  // STS GetCallerIdentity (awsQuery) is answered in front of the JSON 1.1 dispatcher.
  const server = await startHttpServer(createApiFront(dispatcher, (accessKeyId) => events.userIdentity(accessKeyId)), options.host ?? '127.0.0.1', options.port ?? 0);
  endpoint = server.endpoint;

  /** A key after the deletion sweep, for the read-only peeks. */
  function peek(region: string, keyId: string): KeyRecord | undefined {
    kms.sweepDeletions();
    return store.get(region, bareKeyId(keyId));
  }

  return {
    endpoint: server.endpoint,
    account,
    operations,
    seedKey: (keySeed) => store.metadata(seedKey(store, now(), keySeed)),
    seedKeys(count, make) {
      if (!Number.isInteger(count) || count < 0) throw new TypeError(`count must be a non-negative integer, got ${count}`);
      const ids: string[] = new Array<string>(count);
      for (let i = 0; i < count; i += 1) ids[i] = seedKey(store, now(), make(i)).keyId;
      return ids;
    },
    seedReplica: (primaryKeyId, primaryRegion, replicaRegion, opts) =>
      store.metadata(seedReplica(store, now(), primaryKeyId, primaryRegion, replicaRegion, opts)),
    describe(region, keyId) {
      const record = peek(region, keyId);
      return record ? store.metadata(record) : undefined;
    },
    tags(region, keyId) {
      const record = peek(region, keyId);
      return record ? Object.fromEntries(record.tags) : undefined;
    },
    calls: () => dispatcher.calls(),
    resetCalls: () => dispatcher.resetCalls(),
    subscribe: (listener) => events.subscribe(listener),
    takeEvents: () => {
      kms.sweepDeletions();
      return events.takeEvents();
    },
    pendingEvents: () => {
      kms.sweepDeletions();
      return events.pendingEvents();
    },
    publishedEvents: (filter) => published.list(filter),
    clearPublishedEvents: () => published.clear(),
    setQuotas: (next) => quotas.set(next),
    throttledCount: () => dispatcher.throttledCount(),
    setFaults: (plan) => faults.setPlan(plan),
    faultStats: () => faults.getStats(),
    resetFaultStats: () => faults.resetStats(),
    releaseDelayedEvents: () => events.releaseDelayedEvents(),
    delayedEvents: () => events.delayedEvents(),
    sweepDeletions: () => kms.sweepDeletions(),
    sqs: embeddedSqs.sqs,
    securityHub,
    close: () => server.close(),
  };
}

function checkMs(value: number | undefined, name: string): number {
  const ms = value ?? 0;
  if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`${name} must be a non-negative number, got ${ms}`);
  return ms;
}
