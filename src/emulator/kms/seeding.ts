/**
 * Seeding: keys put straight into the store for tests, with no API call, no CloudTrail event and
 * no call record. They are built by the same record factory as CreateKey and ReplicateKey
 * (`key-records.ts`), so a seeded key in a state is the key the API would show in that state.
 */
import { MULTI_REGION_KEY_ID_PATTERN, REGION_PATTERN, SINGLE_REGION_KEY_ID_PATTERN, newKeyId, parseKmsArn } from '../ids.js';
import type { KeyOrigin, KeyState, TagView } from '../types.js';
import { createKey, createReplica, type KeyRecord } from './key-records.js';
import type { KeyStore } from './store.js';

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
  /**
   * `origin: 'EXTERNAL'` in a state with material (not `PendingImport` or `Creating`): the 32 bytes
   * the key holds as its `CURRENT` material (so a test can wrap the same material for a replica);
   * default random.
   */
  keyMaterial?: Uint8Array;
}

/** Options of `EmbeddedKms.seedReplica`. */
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

/**
 * Seeds a single-Region key or a multi-Region primary.
 * @throws TypeError on an id of the wrong kind, a malformed Region or an id already in use.
 */
export function seedKey(store: KeyStore, now: number, seed: KeySeed): KeyRecord {
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
  return createKey(store, {
    keyId,
    region: seed.region,
    at: now,
    multiRegion,
    ...common(seed, now),
    ...(seed.origin === undefined ? {} : { origin: seed.origin }),
    ...(seed.keyMaterial === undefined ? {} : { keyMaterial: seed.keyMaterial }),
  });
}

/**
 * Seeds a replica of the multi-Region primary `primaryKeyId` (bare id or ARN) of `primaryRegion`
 * in `replicaRegion`; the primary lists it in `ReplicaKeys` at once.
 * A replica of an EXTERNAL primary seeded in a state with material holds every material its family
 * uses (`CURRENT` and `NON_CURRENT`).
 * @throws TypeError when the primary does not exist there, is not a primary, or the Region
 *   already holds the key; or when the replica of an EXTERNAL family would hold material the family
 *   does not have.
 */
export function seedReplica(
  store: KeyStore,
  now: number,
  primaryKeyId: string,
  primaryRegion: string,
  replicaRegion: string,
  seed: ReplicaSeed = {},
): KeyRecord {
  checkRegion(replicaRegion);
  const primary = store.get(primaryRegion, bareKeyId(primaryKeyId));
  const group = primary ? store.group(primary.keyId) : undefined;
  if (!primary || !group || group.primaryRegion !== primaryRegion) {
    throw new TypeError(`no multi-Region primary key ${primaryKeyId} in ${primaryRegion}`);
  }
  if (replicaRegion === primaryRegion || group.replicaRegions.includes(replicaRegion)) {
    throw new TypeError(`key ${primary.keyId} already exists in ${replicaRegion}`);
  }
  const state = seed.keyState ?? (primary.origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled');
  const withMaterial = state !== 'PendingImport' && state !== 'Creating';
  if (primary.origin === 'EXTERNAL' && withMaterial && !store.materialsOf(primary).some((material) => material.status !== 'pending')) {
    throw new TypeError(`no key material in ${primary.arn} for a replica in ${state} to hold: import it into the primary first`);
  }
  return createReplica(store, primary, { region: replicaRegion, at: now, ...common(seed, now) });
}

/** A key id from a bare id or a key ARN. */
export function bareKeyId(keyId: string): string {
  return parseKmsArn(keyId)?.resourceId ?? keyId;
}

/** The fields a key seed and a replica seed share, as the record factory takes them. */
function common(seed: ReplicaSeed, now: number): {
  state?: KeyState;
  creatingUntil?: number;
  tags: TagView[];
  description?: string;
  policy?: string;
  creationDate?: number;
} {
  return {
    tags: normalizeTags(seed.tags),
    ...(seed.keyState === undefined ? {} : { state: seed.keyState }),
    ...(seed.keyState === 'Creating' ? { creatingUntil: now + (seed.creatingForMs ?? Infinity) } : {}),
    ...(seed.description === undefined ? {} : { description: seed.description }),
    ...(seed.policy === undefined ? {} : { policy: seed.policy }),
    ...(seed.creationDate === undefined ? {} : { creationDate: seed.creationDate.getTime() }),
  };
}

function checkRegion(region: string): void {
  if (!REGION_PATTERN.test(region)) throw new TypeError(`'${region}' is not a Region code`);
}

function normalizeTags(tags: SeedTags | undefined): TagView[] {
  if (tags === undefined) return [];
  if (Array.isArray(tags)) return [...(tags as readonly TagView[])];
  return Object.entries(tags as Readonly<Record<string, string>>).map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
}
