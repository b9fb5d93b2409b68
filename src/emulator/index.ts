/**
 * The embedded KMS: an emulator of the AWS KMS JSON 1.1 API for multi-Region keys, served over
 * real HTTP on 127.0.0.1 so the unmodified AWS SDK can talk to it (design.md §6). It models AWS
 * from the fact sheet (`docs/kms-facts.md`) and imports nothing from the product.
 */
import { KmsEngine, type CallerIdentityOverride } from './engine.js';
import {
  MULTI_REGION_KEY_ID_PATTERN,
  REGION_PATTERN,
  SINGLE_REGION_KEY_ID_PATTERN,
  newKeyId,
  parseKmsArn,
} from './ids.js';
import { createOperationRegistry, type OperationDefinition } from './operations.js';
import { startHttpServer } from './server.js';
import { KeyStore, newKeyRecord, type KeyRecord } from './store.js';
import type { CallRecord, CloudTrailEventBridgeEvent, KeyMetadataView, KeyOrigin, KeyState, TagView } from './types.js';

export type {
  CallRecord,
  CloudTrailEventBridgeEvent,
  CloudTrailRecord,
  CloudTrailResource,
  CloudTrailUserIdentity,
  KeyMetadataView,
  KeyOrigin,
  KeyState,
  MultiRegionConfigurationView,
  MultiRegionKeyView,
  TagView,
} from './types.js';
export { KEY_STATES } from './types.js';
export type { CallerIdentityOverride } from './engine.js';
export type { OperationContext, OperationDefinition, OperationResult } from './operations.js';

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
   * `{ type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/reconciler/fn' }`).
   * Default: an IAM user named after the access key id. (Addition to the original contract.)
   */
  callerIdentities?: Readonly<Record<string, CallerIdentityOverride>>;
}

/** Tags for seeding: a record or the API's list form. */
export type SeedTags = Readonly<Record<string, string>> | readonly TagView[];

/**
 * A key to create directly in the store, bypassing the API: no CloudTrail event, no call record.
 * - `keyId` defaults to a fresh id of the right kind (`mrk-…` when `multiRegion`);
 * - `keyState` defaults to `Enabled`, or `PendingImport` for `origin: 'EXTERNAL'`;
 *   `PendingDeletion` gets a `DeletionDate` 30 days ahead, `PendingReplicaDeletion` a 30-day window,
 *   `Creating` lasts {@link KeySeed.creatingForMs}.
 */
export interface KeySeed {
  region: string;
  keyId?: string;
  multiRegion?: boolean;
  description?: string;
  tags?: SeedTags;
  origin?: KeyOrigin;
  keyState?: KeyState;
  policy?: string;
  creationDate?: Date;
  /**
   * For `keyState: 'Creating'`: how long (ms, from now) the key stays Creating before it becomes
   * `Enabled` (`PendingImport` for EXTERNAL). Default: forever, so a seeded Creating key stays so.
   */
  creatingForMs?: number;
}

/** Options of {@link EmbeddedKms.seedReplica}. */
export interface ReplicaSeed {
  /** Default `Enabled`, or `PendingImport` when the primary's origin is EXTERNAL. */
  keyState?: KeyState;
  tags?: SeedTags;
  description?: string;
  policy?: string;
  creationDate?: Date;
  /** As {@link KeySeed.creatingForMs}. */
  creatingForMs?: number;
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
  /** Every API call served, in order, failed ones included. */
  calls(): readonly CallRecord[];
  /** Forgets the call log. */
  resetCalls(): void;
  /**
   * Calls `listener` synchronously, before the HTTP response is sent, for every CloudTrail event
   * emitted from now on (events are queued for {@link EmbeddedKms.takeEvents} as well). A
   * listener's exception is swallowed. Returns the unsubscribe function.
   */
  subscribe(listener: (event: CloudTrailEventBridgeEvent) => void): () => void;
  /** Removes and returns all queued CloudTrail events, oldest first. */
  takeEvents(): CloudTrailEventBridgeEvent[];
  /** How many CloudTrail events are queued. */
  pendingEvents(): number;
  /**
   * The operation registry, keyed by operation name. Adding or replacing an entry changes what the
   * running server serves (for UpdatePrimaryRegion, PutKeyPolicy, fault injection…).
   */
  readonly operations: Map<string, OperationDefinition>;
  /** Stops the server and drops its connections. */
  close(): Promise<void>;
}

const ACCOUNT_PATTERN = /^\d{12}$/;
const DAY_MS = 86_400_000;

/**
 * Starts an embedded KMS listening on `options.host:options.port`.
 * @throws TypeError on an invalid account or delay; Error when the port cannot be bound.
 */
export async function startEmbeddedKms(options: EmbeddedKmsOptions = {}): Promise<EmbeddedKms> {
  const account = options.account ?? '111122223333';
  if (!ACCOUNT_PATTERN.test(account)) throw new TypeError(`account must be 12 digits, got '${account}'`);
  const replicaDelayMs = options.replicaDelayMs ?? 0;
  if (!Number.isFinite(replicaDelayMs) || replicaDelayMs < 0) {
    throw new TypeError(`replicaDelayMs must be a non-negative number, got ${replicaDelayMs}`);
  }
  const now = options.now ?? Date.now;
  const store = new KeyStore(account, now);
  const operations = createOperationRegistry();
  const engine = new KmsEngine({
    account,
    replicaDelayMs,
    now,
    store,
    operations,
    ...(options.callerIdentities ? { callerIdentities: options.callerIdentities } : {}),
  });
  const server = await startHttpServer(engine, options.host ?? '127.0.0.1', options.port ?? 0);

  function find(region: string, keyId: string): KeyRecord | undefined {
    return store.get(region, bareKeyId(keyId));
  }

  function applySeedState(record: KeyRecord, state: KeyState, afterCreating: KeyState, creatingForMs = Infinity): void {
    record.state = state;
    const at = now();
    if (state === 'PendingDeletion') {
      record.pendingWindowInDays = 30;
      record.deletionDate = at + 30 * DAY_MS;
    } else if (state === 'PendingReplicaDeletion') {
      record.pendingWindowInDays = 30;
    } else if (state === 'Creating') {
      record.creatingUntil = at + creatingForMs;
      record.stateAfterCreating = afterCreating;
    }
  }

  return {
    endpoint: server.endpoint,
    account,
    operations,
    seedKey(seed: KeySeed): KeyMetadataView {
      checkRegion(seed.region);
      const multiRegion = seed.multiRegion ?? false;
      const keyId = seed.keyId ?? newKeyId(multiRegion);
      const idPattern = multiRegion ? MULTI_REGION_KEY_ID_PATTERN : SINGLE_REGION_KEY_ID_PATTERN;
      if (!idPattern.test(keyId)) {
        throw new TypeError(`keyId '${keyId}' is not a ${multiRegion ? 'multi-Region (mrk-<32 hex>)' : 'single-Region (UUID)'} key id`);
      }
      if (store.get(seed.region, keyId) || (multiRegion && store.group(keyId))) {
        throw new TypeError(`key ${keyId} already exists`);
      }
      const origin = seed.origin ?? 'AWS_KMS';
      const state = seed.keyState ?? (origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled');
      const record = newKeyRecord({
        keyId,
        region: seed.region,
        account,
        creationDate: seed.creationDate?.getTime() ?? now(),
        multiRegion,
        origin,
        state,
        hasKeyMaterial: origin === 'AWS_KMS' || state !== 'PendingImport',
        tags: normalizeTags(seed.tags),
        ...(seed.description === undefined ? {} : { description: seed.description }),
        ...(seed.policy === undefined ? {} : { policy: seed.policy }),
      });
      applySeedState(record, state, origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled', seed.creatingForMs);
      store.add(record);
      if (multiRegion) store.addGroup(keyId, seed.region);
      return store.metadata(record);
    },
    seedReplica(primaryKeyId, primaryRegion, replicaRegion, opts = {}): KeyMetadataView {
      checkRegion(replicaRegion);
      const primary = find(primaryRegion, primaryKeyId);
      const group = primary ? store.group(primary.keyId) : undefined;
      if (!primary || !group || group.primaryRegion !== primaryRegion) {
        throw new TypeError(`no multi-Region primary key ${primaryKeyId} in ${primaryRegion}`);
      }
      if (replicaRegion === primaryRegion || group.replicaRegions.includes(replicaRegion)) {
        throw new TypeError(`key ${primary.keyId} already exists in ${replicaRegion}`);
      }
      // A replica of an EXTERNAL primary never has material until it is imported into it.
      const materialState: KeyState = primary.origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled';
      const state = opts.keyState ?? materialState;
      const record = newKeyRecord({
        keyId: primary.keyId,
        region: replicaRegion,
        account,
        creationDate: opts.creationDate?.getTime() ?? now(),
        multiRegion: true,
        origin: primary.origin,
        keyUsage: primary.keyUsage,
        keySpec: primary.keySpec,
        state,
        hasKeyMaterial: primary.origin === 'AWS_KMS' || state !== 'PendingImport',
        tags: normalizeTags(opts.tags),
        ...(opts.description === undefined ? {} : { description: opts.description }),
        ...(opts.policy === undefined ? {} : { policy: opts.policy }),
      });
      applySeedState(record, state, materialState, opts.creatingForMs);
      store.add(record);
      group.replicaRegions.push(replicaRegion);
      return store.metadata(record);
    },
    describe(region, keyId) {
      const record = find(region, keyId);
      return record ? store.metadata(record) : undefined;
    },
    tags(region, keyId) {
      const record = find(region, keyId);
      return record ? Object.fromEntries(record.tags) : undefined;
    },
    calls: () => engine.calls(),
    resetCalls: () => engine.resetCalls(),
    subscribe: (listener) => engine.subscribe(listener),
    takeEvents: () => engine.takeEvents(),
    pendingEvents: () => engine.pendingEvents(),
    close: () => server.close(),
  };
}

function bareKeyId(keyId: string): string {
  return parseKmsArn(keyId)?.resourceId ?? keyId;
}

function checkRegion(region: string): void {
  if (!REGION_PATTERN.test(region)) throw new TypeError(`'${region}' is not a Region code`);
}

function normalizeTags(tags: SeedTags | undefined): TagView[] {
  if (tags === undefined) return [];
  if (Array.isArray(tags)) return [...(tags as readonly TagView[])];
  return Object.entries(tags as Readonly<Record<string, string>>).map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
}
